# Two commands do everything on a fresh clone: `make figures` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ARGS    ?=

.PHONY: figures test full bench claims clean-figures

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

figures: $(STAMP)          ## execute every notebook, regenerate figures/ and the claims report
	$(BIN)/python -m sparsebounds run $(ARGS)

test: $(STAMP)             ## unit tests, mutation tests, nbval on every notebook, figure regeneration
	$(BIN)/python -m pytest $(ARGS)

full: $(STAMP)             ## paper-grade sizes, written under build/full/ (never over committed files)
	$(BIN)/python -m sparsebounds run --profile full $(ARGS)

bench: $(STAMP)            ## performance numbers (printed, never asserted)
	$(BIN)/python tools/bench.py

claims: $(STAMP)
	$(BIN)/python -m sparsebounds claims

clean-figures:             ## the acceptance test: delete the figures, then `make figures` rebuilds them
	rm -f figures/*.png figures/claims.json figures/claims.md

# The book: the notebooks as a static web site that works offline (build/book/html/index.html).
.PHONY: book
BOOK_STAMP := $(VENV)/.book-installed

$(BOOK_STAMP): $(STAMP) requirements-book.txt
	$(BIN)/python -m pip install --quiet -r requirements-book.txt
	touch $(BOOK_STAMP)

book: $(BOOK_STAMP)        ## render the committed notebooks (no kernel) into build/book/html, warnings are errors
	$(BIN)/python book/build.py
