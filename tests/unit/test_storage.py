"""The one suffix map, format sniffer and table codec (airflow_chaos/storage.py, its codec section)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_chaos import faults
from airflow_chaos.checks import formats
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults.base import FaultContext
from airflow_chaos.storage import (
    FILE_FORMATS,
    SUFFIXES,
    as_format,
    format_of,
    json_layout,
    read_table,
    sniff,
    suffix_of,
    write_table,
)

TEXT_FORMATS = ("csv", "tsv", "json", "jsonl")


def orders() -> pd.DataFrame:
    """Every column kind a text format can carry: ints, floats with a null, strings with a null, bools, timestamps."""
    return pd.DataFrame(
        {
            "order_id": [1, 2, 3, 4],
            "price": [9.5, 20.0, None, 3.25],
            "sku": ["a", "b, with a comma", None, 'quoted "d"'],
            "paid": [True, False, True, True],
            "at": pd.to_datetime(
                ["2024-01-01", "2024-01-02 03:04:05.123456", "2024-01-03", "2024-01-04"], format="ISO8601"
            ),
            "at_utc": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]).tz_localize("UTC"),
        }
    )


def arrow_orders() -> pa.Table:
    return pa.table(
        {
            "order_id": pa.array([1, None, 3, 4], pa.int64()),
            "price": pa.array([9.5, 20.0, None, 3.25]),
            "sku": pa.array(["a", "b", None, "d"]),
            "paid": pa.array([True, None, True, False]),
            "at": pa.array(
                pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]), pa.timestamp("ns")
            ),
        }
    )


# ---------------------------------------------------------------------- round trips
def test_parquet_round_trips_exactly_for_pandas() -> None:
    frame = orders().assign(
        qty=pd.array([1, None, 3, 4], dtype="Int64"),
        kind=pd.Categorical(["x", "y", "x", "z"]),
        small=pd.Series([1, 2, 3, 4], dtype="int8"),
    )
    back = read_table(write_table(frame, "parquet"), "parquet")
    pd.testing.assert_frame_equal(back, frame)


def test_parquet_round_trips_exactly_for_arrow() -> None:
    table = arrow_orders().append_column("small", pa.array([1, 2, 3, None], pa.int8()))
    table = table.append_column("day", pa.array([0, 1, 2, 3], pa.int32()).cast(pa.date32()))
    table = table.append_column("code", pa.array(["x", "y", "x", None]).dictionary_encode())
    table = table.append_column("big", pa.array(["p", "q", "r", "s"], pa.large_string()))
    back = read_table(write_table(table, "parquet"), "parquet", kind="arrow")
    assert back.schema == table.schema
    assert back.equals(table)


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_text_formats_round_trip_pandas_values_and_types(fmt: str) -> None:
    frame = orders()
    back = read_table(write_table(frame, fmt), fmt)  # type: ignore[arg-type]
    assert list(back.columns) == list(frame.columns)
    assert back["order_id"].dtype == "int64" and back["price"].dtype == "float64" and back["paid"].dtype == "bool"
    assert back["at"].dtype.kind == "M" and str(back["at_utc"].dt.tz) == "UTC"
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_text_formats_round_trip_arrow_values_and_types(fmt: str) -> None:
    """Integers and booleans with nulls stay integers and booleans (not ``1.0``), timestamps stay timestamps."""
    table = arrow_orders()
    back = read_table(write_table(table, fmt), fmt, kind="arrow")  # type: ignore[arg-type]
    assert back.schema.types == table.schema.types
    assert back.to_pylist() == table.to_pylist()


@pytest.mark.parametrize("fmt", FILE_FORMATS)
def test_pandas_and_arrow_tables_write_the_same_bytes(fmt: str) -> None:
    frame = orders().drop(columns=["at_utc"])
    assert write_table(frame, fmt) == write_table(pa.Table.from_pandas(frame, preserve_index=False), fmt)


def test_the_index_of_a_frame_is_not_data() -> None:
    frame = orders().iloc[[3, 1]]
    for fmt in FILE_FORMATS:
        back = read_table(write_table(frame, fmt), fmt)
        assert list(back.columns) == list(frame.columns), fmt
        assert list(back.index) == [0, 1], fmt


def test_a_header_only_text_file_is_an_empty_table() -> None:
    assert read_table(b"a,b\n", "csv").shape == (0, 2)
    assert read_table(b"[]", "json", kind="arrow").num_rows == 0
    assert read_table(b"\n", "jsonl", kind="arrow").num_rows == 0


def test_unknown_format_or_kind_is_a_config_error() -> None:
    with pytest.raises(ChaosConfigError, match=r"field 'fmt': unknown format 'xlsx'; allowed: parquet, csv, tsv"):
        read_table(b"", "xlsx")  # type: ignore[call-overload]
    with pytest.raises(ChaosConfigError, match="field 'kind'"):
        read_table(b"a\n1\n", "csv", kind="polars")  # type: ignore[call-overload]
    with pytest.raises(ChaosConfigError, match="field 'fmt'"):
        write_table(orders(), "avro")  # type: ignore[arg-type]
    with pytest.raises(ChaosConfigError, match=r"^op: field 'data_format': unknown format 'CSV'"):
        as_format("CSV", owner="op", field="data_format")


# ---------------------------------------------------------------------- .json: one meaning
def test_json_reads_an_array_and_json_lines_and_writes_an_array() -> None:
    frame = orders()[["order_id", "sku"]]
    array = frame.to_json(orient="records").encode()
    lines = frame.to_json(orient="records", lines=True).encode()
    assert json_layout(b"\xef\xbb\xbf \n [") == "array" and json_layout(lines) == "lines"
    for payload in (array, lines, b"\xef\xbb\xbf" + array):
        pd.testing.assert_frame_equal(read_table(payload, "json"), frame)
    written = write_table(frame, "json")
    assert written.startswith(b"[") and json.loads(written) == frame.to_dict(orient="records")


def test_jsonl_is_json_lines_both_ways() -> None:
    frame = orders()[["order_id"]]
    written = write_table(frame, "jsonl")
    assert [json.loads(line) for line in written.splitlines()] == [{"order_id": i} for i in (1, 2, 3, 4)]
    with pytest.raises(ValueError, match="found a JSON array"):
        read_table(frame.to_json(orient="records").encode(), "jsonl")


def test_json_array_rows_may_have_different_keys() -> None:
    table = read_table(b'[{"a": 1}, {"a": 2.5, "b": "x"}, {}]', "json", kind="arrow")
    assert table.column_names == ["a", "b"]
    assert table.to_pylist() == [{"a": 1.0, "b": None}, {"a": 2.5, "b": "x"}, {"a": None, "b": None}]


@pytest.mark.parametrize("payload", [b"[1, 2]", b'[{"a": 1}', b'[{"a": NaN}]', b'{"a": 1}\n{"a": "x"}\n'])
def test_json_that_is_not_a_table_of_records_raises(payload: bytes) -> None:
    with pytest.raises(ValueError):
        read_table(payload, "json")


# ---------------------------------------------------------------------- the suffix map
@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("orders.csv", "csv"),
        ("/data/Orders.CSV", "csv"),
        ("s3://bucket/orders.tsv?versionId=3", "tsv"),
        ("memory://x/orders.Parquet", "parquet"),
        ("gs://b/part-0.pq", "parquet"),
        ("orders.json", "json"),
        ("orders.JSONL", "jsonl"),
        ("https://host/export.ndjson?token=a.csv", "jsonl"),
        (Path("/tmp/orders.tsv"), "tsv"),
    ],
)
def test_suffixes_are_case_insensitive_and_ignore_query_strings(name: str | Path, fmt: str) -> None:
    assert format_of(name) == fmt


def test_suffix_of() -> None:
    assert suffix_of("s3://b/dir.v2/orders.CSV?x=1") == ".csv"
    assert suffix_of("s3://b/dir.v2/orders") == ""
    assert suffix_of("/data/.hidden") == ""
    assert set(SUFFIXES) == {".csv", ".tsv", ".json", ".jsonl", ".ndjson", ".parquet", ".pq"}


def test_an_unknown_suffix_names_owner_field_and_the_allowed_suffixes() -> None:
    with pytest.raises(ChaosConfigError, match=r"^drop_column: field 'path': cannot tell .*'\.xlsx'.*\.csv, \.tsv"):
        format_of("orders.xlsx", owner="drop_column")


# ---------------------------------------------------------------------- sniffing
def parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": [1]}), sink)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (parquet_bytes(), "parquet"),
        (b' [{"a": 1}]', "json"),
        (b'\n{"a": 1}\n{"a": 2}\n', "jsonl"),
        (b"a\tb\n1\t2\n", "tsv"),
        (b"a,b\n1,2\n", "csv"),
        (b"a\n1\n", "csv"),
        (b"a,b\tc\n", "csv"),  # commas win over tabs
    ],
)
def test_without_a_suffix_the_content_tells(data: bytes, fmt: str) -> None:
    assert format_of("s3://b/export", data) == fmt
    assert format_of("s3://b/export.csv", data) == "csv"  # the suffix first


@pytest.mark.parametrize("data", [b"", b" \n", b"\x00\x01garbage"])
def test_empty_or_binary_content_without_a_suffix_is_a_config_error(data: bytes) -> None:
    with pytest.raises(ChaosConfigError, match=r"swap_format: field 'path': .*no known suffix"):
        format_of("blob", data, owner="swap_format")


@pytest.mark.parametrize(
    ("data", "sniffed"),
    [
        (b"", "empty"),
        (b"  \n\t", "empty"),
        (b"\xef\xbb\xbf\n", "empty"),
        (parquet_bytes(), "parquet"),
        (b"[]", "json"),
        (b'\xef\xbb\xbf{"a": 1}\n', "json"),
        (b"a\tb\n1\t2\n", "tsv"),
        (b"a,b\n1,2\n", "csv"),
        (b"plain text", "csv"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "binary"),
        (b"\xff\xfe\xfa garbage", "binary"),
        (b"a,b\n" + b"x" * 5000 + b"\x00", "csv"),  # only the first 4 KiB are looked at
    ],
)
def test_strict_sniff(data: bytes, sniffed: str) -> None:
    assert sniff(data) == sniffed


# ---------------------------------------------------------------------- everyone uses the same codec
def test_checks_and_faults_agree_on_every_suffix() -> None:
    for suffix, fmt in SUFFIXES.items():
        name = f"orders{suffix.upper()}"
        assert formats.format_for(name) == fmt == format_of(name)
        faults.DropColumn(column="sku", path=f"/data/{name}")  # accepted at parse time


def write_orders(path: Path, fmt: str) -> None:
    path.write_bytes(write_table(orders()[["order_id", "price", "sku"]], fmt))  # type: ignore[arg-type]


def apply_on_file(fault: faults.Fault, journal: Journal) -> FaultContext:
    ctx = FaultContext(seed=3, journal=journal, labels={"injection_id": "inj-1", "dag_id": "d", "run_id": "r"})
    fault.apply(None, ctx)
    return ctx


def test_a_table_fault_on_a_tsv_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.tsv"
    write_orders(path, "tsv")
    original = path.read_bytes()
    journal = Journal(tmp_path / "journal")
    ctx = apply_on_file(faults.InjectNulls(column="order_id", fraction=0.5, path=str(path)), journal)
    assert ctx.changes["file_format"] == "tsv"
    assert sniff(path.read_bytes()) == "tsv"
    frame, detection = formats.read_path(path)
    assert detection.passed and detection.check == "readable_as_tsv"
    assert frame is not None and int(frame["order_id"].isna().sum()) == 2
    journal.restore()
    assert path.read_bytes() == original


def test_a_table_fault_on_a_json_array_stays_readable_by_the_format_check(tmp_path: Path) -> None:
    """Before: table faults read ``.json`` as JSON Lines only (and wrote lines); SwapFormat wrote an array."""
    path = tmp_path / "orders.json"
    path.write_bytes(orders()[["order_id", "price"]].to_json(orient="records").encode())  # a JSON array
    apply_on_file(faults.DropColumn(column="price", path=str(path)), Journal(tmp_path / "journal"))
    assert path.read_bytes().startswith(b"[")
    frame, detection = formats.read_path(path)
    assert detection.passed and frame is not None and list(frame.columns) == ["order_id"]


def test_swap_format_output_is_read_by_the_checks_as_the_new_format(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    write_orders(path, "csv")
    for to in ("tsv", "json", "jsonl", "parquet"):
        ctx = FaultContext(seed=1)
        faulted = faults.SwapFormat(path=str(path), to=to).transform(path.read_bytes(), ctx)
        frame, detection = formats.read_bytes(faulted, f"orders.{to}")
        assert detection.passed, (to, detection.observed)
        assert frame is not None and list(frame.columns) == ["order_id", "price", "sku"]
        assert not formats.read_bytes(faulted, "orders.csv")[1].passed  # and the .csv reader notices


def test_the_validation_operator_reads_tsv(tmp_path: Path) -> None:
    from airflow_chaos.operators.validation import ValidateDataOperator, read_dataset

    path = tmp_path / "orders.tsv"
    write_orders(path, "tsv")
    frame, detection = read_dataset(str(path))
    assert detection.passed and detection.check == "readable_as_tsv"
    assert frame is not None and len(frame) == 4
    op = ValidateDataOperator(task_id="validate", data=str(path), required_columns=["sku"], data_format="tsv")
    assert [d.passed for d in op.collect(str(path))] == [True, True]


def test_importing_storage_loads_no_table_library() -> None:
    code = "import sys, airflow_chaos.storage; print(sorted(m for m in ('numpy', 'pandas', 'pyarrow') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


# ---------------------------------------------------------------------- paths: confinement of rendered locations
@pytest.mark.parametrize(
    ("template", "prefix"),
    [
        ("/data/exports/{{ dag_run.conf['day'] }}/x.csv", "/data/exports/"),
        ("/data/exports/day-{{ ds }}/x.csv", "/data/exports/"),
        ("/data/{% if params.big %}big{% endif %}/x.csv", "/data/"),
        ("s3://bucket/exports/{{ ds }}/x.csv", "s3://bucket/exports/"),
        ("{{ var.value.root }}/x.csv", ""),
        ("/data/exports/x.csv", None),
    ],
)
def test_static_prefix_is_the_fixed_directory_before_the_first_template(template: str, prefix: str | None) -> None:
    from airflow_chaos.storage import static_prefix

    assert static_prefix(template) == prefix


def _tree(tmp_path: Path) -> tuple[Path, Path]:
    exports, secrets = tmp_path / "data" / "exports", tmp_path / "secrets"
    (exports / "2026-01-01").mkdir(parents=True)
    (secrets / "x").mkdir(parents=True)
    (secrets / "x" / "x.csv").write_text("secret\n")
    (exports / "linked").symlink_to(secrets / "x")
    return exports, secrets


@pytest.mark.parametrize(
    ("day", "allowed"),
    [("2026-01-01", True), ("new-day", True), ("../../secrets/x", False), ("linked", False), ("a/../../../secrets/x", False)],
)
def test_a_rendered_path_must_resolve_under_its_templates_fixed_directory(tmp_path: Path, day: str, allowed: bool) -> None:
    from airflow_chaos.storage import Confinement

    exports, _ = _tree(tmp_path)
    confinement = Confinement(template=f"{exports}/{{{{ dag_run.conf['day'] }}}}/x.csv")
    rendered = f"{exports}/{day}/x.csv"
    if allowed:
        confinement.check(rendered, "corrupt_bytes: field 'path'")
        return
    with pytest.raises(ChaosConfigError) as info:
        confinement.check(rendered, "corrupt_bytes: field 'path'")
    message = str(info.value)
    assert "field 'path'" in message and f"{exports}/" in message and "nothing was changed" in message


def test_a_prefix_is_a_directory_not_a_string_prefix(tmp_path: Path) -> None:
    from airflow_chaos.storage import Confinement

    exports, _ = _tree(tmp_path)
    (tmp_path / "data" / "exports-evil").mkdir()
    with pytest.raises(ChaosConfigError, match="outside"):
        Confinement(template=f"{exports}/{{{{ ds }}}}.csv").check(f"{exports}-evil/x.csv", "f: field 'path'")


def test_allowed_roots_bound_every_location_templated_or_not(tmp_path: Path) -> None:
    from airflow_chaos.storage import Confinement

    exports, secrets = _tree(tmp_path)
    roots = (str(tmp_path / "elsewhere"), "s3://bucket/chaos")
    for template in (f"{exports}/{{{{ ds }}}}/x.csv", f"{exports}/2026-01-01/x.csv"):
        with pytest.raises(ChaosConfigError) as info:
            Confinement(template=template, roots=roots).check(f"{exports}/2026-01-01/x.csv", "f: field 'path'")
        assert "allowed_paths" in str(info.value) and str(tmp_path / "elsewhere") in str(info.value)
    Confinement(template=f"{exports}/{{{{ ds }}}}/x.csv", roots=(str(tmp_path / "data"),)).check(
        f"{exports}/2026-01-01/x.csv", "f: field 'path'"
    )
    with pytest.raises(ChaosConfigError, match="allowed_paths"):  # a static path through a symlink out of the roots
        Confinement(template=f"{exports}/linked/x.csv", roots=(str(exports),)).check(f"{exports}/linked/x.csv", "f")
    assert (secrets / "x" / "x.csv").read_text() == "secret\n"


def test_a_static_path_is_not_bound_by_its_own_directory(tmp_path: Path) -> None:
    """A path written out in full is the user's choice: a symlinked file in it is written through, as before."""
    from airflow_chaos.storage import Confinement

    exports, _ = _tree(tmp_path)
    Confinement(template=f"{exports}/linked/x.csv").check(f"{exports}/linked/x.csv", "f: field 'path'")


