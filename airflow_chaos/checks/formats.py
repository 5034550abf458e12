"""Read a dataset from bytes or a path, sniffing its real format first, and say so as a ``format`` Detection.

A file whose format changed under the pipeline (a ``.csv`` that is really JSON, a ``.parquet`` that
is really CSV, a truncated, corrupt or empty file) must not be half-read into a plausible table:
:func:`read_bytes` sniffs the content, reads it only when it is what the name says, and returns a
failed ``readable_as_<format>`` Detection otherwise. Pure: no Airflow imports; pandas and pyarrow
are imported inside the functions that use them.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.records import Detection

if TYPE_CHECKING:
    import pandas as pd

FORMATS: tuple[str, ...] = ("parquet", "csv", "tsv", "json")
SUFFIXES: dict[str, str] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
}
PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 4096


class UnreadableData(Exception):
    """The bytes are not the format the name says, or are damaged. Carries what was sniffed."""

    def __init__(self, message: str, sniffed: str) -> None:
        super().__init__(message)
        self.sniffed = sniffed


def format_for(name: str, fmt: str | None = None) -> str:
    """The format to read ``name`` as: ``fmt`` when given, else from the file suffix."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ChaosConfigError(f"field 'format': unknown format {fmt!r}; allowed: {', '.join(FORMATS)}")
        return fmt
    suffix = Path(name.split("?", 1)[0]).suffix.lower()
    if suffix not in SUFFIXES:
        raise ChaosConfigError(
            f"field 'data': cannot tell the format of {name!r} from its suffix {suffix!r}; "
            f"allowed suffixes: {', '.join(SUFFIXES)}"
        )
    return SUFFIXES[suffix]


def _text_kind(text: str) -> str:
    """``json`` for text opening with a brace or bracket; ``tsv`` when the first line has tabs and no commas."""
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "json"
    first_line = stripped.split("\n", 1)[0]
    return "tsv" if "\t" in first_line and "," not in first_line else "csv"


def sniff(payload: bytes) -> str:
    """What the bytes look like: ``empty``, ``parquet``, ``json``, ``tsv``, ``csv`` (other text) or ``binary``."""
    if not payload.strip():
        return "empty"
    if payload.startswith(PARQUET_MAGIC):
        return "parquet"
    head = payload[:_SNIFF_BYTES]
    if b"\x00" in head:
        return "binary"
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=len(payload) <= _SNIFF_BYTES)
    except UnicodeDecodeError:
        return "binary"
    return _text_kind(text)


# ---------------------------------------------------------------------- readers, one per format
def _read_parquet(payload: bytes) -> pd.DataFrame:
    import pyarrow.parquet as pq

    if not payload.endswith(PARQUET_MAGIC):
        raise UnreadableData("the Parquet footer magic is missing: the file is truncated", "parquet (truncated)")
    return pq.read_table(io.BytesIO(payload)).to_pandas()


def _last_line_fields(text: str, sep: str) -> tuple[int, int, int]:
    """Field counts of the header and of the last non-empty line (quoted fields counted by the csv module)."""
    import csv

    lines = [ln for ln in text.splitlines() if ln.strip()]
    header, last = next(csv.reader([lines[0]], delimiter=sep)), next(csv.reader([lines[-1]], delimiter=sep))
    return len(header), len(last), len(lines)


def _read_csv(payload: bytes, sep: str = ",") -> pd.DataFrame:
    import pandas as pd

    text = payload.decode("utf-8-sig")
    header, last, lines = _last_line_fields(text, sep)
    if lines > 1 and last != header:
        raise UnreadableData(
            f"the last row has {last} field(s) but the header has {header}: the file is truncated or ragged",
            "csv (ragged)",
        )
    return pd.read_csv(io.StringIO(text), sep=sep)


def _read_tsv(payload: bytes) -> pd.DataFrame:
    return _read_csv(payload, sep="\t")


def _read_json(payload: bytes) -> pd.DataFrame:
    import pandas as pd

    text = payload.decode("utf-8-sig").strip()
    lines = [ln for ln in text.splitlines() if ln.strip()]
    json_lines = len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines)
    return pd.read_json(io.StringIO(text), lines=json_lines)


_READERS = {"parquet": _read_parquet, "csv": _read_csv, "tsv": _read_tsv, "json": _read_json}


def _matches(expected: str, sniffed: str, payload: bytes) -> bool:
    """A one-column text file has no delimiter to tell CSV from TSV: it is both."""
    if sniffed == expected:
        return True
    return expected == "tsv" and sniffed == "csv" and b"," not in payload.lstrip().split(b"\n", 1)[0]


def _parse(payload: bytes, fmt: str) -> pd.DataFrame:
    sniffed = sniff(payload)
    if not _matches(fmt, sniffed, payload):
        raise UnreadableData(f"expected {fmt}, but the content looks like {sniffed}", sniffed)
    try:
        return _READERS[fmt](payload)
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
