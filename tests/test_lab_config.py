"""deploy/local/lab_config.py (``make lab``, the browser tests) gives the server the TCP_NODELAY websocket class."""

from __future__ import annotations

import importlib
import runpy
import sys
from pathlib import Path
from types import SimpleNamespace

LOCAL = Path(__file__).resolve().parents[1] / "deploy" / "local"


class Config(SimpleNamespace):
    """Sections made on first use, as in traitlets' ``get_config()``: ``c.ServerApp.x = ...``."""

    def __getattr__(self, section: str) -> SimpleNamespace:
        setattr(self, section, SimpleNamespace())
        return getattr(self, section)


def test_lab_config_names_the_one_nodelay_class_the_hub_uses_too(monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the config file adds deploy/local to the server's path
    monkeypatch.delitem(sys.modules, "nodelay", raising=False)
    config = Config()
    runpy.run_path(str(LOCAL / "lab_config.py"), init_globals={"get_config": lambda: config})
    name = config.ServerApp.kernel_websocket_connection_class
    assert name == "nodelay.NoDelayChannels"
    module, _, cls = name.rpartition(".")
    channels = getattr(importlib.import_module(module), cls)  # importable with the path the config file set
    assert [base.__name__ for base in channels.__mro__[1:2]] == ["ZMQChannelsWebsocketConnection"]
    assert "set_nodelay(True)" in (LOCAL / "nodelay.py").read_text()
    assert f"--ServerApp.kernel_websocket_connection_class={name}" in (LOCAL / "singleuser.py").read_text()
    monkeypatch.delitem(sys.modules, "nodelay")
