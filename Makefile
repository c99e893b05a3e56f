# The two commands a newcomer needs: `make demo` runs the main example job, `make test` runs every test.
# Both create .venv on first use (Python 3.10+ and Node.js 20+ needed; the lab extension is built by pip).

PYTHON ?= python3
# Python writes bytecode caches here even where the environment turns them off: the tests and the demo start
# hundreds of interpreters (kernels, CLIs, task processes), each of which would compile the package again, and
# pytest would rewrite every test module on every run (22 s of collection instead of 4 s).
unexport PYTHONDONTWRITEBYTECODE
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip

.PHONY: demo test test-fast test-core test-server test-browser lint install clean

$(VENV)/.base:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	touch $@

$(VENV)/.examples: $(VENV)/.base pyproject.toml
	rm -rf jupyter_taskvalues/labextension
	$(PIP) install --quiet -e '.[examples]'
	touch $@

$(VENV)/.test: $(VENV)/.base pyproject.toml
	rm -rf jupyter_taskvalues/labextension
	$(PIP) install --quiet -e '.[test,dev]'
	touch $@

install: $(VENV)/.test

demo: $(VENV)/.examples
	$(VENV)/bin/jupyter-taskvalues run examples/income/databricks.yml

test: $(VENV)/.test
	bash scripts/ensure-chromium
	$(MAKE) -k test-core test-server test-browser lint
	cd labextension && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm test

lint: $(VENV)/.test
	$(VENV)/bin/ruff check jupyter_taskvalues tests benchmarks
	$(VENV)/bin/ruff format --check jupyter_taskvalues tests benchmarks
	$(VENV)/bin/mypy
	cd labextension && PATH="$(abspath $(VENV))/bin:$$PATH" jlpm lint:check

# The fast tier (everything not marked slow, see tests/conftest.py), on two workers; the server tests too.
test-fast: $(VENV)/.test
	$(PY) -m pytest tests -m "not slow" -n 2 --ignore=tests/server --ignore=tests/browser
	$(PY) -m pytest tests/server -m "not slow" -n 2 -p pytest_jupyter.jupyter_server

test-core: $(VENV)/.test
	$(PY) -m pytest tests -n 2 --ignore=tests/server --ignore=tests/browser

test-server: $(VENV)/.test
	$(PY) -m pytest tests/server -p pytest_jupyter.jupyter_server

test-browser: $(VENV)/.test
	$(PY) -m pytest tests/browser

clean:
	rm -rf $(VENV) jupyter_taskvalues/labextension labextension/lib labextension/node_modules .taskvalues
