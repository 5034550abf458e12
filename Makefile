# airflow-chaos: the commands the README promises.
SHELL := /bin/bash
PYTHON ?= python3.11
UV := $(PYTHON) -m uv
VENV := .venv
BIN := $(VENV)/bin
AIRFLOW_HOME_DIR := $(CURDIR)/.airflow
DEMO_ENV := AIRFLOW_HOME=$(AIRFLOW_HOME_DIR) \
	AIRFLOW__CORE__DAGS_FOLDER=$(CURDIR)/example_dags \
	AIRFLOW__CORE__LOAD_EXAMPLES=False \
	AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sqlite:///$(AIRFLOW_HOME_DIR)/airflow.db \
	AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING \
	AIRFLOW__CHAOS__ENABLED=True

.PHONY: install demo test lint bench clean

$(VENV)/.installed: pyproject.toml uv.lock
	@$(UV) --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --python $(PYTHON) --extra dev
	@touch $@

install: $(VENV)/.installed

demo: install
	@mkdir -p $(AIRFLOW_HOME_DIR) reports
	@echo "== airflow db migrate (SQLite under .airflow/)"
	@$(DEMO_ENV) $(BIN)/airflow db migrate > $(AIRFLOW_HOME_DIR)/migrate.log 2>&1
	@echo "== airflow dags test chaos_quickstart (chaos enabled; log in .airflow/dags-test.log)"
	@$(DEMO_ENV) $(BIN)/airflow dags test chaos_quickstart > $(AIRFLOW_HOME_DIR)/dags-test.log 2>&1 \
		|| { tail -50 $(AIRFLOW_HOME_DIR)/dags-test.log; exit 1; }
	@$(DEMO_ENV) $(BIN)/airflow-chaos report chaos_quickstart --output reports/quickstart.json

test: install
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check airflow_chaos tests example_dags bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(AIRFLOW_HOME_DIR) reports .pytest_cache .mypy_cache .ruff_cache
