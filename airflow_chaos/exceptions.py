"""One exception type per failure family, each message saying what, which field and where the record is."""

from __future__ import annotations


class ChaosError(Exception):
    """Base class of every airflow-chaos error."""


class ChaosConfigError(ChaosError, ValueError):
    """A fault, plan or operator argument is invalid. Raised at DAG-parse time where possible."""


class ChaosInjectionError(ChaosError):
    """The chaos engine itself failed while injecting. Never propagated into a user's task."""


class ChaosDetectionFailed(ChaosError):
    """A validation check failed: the pipeline noticed something wrong (the desired outcome under chaos)."""


class ChaosAssertionFailed(ChaosError):
    """AssertDetectedOperator found injections the pipeline did not catch (SILENT) or that broke (INJECTION_ERROR)."""


class ChaosRestoreError(ChaosError):
    """A journaled mutation could not be undone, or its checksum did not match after restore."""


class ChaosInjectedFailure(ChaosError):
    """Raised on purpose by a fault (e.g. partial output with ``then="raise"``): the task failed because of chaos."""


class ChaosMissingExtra(ChaosError, ImportError):
    """A fault needs an optional dependency that is not installed; the message names the extra to install."""
