"""The docker-compose stack, checked without a Docker engine: Debian's ``docker-compose config`` validates
the file, and the compose file, the Dockerfile and ``uv.lock`` pin one Airflow version. The README's
"Run it in Docker" section names only services that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {"airflow-init", "api-server", "scheduler", "dag-processor", "triggerer", "worker-1", "worker-2"}
CELERY_ONLY = {"redis", "worker-1", "worker-2", "demo-api-worker-1", "demo-api-worker-2"}


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _docker_compose(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose is not installed (apt-get install -y docker-compose; .ci/run installs it)")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(ROOT)}  # no COMPOSE_* or AIRFLOW_* from the caller's shell
    return subprocess.run(
        [binary, "--project-directory", str(ROOT), "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_docker_compose_config_accepts_the_file_with_and_without_the_celery_profile() -> None:
    plain = _docker_compose("config", "-q")
    assert plain.returncode == 0, plain.stderr
    celery = _docker_compose("--profile", "celery", "config")
    assert celery.returncode == 0, celery.stderr
    resolved = yaml.safe_load(celery.stdout)["services"]
    default = {name for name, service in resolved.items() if not service.get("profiles")}
    assert default == {
        "postgres",
        "airflow-init",
        "api-server",
        "scheduler",
        "dag-processor",
        "triggerer",
        "mlflow",
        "demo-api",
    }
    assert {name for name, service in resolved.items() if service.get("profiles") == ["celery"]} == CELERY_ONLY
    assert resolved["worker-1"]["command"] in ("celery worker", ["celery", "worker"])
    assert resolved["scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"


def test_the_compose_file_the_dockerfile_and_uv_lock_pin_the_same_airflow_version() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    [locked] = {p["version"] for p in lock["package"] if p["name"] == "apache-airflow"}
    dockerfile = re.search(r"^ARG AIRFLOW_VERSION=(\S+)$", (ROOT / "Dockerfile").read_text(), re.M)
    assert dockerfile is not None, "the Dockerfile declares ARG AIRFLOW_VERSION=<version>"
    assert dockerfile.group(1) == locked
    services = _compose()["services"]
    for name in AIRFLOW_SERVICES | {"mlflow", "demo-api"}:
        service = services[name]
        assert service["build"]["args"]["AIRFLOW_VERSION"] == locked, name
        assert service["image"].endswith(f"airflow-{locked}"), name


def test_every_airflow_service_shares_the_jwt_secret_the_execution_api_url_and_the_chaos_settings() -> None:
    services = _compose()["services"]
    envs = {name: services[name]["environment"] for name in AIRFLOW_SERVICES}
    for key in (
        "AIRFLOW__API_AUTH__JWT_SECRET",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__CHAOS__JOURNAL_PATH",
    ):
        assert len({env[key] for env in envs.values()}) == 1, key
    some = envs["scheduler"]
    assert some["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://api-server:8080/execution/"
    assert (some["AIRFLOW__CHAOS__ENABLED"], some["AIRFLOW__CHAOS__ENVIRONMENT"]) == ("true", "dev")
    assert some["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert "./example_dags:/opt/airflow/dags:ro" in services["scheduler"]["volumes"]
    for name in set(services) - {"airflow-init", "demo-api", "demo-api-worker-1", "demo-api-worker-2"}:
        assert "healthcheck" in services[name], f"{name} has a healthcheck"


def test_the_two_workers_have_their_own_scratch_and_share_the_journal_volume() -> None:
    services = _compose()["services"]
    workers = [services["worker-1"], services["worker-2"]]
    assert all(w["profiles"] == ["celery"] for w in workers)
    scratch = [next(v for v in w["volumes"] if v.endswith(":/scratch")) for w in workers]
    assert scratch[0] != scratch[1]
    assert all(w["environment"]["TMPDIR"] == "/scratch" for w in workers)
    journal = workers[0]["environment"]["AIRFLOW__CHAOS__JOURNAL_PATH"]
    assert journal.startswith("/opt/airflow/shared/")
    assert all("chaos-shared:/opt/airflow/shared" in w["volumes"] for w in workers)


def _readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert match is not None, f'README has a "## {title}" section'
    return match.group(1)


def test_every_service_the_readme_names_exists_in_the_compose_file() -> None:
    section = _readme_section("Run it in Docker")
    named = {
        m
        for line in section.splitlines()
        if line.startswith("| `")
        for m in re.findall(r"`([a-z0-9-]+)`", line.split("|")[1])
    }
    services = set(_compose()["services"])
    assert named, "the section has a table of services"
    assert named - services == set(), f"the README names services the compose file lacks: {named - services}"
    assert services - named == set(), f"services the README does not describe: {services - named}"
