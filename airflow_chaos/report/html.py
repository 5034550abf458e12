"""``scorecard.html``: one self-contained page (inline CSS and SVG, no script, nothing fetched from a network).

Sections: the score and the control's steady state; the verdict table (``table#verdicts``, one row per
injection); the scenarios with their impact; the plots (``figure.plot``: the fault-by-check detection
heatmap, impact bars against the control, time to detect, score over time when earlier scorecards
exist); what to add for each SILENT verdict; shared detections.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from html import escape
from typing import TYPE_CHECKING

from airflow_chaos.exceptions import ChaosMissingExtra
from airflow_chaos.report import plots
from airflow_chaos.report.markdown import control_line, impact_sentences, impact_text, percent, seconds, verdict_cell
from airflow_chaos.report.scorecard import fault_row

if TYPE_CHECKING:
    from airflow_chaos.report.scorecard import Scorecard

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#212529;max-width:1400px}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dee2e6;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border:1px solid #dee2e6;padding:.3rem .5rem;text-align:left;vertical-align:top}
td.wrap{overflow-wrap:anywhere;min-width:12rem}
th{background:#f8f9fa}
.score{font-size:1.3rem;font-weight:600}
.verdict{font-weight:600;white-space:nowrap}
.DETECTED,.FAILED_LOUDLY,.RECOVERED{color:#1e7e34}.SILENT{color:#c82333}
.INJECTION_ERROR,.INCONCLUSIVE{color:#b8860b}.SKIPPED{color:#6c757d}
.control.failed{background:#fff3cd;padding:.5rem}.control.passed{color:#1e7e34}
figure.plot{margin:1rem 0}figure.plot svg{max-width:100%;height:auto}
pre{background:#f8f9fa;padding:.5rem;overflow-x:auto}
.note{color:#6c757d}
"""


def _rows(cells: Iterable[Sequence[str]]) -> str:
    return "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in cells)


def _table(table_id: str, header: Sequence[str], body: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _verdicts(card: Scorecard) -> str:
    body = "".join(
        f'<tr data-verdict="{r.verdict.value}" data-injection="{escape(r.injection_id)}">'
        f'<td>{escape(r.scenario)}</td><td class="wrap">{escape(fault_row(r))}</td><td>{escape(", ".join(r.signals))}</td>'
        f'<td class="verdict {r.verdict.value}">{escape(verdict_cell(r))}</td>'
        f"<td>{escape(seconds(r.time_to_detect_s))}</td>"
        f'<td class="wrap">{escape("; ".join(r.evidence) or r.reason)}</td></tr>'
        for r in card.results
    )
    return _table("verdicts", ("scenario", "fault", "signals", "verdict", "time to detect", "evidence"), body)


def _scenarios(card: Scorecard) -> str:
    if not card.scenarios:
        return ""
    body = _rows(
        (
            escape(s.name + (" (control)" if s.control else "")),
            str(len(s.faults)),
            escape(", ".join(f"{v} {k}" for k, v in s.counts.items()) or "-"),
            percent(s.score),
            escape(impact_text(s)),
        )
        for s in card.scenarios
    )
    header = ("scenario", "faults", "verdicts", "score", "impact against the control")
    sentences = "".join(f"<li>{escape(line)}</li>" for line in impact_sentences(card))
    listing = f'<ul id="impact">{sentences}</ul>' if sentences else ""
    return "<h2>Scenarios and impact</h2>" + _table("scenarios", header, body) + listing


_PLOTS: tuple[tuple[str, str, Callable[[Scorecard], str | None], str], ...] = (
    ("heatmap", "Fault by check", plots.heatmap, "no check ran downstream of any injected fault"),
    ("impact", "Impact against the control", plots.impact_bars, "no scenario recorded a metric the control also recorded"),
    ("time-to-detect", "Time to detect", plots.time_to_detect_bars, "no injection was caught by a check"),
    ("history", "Score over time", plots.score_over_time, "no earlier scorecard of this DAG yet"),
)


def _plots(card: Scorecard) -> str:
    out = []
    for plot_id, title, draw, empty in _PLOTS:
        out.append(f"<h2>{escape(title)}</h2>")
        try:
            svg = draw(card)
        except ChaosMissingExtra as exc:
            out.append(f'<p class="note">{escape(str(exc))}</p>')
            continue
        if svg is None:
            out.append(f'<p class="note" id="no-plot-{plot_id}">{escape(empty)}</p>')
        else:
            out.append(f'<figure class="plot" id="plot-{plot_id}" aria-label="{escape(title)}">{svg}</figure>')
    return "".join(out)


def _suggestions(card: Scorecard) -> str:
    if not card.suggestions:
        return ""
    items = []
    for s in card.suggestions:
        code = f"<pre>{escape(json.dumps(s.expectation, indent=2))}</pre>" if s.expectation is not None else ""
        text = re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(s.text))
        items.append(f'<li data-injection="{escape(s.injection_id)}">{text}{code}</li>')
    return f'<h2>What to add</h2><ul id="suggestions">{"".join(items)}</ul>'


def _shared(card: Scorecard) -> str:
    if not card.shared:
        return ""
    items = "".join(
        f"<li>{escape(', '.join(g.checks))} credited {len(g.labels)} faults at once: {escape('; '.join(g.labels))}"
        + "".join(
            f"<br>{escape(label)}: {'confirmed alone' if ok else 'not caught alone' if ok is False else 'unconfirmed'}"
            for label, ok in g.confirmed.items()
        )
        + "</li>"
        for g in card.shared
    )
    return f'<h2>Shared detections</h2><ul id="shared">{items}</ul>'


def _summary(card: Scorecard) -> str:
    score = f"Resilience score: {percent(card.score)}"
    if card.signal_weights:
        score += f" weighted (unweighted {percent(card.unweighted_score)})"
    counts = ", ".join(f"{v} {k}" for k, v in card.counts.items() if v) or "nothing recorded"
    state = "none" if card.control is None else "passed" if card.control.passed else "failed"
    control = escape(control_line(card).replace("**", "").replace("`", ""))
    return (
        f'<p class="score" id="score">{escape(score)}</p><p>{card.injected} injected: {escape(counts)}</p>'
        f'<p class="control {state}" id="control" data-state="{state}">{control}</p>'
    )


def render_html(card: Scorecard) -> str:
    title = escape(f"Chaos scorecard: {card.dag_id} / {card.run_id}")
    notes = "".join(f'<p class="note">{escape(line)}</p>' for line in card.explanations)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{_CSS}</style></head><body><h1>{title}</h1>{_summary(card)}"
        f"<h2>Verdicts</h2>{_verdicts(card)}{notes}{_scenarios(card)}{_plots(card)}{_suggestions(card)}"
        f'{_shared(card)}<p class="note">generated {escape(card.generated_at.isoformat())}, '
        f"schema {escape(card.schema_version)}</p></body></html>\n"
    )
