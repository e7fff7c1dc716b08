#!/usr/bin/env bash
# The Littlest JupyterHub (TLJH 2.0.0) with gradlab, for a class on one server (up to about 100 students).
#
# On a fresh Ubuntu 22.04+ or Debian 11+ server, as root, from a checkout of this repository:
#   git clone <this repository> && cd <its folder> && sudo bash deploy/tljh/install.sh TEACHER
# TEACHER: the teacher's username, the hub's only admin. Then, at once, sign up as TEACHER at
# http://<server>/hub/signup before giving anyone the address (deploy/README.md). Safe to run again.
# Optional: BRANCH=main (what students pull), DOMAIN=hub.example.edu EMAIL=you@example.edu (HTTPS, Let's Encrypt).
set -euo pipefail

TEACHER="${1:?usage: sudo bash deploy/tljh/install.sh TEACHER   (the username of the teacher, the only admin)}"
BRANCH="${BRANCH:-main}"
TLJH_PREFIX="${TLJH_PREFIX:-/opt/tljh}"
TLJH_VERSION=2.0.0
TORCH_VERSION=2.13.0 # the project's pin (constraints.txt), CPU build

# Per student, from the measured numbers (deploy/measured.toml; tests/test_deploy.py keeps them equal to
# deploy/z2jh/values.yaml's limits). systemdspawner enforces a limit only; there is no guarantee.
MEMORY_LIMIT=2.5G
CPU_LIMIT=1
CULL_TIMEOUT=3600 # stop a server idle for an hour; the student's files stay
CULL_EVERY=300

cd "$(dirname "$0")/../.." # the repository's root

# 1. TLJH itself (its hub, its proxy, and the students' environment in $TLJH_PREFIX/user).
bootstrap="$(mktemp)"
trap 'rm -f "$bootstrap"' EXIT
curl -fsSL https://tljh.jupyter.org/bootstrap.py -o "$bootstrap"
python3 "$bootstrap" --version "$TLJH_VERSION" --admin "$TEACHER"

# 2. The students' environment: torch's CPU build (PyPI's Linux torch is the CUDA build, several GB), then
#    gradlab with JupyterLab's Chinese interface from this checkout. TLJH already installs nbgitpuller there.
"$TLJH_PREFIX/user/bin/pip" install --index-url https://download.pytorch.org/whl/cpu "torch==$TORCH_VERSION"
"$TLJH_PREFIX/user/bin/pip" install ".[lab]" "nbgitpuller>=1.2"

# 3. Accounts: NativeAuthenticator. Students sign up; an account works only once the teacher approves it
#    at /hub/authorize. (TLJH's default, FirstUseAuthenticator, lets whoever logs in first set a password.)
tljh-config set auth.type nativeauthenticator.NativeAuthenticator
tljh-config set auth.NativeAuthenticator.open_signup false
tljh-config set auth.NativeAuthenticator.allow_all true # JupyterHub 5 admits only allowed users otherwise
tljh-config set auth.NativeAuthenticator.minimum_password_length 10
tljh-config set auth.NativeAuthenticator.check_common_password true
tljh-config set auth.NativeAuthenticator.allowed_failed_logins 5

# 4. Limits per student and the idle culler.
tljh-config set limits.memory "$MEMORY_LIMIT"
tljh-config set limits.cpu "$CPU_LIMIT"
tljh-config set services.cull.enabled true
tljh-config set services.cull.timeout "$CULL_TIMEOUT"
tljh-config set services.cull.every "$CULL_EVERY"
tljh-config set user_environment.default_app jupyterlab

# 5. HTTPS, when the server has a name: passwords must not cross the network in clear text.
if [ -n "${DOMAIN:-}" ]; then
  tljh-config set https.enabled true
  tljh-config set https.letsencrypt.email "${EMAIL:?set EMAIL=you@example.edu for the HTTPS certificate}"
  tljh-config show | grep -qF -- "- $DOMAIN" || tljh-config add-item https.letsencrypt.domains "$DOMAIN"
fi

# 6. What tljh-config has no key for, in TLJH's own place for extra JupyterHub config: the nbgitpuller start
#    page (each student's own copy of the notebooks, updated at every start, their edits kept), one torch
#    thread per kernel, NativeAuthenticator's sign-up pages. The link comes from pyproject.toml's Repository.
default_url="$("$TLJH_PREFIX/user/bin/python" tools/class_link.py --server-path --branch "$BRANCH")"
mkdir -p "$TLJH_PREFIX/config/jupyterhub_config.d"
cat >"$TLJH_PREFIX/config/jupyterhub_config.d/gradlab.py" <<EOF
# Written by deploy/tljh/install.sh (gradlab); TLJH loads it after its own configuration.
import os

import nativeauthenticator

c.Spawner.default_url = "$default_url"
c.Spawner.environment = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
c.JupyterHub.template_paths = [os.path.join(os.path.dirname(nativeauthenticator.__file__), "templates")]
EOF

tljh-config reload
if [ -n "${DOMAIN:-}" ]; then tljh-config reload proxy; fi
echo "gradlab: sign up as $TEACHER now at http(s)://<this server>/hub/signup, then: make class-link HUB=<its address>"
