"""The gradlab book: a static website of the notebooks with their saved outputs (``make book``).

Publisher: Sphinx + MyST-NB + sphinx-book-theme (the pieces Jupyter Book 1 is made of, and
what numpy-tutorials uses), installed from PyPI with the rest of the lock. Not Jupyter Book 2
(mystmd): its HTML build downloads its site theme at build time (api.mystmd.org, then GitHub),
and the theme is not published on the npm registry, so it cannot build here or in CI, where
only the PyPI, Debian and npm registries can be reached (`myst build --html` stops at
"request to https://api.mystmd.org/templates/site/myst/book-theme failed").

- Nothing is executed (``nb_execution_mode = "off"``): each page shows the outputs saved in
  the notebook, among them the static pictures of the explorers and the stepper.
- book/notebooks and book/src_images are links to the project's folders, so the pages keep
  the notebooks' own paths (``../src_images/...``); the build writes only under book/_build/.
- Cells collapsed in JupyterLab (the exercise solutions) stay collapsed: collapsed.py.
- MathJax comes from the sphinx-mathjax-offline wheel, copied into the site, so math is
  typeset from file:// or a local server without the internet (Sphinx loads it from a CDN).
- Colab and Binder links: sphinx-book-theme's launch buttons, made from pyproject.toml's
  ``[project.urls] Repository``, the one place the repository's address is written.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # collapsed.py, named in nb_custom_formats

PYPROJECT = tomllib.loads((HERE.parent / "pyproject.toml").read_text(encoding="utf-8"))
REPOSITORY = PYPROJECT["project"]["urls"]["Repository"]
BRANCH = "main"  # the branch Colab and Binder open

project = "gradlab"
author = "gradlab"
copyright = "gradlab contributors"
language = "zh_CN"  # learners read Chinese first; the pages are Chinese, then English
root_doc = "index"

extensions = ["myst_nb", "sphinx-mathjax-offline"]  # the module's name has dashes; it sets mathjax_path
myst_enable_extensions = ["dollarmath", "amsmath"]
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

nb_execution_mode = "off"  # never run the lessons: the site shows what the notebooks saved
nb_custom_formats = {".ipynb": "collapsed.read"}
nb_output_stderr = "show"  # gradlab's warnings are part of the lesson
nb_code_prompt_show = "显示 / Show code cell {type}"
nb_code_prompt_hide = "隐藏 / Hide code cell {type}"

html_theme = "sphinx_book_theme"
html_title = "gradlab"
html_last_updated_fmt = None
html_sourcelink_suffix = ""  # the download button gives the notebook itself, NN-....ipynb
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": BRANCH,
    "path_to_docs": "",  # page names are the notebooks' paths in the repository: notebooks/NN-....ipynb
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
}
