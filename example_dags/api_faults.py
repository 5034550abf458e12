"""API faults on the real HTTP calls of an extract task: does the pipeline recover or notice?

``extract`` pulls orders from an HTTP API with ``requests`` and urllib3 retries. Chaos makes the
first three calls answer 429 (with a Retry-After header) and then lets calls through: the retries
absorb it, ``check_payload`` passes, and the verdict is RECOVERED. Remove the retries and
``extract`` raises (FAILED_LOUDLY); swallow the error and return ``[]`` and only ``min_rows=1``
stands between you and a SILENT verdict.

The API address comes from the ``api_url`` param (``airflow dags trigger -c '{"api_url": ...}'``).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag, get_current_context, task

from airflow_chaos import chaos, faults
from airflow_chaos.operators import AssertDetectedOperator, ValidateApiPayloadOperator


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "chaos"],
    params={"api_url": Param("http://127.0.0.1:8765/orders", type="string")},
)
def chaos_api_faults():
    @task
    def extract():
        import requests
        from requests.adapters import HTTPAdapter
        from urllib3.util.retry import Retry

        session = requests.Session()
        retry = Retry(total=5, backoff_factor=0.05, status_forcelist=[429, 500, 503], respect_retry_after_header=False)
        session.mount("http://", HTTPAdapter(max_retries=retry))
        response = session.get(get_current_context()["params"]["api_url"], timeout=5)
        response.raise_for_status()
        return response.json()["orders"]

    orders = chaos(extract(), faults.RateLimit(rate=1.0, first_n=3, retry_after=1), seed=11)

    check = ValidateApiPayloadOperator(
        task_id="check_payload", data=orders, required_keys=["id", "amount"], not_null=["amount"], min_rows=1
    )
    check >> AssertDetectedOperator(task_id="assert_detected")


chaos_api_faults()
