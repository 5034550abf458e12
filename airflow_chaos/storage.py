"""The storage layer, ground floor: paths, checksums, atomic writes, the one suffix map, format sniffing
and the one table codec (pandas and Arrow).

Table files are ``parquet``, ``csv``, ``tsv``, ``json`` or ``jsonl``, named by one suffix map
(``.parquet .pq .csv .tsv .json .jsonl .ndjson``, case-insensitive, a URL's query string ignored).
``.json`` is read as a JSON array of records *or* as JSON Lines, decided by the first non-blank byte
(``[``: array), and always written as a JSON array of records; ``.jsonl`` and ``.ndjson`` are JSON
Lines both ways. Every reader and writer of table files (table and file faults, format checks,
validation operators) goes through :func:`read_table` and :func:`write_table`.

No Airflow imports at module level: ``faults/``, ``checks/`` and ``experiment/`` build on this module.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, TypeAlias, overload
from urllib.parse import unquote

from airflow_chaos.exceptions import ChaosConfigError

StoragePath: TypeAlias = Any  # pathlib.Path, upath.UPath or airflow.sdk.ObjectStoragePath (all os.PathLike-ish)

# ====================================================================== paths, checksums, atomic writes
# A location is a local path or an fsspec / ``ObjectStoragePath`` URL. Local paths are made absolute
# here, once, so a journal never records a path that means something else from another directory.
# Path objects (``pathlib.Path``, ``UPath``, Airflow's ``ObjectStoragePath`` built with a ``conn_id``
# by the Airflow layer) pass through unchanged.

_CHUNK = 1 << 20  # 1 MiB: streaming reads for checksums and copies


def as_path(location: str | os.PathLike[str] | StoragePath) -> StoragePath:
    """An absolute local ``Path`` for plain paths and ``file://`` URLs, a ``UPath`` for other URLs."""
    if isinstance(location, Path):
        return location.absolute()
    if not isinstance(location, (str, os.PathLike)):
        return location  # UPath / ObjectStoragePath
    text = os.fspath(location)
    if "://" in text and not text.startswith("file://"):
        from upath import UPath

        return UPath(text)
    return Path(os.path.abspath(os.path.expanduser(text.removeprefix("file://"))))


def is_local(path: StoragePath) -> bool:
    return isinstance(path, Path)


def location_of(path: StoragePath) -> str:
    """The canonical string of a location: an absolute local path or a full URL."""
    return str(path) if is_local(path) else str(path.as_uri() if hasattr(path, "as_uri") else path)


def real_path(path: StoragePath) -> StoragePath:
    """Where the bytes of ``path`` live: symlinks resolved for local paths (write through a link, keep it)."""
    return Path(os.path.realpath(path)) if is_local(path) else path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: StoragePath) -> str | None:
    """SHA-256 of the file at ``path`` read in 1 MiB chunks, or None when it does not exist.

    A FIFO, device or directory raises ``ChaosConfigError`` (see :func:`open_regular`), never blocks.
    """
    digest = hashlib.sha256()
    try:
        for _, chunk in read_chunks(path, "sha256"):
            digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


def file_mode(path: StoragePath) -> int | None:
    """Permission bits of a local file (None for object stores or a missing file)."""
    if not is_local(path):
        return None
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def require_regular_file(path: StoragePath, what: str) -> None:
    """Raise ``ChaosConfigError`` naming ``what`` unless ``path`` is a regular file (no dir, FIFO or device).

    Only ``stat`` is called: nothing is opened, so a FIFO never blocks the check.
    """
    if is_local(path):
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise ChaosConfigError(f"{what}: {path} does not exist") from None
        _require_regular_mode(mode, path, what)
        return
    if not path.exists():
        raise ChaosConfigError(f"{what}: {path} does not exist")
    if path.is_dir():
        raise ChaosConfigError(f"{what}: {path} is a directory, not a file")


def _require_regular_mode(mode: int, path: StoragePath, what: str) -> None:
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file (FIFO, device or socket)"
        raise ChaosConfigError(f"{what}: {path} is {kind}")


