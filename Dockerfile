# Airflow with airflow-chaos installed from this repository: the image docker-compose.yaml runs.
#
# AIRFLOW_VERSION is the apache-airflow version uv.lock pins (tests/e2e/test_compose.py fails when the
# Dockerfile, docker-compose.yaml and uv.lock disagree). Every other dependency is installed at the
# version uv.lock pins too: `uv export` turns the lock into a requirements file, the way the official
# image's docs ask ("pip install apache-airflow==$AIRFLOW_VERSION -r requirements.txt"), so Airflow is
# never upgraded or downgraded underneath the image.
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11
FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}

ARG AIRFLOW_VERSION
ARG UV_VERSION=0.13.9

USER airflow
WORKDIR /opt/airflow/src/airflow-chaos

COPY --chown=airflow:0 pyproject.toml uv.lock README.md ./
RUN pip install --no-cache-dir "uv==${UV_VERSION}" \
    && uv export --frozen --no-emit-project --no-hashes --extra all --format requirements-txt \
        --output-file /tmp/requirements.lock.txt \
    && pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /tmp/requirements.lock.txt \
    && rm /tmp/requirements.lock.txt

# The package itself, last, so that editing it does not reinstall the dependencies.
COPY --chown=airflow:0 airflow_chaos ./airflow_chaos
RUN pip install --no-cache-dir --no-deps . \
    && python -c "import airflow_chaos, airflow; assert airflow.__version__ == '${AIRFLOW_VERSION}', airflow.__version__"

WORKDIR /opt/airflow
