"""TCP_NODELAY on the kernel websockets of a Jupyter server (``make lab``, ``make hub``'s student servers).

jupyter_server (2.21) leaves Nagle's algorithm on for the websocket between a
kernel and the browser. A widget step is a burst of small messages (status,
the slider's echo, the picture, the readout) answering a small message, and
the browser's TCP delays its ACK in such an exchange: Nagle then holds each
burst's second message until that ACK, 40 ms on Linux. Measured through the
hub on this machine: a slider step of the mse explorer took 48 ms with Nagle,
3-12 ms without (bench/bench_classroom.py). Tornado's documented remedy is
``set_nodelay(True)`` once the websocket is open; jupyter_server takes the
connection class as configuration (``ServerApp.kernel_websocket_connection_class``).
"""

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection


class NoDelayChannels(ZMQChannelsWebsocketConnection):
    """The default kernel websocket connection, with TCP_NODELAY set on the socket when it opens."""

    def connect(self):  # type: ignore[no-untyped-def]
        self.websocket_handler.set_nodelay(True)
        return super().connect()
