"""The pure redaction of records (issue #8, item 1): URL query values and userinfo, sensitive names."""

from __future__ import annotations

import pytest

from airflow_chaos.records import Detection, Injection, InjectionStatus
from airflow_chaos.redaction import REDACTED, redact_json, redact_text, sensitive_name, sensitive_values


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "503 Server Error: Service Unavailable for url: http://svc:hunter2@api.local:8080/v1?api_key=k3y&page=2",
            "503 Server Error: Service Unavailable for url: http://***@api.local:8080/v1?api_key=***&page=***",
        ),
        ("https://ghp_tokenAsUser@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
        (
            "Max retries exceeded with url: /v1/orders?token=abc123&sig=zz#frag (Caused by x)",
            "Max retries exceeded with url: /v1/orders?token=***&sig=***#frag (Caused by x)",
        ),
        ("sent {'User-Agent': 'python-requests', 'Authorization': 'Bearer eyJ.abc'}", None),
        ('{"X-Api-Key": "k-123", "accept": "json"}', '{"X-Api-Key": "***", "accept": "json"}'),
        ("Authorization: Bearer eyJhbGciOi.x.y\nAccept: */*", "Authorization: ***\nAccept: */*"),
        ("Cookie: session=abc; theme=dark\nHost: x", "Cookie: ***\nHost: x"),
        ("login failed password=hunter2, retry", "login failed password=***, retry"),
        ("client_secret='s3cr3t' access_token=\"t0k\"", "client_secret='***' access_token=\"***\""),
        ("apiKey: abc-def", "apiKey: ***"),
    ],
)
def test_redact_text_hides_query_values_userinfo_and_sensitive_names(text, expected):
    out = redact_text(text)
    if expected is None:
        assert "eyJ.abc" not in out and "'Authorization': '***'" in out and "'User-Agent': 'python-requests'" in out
    else:
        assert out == expected


@pytest.mark.parametrize(
    "text",
    [
        "KeyError: 'price'",
        "drop_column(column='api_key')",
        "http_error(status=503)",
        "1 of 3 calls faulted (1 with http_503)",
        "manual__2026-11-29T00:07:07.105103+00:00",
        "s3://bucket/data/orders.parquet",
        "missing_keys: ['price'] keys_seen: ['id']",
        "rendering ['path'] failed: UndefinedError: 'ds_x' is undefined",
    ],
)
def test_redact_text_leaves_text_without_secrets_alone(text):
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("name", "sensitive"),
    [
        ("Authorization", True),
        ("Proxy-Authorization", True),
        ("Cookie", True),
        ("Set-Cookie", True),
        ("x-api-key", True),
        ("apiKey", True),
        ("access_token", True),
        ("client_secret", True),
        ("db_password", True),
        ("passwd", True),
        ("KeyError", False),
        ("missing_keys", False),
        ("keep_fraction", False),
        ("monkey", False),
        ("page", False),
        ("author", False),
    ],
)
def test_sensitive_names(name, sensitive):
    assert sensitive_name(name) is sensitive


def test_redact_json_walks_dicts_and_lists_and_keeps_non_strings():
    value = {
        "headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "json"},
        "urls": ["http://u:p@h/x?a=1"],
        "requests_seen": 3,
        "effective": True,
        "api_token": 123456,
        "missing_keys": ["price"],
        "nested": [{"password": ["a", {"b": "c"}]}],
    }
    assert redact_json(value) == {
        "headers": {"Authorization": REDACTED, "Accept": "json"},
        "urls": ["http://***@h/x?a=***"],
        "requests_seen": 3,
        "effective": True,
        "api_token": REDACTED,
        "missing_keys": ["price"],
        "nested": [{"password": [REDACTED, {"b": REDACTED}]}],
    }


def test_sensitive_values_are_what_redact_text_hid_under_a_secret_name_or_in_userinfo():
    text = "GET http://bot:pw-123456@h/x?api_key=k-999999&page=22 with 'Authorization': 'Bearer tok-777777'"
    found = sensitive_values(text)
    assert {"bot:pw-123456", "pw-123456", "k-999999", "Bearer tok-777777", "tok-777777"} <= set(found)
    assert "22" not in found  # a query value under a plain name is redacted in records, not masked everywhere


def test_injection_and_detection_json_are_redacted():
    injection = Injection(
        kind="http_error",
        fault={"kind": "http_error", "host": "*"},
        signals=["api"],
        status=InjectionStatus.INJECTED,
        target="http method=* host=* path=*",
        changes={"urls": ["https://a:b@h/?key=v"]},
        error="HTTPError: 503 for url: https://svc:pw@h/x?api_key=SECRET",
    )
    record = injection.to_json()
    assert record["error"] == "HTTPError: 503 for url: https://***@h/x?api_key=***"
    assert record["changes"] == {"urls": ["https://***@h/?key=***"]}
    assert injection.error is not None and "SECRET" in injection.error  # the live object is untouched
    detection = Detection(check="api", signals=["api"], passed=False, observed={"url": "http://h/x?token=T0K3N"})
    assert detection.to_json()["observed"] == {"url": "http://h/x?token=***"}


@pytest.mark.parametrize(
    "text",
    [
        "HTTPError: 503 for url: http://u:p@h:1/x?api_key=k&page=2",
        "sent {'Authorization': 'Bearer abc', 'Cookie': 'a=b'}",
        "Cookie: a=1; b=2",
        "ProxyError: http://chaos:3f9a1c2b7d@127.0.0.1:40123 refused",
    ],
)
def test_redaction_is_idempotent(text):
    once = redact_text(text)
    assert redact_text(once) == once and once != text


def test_the_fault_proxys_credential_in_a_proxy_url_is_hidden():
    assert redact_text("curl: (56) http://chaos:3f9a1c2b7d@127.0.0.1:40123") == "curl: (56) http://***@127.0.0.1:40123"


@pytest.mark.parametrize(
    "text",
    [
        "a." * 30_000 + "@",  # every dot starts a would-be URL scheme (13 s before the scheme was bounded)
        ("xkey" * 50 + ": v ") * 1_000,  # long names holding a sensitive word, then a separator
        "key" * 30_000 + "=x",
        "?a" * 50_000 + "=",
        "password token secret " * 5_000,
    ],
    ids=["dots", "long-names", "keys", "queries", "words"],
)
def test_large_adversarial_text_is_redacted_in_linear_time(text):
    import time

    started = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - started < 3.0  # about 0.1 s each here on a loaded 2-core machine
