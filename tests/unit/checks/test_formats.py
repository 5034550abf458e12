"""Reading datasets whose format may have changed under the pipeline: sniff first, then a ``format`` Detection."""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from airflow_chaos.checks.formats import format_for, read_bytes, read_path, sniff, to_frame
from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.faults.base import FaultContext
from airflow_chaos.faults.files import CorruptBytes, EmptyFile, SwapFormat, TruncateFile

FRAME = pd.DataFrame({"order_id": [1, 2, 3], "price": [9.5, 20.0, 3.25], "sku": ["a", "b", "c"]})
BIG = pd.DataFrame(
    {"order_id": range(200), "price": [i * 0.75 for i in range(200)], "sku": ["sku-%d" % i for i in range(200)]}
)


def parquet_bytes(frame: pd.DataFrame = FRAME) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame), sink)
    return sink.getvalue()


def csv_bytes(frame: pd.DataFrame = FRAME) -> bytes:
    return frame.to_csv(index=False).encode()


def json_bytes(frame: pd.DataFrame = FRAME) -> bytes:
    return frame.to_json(orient="records").encode()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (parquet_bytes(), "parquet"),
        (csv_bytes(), "csv"),
        (json_bytes(), "json"),
        (b'{"a": 1}\n{"a": 2}\n', "json"),
        (b"", "empty"),
        (b"  \n\t", "empty"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00", "binary"),
        (b"\xff\xfe\xfa\x00garbage", "binary"),
    ],
)
def test_sniff(payload, expected):
    assert sniff(payload) == expected


@pytest.mark.parametrize(
    ("name", "payload"),
    [("orders.parquet", parquet_bytes()), ("orders.csv", csv_bytes()), ("orders.json", json_bytes())],
)
def test_reads_each_format_with_a_passed_format_detection(name, payload):
    frame, detection = read_bytes(payload, name)

    assert frame is not None
    assert list(frame.columns) == ["order_id", "price", "sku"]
    assert len(frame) == 3
    assert detection.passed and detection.signals == ["format"]
    assert detection.check == f"readable_as_{format_for(name)}"
    assert detection.observed["rows"] == 3
    json.dumps(detection.to_json())


def test_tsv_is_read_and_csv_in_disguise_is_not():
    tsv = FRAME.to_csv(index=False, sep="\t").encode()
    frame, detection = read_bytes(tsv, "orders.tsv")
    assert detection.passed and frame is not None and list(frame.columns) == ["order_id", "price", "sku"]
    assert sniff(tsv) == "tsv"
    assert not read_bytes(csv_bytes(), "orders.tsv")[1].passed
    assert not read_bytes(tsv, "orders.csv")[1].passed  # would otherwise be read as one column
    one_column = b"sku\na\nb\n"
    assert read_bytes(one_column, "skus.tsv")[1].passed and read_bytes(one_column, "skus.csv")[1].passed


def test_json_lines_are_read_as_records():
    payload = FRAME.to_json(orient="records", lines=True).encode()
    frame, detection = read_bytes(payload, "orders.jsonl")
    assert detection.passed and frame is not None and len(frame) == 3


@pytest.mark.parametrize(
    ("name", "payload", "sniffed"),
    [
        ("orders.csv", json_bytes(), "json"),  # the producer switched to JSON, kept the name
        ("orders.parquet", csv_bytes(), "csv"),  # "Parquet" that is really CSV
        ("orders.json", parquet_bytes(), "parquet"),
        ("orders.csv", parquet_bytes(), "parquet"),
        ("orders.parquet", b"", "empty"),
        ("orders.csv", b"", "empty"),
        ("orders.json", b"\x00\x01\x02garbage\xff", "binary"),
    ],
)
def test_a_changed_format_fails_loudly_with_a_format_detection(name, payload, sniffed):
    frame, detection = read_bytes(payload, name)

    assert frame is None
    assert not detection.passed
    assert detection.signals == ["format"]
    assert detection.check == f"readable_as_{format_for(name)}"
    assert detection.observed["sniffed_format"] == sniffed
    assert detection.observed["error"]
    json.dumps(detection.to_json())


