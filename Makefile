# Saksi: `make capture URL=…` and `make test` bootstrap everything on first use.
.PHONY: setup capture test lint demo bench

BIN := .venv/bin

setup:
	@bash scripts/setup.sh

capture: setup
	@if [ -z "$(URL)" ]; then echo "usage: make capture URL=https://… [ARGS='--case K --note …']" >&2; exit 2; fi
	@$(BIN)/saksi capture "$(URL)" $(ARGS)

# The tests start `saksi` hundreds of times: let Python keep compiled modules (.pyc) even
# where the environment says PYTHONDONTWRITEBYTECODE, so each start does not recompile.
# Most of a test's time is waiting on subprocesses and servers, so two pytest workers
# (one test file each at a time: a file's shared captures stay in one worker) use both
# cores. PYTEST_ARGS="-n 0" runs them in one process.
test: setup
	$(BIN)/ruff check .
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -q -n 2 --dist loadfile $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

demo: setup
	@$(BIN)/saksi demo

bench: setup
	$(BIN)/python benchmarks/static_capture.py
