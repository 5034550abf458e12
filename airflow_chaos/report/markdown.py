"""``scorecard.md``: the scorecard for CI logs and pull requests (GitHub-flavoured Markdown tables)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from airflow_chaos.report.scorecard import row_label
from airflow_chaos.report.suggestions import fault_label

if TYPE_CHECKING:
    from airflow_chaos.experiment.verdicts import ScenarioResult, VerdictResult
    from airflow_chaos.report.scorecard import Scorecard


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def verdict_cell(result: VerdictResult) -> str:
    text = result.verdict.value
    if result.would_be is not None:
        text += f" (would be {result.would_be.value})"
    if result.shared:
        text += " (shared" + (f", confirmed by {result.confirmed_by}" if result.confirmed else "") + ")"
    return text


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f} s"


def score_line(card: Scorecard) -> str:
    line = f"**Resilience score: {percent(card.score)}**"
    if card.signal_weights:
        weights = ", ".join(f"{k}={v:g}" for k, v in sorted(card.signal_weights.items()))
        line += f" weighted ({weights}); unweighted {percent(card.unweighted_score)}"
    counts = ", ".join(f"{v} {k}" for k, v in card.counts.items() if v) or "nothing recorded"
    return f"{line} ({card.injected} injected: {counts})"


def control_line(card: Scorecard) -> str:
    control = card.control
    if control is None:
        return "No control run: verdicts are not checked against a steady state."
    name = "The control" + ("" if control.scenario == "control" else f" (`{control.scenario}`)")
    if control.passed:
        return f"{name} held its steady state: {len(control.checks)} check(s) passed unfaulted."
    return f"{name} **failed its own steady state** ({'; '.join(control.failures)}): every verdict is INCONCLUSIVE."


def impact_text(scenario: ScenarioResult) -> str:
    if scenario.impact:
        return "; ".join(f"{i.metric} {i.control:.3g} -> {i.scenario:.3g} ({i.delta:+.3g})" for i in scenario.impact)
    return scenario.note


def _caught_by(results: Sequence[VerdictResult], scenario: str) -> str:
    tasks = {key.split(":", 1)[0].removeprefix(f"{scenario}.") for r in results for key in r.detected_by}
    return ", ".join(sorted(tasks))


def impact_sentences(card: Scorecard) -> list[str]:
    """One sentence per scenario with a measured impact: what happened and what it cost the model.

    "InjectNulls(column='age', fraction=0.3) DETECTED by validate; unchecked, auc would have gone from
    0.967 to 0.694": both numbers measured (the scenario's run and the control's).
    """
    out = []
    for s in card.scenarios:
        mine = [r for r in card.results if r.scenario == s.name]
        if s.control or not s.impact or not mine:
            continue
        faults = " + ".join(fault_label(r.kind, r.fault) for r in mine)
        verdicts = "/".join(dict.fromkeys(r.verdict.value for r in mine))
        by = _caught_by(mine, s.name)
        went = "would have gone" if by else "went"
        cost = ", ".join(f"{i.metric} {went} from {i.control:.3g} to {i.scenario:.3g}" for i in s.impact)
        if by:
            out.append(f"{s.name}: {faults} {verdicts} by {by}; unchecked, {cost}")
        else:
            out.append(f"{s.name}: {faults} {verdicts}; {cost}")
    return out


def render_markdown(card: Scorecard) -> str:
    out = [f"# Chaos scorecard: {card.dag_id} / {card.run_id}", "", score_line(card), "", control_line(card), ""]
    out += ["## Verdicts", ""]
    out += _table(
        ("fault", "signals", "verdict", "time to detect", "evidence"),
        (
            (row_label(r), ",".join(r.signals), verdict_cell(r), seconds(r.time_to_detect_s), "; ".join(r.evidence) or r.reason)
            for r in card.results
        ),
    )
    if card.scenarios:
        out += ["", "## Scenarios and impact", ""]
        out += _table(
            ("scenario", "faults", "verdicts", "score", "impact against the control"),
            (
                (
                    s.name + (" (control)" if s.control else ""),
                    len(s.faults),
                    ", ".join(f"{v} {k}" for k, v in s.counts.items()) or "-",
                    percent(s.score),
                    impact_text(s),
                )
                for s in card.scenarios
            ),
        )
        sentences = impact_sentences(card)
        if sentences:
            out += ["", *[f"- {line}" for line in sentences]]
    if card.shared:
        out += ["", "## Shared detections", ""]
        for group in card.shared:
            confirmed = ", ".join(f"{k}: {_confirmation(v)}" for k, v in group.confirmed.items())
            out.append(f"- {', '.join(group.checks)} credited {len(group.labels)} faults at once ({confirmed})")
    if card.suggestions:
        out += ["", "## What to add", ""]
        for s in card.suggestions:
            out.append(f"- {s.text}")
            if s.expectation is not None:
                out += ["", "  ```json", "  " + json.dumps(s.expectation), "  ```"]
    if card.explanations:
        out += ["", *[f"> {line}" for line in card.explanations]]
    return "\n".join(out) + "\n"


def _confirmation(value: bool | None) -> str:
    if value is None:
        return "no single-fault scenario to confirm it"
    return "confirmed alone" if value else "NOT caught alone: it rode on another fault's detection"
