"""The demo's outside world: a small, deterministic orders API on 127.0.0.1 (``python -m airflow_chaos.demo.api``).

Pure Python (standard library only), no Airflow: the ML pipeline of ``example_dags/ml_pipeline.py``
pulls its orders and the warehouse's returns export from it.
"""
