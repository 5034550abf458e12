"""Read a dataset from bytes or a path, sniffing its real format first, and say so as a ``format`` Detection.

A file whose format changed under the pipeline (a ``.csv`` that is really JSON, a ``.parquet`` that
is really CSV, a truncated, corrupt or empty file) must not be half-read into a plausible table:
:func:`read_bytes` sniffs the content, reads it only when it is what the name says, and returns a
failed ``readable_as_<format>`` Detection otherwise.

Suffixes, sniffing and parsing are :mod:`airflow_chaos.storage`'s, shared with the faults; what is
checked here is whether the content is what the name says, and whole: the wrong format, a Parquet
file without its footer, a CSV or TSV whose last row is cut short. Pure: no Airflow imports; pandas
and pyarrow are imported inside the functions that use them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import Detection
from airflow_chaos.storage import (
    PARQUET_MAGIC,
    FileFormat,
    Sniffed,
    as_format,
    format_of,
    json_layout,
    read_table,
    sniff,
)

if TYPE_CHECKING:
    import pandas as pd


class UnreadableData(Exception):
    """The bytes are not the format the name says, or are damaged. Carries what was sniffed."""

    def __init__(self, message: str, sniffed: str) -> None:
        super().__init__(message)
        self.sniffed = sniffed


def format_for(name: str, fmt: str | None = None) -> FileFormat:
    """The format to read ``name`` as: ``fmt`` when given, else from the file suffix."""
    if fmt is not None:
        return as_format(fmt, field="format")
    return format_of(name, field="data")


# ---------------------------------------------------------------------- is it what the name says, and whole?
def _matches(expected: FileFormat, sniffed: Sniffed, payload: bytes) -> bool:
    """JSON Lines must not be a JSON array; a one-column text file has no delimiter to tell CSV from TSV."""
    if sniffed == expected:
        return True
    if expected == "jsonl":
        return sniffed == "json" and json_layout(payload) == "lines"
    return expected == "tsv" and sniffed == "csv" and b"," not in payload.lstrip().split(b"\n", 1)[0]


def _last_line_fields(text: str, sep: str) -> tuple[int, int, int]:
    """Field counts of the header and of the last non-empty line (quoted fields counted by the csv module)."""
    import csv

    lines = [ln for ln in text.splitlines() if ln.strip()]
    header, last = next(csv.reader([lines[0]], delimiter=sep)), next(csv.reader([lines[-1]], delimiter=sep))
    return len(header), len(last), len(lines)


def _check_whole(payload: bytes, fmt: FileFormat) -> None:
    """Raise UnreadableData for a Parquet file without its footer or a CSV/TSV whose last row is ragged."""
    if fmt == "parquet" and not payload.endswith(PARQUET_MAGIC):
        raise UnreadableData("the Parquet footer magic is missing: the file is truncated", "parquet (truncated)")
    if fmt in ("csv", "tsv"):
        header, last, lines = _last_line_fields(payload.decode("utf-8-sig"), "\t" if fmt == "tsv" else ",")
        if lines > 1 and last != header:
            raise UnreadableData(
                f"the last row has {last} field(s) but the header has {header}: the file is truncated or ragged",
                f"{fmt} (ragged)",
            )


def _parse(payload: bytes, fmt: FileFormat) -> pd.DataFrame:
    sniffed = sniff(payload)
    if not _matches(fmt, sniffed, payload):
        raise UnreadableData(f"expected {fmt}, but the content looks like {sniffed}", sniffed)
    try:
        _check_whole(payload, fmt)
        return read_table(payload, fmt, kind="pandas")
    except UnreadableData:
        raise
    except Exception as exc:
        raise UnreadableData(f"{type(exc).__name__}: {exc}", f"{sniffed} (damaged)") from exc


def read_bytes(payload: bytes, name: str, fmt: str | None = None) -> tuple[pd.DataFrame | None, Detection]:
    """Read ``payload`` (the content of ``name``) as a DataFrame, with a ``format`` Detection.

    Returns ``(frame, passed detection)`` or ``(None, failed detection)``; never raises for bad content.
    """
    expected = format_for(name, fmt)
    observed: dict[str, Any] = {"path": name, "expected_format": expected, "bytes": len(payload)}
    try:
        frame = _parse(payload, expected)
    except UnreadableData as exc:
        observed.update(sniffed_format=exc.sniffed, error=str(exc))
        return None, Detection(check=f"readable_as_{expected}", signals=["format"], passed=False, observed=observed)
    observed.update(sniffed_format=expected, rows=len(frame), columns=[str(c) for c in frame.columns])
    return frame, Detection(check=f"readable_as_{expected}", signals=["format"], passed=True, observed=observed)


def missing_file(name: str, error: str) -> Detection:
    """The data did not arrive: nothing fresh and no rows (``freshness`` and ``volume``)."""
    return Detection(
        check="file_exists", signals=["freshness", "volume"], passed=False, observed={"path": name, "error": error}
    )


def read_path(path: str | Path, fmt: str | None = None) -> tuple[pd.DataFrame | None, Detection]:
    """Read a local file through :func:`read_bytes`; a missing file gives a failed ``file_exists`` Detection."""
    name = str(path)
    format_for(name, fmt)
    try:
        payload = Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        return None, missing_file(name, f"{type(exc).__name__}: {exc}")
    return read_bytes(payload, name, fmt)


# ---------------------------------------------------------------------- in-memory data
def is_path_like(data: Any) -> bool:
    """True for ``str`` and ``os.PathLike`` values (local paths, URLs, ``ObjectStoragePath``)."""
    return isinstance(data, str) or hasattr(data, "__fspath__")


def _records_frame(rows: Iterable[Any]) -> pd.DataFrame:
    import pandas as pd

    rows = list(rows)
    bad = [i for i, r in enumerate(rows) if not isinstance(r, dict)]
    if bad:
        raise ChaosConfigError(f"field 'data': a list of records must hold dicts; item {bad[0]} is not")
    return pd.DataFrame.from_records(rows)


def to_frame(data: Any) -> pd.DataFrame:
    """A pandas DataFrame from a DataFrame, an Arrow table, a list of records or a dict of columns."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if type(data).__module__.startswith("pyarrow") and hasattr(data, "to_pandas"):
        return data.to_pandas()
    if isinstance(data, list):
        return _records_frame(data)
    if isinstance(data, dict):
        return pd.DataFrame(data)
    raise ChaosConfigError(
        f"field 'data': expected a DataFrame, an Arrow table, a list of records or a file path, "
        f"got {type(data).__module__}.{type(data).__name__}"
    )
