"""Re-execute notebooks in place, each from a fresh kernel (``make notebooks``).

A notebook is written back only when every cell ran without error, and
atomically (temp file + rename), so a failing run never destroys the saved
notebook. Execution counts come out as 1..N.

Two runs in a row give the same file, except lines that print measured
timings (see ``notebooks/sanitize.cfg``): nothing that changes from run to run
is saved:

- no execution timestamps;
- no widget state: a widget's model id is random, so the saved output of a
  widget cell keeps only its static picture (``image/svg+xml``, from the
  explorers' and the stepper's ``_repr_mimebundle_``) and its text. GitHub,
  nbviewer and a notebook opened before running show that picture; Run All in
  JupyterLab creates the live widgets again;
- a warning raised by a cell's own code is saved without its location, the
  kernel's temp file (``/tmp/ipykernel_<pid>/<hash>.py:2: GradAccumulationWarning: ...``
  becomes ``GradAccumulationWarning: ...``), as ``notebooks/sanitize.cfg`` compares it;
- adjacent pieces of one stream (stdout or stderr) are saved as one output, as
  Jupyter shows them (how a print is split into messages depends on timing).
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# "/tmp/ipykernel_1234/1037291786.py:2: " before "SomeWarning: ..." (the kernel's file for a cell's code)
CELL_WARNING_LOCATION = re.compile(r"^\S*ipykernel_\d+[/\\]\d+\.py:\d+: (?=\w+Warning\b)", re.MULTILINE)


def coalesce_streams(outputs: list[nbformat.NotebookNode]) -> list[nbformat.NotebookNode]:
    """Adjacent stream outputs of the same name (stdout, stderr) as one output."""
    merged: list[nbformat.NotebookNode] = []
    for output in outputs:
        last = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and last is not None
            and last.output_type == "stream"
            and last.name == output.name
        ):
            last.text += output.text
        else:
            merged.append(output)
    return merged


def keep_what_does_not_change(notebook: nbformat.NotebookNode) -> None:
    """Drop what differs between two runs: widget state and views, timestamps, temp-file names."""
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs = coalesce_streams(cell.outputs)
        for output in cell.outputs:
            if output.output_type == "stream":
                output.text = CELL_WARNING_LOCATION.sub("", output.text)
            data = output.get("data", {})
            if WIDGET_VIEW in data and len(data) > 1:  # a fallback (picture, text) stays
                del data[WIDGET_VIEW]


def run(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=False,
        record_timing=False,
    )
    client.execute()
    seconds = time.perf_counter() - start
    keep_what_does_not_change(notebook)
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
