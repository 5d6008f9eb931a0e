# Pilot Ops — the two commands: `make run` and `make test`.
# Needs only Python 3.11+ on the machine; everything else goes into .venv.

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

export PORT

.PHONY: run prod test test-chaos test-fuzz test-browser test-production lint format migrate seed clean help check-system

help:
	@echo "make run    set up, migrate, seed the demo and start web + worker + beat on port $(PORT)"
	@echo "make test   run ruff and the whole test suite (unit, chaos, fuzz, browser)"
	@echo "make test-chaos | test-fuzz | test-browser   one slow suite on its own"
	@echo "make test-production   the production suite (needs PostgreSQL and Redis)"
	@echo "make prod   production mode on this machine: gunicorn (4 workers), 2 Celery workers, beat"

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Pilot Ops needs Python 3.11 or newer; found " + sys.version.split()[0] + ". Set PYTHON=/path/to/python3.11.")'
	$(PYTHON) -m venv $(VENV)

# WeasyPrint, which turns printed pages into PDF, loads the system's Pango.
check-system: $(STAMP)
	@$(PY) -c "import weasyprint" 2>/dev/null || { \
	  echo "Pilot Ops renders PDFs with WeasyPrint, which needs Pango:"; \
	  echo "  Debian/Ubuntu: sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0"; \
	  echo "  macOS: brew install pango"; exit 1; }

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

migrate: $(STAMP) check-system
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	@echo ""
	@echo "Pilot Ops is starting on http://localhost:$(PORT)/admin/ (health: http://localhost:$(PORT)/health/)"
	@echo "Ctrl-C stops web, worker and beat."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho --procfile Procfile start --port $(PORT)

# The production topology without containers, against PostgreSQL and Redis on
# 127.0.0.1 (DATABASE_URL, CELERY_BROKER_URL, CACHE_URL, EMAIL_URL override).
prod: check-system
	$(PY) deploy/run-local --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

test: lint check-system
	$(BIN)/pytest

test-chaos: check-system
	$(BIN)/pytest -m chaos

test-fuzz: check-system
	$(BIN)/pytest -m fuzz

test-browser: check-system
	$(BIN)/pytest -m browser

test-production: check-system
	$(BIN)/pytest -m production

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
