"""A student's server: ``jupyterhub-singleuser`` with TCP_NODELAY on its kernel websockets.

Nagle's algorithm holds each burst of widget messages for a delayed ACK;
why and how much: deploy/local/nodelay.py.

Run as a script by the spawner (deploy/local/jupyterhub_config.py), so this
folder is on the server's path only, never on its kernels'.
"""

import sys

if __name__ == "__main__":
    from jupyterhub.singleuser import main

    # nodelay.py sits next to this script: the script's folder is the server's sys.path[0].
    sys.argv.append("--ServerApp.kernel_websocket_connection_class=nodelay.NoDelayChannels")
    sys.exit(main())
