"""The MLflow client talks through requests/urllib3, so HTTP faults reach it without changing task code."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from airflow_chaos import faults
from tests.unit.faults.test_http import armed

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tracking_uri() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/api/2.0/mlflow/experiments/search").respond_with_json({"experiments": []})
    server.start()
    yield f"http://127.0.0.1:{server.port}"
    server.clear()
    server.stop()


@pytest.mark.parametrize(
    ("fault", "kind", "message"),
    [
        (faults.Blackhole(path="/api/2.0/mlflow/*"), "unreachable", "Max retries exceeded"),
        (faults.HttpError(status=503), "http_503", "API request to"),
        (faults.MalformedBody(kind="truncated_json"), "malformed:truncated_json", "not in a valid JSON format"),
    ],
)
def test_mlflow_client_calls_are_faulted(tracking_uri, monkeypatch, fault, kind, message):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=tracking_uri)
    assert client.search_experiments() == []
    with armed(fault) as (ctx,), pytest.raises(MlflowException, match=message):
        client.search_experiments()
    assert ctx.changes["faulted_by_kind"] == {kind: 1}
    assert client.search_experiments() == []
