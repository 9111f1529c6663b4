# The two commands of the README:
#   make book   - install everything into .venv, execute every page, build _build/html
#   make test   - install everything into .venv, run the unit tests and execute every page
#                 (a make book after it shows those executed pages: _ext/execution_cache.py)
# (make lint runs ruff on the package, the chapters and the appendix pages; CI runs it too)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A read-only copy of the data files beside the checkout (as on this project's CI
# machines) is used when present; otherwise files are downloaded into the cache.
export D2LMINI_DATA ?= $(abspath $(wildcard ../shared/data))

.PHONY: book test lint format install sync clean

book: install
	$(BIN)/jupyter-book build --all --warningiserror --keep-going .

test: install
	$(BIN)/python -m pytest

# ruff's rules are in pyproject.toml (chapters/ruff.toml: 88 columns for the chapters'
# code); CI runs this before the tests.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check chapters/
	@# The appendix pages have no paired notebook: check their code through a temporary one.
	@tmp=$$(mktemp -d) && for page in appendix/*.md; do \
	  $(BIN)/jupytext --quiet --to ipynb -o $$tmp/$$(basename $$page .md).ipynb $$page || exit 1; \
	done && $(BIN)/ruff check --config chapters/ruff.toml $$tmp && \
	$(BIN)/ruff format --check --config chapters/ruff.toml $$tmp; status=$$?; rm -rf $$tmp; exit $$status

# Wrap the chapters' code to 88 columns: format the paired notebooks, then carry the
# result back into the .md files.
format: install
	$(BIN)/jupytext --sync chapters/*.md
	$(BIN)/ruff format chapters/
	$(BIN)/jupytext --sync chapters/*.ipynb

install: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt -e .
	touch $@

# After editing a chapter's .md, regenerate its paired .ipynb (without outputs).
sync: install
	$(BIN)/jupytext --sync chapters/*.md

clean:
	rm -rf _build
