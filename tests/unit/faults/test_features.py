"""Feature-store faults against a real Feast repository (SQLite online store, file offline store).

Each fault changes what serving returns, is journaled first, and restore puts the online rows
(served values with event timestamps) and the registry's view objects back exactly; rows written
after the fault are left alone (superseded). One repository per module, one copy per test.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from airflow_chaos.exceptions import ChaosConfigError
from airflow_chaos.experiment.journal import Journal
from airflow_chaos.faults import features as F
from airflow_chaos.faults.base import Fault, FaultContext
from tests.integration import feast_repo

pytestmark = pytest.mark.integration  # a real Feast repository

DRIVERS = 12
VIEWS = ("driver_hourly_stats", "other_view")
VIEW = "driver_hourly_stats"
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return feast_repo.build_repo(tmp_path_factory.mktemp("feast") / "golden", views=VIEWS, drivers=DRIVERS)


@pytest.fixture
def repo(golden: Path, tmp_path: Path) -> Path:
    return feast_repo.copy_repo(golden, tmp_path / "repo")


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal")


def ctx_for(journal: Journal, name: str = "inj") -> FaultContext:
    return FaultContext(seed=11, journal=journal, labels={"injection_id": name, "dag_id": "d", "run_id": "r", "task_id": "t"})


def now() -> float:
    return datetime.now(timezone.utc).timestamp()


DIRECT = {
    "corrupt": (
        lambda repo: F.CorruptFeatures(repo=repo, feature_view=VIEW, feature="conv_rate", fraction=0.5, value=50.0),
        lambda s: sum(v == 50.0 for v in s["conv_rate"]) == DRIVERS // 2,
    ),
    "corrupt_scale": (
        lambda repo: F.CorruptFeatures(repo=repo, feature_view=VIEW, feature="avg_daily_trips", fraction=1.0, scale=-1),
        lambda s: all(v <= 0 for v in s["avg_daily_trips"]),
    ),
    "skew": (
        lambda repo: F.ServingSkew(repo=repo, feature_view=VIEW, feature="acc_rate", transform="negate"),
        lambda s: all(v <= 0 for v in s["acc_rate"]),
    ),
    "drop": (
        lambda repo: F.DropFeature(repo=repo, feature_view=VIEW, feature="conv_rate"),
        lambda s: s["conv_rate"] == [None] * DRIVERS and None not in s["acc_rate"],
    ),
    "stale_overwrite": (
        lambda repo: F.StaleFeatures(repo=repo, feature_view=VIEW, mode="overwrite", by=3 * DAY),
        lambda s: max(s["conv_rate__ts"]) <= now() - 3 * 86400,
    ),
    "lag_shift": (
        lambda repo: F.FeatureLag(repo=repo, feature_view=VIEW, by=DAY, when="after"),
        lambda s: max(s["conv_rate__ts"]) <= now() - 3 * 86400,  # materialized up to now - 2 days, then 1 day behind
    ),
}


@pytest.mark.parametrize("name", sorted(DIRECT))
def test_a_fault_changes_what_serving_returns_and_restore_puts_every_row_back(repo, journal, name):
    make, changed = DIRECT[name]
    before = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    ctx = ctx_for(journal)

    make(str(repo)).mutate(ctx)

    faulted = feast_repo.served(repo, VIEW, DRIVERS)
    assert changed(faulted), faulted
    assert ctx.ineffective_reason is None and ctx.changes["rows_changed"] > 0
    assert feast_repo.served(repo, "other_view", DRIVERS) == before["served"]["other_view"]  # only the named view
    results = journal.restore()
    assert {r.outcome for r in results} == {"restored"}
    assert feast_repo.snapshot(repo, VIEWS, DRIVERS) == before


def test_version_mismatch_changes_the_registry_view_and_restore_puts_the_object_back(repo, journal):
    from airflow_chaos.hooks.feast import FeastHook

    before = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    fault = F.FeatureVersionMismatch(repo=str(repo), feature_view=VIEW, rename={"conv_rate": "conversion_rate"}, retype={"acc_rate": "Float64"})

    fault.mutate(ctx_for(journal))

    schema = FeastHook(feast_conn_id=None, repo=str(repo)).view_schema(VIEW)
    assert schema == {"conversion_rate": "FLOAT", "acc_rate": "DOUBLE", "avg_daily_trips": "INT64"}
    with pytest.raises(Exception, match="conv_rate"):  # the model's feature reference no longer resolves
        feast_repo.served(repo, VIEW, DRIVERS)
    assert [r.outcome for r in journal.restore()] == ["restored"]
    assert feast_repo.snapshot(repo, VIEWS, DRIVERS) == before  # the view's proto byte-identical


def test_restore_leaves_rows_written_after_the_fault_and_restores_the_others(repo, journal):
    import pandas as pd

    before = feast_repo.served(repo, VIEW, DRIVERS)
    F.CorruptFeatures(repo=str(repo), feature_view=VIEW, feature="conv_rate", fraction=1.0, value=50.0).mutate(ctx_for(journal))
    fresh = pd.DataFrame(
        {
            "driver_id": [1001, 1002, 1003],
            "event_timestamp": [pd.Timestamp.now(tz="UTC").floor("s")] * 3,
            "created": [pd.Timestamp.now(tz="UTC").floor("s")] * 3,
            "conv_rate": [0.25, 0.5, 0.75],
            "acc_rate": [0.1, 0.2, 0.3],
            "avg_daily_trips": [1, 2, 3],
        }
    )
    feast_repo.store_of(repo).write_to_online_store(VIEW, fresh)  # a new materialization lands after the fault

    results = journal.restore()

    outcomes = {r.entry.path.rsplit("/", 1)[1]: r.outcome for r in results}
    assert outcomes['[{"driver_id":1001}]'] == outcomes['[{"driver_id":1003}]'] == "superseded"
    assert sum(o == "restored" for o in outcomes.values()) == DRIVERS - 3
    after = feast_repo.served(repo, VIEW, DRIVERS)
    assert after["conv_rate"][:3] == pytest.approx([0.25, 0.5, 0.75])  # the fresh rows were kept
    assert after["conv_rate"][3:] == before["conv_rate"][3:] and after["conv_rate__ts"][3:] == before["conv_rate__ts"][3:]


def test_many_rows_are_journaled_in_at_most_max_entries_groups(repo, journal, monkeypatch):
    monkeypatch.setattr(F, "MAX_ENTRIES", 4)
    before = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    ctx = ctx_for(journal)

    F.ServingSkew(repo=str(repo), feature_view=VIEW, feature="conv_rate", scale=10.0).mutate(ctx)

    entries = journal.entries()
    assert len(entries) == 4 and ctx.changes["journal_entries"] == 4
    assert all(e.path.count("driver_id") == 3 for e in entries)  # 12 rows in 4 groups of 3
    assert {r.outcome for r in journal.restore()} == {"restored"}
    assert feast_repo.snapshot(repo, VIEWS, DRIVERS) == before


def test_airflow_chaos_restore_in_another_process_puts_rows_and_views_back(repo, journal):
    before = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    F.DropFeature(repo=str(repo), feature_view=VIEW, feature="acc_rate").mutate(ctx_for(journal))
    F.FeatureVersionMismatch(repo=str(repo), feature_view="other_view", retype={"avg_daily_trips": "String"}).mutate(ctx_for(journal))
    cli = Path(sys.executable).parent / "airflow-chaos"

    # the CLI rebuilds each store from the journal entry's context (the repo path) alone
    out = subprocess.run([str(cli), "restore", "--journal", str(journal.root)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, (out.returncode, out.stdout[-3000:], out.stderr[-3000:])

    assert out.stdout.strip().splitlines()[-1].startswith(f"{DRIVERS + 1} mutation(s) restored, 0 superseded"), out.stdout
    assert "feast.registry_view:chaos_test/other_view" in out.stdout
    assert feast_repo.snapshot(repo, VIEWS, DRIVERS) == before


def test_rows_written_after_pandas_to_sql_in_the_same_process_are_still_readable_by_feast_elsewhere(repo, journal):
    """pandas' ``to_sql`` on a sqlite3 connection swaps the process-wide sqlite3 datetime adapter
    for ISO strings; Feast's SQLite online store stores and parses epoch integers. A fault writing
    rows afterwards in the same worker must still write what Feast reads: the CLI restore in another
    process used to fail with "invalid literal for int() with base 10: b'2026-... 05:00:00'"."""
    import sqlite3

    import pandas as pd

    before = feast_repo.snapshot(repo, VIEWS, DRIVERS)  # Feast's sqlite module imported: its codecs registered
    with sqlite3.connect(":memory:") as conn:  # then a task's pandas.to_sql: pandas' codecs win
        pd.DataFrame({"t": [datetime.now()]}).to_sql("t", conn, index=False)
    F.ServingSkew(repo=str(repo), feature_view=VIEW, feature="conv_rate", scale=10.0).mutate(ctx_for(journal))
    cli = Path(sys.executable).parent / "airflow-chaos"

    out = subprocess.run([str(cli), "restore", "--journal", str(journal.root)], capture_output=True, text=True, timeout=300)

    assert out.returncode == 0, out.stderr[-1500:]
    assert feast_repo.snapshot(repo, VIEWS, DRIVERS) == before


# ---------------------------------------------------------------------- interception for a task's duration
def _materialize_both(repo: Path) -> None:
    feast_repo.store_of(repo).materialize_incremental(datetime.now(timezone.utc), list(VIEWS))


@pytest.mark.parametrize("mode", ["skip", "backdate", "watermark"])
def test_stale_features_intercepts_the_armed_views_materialization_only(repo, journal, mode):
    before = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    fault = F.StaleFeatures(repo=str(repo), feature_view=VIEW, mode=mode, by=timedelta(hours=36) if mode == "backdate" else None)
    ctx = ctx_for(journal)

    with fault.around(ctx):
        _materialize_both(repo)

    ts = feast_repo.served(repo, VIEW, DRIVERS)["conv_rate__ts"]
    oldest_allowed = {"skip": -2 * 86400, "watermark": -2 * 86400, "backdate": -36 * 3600}[mode]
    assert max(ts) <= now() + oldest_allowed  # stale: nothing newer than the fault allowed reached the store
    assert min(feast_repo.served(repo, "other_view", DRIVERS)["conv_rate__ts"]) >= now() - 2 * 3600  # materialized
    intervals = feast_repo.store_of(repo).get_feature_view(VIEW).materialization_intervals
    assert len(intervals) == (1 if mode == "skip" else 2)  # watermark and backdate record an interval
    assert ctx.changes["calls"] == 1 and ctx.ineffective_reason is None
    journal.restore()
    after = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    assert after["served"][VIEW] == before["served"][VIEW] and after["registry"][VIEW] == before["registry"][VIEW]


def test_stale_features_armed_on_a_task_that_never_materializes_the_view_changed_nothing(repo, journal):
    ctx = ctx_for(journal)
    with F.StaleFeatures(repo=str(repo), feature_view=VIEW, mode="skip").around(ctx):
        feast_repo.store_of(repo).materialize_incremental(datetime.now(timezone.utc), ["other_view"])
    assert ctx.ineffective_reason == f"the armed task never materialized view {VIEW!r}"
    assert min(feast_repo.served(repo, "other_view", DRIVERS)["conv_rate__ts"]) >= now() - 2 * 3600


@pytest.mark.parametrize("mode", ["shift", "drop"])
def test_feature_lag_intercepts_the_tasks_online_writes(repo, journal, mode):
    import pandas as pd

    before = feast_repo.snapshot(repo, VIEWS, DRIVERS)
    source = pd.read_parquet(repo / "data" / "driver_stats.parquet")
    newest = source[source["event_timestamp"] >= source["event_timestamp"].max() - pd.Timedelta(hours=1)]
    ctx = ctx_for(journal)

    with F.FeatureLag(repo=str(repo), feature_view=VIEW, by=timedelta(hours=30), mode=mode).around(ctx):
        feast_repo.store_of(repo).write_to_online_store(VIEW, newest)
        feast_repo.store_of(repo).write_to_online_store("other_view", newest)  # not the armed view

    ts = feast_repo.served(repo, VIEW, DRIVERS)["conv_rate__ts"]
    assert max(ts) <= now() - 29 * 3600 and min(ts) > before["served"][VIEW]["conv_rate__ts"][0]
    assert min(feast_repo.served(repo, "other_view", DRIVERS)["conv_rate__ts"]) >= now() - 2 * 3600
    assert ctx.changes["rows_seen"] == DRIVERS
    journal.restore()
    assert feast_repo.served(repo, VIEW, DRIVERS) == before["served"][VIEW]


# ---------------------------------------------------------------------- configuration
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: F.StaleFeatures(repo="r", feature_view="v", mode="backdate"), "by"),
        (lambda: F.StaleFeatures(repo="r", feature_view="v", mode="skip", by=60), "by"),
        (lambda: F.StaleFeatures(repo="r", feature_view="v", mode="late"), "mode"),
        (lambda: F.FeatureLag(repo="r", feature_view="v", by=0), "by"),
        (lambda: F.CorruptFeatures(repo="r", feature_view="v", feature="f", fraction=0.5, value=1, scale=2), "value"),
        (lambda: F.CorruptFeatures(repo="r", feature_view="v", feature="f", fraction=1.5, value=1), "fraction"),
        (lambda: F.ServingSkew(repo="r", feature_view="v", feature="f"), "shift"),
        (lambda: F.ServingSkew(repo="r", feature_view="v", feature="f", transform="cube"), "transform"),
        (lambda: F.FeatureVersionMismatch(repo="r", feature_view="v"), "rename"),
        (lambda: F.FeatureVersionMismatch(repo="r", feature_view="v", retype={"f": "Decimal"}), "retype"),
    ],
)
def test_bad_parameters_raise_a_config_error_naming_the_field(make, field):
    with pytest.raises(ChaosConfigError, match=field):
        make()


def test_a_feature_or_view_that_does_not_exist_is_named(repo, journal):
    with pytest.raises(ChaosConfigError, match=r"field 'feature'.*'nope'.*allowed: conv_rate, acc_rate, avg_daily_trips"):
        F.DropFeature(repo=str(repo), feature_view=VIEW, feature="nope").mutate(ctx_for(journal))
    with pytest.raises(ChaosConfigError, match=r"field 'feature_view'.*'missing_view'"):
        F.DropFeature(repo=str(repo), feature_view="missing_view", feature="x").mutate(ctx_for(journal))
    with pytest.raises(ChaosConfigError, match=r"field 'repo': no feature_store.yaml"):
        F.DropFeature(repo=str(repo / "data"), feature_view=VIEW, feature="x").mutate(ctx_for(journal))
    assert journal.entries() == []


def test_feature_faults_round_trip_and_target_their_view():
    made = [
        F.StaleFeatures(repo="/r", feature_view="v", mode="backdate", by=timedelta(hours=2)),
        F.FeatureLag(repo="/r", feature_view="v", by=60, mode="drop", when="after"),
        F.CorruptFeatures(repo="/r", feature_view="v", feature="f", fraction=0.1, scale=100),
        F.ServingSkew(repo="/r", feature_view="v", feature="f", transform="log1p"),
        F.DropFeature(repo="/r", feature_view="v", feature="f"),
        F.FeatureVersionMismatch(repo="/r", feature_view="v", rename={"a": "b"}),
    ]
    for fault in made:
        assert Fault.from_dict(fault.to_dict()) == fault
        assert fault.target() == "feast:v"
    assert [f.active_phase for f in made] == ["around", "after", "after", "after", "after", "after"]
    assert F.DropFeature.recoverable and not F.CorruptFeatures.recoverable


def test_step_faults_are_accepted_by_inject_fault_operator_and_interception_modes_are_refused():
    from airflow_chaos.operators.inject import InjectFaultOperator

    InjectFaultOperator(task_id="ok", faults=[F.StaleFeatures(repo="/r", feature_view="v", mode="overwrite", by=60), F.DropFeature(repo="/r", feature_view="v", feature="f")])
    for fault in (F.StaleFeatures(repo="/r", feature_view="v", mode="skip"), F.FeatureLag(repo="/r", feature_view="v", by=60)):
        with pytest.raises(ChaosConfigError, match="cannot be a step of its own"):
            InjectFaultOperator(task_id="step", faults=[fault])


def test_an_engine_error_while_intercepting_leaves_the_tasks_call_untouched_and_surfaces_on_exit(repo):
    from airflow_chaos.exceptions import ChaosInjectionError

    fault = F.StaleFeatures(repo=str(repo), feature_view=VIEW, mode="backdate", by=timedelta(hours=36))
    # the wrapper records the error raised on exit as INJECTION_ERROR
    with pytest.raises(ChaosInjectionError, match="need a journal"), fault.around(FaultContext(seed=1, journal=None)):
        _materialize_both(repo)
    assert min(feast_repo.served(repo, VIEW, DRIVERS)["conv_rate__ts"]) >= now() - 2 * 3600  # materialized as asked


def test_the_blast_radius_cap_bounds_the_rows_a_feature_fault_changes(repo, journal):
    ctx = FaultContext(seed=3, journal=journal, max_fraction=0.25, labels={"injection_id": "capped"})

    F.DropFeature(repo=str(repo), feature_view=VIEW, feature="conv_rate").mutate(ctx)

    assert ctx.changes["rows_changed"] == 3 and ctx.changes["capped_by_max_fraction"] == DRIVERS - 3
    assert feast_repo.served(repo, VIEW, DRIVERS)["conv_rate"].count(None) == 3
