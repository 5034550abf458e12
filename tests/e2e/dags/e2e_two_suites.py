"""Two resilience experiments at once, each with its own seed: ``e2e_suite_seed_1`` and ``e2e_suite_seed_2``.

``chaos_matrix`` keeps one run of an experiment at a time (its sandboxes are reused run after run), so
two suites run at once as two experiment DAGs. Both run the same small pipeline (``land`` writes an
orders file into the scenario's sandbox, ``validate`` checks it) under the same scenarios, each
faulting the file ``land`` wrote (journaled), with seeds 1 and 2. Their sandboxes live under
``[chaos] sandbox_root``/<dag_id>/<scenario>; the test checks that neither touches the other's
sandboxes or journal entries, and that each ``chaos_restore`` teardown restores its own only.
"""

from __future__ import annotations

from airflow.sdk import task

from airflow_chaos import chaos_matrix, faults
from airflow_chaos.experiment.matrix import Sandbox
from airflow_chaos.operators import ValidateDataOperator

ROWS = 300


def orders_csv() -> str:
    return "order_id,amount,quantity\n" + "".join(f"{i},{(i % 50) * 1.5 + 1:.2f},{i % 4 + 1}\n" for i in range(ROWS))


def pipeline(sandbox: Sandbox) -> None:
    path = sandbox.path("orders.csv")

    @task
    def land(target: str) -> str:
        import os

        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as out:
            out.write(orders_csv())
        return target

    landed = land.override(task_id="land")(path)
    ValidateDataOperator(
        task_id="validate",
        data=path,
        required_columns=["order_id", "amount", "quantity"],
        expect=[
            {"type": "expect_column_values_to_not_be_null", "column": "amount"},
            {"type": "expect_table_row_count_to_be_between", "min_value": ROWS, "max_value": ROWS},
        ],
    ).set_upstream(landed)


SCENARIOS = {
    "nulls": lambda s: {"land": faults.InjectNulls(column="amount", fraction=0.3, path=s.path("orders.csv"))},
    "dropped_column": lambda s: {"land": faults.DropColumn(column="quantity", path=s.path("orders.csv"))},
    "duplicates": lambda s: {"land": faults.DuplicateRows(fraction=0.2, path=s.path("orders.csv"))},
}

for seed in (1, 2):
    chaos_matrix(pipeline, SCENARIOS, control=True, dag_id=f"e2e_suite_seed_{seed}", seed=seed, tags=["e2e", "chaos"])
