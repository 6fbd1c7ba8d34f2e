# The two commands of the README: `make demo` and `make test`. Everything else is plumbing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install chromium demo demo-socket topology test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive the Prefect UI in Debian's Chromium (never Playwright's download).
# Installed when missing and apt is usable (root); otherwise those tests skip, saying why.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

# `make demo ARGS="--socket-mode --keep"` passes options on to `irbot demo`.
demo: $(STAMP)
	$(VENV)/bin/irbot demo $(ARGS)

demo-socket: $(STAMP)
	$(VENV)/bin/irbot demo --socket-mode $(ARGS)

# irbot as at scale, on this machine: Prefect on PostgreSQL (PREFECT_API_DATABASE_CONNECTION_URL,
# default postgres@127.0.0.1:5432/irbot_prefect, created if missing), a work pool, 2 workers and
# 2 webhook replicas. `make topology ARGS="--workers 3 --port 3100"` passes options on.
topology: $(STAMP)
	$(VENV)/bin/irbot topology $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# Whole modules on parallel workers, longest first (tests/conftest.py orders them): the
# end-to-end modules mostly wait on timers and leases, so their waits overlap.
PYTEST_WORKERS ?= 3
pytest: $(STAMP) chromium
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder

test: lint typecheck pytest

bench: $(STAMP)
	$(PY) -m bench.webhook_ack
	$(PY) -m bench.backup_cost
	$(PY) -m bench.transcript_cost --redaction-check 100000
	$(PY) -m bench.redaction_speed
	$(PY) -m bench.create_latency
	$(PY) -m bench.malformed_fuzz
	$(PY) -m bench.crash_matrix
	$(PY) -m bench.pending_archives
	$(PY) -m bench.throttled_backup
	$(PY) -m bench.burst

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache *.egg-info
