# Two commands do everything on a fresh clone: `make figures` and `make test`.
# Python 3.11-3.13 (CI tests 3.11); another one: make test PY=/path/to/python3.13
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
LOCK    := requirements.lock
ARGS    ?=

.PHONY: figures sync test full bench claims clean-figures canary lock

# Checked on every make (tools/venv_check.py): a venv whose python is gone, that has no pip (its creation
# was interrupted), or that another Python made (than 3.11-3.13, or than a PY given explicitly) is made
# again, with one line saying why.
VENV_PROBLEM := $(shell "$(PY)" tools/venv_check.py "$(VENV)" --origin "$(origin PY)" 2>&1)
ifneq ($(strip $(VENV_PROBLEM)),)
.PHONY: $(STAMP)
endif

$(STAMP): pyproject.toml $(LOCK)
	@"$(PY)" tools/venv_check.py "$(VENV)" --origin "$(origin PY)" --repair
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[test]'
	touch $(STAMP)

figures: $(STAMP)          ## execute every notebook, regenerate figures/ and the claims report
	exec $(BIN)/python -m sparsebounds run $(ARGS)

# The .md of each notebook is the source people edit (jupytext.toml pairs notebooks/NN_*.md with the .ipynb).
# One direction only, whatever the files' timestamps: the .md's cells into the .ipynb (cell ids and outputs of
# unchanged cells kept; a new .md gets its .ipynb), and the full profile's values and constraints (metadata.sparsebounds,
# which jupytext's --update alone leaves as they were). tests/test_text_notebooks.py fails when a pair disagrees.
sync: $(STAMP)             ## write each notebooks/NN_*.md's cells into its .ipynb (outputs kept); then `make figures`
	$(BIN)/python -m sparsebounds sync notebooks/[0-9][0-9]_*.md
	@echo 'sync: each notebooks/NN_*.ipynb has the cells of its .md (outputs kept); next: make figures'

test: $(STAMP)             ## unit tests, mutation tests, nbval on every notebook, figure regeneration
	$(BIN)/python -m pytest $(ARGS)

full: $(STAMP)             ## paper-grade sizes, written under build/full/ (never over committed files)
	exec $(BIN)/python -m sparsebounds run --profile full $(ARGS)

bench: $(STAMP)            ## performance numbers, printed, never asserted (ARGS=--quick skips the full profile)
	$(BIN)/python tools/bench.py $(ARGS)

claims: $(STAMP)
	$(BIN)/python -m sparsebounds claims

canary:                    ## newest versions the ranges allow, in a scratch clone: what moved (exit 1 only on a changed verdict or a crash)
	$(PY) tools/canary.py $(ARGS)

lock: $(STAMP)             ## rewrite requirements.lock from the installed versions (after changing one)
	{ grep '^#' $(LOCK); $(BIN)/python -m pip freeze --exclude-editable | grep -v '^-e'; } > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)

clean-figures:             ## the acceptance test: delete the figures, then `make figures` rebuilds them
	rm -f figures/*.png figures/data/*.json figures/claims.json figures/claims.md

# The book: the notebooks as a static web site that works offline (build/book/html/index.html).
.PHONY: book
BOOK_STAMP := $(VENV)/.book-installed

$(BOOK_STAMP): $(STAMP) requirements-book.txt
	$(BIN)/python -m pip install --quiet -r requirements-book.txt
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)        ## render the committed notebooks (no kernel) into build/book/html, warnings are errors
	$(BIN)/python book/build.py
