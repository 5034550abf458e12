"""The demo's data: deterministic, time-ordered, fresh, and with a label the features can learn."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from airflow_chaos.demo.orders import CATEGORIES, ORDER_FIELDS, Book, book, orders, page_of, returns_csv

UNTIL = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)


def test_the_same_arguments_give_the_same_orders_and_another_seed_others():
    assert book(Book(seed=7, until=UNTIL)) == book(Book(seed=7, until=UNTIL))
    assert book(Book(seed=8, until=UNTIL)) != book(Book(seed=7, until=UNTIL))


def test_orders_are_oldest_first_inside_the_window_with_increasing_ids():
    spec = Book(count=300, customers=40, days=10, until=UNTIL)
    got = orders(spec)
    assert len(got) == 300 and list(got[0]) == list(ORDER_FIELDS)
    stamps = [datetime.fromisoformat(o["created_at"].replace("Z", "+00:00")) for o in got]
    assert stamps == sorted(stamps)
    assert UNTIL - timedelta(days=10) <= stamps[0] and stamps[-1] <= UNTIL
    assert [o["order_id"] for o in got] == sorted({o["order_id"] for o in got})
    assert {o["category"] for o in got} <= set(CATEGORIES)
    assert len({o["customer_id"] for o in got}) > 20
    assert all(o["amount"] > 0 and 1 <= o["quantity"] <= 7 for o in got)


def test_without_until_the_data_ends_at_the_current_hour():
    now = datetime.now(timezone.utc)
    newest = datetime.fromisoformat(orders(Book(count=500, days=1))[-1]["created_at"].replace("Z", "+00:00"))
    hour = now.replace(minute=0, second=0, microsecond=0)
    assert hour - timedelta(minutes=30) < newest <= hour


def test_the_returns_export_labels_every_order_and_returns_are_a_minority():
    spec = Book(until=UNTIL)
    lines = returns_csv(spec).splitlines()
    assert lines[0] == "order_id,returned"
    labels = dict(line.split(",") for line in lines[1:])
    assert list(labels) == [str(o["order_id"]) for o in orders(spec)]
    share = sum(v == "1" for v in labels.values()) / len(labels)
    assert 0.1 < share < 0.4, share


def test_large_baskets_are_returned_more_often():
    rows = book(Book(count=5000, until=UNTIL))
    big = [r["returned"] for r in rows if r["quantity"] >= 4]
    small = [r["returned"] for r in rows if r["quantity"] == 1]
    assert sum(big) / len(big) > 2 * sum(small) / len(small)


def test_pages_cover_every_item_once():
    items = [{"i": i} for i in range(250)]
    seen = []
    first, pages = page_of(items, 1, 100)
    assert pages == 3 and len(first) == 100
    for page in range(1, pages + 1):
        seen += page_of(items, page, 100)[0]
    assert seen == items
    assert page_of([], 1, 100) == ([], 1)


def test_a_cached_book_hands_out_fresh_dicts():
    spec = Book(count=5, until=UNTIL)
    first = book(spec)
    first[0]["amount"] = -1.0
    assert book(spec)[0]["amount"] > 0
