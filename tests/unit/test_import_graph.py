"""No import circle anywhere in the package (issue #7), counting every import grimp sees: module level,
inside functions (lazy) and under ``TYPE_CHECKING``. The layer contracts of ``make lint`` forbid
upward imports between layers; this also covers modules of one layer and a package's own
``__init__``, which those contracts cannot see.
"""

from __future__ import annotations

import grimp


def _circular_imports(graph: grimp.ImportGraph, package: str) -> list[tuple[str, str]]:
    """Every direct import a -> b of ``package`` where b leads back to a: the edges of a circle."""
    modules = {m for m in graph.modules if m == package or m.startswith(package + ".")}
    return sorted(
        (a, b)
        for a in modules
        for b in graph.find_modules_directly_imported_by(a) & modules
        if graph.chain_exists(importer=b, imported=a)
    )


def test_the_cycle_finder_finds_a_circle():
    graph = grimp.ImportGraph()
    for module in ("p", "p.a", "p.b", "p.c"):
        graph.add_module(module)
    graph.add_import(importer="p.a", imported="p.b")
    graph.add_import(importer="p.b", imported="p.a")
    graph.add_import(importer="p.c", imported="p.a")
    assert _circular_imports(graph, "p") == [("p.a", "p.b"), ("p.b", "p.a")]


def test_the_package_has_no_import_circle():
    graph = grimp.build_graph("airflow_chaos", cache_dir=None)
    assert len(graph.modules) > 50
    assert _circular_imports(graph, "airflow_chaos") == []