def open_regular(path: StoragePath, what: str = "storage") -> BinaryIO:
    """Open ``path`` for reading, refusing anything but a regular file without blocking on it.

    Local files are opened non-blocking and checked on the open descriptor (``fstat``), so a FIFO or
    device swapped in after an earlier check is refused, never read from. Object stores open as usual.
    """
    if not is_local(path):
        return path.open("rb")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        _require_regular_mode(os.fstat(fd).st_mode, path, what)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_chunks(path: StoragePath, what: str = "storage") -> Iterator[tuple[int, bytes]]:
    """``(offset, chunk)`` pairs of the regular file at ``path``, 1 MiB at a time (see :func:`open_regular`)."""
    offset = 0
    with open_regular(path, what) as fh:
        while chunk := fh.read(_CHUNK):
            yield offset, chunk
            offset += len(chunk)


# ---------------------------------------------------------------------- confinement of templated locations
# A fault's ``path`` is a template (``/data/exports/{{ dag_run.conf['day'] }}/x.csv``) that run conf or
# a Variable can fill with anything. Once rendered it must resolve, symlinks and ``..`` included,
# under the template's fixed directory, and under one of the operator's allowed roots when there are
# any. URLs are not resolved by a file system: a ``..`` segment in one is refused outright.


def static_prefix(template: str) -> str | None:
    """The fixed directory a template starts with: the text before its first ``{{`` or ``{%``, cut back
    to the last ``/`` (``"/data/exports/{{ ds }}/x.csv"`` -> ``"/data/exports/"``); ``""`` when the
    template starts with an expression; None when ``template`` holds no expression at all."""
    starts = [i for i in (template.find("{{"), template.find("{%")) if i >= 0]
    if not starts:
        return None
    return template[: template.rfind("/", 0, min(starts)) + 1]


def _is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def resolve_location(location: str, what: str) -> str:
    """Where ``location`` really points: a local path made absolute with symlinks and ``..`` resolved
    (``os.path.realpath``), or a URL with its scheme lower-cased and any ``..`` segment refused."""
    if not _is_url(location):
        return os.path.realpath(as_path(location))
    scheme, rest = location.split("://", 1)
    if any(unquote(segment) == ".." for segment in rest.split("/")):
        raise ChaosConfigError(f"{what}: {location!r} has a '..' segment; URLs must not climb out of a directory")
    return f"{scheme.lower()}://{rest}"


def is_within(resolved: str, root: str) -> bool:
    """Whether the resolved location ``resolved`` is the resolved ``root`` or inside it (a directory, not a string prefix)."""
    if _is_url(resolved) != _is_url(root):
        return False
    if not _is_url(resolved):
        return os.path.commonpath([resolved, root]) == root
    base = root.rstrip("/")
    return resolved == base or resolved.startswith(base + "/")


@dataclass(frozen=True)
class Confinement:
    """Where the rendered form of the location template ``template`` may point.

    When ``template`` holds an expression, the rendered location must resolve under the template's
    fixed directory (:func:`static_prefix`); a template that starts with an expression has none, so
    it needs ``roots``. When ``roots`` (``[chaos] allowed_paths``: absolute paths or URLs) is
    non-empty, every location, templated or not, must resolve under one of them.
    """

    template: str
    roots: tuple[str, ...] = ()

    def check(self, location: str, what: str) -> None:
        """Raise ``ChaosConfigError`` naming ``what`` and the allowed directory unless ``location`` stays inside."""
        resolved = resolve_location(location, what)
        prefix = static_prefix(self.template)
        if prefix == "" and not self.roots:
            raise ChaosConfigError(
                f"{what}: the template {self.template!r} starts with an expression, so it has no fixed directory "
                "to keep the rendered path in; start it with one (/data/{{ ds }}/x.csv) or set [chaos] allowed_paths; "
                "nothing was changed"
            )
        if prefix:
            root = resolve_location(prefix, what)
            if not is_within(resolved, root):
                shown = root if _is_url(root) else root.rstrip("/") + "/"
                raise ChaosConfigError(
                    f"{what}: {location!r} resolves to {resolved}, outside {shown} (the fixed directory of its "
                    f"template {self.template!r}); nothing was changed"
                )
        if self.roots and not any(is_within(resolved, resolve_location(r, what)) for r in self.roots):
            raise ChaosConfigError(
                f"{what}: {location!r} resolves to {resolved}, outside every root of [chaos] allowed_paths "
                f"({', '.join(self.roots)}); nothing was changed"
            )


