"""Read a notebook for the book so that what is collapsed in JupyterLab stays collapsed on the site.

JupyterLab saves a cell whose source or outputs were collapsed as
``metadata.jupyter.source_hidden`` / ``outputs_hidden`` (the exercise solutions are saved
with both); MyST-NB reads cell tags instead. This reader adds the matching tag to the
notebook in memory: ``hide-input``, ``hide-output``, or ``hide-cell`` when both are
collapsed (one toggle for the cell, as JupyterLab hides all of it). The files in
notebooks/ are read, never written. conf.py names it in ``nb_custom_formats``.

>>> import nbformat
>>> cell = nbformat.v4.new_code_cell("exercises.solution('01.1')")
>>> cell.metadata["jupyter"] = {"source_hidden": True, "outputs_hidden": True}
>>> read(nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))).cells[0].metadata.tags
['hide-cell']
>>> cell.metadata["jupyter"] = {"outputs_hidden": True}
>>> read(nbformat.writes(nbformat.v4.new_notebook(cells=[cell]))).cells[0].metadata.tags
['hide-output']
"""

from __future__ import annotations

import nbformat


def tag(collapsed: dict[str, bool]) -> str | None:
    """MyST-NB's tag for a cell's ``metadata.jupyter``, or None when nothing is collapsed."""
    source, outputs = collapsed.get("source_hidden", False), collapsed.get("outputs_hidden", False)
    if source and outputs:
        return "hide-cell"
    return "hide-input" if source else "hide-output" if outputs else None


def read(text: str) -> nbformat.NotebookNode:
    """The notebook in ``text`` (nbformat 4), its collapsed cells tagged for MyST-NB."""
    notebook = nbformat.reads(text, as_version=4)
    for cell in notebook.cells:
        hide = tag(cell.metadata.get("jupyter", {}))
        tags = cell.metadata.get("tags", [])
        if hide and hide not in tags:
            cell.metadata["tags"] = [*tags, hide]
    return notebook
