"""The fault catalogue as Markdown, generated from the fault models (``airflow-chaos faults --markdown``).

One table per family (the module a fault is defined in): each fault's class and kind, every field
with its type and default (required fields first, then the fault's own, then those shared with its
family), its signals and its phase. The README's catalogue
is this output, pasted between markers, and a test regenerates it: the docs cannot drift from the
models.
"""

from __future__ import annotations

import json
import types
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from airflow_chaos.faults.base import Fault

#: Family titles by the module (under ``airflow_chaos.faults``) a fault is defined in.
FAMILIES: dict[str, str] = {
    "data": "Table faults",
    "files": "File faults",
    "timing": "Timing and partial runs",
    "http": "HTTP faults",
    "features": "Feature-store faults",
    "registry": "Model-registry faults",
}


def type_label(annotation: Any) -> str:
    """``str | None``, ``"MCAR" | "MAR"``, ``list[int]``: a field's type as a user writes its value."""
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return " | ".join(value_label(a) for a in args)
    if origin in (Union, types.UnionType):
        return " | ".join(type_label(a) for a in args)
    if origin is not None and args:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(type_label(a) for a in args)}]"
    if annotation is type(None):
        return "None"
    return str(getattr(annotation, "__name__", annotation))


def value_label(value: Any) -> str:
    """A default or literal value as Python source: ``"MCAR"``, ``None``, ``1.0``, ``["tags"]``."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_label(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{value_label(k)}: {value_label(v)}" for k, v in value.items()) + "}"
    return repr(value)


def field_label(name: str, info: FieldInfo) -> str:
    """``name: type`` for a required field, ``name: type = default`` otherwise, plus its aliases."""
    label = f"{name}: {type_label(info.annotation)}"
    if not info.is_required():
        label += f" = {value_label(info.get_default(call_default_factory=True))}"
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        others = [c for c in alias.choices if isinstance(c, str) and c != name]
        if others:
            label += f" (alias {', '.join(others)})"
    return label


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _row(cls: type[Fault]) -> str:
    inherited = {name for base in cls.__mro__[1:] for name in getattr(base, "model_fields", {})}
    # Required fields first, then the fault's own, then those it shares with its family (path, host, ...).
    fields = sorted(cls.model_fields.items(), key=lambda item: (not item[1].is_required(), item[0] in inherited))
    labels = ", ".join(f"`{_cell(field_label(name, info))}`" for name, info in fields) or "(none)"
    return f"| `{cls.__name__}` | `{cls.kind}` | {labels} | {', '.join(cls.signals)} | {cls.phase} |"


def family_of(cls: type[Fault]) -> str:
    module = cls.__module__.rsplit(".", 1)[-1]
    return FAMILIES.get(module, f"{module.replace('_', ' ').capitalize()} faults")


def catalogue_markdown() -> str:
    """Every fault kind the package ships as Markdown tables, one per family, in a stable order.

    Kinds registered by user code (a plugin, a test) are not part of the package's catalogue.
    """
    families: dict[str, list[type[Fault]]] = {}
    for cls in Fault.kinds().values():
        if cls.__module__.startswith("airflow_chaos."):
            families.setdefault(family_of(cls), []).append(cls)
    order = [*FAMILIES.values(), *sorted(set(families) - set(FAMILIES.values()))]
    parts = []
    for family in order:
        if family not in families:
            continue
        rows = [_row(cls) for cls in sorted(families[family], key=lambda c: c.__name__)]
        header = ["| fault | kind | fields | signals | phase |", "|---|---|---|---|---|"]
        parts.append("\n".join([f"**{family}**", "", *header, *rows]))
    return "\n\n".join(parts) + "\n"
