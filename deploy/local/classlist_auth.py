"""Log-in for ``make hub``: each name on the class list with its own generated password, stored hashed.

Why not an authenticator from PyPI: JupyterHub's own either need a system
account per student (PAMAuthenticator) or share one password (Dummy,
SharedPassword). jupyterhub-nativeauthenticator 1.3.0 cannot pre-create
accounts with sign-up disabled (its ``create_user`` returns nothing when
``enable_signup`` is False), keeps its table through the shared database
session JupyterHub 5+ deprecates (``Authenticator.db``), and compares hashes
with ``==``. This one is small: the launcher (tools/hub.py) writes the
hashes, JupyterHub asks :class:`ClassListAuthenticator` to check them.

Hashes: scrypt from ``hashlib`` (n=2**14, r=8, p=1, a 16-byte random salt),
written as ``scrypt$n$r$p$salt$hash`` (base64) into a JSON file readable by
its owner only (0600). The file is read at each log-in, so a password reset
(``tools/hub.py --reset NAME``) needs no restart.

Example:
    >>> stored = hash_password("k7mq-3xvt-9dpw")
    >>> stored.startswith("scrypt$16384$8$1$")
    True
    >>> verify_password("k7mq-3xvt-9dpw", stored), verify_password("k7mq-3xvt-9dpx", stored)
    (True, False)
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

N, R, P = 2**14, 8, 1
# Easy to read aloud and to type: no 0/o, 1/l/i.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_password(groups: int = 3, size: int = 4) -> str:
    """A random password like ``k7mq-3xvt-9dpw``: 12 characters from 31, about 59 bits (``secrets``)."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(size)) for _ in range(groups))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=32)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, N, R, P)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` hashes to ``stored`` (compared in constant time); a malformed entry is False."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        computed = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(computed, base64.b64decode(digest))
    except (ValueError, TypeError):
        return False


def read_hashes(path: Path) -> dict[str, str]:
    """name -> stored hash; an absent file is an empty class."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return {}


def write_hashes(path: Path, hashes: dict[str, str]) -> None:
    """Replace the file atomically, readable and writable by its owner only."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        json.dump(dict(sorted(hashes.items())), file, indent=1)
        file.write("\n")
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


@functools.cache
def _decoy() -> str:
    """A hash no password is known for: an unknown name costs one scrypt too, so timing tells no names."""
    return hash_password(secrets.token_urlsafe(16))


try:  # the hashing above is usable without JupyterHub (tools/hub.py --help, the doctests)
    from jupyterhub.auth import Authenticator
    from traitlets import Unicode
except ImportError:  # pragma: no cover - jupyterhub is in the [hub] extra
    Authenticator = None

if Authenticator is not None:

    class ClassListAuthenticator(Authenticator):  # type: ignore[misc,valid-type]
        """Accept a name and password when the password hashes to the stored hash for that name."""

        password_file = Unicode(config=True, help="The JSON file of name -> scrypt hash written by tools/hub.py")

        async def authenticate(self, handler: object, data: dict[str, str]) -> str | None:
            name = self.normalize_username(data.get("username", ""))
            stored = read_hashes(Path(self.password_file)).get(name)
            ok = verify_password(data.get("password", ""), stored or _decoy())
            return name if stored is not None and ok else None  # JupyterHub logs the failure
