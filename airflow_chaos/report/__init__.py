"""Scorecards, pure (no Airflow; DESIGN §2).

- :mod:`~airflow_chaos.report.scorecard`: the scorecard model, its versioned JSON Schema
  (``scorecard.v1.schema.json``), history from earlier scorecards;
- :mod:`~airflow_chaos.report.files`: writing a run's three scorecard files;
- :mod:`~airflow_chaos.report.markdown`, :mod:`~airflow_chaos.report.html` (with
  :mod:`~airflow_chaos.report.plots`, matplotlib imported lazily): the Markdown and HTML pages;
- :mod:`~airflow_chaos.report.suggestions`: the check to add for every SILENT verdict;
- :mod:`~airflow_chaos.report.explain`: one line per verdict to act on, for the terminal;
- :mod:`~airflow_chaos.report.tracking`: an experiment as an MLflow run (``airflow-chaos[mlflow]``).
"""
