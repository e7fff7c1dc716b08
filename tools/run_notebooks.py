"""Re-execute notebooks in place, each from a fresh kernel (``make notebooks``).

A notebook is written back only when every cell ran without error, and
atomically (temp file + rename), so a failing run never destroys the saved
notebook. Execution counts come out as 1..N and widget state is saved, so the
notebook shows a static picture of its widgets on GitHub and nbviewer.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    client.execute()
    seconds = time.perf_counter() - start
    handle, temp = tempfile.mkstemp(dir=path.parent, suffix=".ipynb.tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        nbformat.write(notebook, stream)
    os.replace(temp, path)
    return seconds


def main(paths: list[str]) -> int:
    failed = 0
    for name in paths:
        path = Path(name)
        try:
            seconds = run(path)
        except Exception as error:  # report and keep the notebook as it was
            failed += 1
            print(f"FAILED {path}: {type(error).__name__}: {str(error).strip()[-2000:]}", file=sys.stderr)
            continue
        print(f"ok     {path}  ({seconds:.1f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
