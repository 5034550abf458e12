"""Thin Airflow operators: the chaos wrapper, validation operators and the assertion operator.

Imported lazily so ``import airflow_chaos.operators`` stays cheap.
"""

from __future__ import annotations

from airflow_chaos.lazy import lazy_getattr

_EXPORTS = {
    "AssertDetectedOperator": "airflow_chaos.operators.assertion",
    "ValidateDataOperator": "airflow_chaos.operators.validation",
    "ValidateApiPayloadOperator": "airflow_chaos.operators.api",
    "chaos": "airflow_chaos.operators.chaos",
    "ChaosArm": "airflow_chaos.operators.chaos",
    "ChaosRestoreOperator": "airflow_chaos.operators.restore",
    "InjectFaultOperator": "airflow_chaos.operators.inject",
    "CheckFeaturesOperator": "airflow_chaos.operators.features",
    "chaos_matrix": "airflow_chaos.operators.matrix",
    "detects": "airflow_chaos.operators.detects",
    "record_metrics": "airflow_chaos.operators.records",
    "Sandbox": "airflow_chaos.experiment.matrix",
    "CheckModelRegistryOperator": "airflow_chaos.operators.registry",
    "CheckModelQualityOperator": "airflow_chaos.operators.registry",
    "CheckPredictionsOperator": "airflow_chaos.operators.registry",
    "RollbackAliasOperator": "airflow_chaos.operators.registry",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
