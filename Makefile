# gradlab — run `make help` for the targets.
# Set-up is shared by every target: a .venv with the project and its locked, hash-checked
# dependencies, reinstalled only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HASH   := $(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
STAMP  := $(VENV)/.installed-$(HASH)
PORT   ?= 8888
UV     := .venv-lock/bin/uv
HUB_PORT ?= 8000
CHP    := deploy/local/node_modules/.bin/configurable-http-proxy
# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.DEFAULT_GOAL := help
.PHONY: help setup lab hub test test-ipywidgets7 notebooks images bench lock clean book

help:  ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-17s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@# torch first, without hashes, unless a torch 2.13.0 is already there (a CPU or CUDA build you chose):
	@# pip takes this machine's CPU wheel here, PyPI's CUDA build on another Linux machine (see README).
	@$(PY) -c "import importlib.metadata as m; assert m.version('torch').split('+')[0] == '2.13.0'" 2>/dev/null \
	  || $(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet --require-hashes -r constraints.txt || { \
	  echo "安装失败：见 README 的 On a GPU machine（torch 的哈希只覆盖 macOS、Windows 和本项目机器上的 CPU 版）。"; \
	  echo "Install failed: see README, On a GPU machine (torch's hashes cover macOS, Windows and this project's CPU wheel only)."; \
	  exit 1; }
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)  ## create .venv and install gradlab with the hash-checked lock, constraints.txt (skipped when up to date)

lab: setup  ## open the notebooks in JupyterLab (127.0.0.1 only, token on, TCP_NODELAY: deploy/local/lab_config.py)
	$(VENV)/bin/jupyter lab --config=deploy/local/lab_config.py --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(ROOT_FLAG)

$(CHP): deploy/local/package.json deploy/local/package-lock.json  # JupyterHub's proxy, from the npm registry, hash-checked
	cd deploy/local && npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

hub: setup $(CHP)  ## a JupyterHub for a class on this machine (127.0.0.1:8000, HUB_PORT=...; names: deploy/local/class-list.txt)
	$(PY) tools/hub.py --port $(HUB_PORT)

test: setup $(CHP)  ## every test: lint, types, unit tests, doctests, README, notebooks (nbval), browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check gradlab tests tools bench
	$(VENV)/bin/mypy gradlab
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg tests gradlab README.md notebooks
	@$(MAKE) --no-print-directory test-ipywidgets7

# A second, small environment: the widget tests again under Colab's ipywidgets 7.7 (and its IPython 7,
# ipykernel 6), from constraints-ipywidgets7.txt (tools/lock_ipywidgets7.py). torch as in .venv: pip
# takes this machine's CPU wheel, and a torch 2.13.0 already in .venv-ipyw7 is kept. gradlab itself is
# not installed there: pytest imports it from this folder.
VENV7  := .venv-ipyw7
STAMP7 := $(VENV7)/.installed-$(shell cat constraints-ipywidgets7.txt | sha256sum | cut -c1-16)
IPYW7  := $(shell sed -n 's/^ipywidgets==\([^ ]*\).*/\1/p' constraints-ipywidgets7.txt)
WIDGET_TESTS := tests/test_widgets.py tests/test_stepper.py gradlab/widgets.py gradlab/stepper.py gradlab/_widget_box.py

$(STAMP7): constraints-ipywidgets7.txt
	@test -x $(VENV7)/bin/python || $(PYTHON) -m venv $(VENV7)
	@$(VENV7)/bin/python -c "import importlib.metadata as m; assert m.version('torch').split('+')[0] == '2.13.0'" 2>/dev/null \
	  || $(VENV7)/bin/python -m pip install --quiet "torch==2.13.0"
	$(VENV7)/bin/python -m pip install --quiet --require-hashes -r constraints-ipywidgets7.txt
	@rm -f $(VENV7)/.installed-*
	@touch $@

test-ipywidgets7: $(STAMP7)  ## the widget tests under ipywidgets 7.7, Colab's (.venv-ipyw7; part of make test)
	GRADLAB_EXPECT_IPYWIDGETS=$(IPYW7) $(VENV7)/bin/python -m pytest $(WIDGET_TESTS)

notebooks: setup  ## re-execute every notebook in place from a fresh kernel
	$(PY) tools/run_notebooks.py notebooks/*.ipynb

book: setup  ## build the static site of the notebooks (saved outputs, nothing re-run): book/_build/html/index.html
	$(PY) -m sphinx -W --keep-going -q -b html -d book/_build/doctrees book book/_build/html
	@echo "book/_build/html/index.html"

images: setup  ## rebuild every figure in src_images/
	$(PY) tools/figures.py src_images

bench: setup $(CHP)  ## print the benchmark tables (grandalf, for comparison only, goes into .bench-site/, not .venv)
	@test -d .bench-site || $(PY) -m pip install --quiet --target .bench-site -r bench/requirements.txt
	@for f in bench/bench_*.py; do echo "== $$f"; PYTHONPATH=.bench-site $(PY) $$f || exit 1; done

$(UV):  # uv resolves the lock; it lives in its own venv, not in the project's
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet uv==0.13.9

lock: $(UV)  ## re-resolve constraints.txt from pyproject.toml (uv: markers and hashes)
	$(PYTHON) tools/lock.py --uv $(UV) constraints.txt
	$(PYTHON) tools/lock_ipywidgets7.py --uv $(UV) constraints-ipywidgets7.txt

# The link a teacher hands out (deploy/README.md): log in, get a copy of the notebooks, open one.
.PHONY: class-link
HUB      ?=
BRANCH   ?= main
NOTEBOOK ?=
REPO     ?=
class-link:  ## print the class's nbgitpuller link: make class-link HUB=https://hub.example.edu [NOTEBOOK=01 BRANCH=main REPO=...]
	@$(PYTHON) tools/class_link.py --hub "$(HUB)" --branch "$(BRANCH)" --notebook "$(NOTEBOOK)" $(if $(REPO),--repo "$(REPO)")

clean:  ## remove .venv, caches and test artifacts (never touches notebooks/)
	rm -rf $(VENV) $(VENV7) .venv-lock .bench-site .pytest_cache .hypothesis .ruff_cache test-artifacts *.egg-info book/_build deploy/local/node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
