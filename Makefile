.PHONY: help setup run test lint bench
help:            ## list the targets
	@grep -E '^[a-z]+:.*##' Makefile | sed 's/:.*##/\t/'
setup:           ## virtual environment with the project and its test tools
	python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[dev]"
run:             ## the default scenario
	. .venv/bin/activate && python -m simulator scenario=hybrid
test:            ## the test suite (what CI runs)
	. .venv/bin/activate && python -m pytest
lint:            ## ruff and the import layers (import-linter)
	. .venv/bin/activate && ruff check simulator tests benchmarks && lint-imports
bench:           ## throughput and memory, engine vs NumPy
	. .venv/bin/activate && python benchmarks/throughput.py
