# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint browser migrate seed bench clean messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)
	$(BIN)/forum compile-messages

messages: install
	$(BIN)/forum extract-messages
	$(BIN)/forum compile-messages

run: install
	$(BIN)/forum migrate
	$(BIN)/forum seed-demo
	$(BIN)/forum serve --host $(HOST) --port $(PORT)  # FORUM_BASE_URL unset: follows these

lint: install
	$(BIN)/ruff check forum realtime notifications moderation knowledge readiness search tests bench
	$(BIN)/ruff format --check forum realtime notifications moderation knowledge readiness search tests bench
	$(BIN)/mypy

test: install lint browser
	$(BIN)/pytest -q

# tests/e2e drive Debian's Chromium: installed here when missing, so `make test` alone works
# on a fresh machine of this kind (they fail, never skip, without it).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	@command -v node >/dev/null || (apt-get update -qq && apt-get install -y -qq nodejs)

migrate: install
	$(BIN)/forum migrate

seed: install
	$(BIN)/forum seed-demo

bench: install
	$(BIN)/python -m bench.http

clean:
	rm -rf $(VENV) var