def temp_sibling(path: StoragePath, tag: str) -> StoragePath:
    """A hidden temporary name beside ``path`` (same directory, so a rename is atomic)."""
    return path.parent / f".{path.name}.{tag}.tmp"


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(
    path: StoragePath,
    source: bytes | Callable[[BinaryIO], None],
    *,
    mode: int | None = None,
    temp: StoragePath | None = None,
) -> None:
    """Write ``source`` (bytes, or a function writing to a binary file) to ``path`` all or nothing.

    Local files: a temporary file beside the target, fsync, ``chmod`` to ``mode`` (default: the
    target's current mode, else 0o644 minus umask), ``os.replace``, fsync of the directory. A symlink at
    ``path`` is written through (the link stays). Object stores: write a temporary object then move it
    where the store can; a single put is already atomic on S3/GCS, so a failed move falls back to a put.
    """
    target = real_path(path)
    tmp = temp if temp is not None else temp_sibling(target, f"chaos-{uuid.uuid4().hex[:12]}")
    if not is_local(target):
        _write_remote(target, source, tmp)
        return
    mode = mode if mode is not None else file_mode(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            _fill(fh, source)
            fh.flush()
            os.fchmod(fh.fileno(), mode if mode is not None else 0o666 & ~_umask())
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def _fill(fh: BinaryIO, source: bytes | Callable[[BinaryIO], None]) -> None:
    if isinstance(source, (bytes, bytearray, memoryview)):
        fh.write(source)
    else:
        source(fh)


def _write_remote(target: StoragePath, source: bytes | Callable[[BinaryIO], None], tmp: StoragePath) -> None:
    with tmp.open("wb") as fh:
        _fill(fh, source)
    try:
        tmp.fs.mv(tmp.path, target.path)
    except Exception:  # noqa: BLE001 - stores without a server-side move get a plain put
        with target.open("wb") as fh:
            _fill(fh, source)
        with contextlib.suppress(Exception):
            tmp.unlink()


def copy_atomic(
    source: StoragePath, target: StoragePath, *, mode: int | None = None, temp: StoragePath | None = None
) -> None:
    """Stream ``source`` into ``target`` atomically (never holds the file in memory)."""

    def pour(out: BinaryIO) -> None:
        with open_regular(source, "copy") as fh:
            shutil.copyfileobj(fh, out, _CHUNK)

    write_atomic(target, pour, mode=mode, temp=temp)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def remove(path: StoragePath) -> bool:
    """Remove the file at ``path`` (through a symlink: the bytes go, the link stays); False when absent."""
    target = real_path(path)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    if is_local(target):
        _fsync_dir(target.parent)
    return True


# ====================================================================== suffix map, sniffing, table codec
# One vocabulary of table formats for every reader and writer: table faults on files, SwapFormat,
# the format checks and the validation operators. pandas and pyarrow are imported inside the
# functions that use them, so importing this module stays cheap.
#
# Types: Parquet keeps every type (Arrow tables and pandas frames round-trip exactly; a frame's index
# is not data and is not written, by any format). CSV, TSV and JSON carry no types: the reader infers
# them (integers, floats, booleans, ISO timestamps, strings) the same way for both table kinds, and
# the writer writes integers as integers even when an Arrow column has nulls.

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

TableKind = Literal["pandas", "arrow"]
FileFormat = Literal["parquet", "csv", "tsv", "json", "jsonl"]
Sniffed = Literal["empty", "parquet", "json", "tsv", "csv", "binary"]

FILE_FORMATS: tuple[FileFormat, ...] = ("parquet", "csv", "tsv", "json", "jsonl")
SUFFIXES: dict[str, FileFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
}
PARQUET_MAGIC = b"PAR1"
_SNIFF_BYTES = 4096
_BOM = codecs.BOM_UTF8
_NON_BLANK = re.compile(rb"\S")
_ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(?P<zone>Z|[+-]\d{2}:?\d{2})?")


def _where(owner: str | None, field: str | None) -> str:
    """The ``"owner: field 'x': "`` prefix of an error message (either part may be absent)."""
    return (f"{owner}: " if owner else "") + (f"field {field!r}: " if field else "")


def suffix_of(name: str | os.PathLike[str]) -> str:
    """The lower-case suffix of a path or URL (``".csv"``), a URL's query string ignored; ``""`` when none."""
    base = str(name).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def as_format(value: str, *, owner: str | None = None, field: str | None = "format") -> FileFormat:
    """``value`` as a :data:`FileFormat`, or ChaosConfigError naming ``owner`` and ``field``."""
    for fmt in FILE_FORMATS:
        if value == fmt:
            return fmt
    raise ChaosConfigError(f"{_where(owner, field)}unknown format {value!r}; allowed: {', '.join(FILE_FORMATS)}")


def format_of(
    name: str | os.PathLike[str],
    data: bytes | None = None,
    *,
    owner: str | None = None,
    field: str | None = "path",
) -> FileFormat:
    """The table format of ``name`` from its suffix, else (when ``data`` is given) from its content.

    Content: Parquet magic, a JSON array (``[``) or JSON Lines (``{``), tabs and no commas in the
    first line (TSV), other text (CSV). Raises ChaosConfigError naming ``owner`` and ``field`` when
    neither tells: an unknown suffix and no ``data``, or ``data`` that is empty or binary.
    """
    suffix = suffix_of(name)
    fmt = SUFFIXES.get(suffix)
    if fmt is not None:
        return fmt
    if data is None:
        raise ChaosConfigError(
            f"{_where(owner, field)}cannot tell the format of {str(name)!r} from its suffix {suffix!r}; "
            f"allowed suffixes: {', '.join(SUFFIXES)}"
        )
    sniffed = sniff(data)
    if sniffed == "json":
        return "json" if json_layout(data) == "array" else "jsonl"
    if sniffed == "empty" or sniffed == "binary":
        raise ChaosConfigError(
            f"{_where(owner, field)}cannot tell the format of {str(name)!r}: no known suffix and the content is {sniffed}"
        )
    return sniffed


def sniff(data: bytes) -> Sniffed:
    """What the bytes look like: ``empty``, ``parquet``, ``json``, ``tsv``, ``csv`` (other text) or ``binary``.

    Strict: text must be UTF-8 (a BOM is allowed) without NUL bytes; only the first 4 KiB are decoded.
    """
    if _first_non_blank(data) == b"":
        return "empty"
    if data.startswith(PARQUET_MAGIC):
        return "parquet"
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return "binary"
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=len(data) <= _SNIFF_BYTES)
    except UnicodeDecodeError:
        return "binary"
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        return "json"
    first_line = stripped.split("\n", 1)[0]
    return "tsv" if "\t" in first_line and "," not in first_line else "csv"


