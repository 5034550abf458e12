# Kept free of imports: Airflow calls this during provider discovery.


def get_provider_info() -> dict:  # type: ignore[type-arg]
    return {
        "package-name": "airflow-chaos",
        "name": "Chaos",
        "description": "Chaos engineering for ML pipelines: inject faults into tasks and prove that checks detect them.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": "Chaos",
                "external-doc-url": "https://airflow.apache.org/",
                "tags": ["software"],
            }
        ],
        "operators": [
            {
                "integration-name": "Chaos",
                "python-modules": [
                    "airflow_chaos.operators.chaos",
                    "airflow_chaos.operators.assertion",
                    "airflow_chaos.operators.validation",
                    "airflow_chaos.operators.api",
                    "airflow_chaos.operators.restore",
                    "airflow_chaos.operators.inject",
                    "airflow_chaos.operators.features",
                    "airflow_chaos.operators.registry",
                ],
            }
        ],
        "sensors": [
            {"integration-name": "Chaos", "python-modules": ["airflow_chaos.sensors.freshness", "airflow_chaos.sensors.features"]}
        ],
        "triggers": [
            {"integration-name": "Chaos", "python-modules": ["airflow_chaos.triggers.file", "airflow_chaos.triggers.features"]}
        ],
        "hooks": [{"integration-name": "Chaos", "python-modules": ["airflow_chaos.hooks.feast", "airflow_chaos.hooks.mlflow"]}],
        "connection-types": [
            {
                "connection-type": "feast",
                "hook-class-name": "airflow_chaos.hooks.feast.FeastHook",
                "hook-name": "Feast",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "password", "port"],
                    "relabeling": {},
                    "placeholders": {},
                },
                "conn-fields": {
                    "repo_path": {
                        "label": "Repo path",
                        "description": "Directory holding feature_store.yaml",
                        "schema": {"type": ["string", "null"]},
                    },
                    "feature_store_yaml": {
                        "label": "feature_store.yaml",
                        "description": "Path to the feature_store.yaml (instead of the repo path)",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            },
            {
                "connection-type": "mlflow",
                "hook-class-name": "airflow_chaos.hooks.mlflow.MlflowHook",
                "hook-name": "MLflow",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "Tracking URI", "login": "Username (basic auth)", "password": "Token (or basic-auth password)"},
                    "placeholders": {"host": "http://mlflow:5000"},
                },
                "conn-fields": {
                    "tracking_uri": {
                        "label": "Tracking URI",
                        "description": "MLflow tracking URI (http(s)://, sqlite:///, postgresql://...); default: the host field",
                        "schema": {"type": ["string", "null"]},
                    },
                    "registry_uri": {
                        "label": "Registry URI",
                        "description": "MLflow model registry URI; default: the tracking URI",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            },
        ],
        "task-decorators": [{"name": "chaos", "class-name": "airflow_chaos.decorators.chaos_task"}],
        "config": {
            "chaos": {
                "description": "airflow-chaos: fault injection for ML pipelines. Inert unless enabled.",
                "options": {
                    "enabled": {
                        "description": "Master switch. When False every chaos wrapper runs the task untouched.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "True",
                        "default": "False",
                    },
                    "environment": {
                        "description": "Name of this deployment's environment, checked against allowed_environments.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "staging",
                        "default": "dev",
                    },
                    "allowed_environments": {
                        "description": "Comma-separated environments where faults may be injected.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "dev,test,staging",
                        "default": "dev,test,staging",
                    },
                    "max_injections_per_run": {
                        "description": "Blast radius: at most this many faults injected in one DAG run. "
                        "An integer >= 0; an invalid value is an INJECTION_ERROR of every armed fault.",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "10",
                        "default": "100",
                    },
                    "seed": {
                        "description": "Default experiment seed when a wrapper gives none. Empty: seeded from "
                        "the run_id, so each run injects differently and each run can be replayed. An invalid "
                        "integer is an INJECTION_ERROR of every armed fault (nothing is injected).",
                        "version_added": "0.1.0",
                        "type": "integer",
                        "example": "7",
                        "default": "",
                    },
                    "journal_path": {
                        "description": "Where mutations are journaled before they happen (a path or an "
                        "ObjectStoragePath URL). Empty: $AIRFLOW_HOME/chaos/journal.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "s3://bucket/chaos/journal",
                        "default": "",
                    },
                    "allowed_paths": {
                        "description": "Comma-separated roots (absolute paths or URLs) that file faults may "
                        "touch: a faulted path must resolve under one of them. Empty: no restriction beyond "
                        "each path template's own directory. A relative root is an invalid setting.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/data/staging,s3://bucket/staging",
                        "default": "",
                    },
                    "signal_weights": {
                        "description": "Per-signal weights of the resilience score: 'signal=weight' pairs "
                        "separated by commas, or a JSON object. Signals not named weigh 1; an injection weighs as "
                        "its heaviest signal. The unweighted score stays in every report. Empty: unweighted.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "schema=2,completeness=2,freshness=0.5",
                        "default": "",
                    },
                    "reports_dir": {
                        "description": "Where AssertDetectedOperator writes scorecards: "
                        "<reports_dir>/<dag_id>/<run_id>/scorecard.json, .md and .html. "
                        "Empty: $AIRFLOW_HOME/chaos/reports.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/reports",
                        "default": "",
                    },
                    "sandbox_root": {
                        "description": "Where chaos_matrix gives each scenario its data directory "
                        "(<sandbox_root>/<dag_id>/<scenario>). Empty: $AIRFLOW_HOME/chaos/sandboxes.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/data/chaos-sandboxes",
                        "default": "",
                    },
                    "mlflow_tracking_uri": {
                        "description": "Log every experiment (scorecard) as an MLflow run at this tracking "
                        "URI: params, metrics and the scorecard files. Needs airflow-chaos[mlflow]. Empty: off.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "http://mlflow:5000",
                        "default": "",
                    },
                    "mlflow_experiment": {
                        "description": "The MLflow experiment of those runs. Empty: airflow-chaos/<dag_id>.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "resilience",
                        "default": "",
                    },
                    "plan": {
                        "description": "A chaos plan file (YAML; a path or an ObjectStoragePath URL) that the "
                        "airflow_chaos.policy cluster policy applies to every DAG parsed, arming the tasks its "
                        "selectors match. Only read when enabled is True and the environment is allowed. "
                        "Empty: no plan.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/airflow/plans/staging.yaml",
                        "default": "",
                    },
                },
            }
        },
    }
