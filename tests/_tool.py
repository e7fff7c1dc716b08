"""Load a script from ``tools/`` (tools are not part of the package) as a module, for the tests.

>>> load("class_link").__name__
'gradlab_tools_class_link'
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load(name: str, folder: str = "tools") -> ModuleType:
    """``<folder>/<name>.py`` loaded from its file once, registered in ``sys.modules``.

    Once: dataclasses and doctest look a function's module up in ``sys.modules`` by name, so a
    second copy under the same name would hide the first one's doctests from ``doctest.testmod``.
    """
    if (loaded := sys.modules.get(f"gradlab_{folder}_{name}")) is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(f"gradlab_{folder}_{name}", ROOT / folder / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
