"""Validation operators: run checks on a task's output, push Detections, then raise if a critical one failed.

``ValidateDataOperator`` runs Great Expectations (GX Core 1.x) expectations on a dataset and turns each
result into a Detection (:mod:`airflow_chaos.checks.expectations`). Its ``expect`` and
``result_format`` parameters mirror the GX team's ``GXValidateDataFrameOperator``. By default
(``engine="auto"``) the common expectations are evaluated natively on Arrow with GE's verdicts
(:mod:`airflow_chaos.checks.native`, 40x faster or more) and GE is imported only when a suite needs
it; ``required_columns`` never needs it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_chaos import storage
from airflow_chaos.checks import expectations, formats
from airflow_chaos.checks.schema import required_columns
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.operators.records import push_detections, raise_on_critical
from airflow_chaos.records import Detection

if TYPE_CHECKING:
    from airflow.sdk import Context


def columns_of(data: Any) -> list[str]:
    """Column names of a DataFrame, Arrow table, list of records or dict of columns."""
    if hasattr(data, "column_names"):
        return list(data.column_names)
    if hasattr(data, "columns"):
        return [str(c) for c in data.columns]
    if isinstance(data, dict):
        return list(data)
    if isinstance(data, list):
        seen: dict[str, None] = {}
        for row in data:
            if isinstance(row, dict):
                seen.update(dict.fromkeys(row))
        return list(seen)
    raise ChaosConfigError(f"field 'data': cannot read columns from a {type(data).__name__}")


def _is_url(value: Any) -> bool:
    return "://" in str(value) or hasattr(value, "protocol")


def read_dataset(source: Any, data_format: str | None = None) -> tuple[Any, Detection]:
    """Read a local path, a URL or an ``ObjectStoragePath`` into a DataFrame with a ``format`` Detection.

    Returns ``(None, failed detection)`` when the file is missing or not readable as its format.
    """
    if not _is_url(source):
        return formats.read_path(source, data_format)
    from airflow.sdk import ObjectStoragePath

    path = source if hasattr(source, "protocol") else ObjectStoragePath(str(source))
    name = str(path)
    formats.format_for(name, data_format)
    try:
        payload = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        return None, formats.missing_file(name, f"{type(exc).__name__}: {exc}")
    return formats.read_bytes(payload, name, data_format)


def _check_expect_item(item: Any, field: str) -> None:
    if isinstance(item, Mapping) and "expectations" not in item:
        expectations.check_spec(item, field)
    elif not (
        isinstance(item, Mapping)
        or expectations.is_suite_path(item)
        or hasattr(item, "expectation_type")
        or hasattr(item, "expectations")
    ):
        raise ChaosConfigError(
            f"field {field!r}: expected a GX expectation, a dict with 'type', an ExpectationSuite or a suite "
            f"JSON path; got {type(item).__name__}"
        )


def check_expect(expect: Any, owner: str) -> None:
    """Validate ``expect`` without importing GX or reading files (for ``__init__``)."""
    items = list(expect) if isinstance(expect, (list, tuple)) else [expect]
    try:
        for i, item in enumerate(items):
            _check_expect_item(item, f"expect[{i}]" if len(items) > 1 else "expect")
    except ChaosConfigError as exc:
        raise ChaosConfigError(f"{owner}: {exc}") from None


class ValidateDataOperator(BaseOperator):
    """Validate a dataset produced upstream and record a Detection per check.

    Detections are pushed (XCom ``chaos_detections``) before this task raises, so a failed check
    still counts for :class:`AssertDetectedOperator`. A file that cannot be read as its format
    (changed format, truncated, corrupt, empty) gives a failed ``readable_as_<format>`` detection
    (signal ``format``) and fails the task.

    Example::

        ValidateDataOperator(
            task_id="validate",
            data=transform.output,
            expect=[
                {"type": "expect_column_values_to_not_be_null", "column": "qty"},
                {"type": "expect_column_mean_to_be_between", "column": "price", "min_value": 8, "max_value": 12},
            ],
        )

    :param data: the dataset: a DataFrame, an Arrow table, a list of records, or a file path or
        ``ObjectStoragePath`` URL (``.parquet``, ``.csv``, ``.tsv``, ``.json``, ``.jsonl``; see
        :mod:`airflow_chaos.storage`); usually ``upstream.output`` (templated).
    :param expect: one GX expectation, a list of them (GX objects or dicts
        ``{"type": "expect_...", "column": ..., "meta": {"severity": "warning"}}``), an
        ``ExpectationSuite``, or the path of a suite saved as JSON.
    :param result_format: GX result format: ``BOOLEAN_ONLY``, ``BASIC``, ``SUMMARY`` (default) or ``COMPLETE``.
    :param profile_from: reference data (same forms as ``data``); adds a baseline suite derived from it:
        columns, types, nulls, ranges, mean and stdev, row count (templated).
    :param required_columns: columns that must exist: a ``schema`` check that needs no GX (templated).
    :param data_format: read file paths as this format instead of guessing from the suffix.
    :param engine: ``auto`` (default: the native Arrow engine when it supports every expectation of the
        suite, else Great Expectations for the whole suite), ``native`` (fail when it cannot) or ``gx``.
        Each Detection's ``observed["engine"]`` says which one ran.
    :param fail_task: raise :class:`ChaosDetectionFailed` when a critical check fails (default True).
    """

    template_fields: Sequence[str] = ("data", "required_columns", "profile_from")
    ui_color = "#c3e6cb"

    def __init__(
        self,
        *,
        data: Any,
        expect: Any = None,
        result_format: str = "SUMMARY",
        profile_from: Any = None,
        required_columns: Sequence[str] | None = None,
        data_format: str | None = None,
        fail_task: bool = True,
        engine: str = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(expect, (list, tuple)) and not expect:
            expect = None
        self._check_arguments(expect, result_format, profile_from, required_columns, data_format, fail_task)
        if engine not in expectations.ENGINES:
            raise ChaosConfigError(
                f"{self.task_id}: field 'engine': got {engine!r}; allowed: {', '.join(expectations.ENGINES)}"
            )
        self.engine = engine
        self.data = data
        self.expect = expect
        self.result_format = result_format
        self.profile_from = profile_from
        self.required_columns = list(required_columns) if required_columns else []
        self.data_format = data_format
        self.fail_task = fail_task

    def _check_arguments(
        self,
        expect: Any,
        result_format: str,
        profile_from: Any,
        required: Sequence[str] | None,
        data_format: str | None,
        fail_task: bool,
    ) -> None:
        owner = self.task_id
        if expect is None and profile_from is None and not required:
            raise ChaosConfigError(
                f"{owner}: give at least one check: field 'expect', 'profile_from' or 'required_columns'"
            )
        if expect is not None:
            check_expect(expect, owner)
        if result_format not in expectations.RESULT_FORMATS:
            raise ChaosConfigError(
                f"{owner}: field 'result_format': got {result_format!r}; "
                f"allowed: {', '.join(expectations.RESULT_FORMATS)}"
            )
        if required is not None and (isinstance(required, str) or not all(isinstance(c, str) for c in required)):
            raise ChaosConfigError(
                f"{owner}: field 'required_columns' must be a list of column names, got {required!r}"
            )
        if data_format is not None:
            storage.as_format(data_format, owner=owner, field="data_format")
        if not isinstance(fail_task, bool):
            raise ChaosConfigError(f"{owner}: field 'fail_task' must be True or False, got {fail_task!r}")

    @property
    def uses_gx(self) -> bool:
        """True when there are expectations to run (``expect`` or ``profile_from``), natively or with GE."""
        return self.expect is not None or self.profile_from is not None

    # ------------------------------------------------------------------ pure parts
    def load(self, data: Any) -> tuple[Any, list[Detection]]:
        """The dataset in memory and any ``format`` detection; ``(None, [failed])`` when unreadable."""
        if not formats.is_path_like(data):
            return data, []
        frame, detection = read_dataset(data, self.data_format)
        return frame, [detection]

    def _reference(self) -> Any:
        if not formats.is_path_like(self.profile_from):
            return self.profile_from
        frame, detection = read_dataset(self.profile_from, self.data_format)
        if frame is None:
            raise ChaosConfigError(
                f"{self.task_id}: field 'profile_from': cannot read the reference {self.profile_from!s}: "
                f"{detection.observed.get('error')}"
            )
        return frame

    def run_checks(self, data: Any) -> list[Detection]:
        """Every check on in-memory ``data``: required columns, then the expectations (native engine or GE)."""
        found: list[Detection] = []
        if self.required_columns:
            found.append(required_columns(columns_of(data), self.required_columns))
        if self.uses_gx:
            from airflow_chaos.checks import native  # pyarrow and NumPy: loaded when a task validates

            found += native.validate(
                data,
                self.expect,
                engine=self.engine,
                profile_from=self._reference(),
                result_format=self.result_format,
            )
        return found

    def collect(self, data: Any) -> list[Detection]:
        """Load ``data`` (reading files) and run every check; an unreadable file stops at its format detection."""
        loaded, found = self.load(data)
        if loaded is None:
            return found
        return found + self.run_checks(loaded)

    # ------------------------------------------------------------------ Airflow
    def execute(self, context: Context) -> list[dict[str, Any]]:
        detections = push_detections(context, self.collect(self.data))
        for d in detections:
            log = self.log.info if d.passed else self.log.warning
            log("check %s [%s]: %s %s", d.check, ",".join(d.signals), "passed" if d.passed else "FAILED", d.observed)
        if self.fail_task:
            raise_on_critical(detections, self.task_id)
        return [d.to_json() for d in detections]
