"""API checks: validate an HTTP response, or the JSON payload a task extracted from an API.

Pure functions yielding :class:`Detection` records, no Airflow imports:

- :func:`payload_format` (``format``): the payload is a list of JSON objects (optionally under a key);
- :func:`payload_schema` (``schema``): every record has the required keys, with the given JSON types;
- :func:`payload_volume` (``volume``): at least ``min_rows`` records (catches a task that swallowed an
  HTTP error and returned ``[]``);
- :func:`payload_completeness` (``completeness``): the given keys are never null;
- :class:`ApiResponseCheck` (``api`` plus the above): status, content type and parseable JSON of one
  response, then the payload checks on its body.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import Detection

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
    "null": (type(None),),
}
_SAMPLE = 5


def check_types(types: Mapping[str, str] | None) -> dict[str, str]:
    """Validate a ``{key: json type}`` mapping, naming the bad entry."""
    out = dict(types or {})
    bad = {k: v for k, v in out.items() if v not in JSON_TYPES}
    if bad:
        raise ChaosConfigError(f"field 'types': unknown JSON type(s) {bad}; allowed: {', '.join(JSON_TYPES)}")
    return out


def records_of(payload: Any, records_key: str | None = None) -> list[Any] | None:
    """The list of records in ``payload`` (under ``records_key`` when given); None when there is none."""
    if records_key is not None:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(records_key)
    return payload if isinstance(payload, list) else None


def _is_type(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in {"number", "integer"}:
        return False
    return isinstance(value, JSON_TYPES[name])


def payload_format(payload: Any, records_key: str | None = None) -> Detection:
    """A ``format`` detection: the payload is a list of JSON objects."""
    records = records_of(payload, records_key)
    not_objects = [] if records is None else [i for i, r in enumerate(records) if not isinstance(r, dict)]
    return Detection(
        check="payload_format",
        signals=["format"],
        passed=records is not None and not not_objects,
        observed={
            "payload_type": type(payload).__name__,
            "records_key": records_key,
            "is_list": records is not None,
            "non_object_rows": not_objects[:_SAMPLE],
        },
    )


def payload_schema(
    records: Sequence[Any], required_keys: Iterable[str], types: Mapping[str, str] | None = None
) -> Detection:
    """A ``schema`` detection: every record has ``required_keys`` and the JSON ``types`` given per key."""
    wanted = list(required_keys)
    kinds = check_types(types)
    rows = [r for r in records if isinstance(r, dict)]
    missing = sorted({k for r in rows for k in wanted if k not in r})
    mistyped = sorted({k for r in rows for k, t in kinds.items() if k in r and not _is_type(r[k], t)})
    bad_rows = sum(
        1
        for r in rows
        if any(k not in r for k in wanted) or any(k in r and not _is_type(r[k], t) for k, t in kinds.items())
    )
    seen_keys = sorted({k for r in rows[:_SAMPLE] for k in r})
    return Detection(
        check="payload_schema",
        signals=["schema"],
        passed=not missing and not mistyped,
        observed={
            "missing_keys": missing,
            "mistyped_keys": mistyped,
            "bad_rows": bad_rows,
            "rows": len(rows),
            "required": wanted,
            "types": kinds,
            "keys_seen": seen_keys,
        },
    )


def payload_volume(records: Sequence[Any] | None, min_rows: int) -> Detection:
    """A ``volume`` detection (a row-count check): at least ``min_rows`` records."""
    rows = len(records) if records is not None else 0
    return Detection(
        check="payload_row_count",
        signals=["volume"],
        passed=rows >= min_rows,
        observed={"rows": rows, "min_rows": min_rows},
    )


def payload_completeness(records: Sequence[Any], not_null: Iterable[str]) -> Detection:
    """A ``completeness`` detection: none of the ``not_null`` keys is null or absent in any record."""
    keys = list(not_null)
    rows = [r for r in records if isinstance(r, dict)]
    nulls = {k: sum(1 for r in rows if r.get(k) is None) for k in keys}
    return Detection(
        check="payload_not_null",
        signals=["completeness"],
        passed=not any(nulls.values()),
        observed={"null_counts": nulls, "rows": len(rows)},
    )


@dataclass(frozen=True)
class PayloadExpectations:
    """What a valid extracted payload looks like. Every field is optional; give at least one."""

    required_keys: tuple[str, ...] = ()
    types: Mapping[str, str] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    min_rows: int | None = None
    records_key: str | None = None

    def __post_init__(self) -> None:
        check_types(self.types)
        if self.min_rows is not None and self.min_rows < 0:
            raise ChaosConfigError(f"field 'min_rows' must be >= 0, got {self.min_rows!r}")

    @property
    def empty(self) -> bool:
        return not (self.required_keys or self.types or self.not_null or self.min_rows is not None)

    def validate(self, payload: Any) -> list[Detection]:
        """The format check, then schema, completeness and row count as configured."""
        fmt = payload_format(payload, self.records_key)
        records = records_of(payload, self.records_key) or []
        out = [fmt]
        if self.required_keys or self.types:
            out.append(payload_schema(records, self.required_keys, self.types))
        if self.not_null:
            out.append(payload_completeness(records, self.not_null))
        if self.min_rows is not None:
            out.append(payload_volume(records if fmt.passed else None, self.min_rows))
        return out


def validate_payload(
    payload: Any,
    *,
    required_keys: Iterable[str] = (),
    types: Mapping[str, str] | None = None,
    not_null: Iterable[str] = (),
    min_rows: int | None = None,
    records_key: str | None = None,
) -> list[Detection]:
    """Validate the JSON payload a task produced from an API (see :class:`PayloadExpectations`)."""
    expectations = PayloadExpectations(tuple(required_keys), dict(types or {}), tuple(not_null), min_rows, records_key)
    return expectations.validate(payload)


def _content_type(headers: Mapping[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower()
    return ""


@dataclass(frozen=True)
class ApiResponseCheck:
    """Check one HTTP response: status, content type and JSON body, then the payload expectations.

    :param expected_status: acceptable status codes.
    :param content_type: expected media type (``None``: any).
    :param payload: expectations on the parsed JSON body.
    """

    expected_status: tuple[int, ...] = (200,)
    content_type: str | None = "application/json"
    payload: PayloadExpectations = field(default_factory=PayloadExpectations)

    def check(self, status: int, headers: Mapping[str, str], body: bytes) -> list[Detection]:
        """Detections for one response given as status, headers and raw body bytes."""
        ctype = _content_type(headers)
        parsed, error = _parse_json(body)
        problems = []
        if status not in self.expected_status:
            problems.append(f"status {status} not in {list(self.expected_status)}")
        if self.content_type is not None and ctype != self.content_type:
            problems.append(f"content type {ctype or 'missing'!r} is not {self.content_type!r}")
        if error:
            problems.append(f"body is not JSON: {error}")
        api = Detection(
            check="api_response",
            signals=["api"],
            passed=not problems,
            observed={"status": status, "content_type": ctype, "bytes": len(body), "problems": problems},
        )
        return [api] if self.payload.empty else [api, *self.payload.validate(parsed)]

    def check_response(self, response: Any) -> list[Detection]:
        """Detections for a ``requests``/``httpx`` response (``status_code``, ``headers``, ``content``)."""
        return self.check(int(response.status_code), dict(response.headers), bytes(response.content))


def _parse_json(body: bytes) -> tuple[Any, str | None]:
    if not body:
        return None, "empty body"
    try:
        return json.loads(body), None
    except ValueError as exc:
        return None, str(exc)
