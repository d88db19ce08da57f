# Two commands on a fresh machine (see README):
#   make demo   install what is missing, train DACS on the embedded toy benchmark
#   make test   install what is missing, run the whole test suite
PYTHON ?= .venv/bin/python

.PHONY: setup demo test

setup:
	bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/demo.py

test: setup
	$(PYTHON) -m pytest tests