def json_layout(data: bytes) -> Literal["array", "lines"]:
    """``array`` when the first non-blank byte (after a BOM) is ``[``, else ``lines`` (JSON Lines)."""
    return "array" if _first_non_blank(data) == b"[" else "lines"


def _first_non_blank(data: bytes) -> bytes:
    match = _NON_BLANK.search(data, len(_BOM) if data.startswith(_BOM) else 0)
    return match.group() if match else b""


# ---------------------------------------------------------------------- reading
@overload
def read_table(data: bytes, fmt: FileFormat, *, kind: Literal["pandas"] = "pandas") -> pd.DataFrame: ...


@overload
def read_table(data: bytes, fmt: FileFormat, *, kind: Literal["arrow"]) -> pa.Table: ...


def read_table(data: bytes, fmt: FileFormat, *, kind: TableKind = "pandas") -> pa.Table | pd.DataFrame:
    """Parse ``data`` in format ``fmt`` into a pandas DataFrame (``kind="pandas"``) or a pyarrow Table.

    ``json`` reads a JSON array of records or JSON Lines (see the module notes); ``jsonl`` reads JSON
    Lines only. Raises ValueError (pyarrow's ``ArrowInvalid`` is one) or OSError when the bytes are
    not a table in that format, and ChaosConfigError for an unknown ``fmt`` or ``kind``.
    """
    fmt = as_format(fmt, field="fmt")
    if kind not in ("pandas", "arrow"):
        raise ChaosConfigError(f"field 'kind': got {kind!r}; allowed: pandas, arrow")
    data = data.removeprefix(_BOM)
    if fmt == "parquet":
        table = _read_parquet(data)
    elif fmt in ("csv", "tsv"):
        table = _read_delimited(data, "\t" if fmt == "tsv" else ",")
    elif fmt == "json" and json_layout(data) == "array":
        table = _read_json_array(data)
    else:
        table = _read_json_lines(data)
    return table if kind == "arrow" else table.to_pandas()


def _read_parquet(data: bytes) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    return pq.read_table(pa.BufferReader(data))


