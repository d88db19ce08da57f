# Two commands on a fresh machine (see README):
#   make demo   install what is missing, train source-only and DACS on the embedded
#               toy benchmark, print the gain and write a panel of predictions
#   make test   install what is missing, run the whole test suite
PYTHON ?= .venv/bin/python

.PHONY: setup demo test

setup:
	bash tools/setup_env.sh

demo: setup
	$(PYTHON) tools/demo.py

test: setup
	$(PYTHON) -m pytest tests
