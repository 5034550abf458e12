"""Tests leave no process-wide sqlite3 codecs behind (the CI failure of test_features.py after c8ed6c2).

pandas' ``to_sql`` on a sqlite3 connection registers ISO datetime adapters and converters for the
whole process. Under ``make test`` one xdist worker runs many files: a DAG test whose task called
``to_sql`` (test_matrix_detects) handed them to every later test of that worker, and Feast's SQLite
online store, which stores epoch integers, then wrote rows its own converter could not read ("invalid
literal for int()"), failing all 19 repository tests of tests/unit/faults/test_features.py. In
Airflow every task runs in a process of its own; a test must leave the process as it found it.
The tests run in pairs, in this order, in one process (one file goes whole to one worker).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime


def _pandas_codecs() -> list[str]:
    return [
        str(key)
        for registry in (sqlite3.adapters, sqlite3.converters)
        for key, fn in registry.items()
        if getattr(fn, "__module__", "") == "pandas.io.sql"
    ]


def test_a_task_runs_pandas_to_sql_on_sqlite():
    import pandas as pd

    with sqlite3.connect(":memory:") as conn:
        pd.DataFrame({"t": [datetime(2026, 1, 1)]}).to_sql("t", conn, index=False)
    assert _pandas_codecs()  # pandas swapped the codecs, process-wide, as it does in a task


def test_the_next_test_does_not_inherit_pandas_sqlite_codecs():
    assert _pandas_codecs() == []


def test_once_feast_is_loaded_the_next_test_gets_feasts_codecs_back():
    import feast.infra.online_stores.sqlite as feast_sqlite
    import pandas as pd

    with sqlite3.connect(":memory:") as conn:
        pd.DataFrame({"t": [datetime(2026, 1, 1)]}).to_sql("t", conn, index=False)
    assert sqlite3.adapters[(datetime, sqlite3.PrepareProtocol)] is not feast_sqlite.adapt_datetime_epoch


def test_feast_can_read_what_it_writes_after_that():
    import feast.infra.online_stores.sqlite as feast_sqlite

    assert _pandas_codecs() == []
    assert sqlite3.adapters[(datetime, sqlite3.PrepareProtocol)] is feast_sqlite.adapt_datetime_epoch
    assert sqlite3.converters["TIMESTAMP"] is feast_sqlite.convert_timestamp