def test_truncated_parquet_is_not_readable():
    payload = parquet_bytes()
    frame, detection = read_bytes(payload[: len(payload) // 2], "orders.parquet")
    assert frame is None and not detection.passed
    assert "truncated" in detection.observed["error"]


def test_corrupt_parquet_body_is_not_readable():
    payload = bytearray(parquet_bytes())
    payload[8:-8] = b"\x00" * (len(payload) - 16)
    frame, detection = read_bytes(bytes(payload), "orders.parquet")
    assert frame is None and not detection.passed
    assert detection.observed["sniffed_format"] == "parquet (damaged)"


def test_csv_cut_mid_row_is_not_half_read():
    payload = csv_bytes()
    cut = payload[: payload.rindex(b",")]  # the last row loses its last field
    frame, detection = read_bytes(cut, "orders.csv")
    assert frame is None and not detection.passed
    assert "field" in detection.observed["error"]


def test_truncated_json_is_not_readable():
    payload = json_bytes()
    frame, detection = read_bytes(payload[:-10], "orders.json")
    assert frame is None and not detection.passed
    assert detection.observed["sniffed_format"] == "json (damaged)"


def test_read_path_reads_a_local_file(tmp_path):
    path = tmp_path / "orders.parquet"
    path.write_bytes(parquet_bytes())
    frame, detection = read_path(path)
    assert detection.passed and frame is not None
    pd.testing.assert_frame_equal(frame, FRAME)


def test_a_missing_file_is_a_freshness_and_volume_detection(tmp_path):
    frame, detection = read_path(tmp_path / "late.csv")
    assert frame is None
    assert detection.check == "file_exists"
    assert detection.signals == ["freshness", "volume"]
    assert not detection.passed


def test_explicit_format_overrides_the_suffix(tmp_path):
    path = tmp_path / "orders.dat"
    path.write_bytes(csv_bytes())
    frame, detection = read_path(path, "csv")
    assert detection.passed and frame is not None


def test_unknown_suffix_or_format_names_the_field():
    with pytest.raises(ChaosConfigError, match=r"field 'data'.*suffix"):
        format_for("orders.xlsx")
    with pytest.raises(ChaosConfigError, match=r"field 'format'.*allowed: parquet, csv, tsv, json"):
        format_for("orders.csv", "avro")


def test_to_frame_accepts_frames_tables_records_and_columns():
    records = FRAME.to_dict(orient="records")
    for data in (FRAME, pa.Table.from_pandas(FRAME), records, FRAME.to_dict(orient="list")):
        frame = to_frame(data)
        assert list(frame.columns) == ["order_id", "price", "sku"] and len(frame) == 3
    assert to_frame(FRAME) is FRAME


def test_to_frame_rejects_other_things_naming_the_field():
    with pytest.raises(ChaosConfigError, match="field 'data'"):
        to_frame(42)
    with pytest.raises(ChaosConfigError, match="item 1 is not"):
        to_frame([{"a": 1}, 2])


@pytest.mark.parametrize("name", ["orders.csv", "orders.parquet", "orders.json"])
@pytest.mark.parametrize(
    "make_fault",
    [
        lambda path: SwapFormat(path=path, to="jsonl" if path.endswith(".parquet") else "parquet"),
        lambda path: SwapFormat(path=path, to="tsv"),
        lambda path: TruncateFile(path=path, keep_fraction=0.6),
        lambda path: CorruptBytes(path=path, fraction=0.05),
        lambda path: EmptyFile(path=path),
    ],
    ids=["swap_format", "swap_to_tsv", "truncate_file", "corrupt_bytes", "empty_file"],
)
def test_the_file_fault_catalogue_is_caught_by_the_reader(name, make_fault):
    """The real file faults (faults/files.py) applied to real bytes: every one gives a failed format detection."""
    payload = {"orders.csv": csv_bytes, "orders.parquet": parquet_bytes, "orders.json": json_bytes}[name](BIG)
    fault = make_fault(name)
    faulted = fault.transform(payload, FaultContext(seed=11))

    frame, detection = read_bytes(faulted, name)

    assert frame is None, f"{fault.describe()} on {name} was read as a table"
    assert not detection.passed and detection.signals == ["format"]
