# Everything a fresh machine needs goes through these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1

.PHONY: venv run serve ipamsim test fuzz bench lint format

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

PORT ?= 8000
MANAGE := DEBUG=$${DEBUG:-true} $(BIN)/python manage.py

run: venv
	$(MANAGE) migrate --no-input --verbosity 0
	$(MANAGE) ensure_admin
	$(MANAGE) ipam_sync --schedule --verbosity 0 || echo "ipam_sync failed: the app starts with what it has"
	$(MANAGE) db_worker --verbosity 0 & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver $(HOST):$(PORT)

# Production: DEBUG off, so SECRET_KEY (and the settings in README's Production section) come
# from the environment. Migrates, collects the static files WhiteNoise serves, then runs
# gunicorn with ipamui/gunicorn.conf.py on $(HOST):$(PORT).
SERVE_MANAGE := DEBUG=false $(BIN)/python manage.py

serve: venv
	$(SERVE_MANAGE) migrate --no-input
	$(SERVE_MANAGE) collectstatic --no-input --verbosity 0
	DEBUG=false HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c ipamui/gunicorn.conf.py

ipamsim: venv
	mkdir -p var
	$(BIN)/python -m ipamsim --host $(HOST) --seed demo --state var/ipamsim-server.sqlite3

test: venv
	sh tests/prepare.sh
	$(BIN)/python -m pytest

fuzz: venv
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q tests/integration/app/test_fuzz.py tests/integration/ipamsim/test_fuzz_http.py tests/integration/planning/test_fuzz_*.py tests/integration/api/test_*fuzz.py tests/integration/api/test_schemathesis.py

bench: venv
	$(BIN)/python -m bench

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