def test_a_template_without_a_fixed_directory_needs_allowed_roots(tmp_path: Path) -> None:
    from airflow_chaos.storage import Confinement

    with pytest.raises(ChaosConfigError, match=r"no fixed directory.*allowed_paths"):
        Confinement(template="{{ dag_run.conf['path'] }}").check(str(tmp_path / "x.csv"), "f: field 'path'")
    Confinement(template="{{ dag_run.conf['path'] }}", roots=(str(tmp_path),)).check(str(tmp_path / "x.csv"), "f")
    with pytest.raises(ChaosConfigError, match="allowed_paths"):
        Confinement(template="{{ dag_run.conf['path'] }}", roots=(str(tmp_path / "a"),)).check("/etc/passwd", "f")


@pytest.mark.parametrize(
    ("rendered", "allowed"),
    [
        ("s3://bucket/exports/2026/x.csv", True),
        ("S3://bucket/exports/2026/x.csv", True),
        ("s3://bucket/exports/../secrets/x.csv", False),
        ("s3://bucket/exports/%2E%2E/secrets/x.csv", False),
        ("s3://bucket/exports-evil/x.csv", False),
        ("s3://other/exports/x.csv", False),
        ("/bucket/exports/x.csv", False),
    ],
)
def test_urls_are_normalized_and_dot_dot_segments_refused(rendered: str, allowed: bool) -> None:
    from airflow_chaos.storage import Confinement

    confinement = Confinement(template="s3://bucket/exports/{{ ds }}/x.csv")
    if allowed:
        confinement.check(rendered, "f: field 'path'")
    else:
        with pytest.raises(ChaosConfigError, match="field 'path'"):
            confinement.check(rendered, "f: field 'path'")


def test_reading_a_fifo_or_device_refuses_without_blocking(tmp_path: Path) -> None:
    """``open_regular`` checks the opened descriptor: a FIFO swapped in after a stat never blocks a read."""
    import os
    import threading

    from airflow_chaos.storage import open_regular, sha256_file

    fifo = tmp_path / "orders.csv"
    os.mkfifo(fifo)
    errors: list[BaseException] = []

    def read() -> None:
        for call in (lambda: open_regular(fifo), lambda: sha256_file(fifo), lambda: open_regular(Path("/dev/null"))):
            try:
                call()
            except ChaosConfigError as exc:
                errors.append(exc)

    worker = threading.Thread(target=read, daemon=True)
    worker.start()
    worker.join(10)
    if worker.is_alive():  # unblock the reader stuck in open() before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not worker.is_alive(), "reading a FIFO blocked"
    assert len(errors) == 3 and all("not a regular file" in str(e) for e in errors)
