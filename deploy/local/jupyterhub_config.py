"""JupyterHub's configuration for ``make hub`` (a class on this machine), read by ``jupyterhub -f``.

tools/hub.py writes the class's settings to a JSON file in the state
folder (``.hub/settings.json``) and starts JupyterHub with this file and
``GRADLAB_HUB_SETTINGS`` pointing at it. Everything JupyterHub writes (its
database, cookie secret, the students' homes, the password hashes) goes into
that state folder, which git ignores.

- Network: the hub, the proxy's API and every student's server listen on
  127.0.0.1 (``--ip`` in tools/hub.py changes only the public address).
- Accounts: the class list's names and the teacher; no sign-up page exists,
  passwords are checked against scrypt hashes (classlist_auth.py); the
  teacher alone is admin. Names removed from the list can no longer log in.
- Servers: SimpleLocalProcessSpawner: one JupyterLab per student, started as
  this machine's user, with its own home under the state folder. Its default
  URL is an nbgitpuller link: the first visit clones the notebooks from this
  repository, later visits merge new commits without losing a student's
  edits (nbgitpuller keeps the student's side of a conflict).
- Limits: ``mem_limit`` and ``cpu_limit`` are given to each server as
  MEM_LIMIT and CPU_LIMIT (JupyterLab's resource display reads them) but the
  local spawner does NOT enforce them; TLJH's systemdspawner and Zero to
  JupyterHub's KubeSpawner do. What is enforced here: at most one server per
  student (``active_server_limit``), idle servers are stopped by
  jupyterhub-idle-culler, and kernels whose notebook tab was closed are
  shut down by the server's own kernel culler.
- Isolation: the local spawner runs every student's server as the same
  system user, so a student's code can read other students' files. For a
  class on a shared server use TLJH or Zero to JupyterHub (deploy/README.md).
"""

import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from classlist_auth import ClassListAuthenticator  # noqa: E402

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - provided by JupyterHub when it reads this file
settings = json.loads(Path(os.environ["GRADLAB_HUB_SETTINGS"]).read_text(encoding="utf-8"))
state = Path(settings["state"])
LOOPBACK = "127.0.0.1"

# --- network: loopback everywhere but the public address, which defaults to loopback too
c.JupyterHub.ip = settings["ip"]
c.JupyterHub.port = settings["port"]
c.JupyterHub.hub_ip = LOOPBACK
c.JupyterHub.hub_port = settings["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://{LOOPBACK}:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.Spawner.ip = LOOPBACK

# --- state: never in the repository
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# --- accounts: the class list and the teacher, hashed passwords, no sign-up
students, teacher = settings["students"], settings["teacher"]
c.JupyterHub.authenticator_class = ClassListAuthenticator
c.ClassListAuthenticator.password_file = str(state / "password-hashes.json")
c.Authenticator.allowed_users = {*students, teacher}
c.Authenticator.admin_users = {teacher}
c.Authenticator.allow_all = False
c.Authenticator.allow_existing_users = False  # off the class list = no log-in, even if once allowed

# --- one JupyterLab per student, in its own home, opened on an nbgitpuller link
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "homes" / "{username}")
c.Spawner.notebook_dir = "~"
c.Spawner.cmd = [sys.executable, str(HERE / "singleuser.py")]  # jupyterhub-singleuser, TCP_NODELAY on (see there)
c.Spawner.default_url = settings["default_url"]
c.Spawner.environment = {"NBGITPULLER_APP": "lab", **settings.get("environment", {})}
c.Spawner.args = ["--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
# A kernel left behind (its notebook tab closed: JupyterLab keeps the kernel running) is shut down after
# kernel_cull_idle seconds without activity; a kernel with an open tab is kept, however long the lesson pauses.
c.Spawner.args += [
    f"--MappingKernelManager.cull_idle_timeout={settings['kernel_cull_idle']}",
    "--MappingKernelManager.cull_interval=300",
    "--MappingKernelManager.cull_connected=False",
]
if os.geteuid() == 0:  # containers and CI machines often run as root; Jupyter refuses root unless told
    c.Spawner.args.append("--allow-root")
c.Spawner.mem_limit = settings["mem_limit"]  # informative only with this spawner (see above)
c.Spawner.cpu_limit = settings["cpu_limit"]  # informative only with this spawner (see above)
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.JupyterHub.active_server_limit = len(students) + 1
c.JupyterHub.cleanup_servers = True  # stopping the hub stops the students' servers (their files stay)

# --- idle servers are stopped by jupyterhub-idle-culler, a service the hub starts and stops
c.JupyterHub.services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={settings['cull_idle']}"],
    }
]
c.JupyterHub.load_roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
