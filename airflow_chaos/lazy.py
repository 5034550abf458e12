"""Lazy imports: package attributes that load heavy submodules on first use, and optional extras."""

from __future__ import annotations

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: provider discovery imports this module; typing and
# importlib (with warnings) cost milliseconds in a fresh interpreter, so they load when first needed.
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from types import ModuleType
    from typing import Any


def lazy_getattr(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` resolving ``name`` from the module ``exports[name]`` on first use."""

    def __getattr__(name: str) -> Any:
        import importlib

        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__


#: The optional-dependency extras of the ``airflow-chaos`` package (pyproject ``[project.optional-dependencies]``).
EXTRAS: tuple[str, ...] = ("mlflow", "feast", "report", "all")


def require_extra(module: str, extra: str, needed_by: str = "this fault") -> ModuleType:
    """Import ``module``, which the ``airflow-chaos[extra]`` extra installs; if it is missing, say which extra.

    Raises :class:`~airflow_chaos.exceptions.ChaosMissingExtra` (an ``ImportError``) naming
    ``pip install 'airflow-chaos[extra]'``. Call it inside the function that needs the module, never at
    import time: the heavy libraries stay lazy.
    """
    import importlib

    from airflow_chaos.exceptions import ChaosMissingExtra

    if extra not in EXTRAS:
        raise ValueError(f"unknown extra {extra!r}; allowed: {', '.join(EXTRAS)}")
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ChaosMissingExtra(
            f"{module!r} is not installed ({needed_by} needs it): "
            f"pip install 'airflow-chaos[{extra}]' (or 'airflow-chaos[all]' for every optional feature)"
        ) from exc