def _read_delimited(data: bytes, delimiter: str) -> pa.Table:
    """CSV or TSV; empty fields are nulls in every column, quoted fields may hold newlines."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    return pcsv.read_csv(
        pa.BufferReader(data),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
    )


def _read_json_lines(data: bytes) -> pa.Table:
    import pyarrow as pa
    import pyarrow.json as pjson

    if json_layout(data) == "array":
        raise ValueError("expected JSON Lines (one object per line), found a JSON array: name the file .json")
    return _timestamps_from_iso(pjson.read_json(pa.BufferReader(data)))


def _read_json_array(data: bytes) -> pa.Table:
    """A JSON array of objects, re-lined for the JSON Lines reader so both layouts infer the same types."""
    import pyarrow as pa

    records = json.loads(data)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("a JSON table must be an array of objects (records)")
    if not records:
        return pa.table({})
    lines = "\n".join(json.dumps(r, ensure_ascii=False, allow_nan=False) for r in records)
    return _read_json_lines(lines.encode())


def _timestamps_from_iso(table: pa.Table) -> pa.Table:
    """String columns holding ISO date-times (as every writer here writes them) become timestamps."""
    import pyarrow.types as pat

    for position, column in enumerate(table.columns):
        if pat.is_string(column.type) or pat.is_large_string(column.type):
            parsed = _as_timestamps(column)
            if parsed is not None:
                table = table.set_column(position, table.field(position).name, parsed)
    return table


def _as_timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray | None:
    """The column cast to nanosecond (else microsecond) timestamps, or None when a value is not ISO."""
    import pyarrow as pa
    import pyarrow.compute as pc

    first = pc.index(pc.is_valid(column), True).as_py()
    match = _ISO_DATETIME.fullmatch(column[first].as_py()) if first >= 0 else None
    if match is None:
        return None
    zone = "UTC" if match.group("zone") else None
    for unit in ("ns", "us"):
        try:
            return pc.cast(column, pa.timestamp(unit, tz=zone))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


# ---------------------------------------------------------------------- writing
def write_table(table: pa.Table | pd.DataFrame, fmt: FileFormat) -> bytes:
    """Serialize a pandas DataFrame or pyarrow Table in format ``fmt`` (``json``: an array of records).

    Text formats are UTF-8 with ``\\n`` line ends; timestamps are ISO 8601 (nanoseconds in JSON).
    """
    fmt = as_format(fmt, field="fmt")
    if fmt == "parquet":
        return _write_parquet(table)
    frame = _frame_for_text(table)
    if fmt in ("csv", "tsv"):
        text = _iso_datetimes(frame).to_csv(index=False, sep="\t" if fmt == "tsv" else ",", lineterminator="\n")
    else:
        text = frame.to_json(
            orient="records", lines=fmt == "jsonl", date_format="iso", date_unit="ns", force_ascii=False
        )
    return text.encode()


def _is_arrow(table: pa.Table | pd.DataFrame) -> bool:
    return type(table).__module__.startswith("pyarrow")


def _write_parquet(table: pa.Table | pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = table if _is_arrow(table) else pa.Table.from_pandas(table, preserve_index=False)
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink)
    return bytes(sink.getvalue().to_pybytes())


def _frame_for_text(table: pa.Table | pd.DataFrame) -> pd.DataFrame:
    """A pandas view for the text writers; Arrow integers and booleans keep their kind when they hold nulls."""
    import pandas as pd

    if isinstance(table, pd.DataFrame):
        return table
    import pyarrow.types as pat

    def nullable(type_: pa.DataType) -> pd.api.extensions.ExtensionDtype | None:
        if pat.is_boolean(type_):
            return pd.BooleanDtype()
        if pat.is_integer(type_):  # int64 -> Int64, uint8 -> UInt8
            dtype = pd.api.types.pandas_dtype(str(type_).capitalize().replace("Uint", "UInt"))
            return dtype if isinstance(dtype, pd.api.extensions.ExtensionDtype) else None
        return None

    return table.to_pandas(types_mapper=nullable)


def _iso_datetimes(frame: pd.DataFrame) -> pd.DataFrame:
    """Date-time columns as ISO 8601 text in their own unit (UTC with ``Z`` when zoned), NaT as empty.

    pandas alone writes a column of midnights as bare dates, which read back as dates.
    """
    import numpy as np
    import pandas as pd

    out = frame
    for position in range(frame.shape[1]):
        series = frame.iloc[:, position]
        zoned = isinstance(series.dtype, pd.DatetimeTZDtype)
        if not zoned and series.dtype.kind != "M":
            continue
        values = (series.dt.tz_convert("UTC").dt.tz_localize(None) if zoned else series).to_numpy()
        text = np.where(np.isnat(values), "", np.datetime_as_string(values, timezone="UTC" if zoned else "naive"))
        out = frame.copy(deep=False) if out is frame else out
        out.isetitem(position, text)
    return out
