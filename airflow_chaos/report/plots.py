"""The scorecard's plots, drawn with matplotlib (Agg backend, imported here only) as inline SVG strings.

Text stays text in the SVG (``svg.fonttype: none``): smaller files, selectable labels, and fast to
render (a 100-scenario scorecard's four plots take a fraction of a second). Each function returns
``None`` when it has nothing to draw.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_chaos.lazy import require_extra

if TYPE_CHECKING:
    from airflow_chaos.report.scorecard import Scorecard

LABEL_CHARS = 70
#: Above this many bars, a plot shows the largest (impact) or a histogram (time to detect).
MAX_BARS = 30
#: Heatmaps with at most this many cells print each cell's share.
ANNOTATE_CELLS = 200
FONT_SIZE = 9
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "airflow-chaos",  # stable ids: the same scorecard renders the same bytes
    "font.size": FONT_SIZE,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def _label_inches(labels: Sequence[str]) -> float:
    """The width of the widest label, estimated (no text measuring: that would draw the figure twice)."""
    widest = max((len(_short(label)) for label in labels), default=0)
    return 0.3 + widest * FONT_SIZE * 0.6 / 72


@contextmanager
def _figure(
    plot: tuple[float, float], left: float = 0.6, bottom: float = 0.6, top: float = 0.45
) -> Iterator[tuple[Any, Any]]:
    """A figure whose axes are ``plot`` inches, with margins (inches) for the tick labels and the title.

    Margins are set, not measured (``bbox_inches="tight"`` draws every figure twice).
    """
    matplotlib = require_extra("matplotlib", "report", "the HTML scorecard's plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    width, height = plot[0] + left + 0.3, plot[1] + bottom + top
    with matplotlib.rc_context(_STYLE):  # the Agg canvas, never pyplot: no global backend switch
        fig = Figure(figsize=(width, height))
        FigureCanvasAgg(fig)
        fig.subplots_adjust(left=left / width, right=1 - 0.3 / width, bottom=bottom / height, top=1 - top / height)
        ax = fig.add_subplot()
        yield fig, ax


def _svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return _PROLOG.sub("", buffer.getvalue(), count=1)


def _rows_height(rows: int) -> float:
    return min(0.6 + 0.2 * rows, 40.0)


def heatmap(card: Scorecard) -> str | None:
    """The fault-by-check detection matrix: the share of injections each check caught, grey where it never ran."""
    matrix = card.matrix
    if not matrix.faults or not matrix.checks:
        return None
    import numpy as np

    values = np.array([[np.nan if v is None else v for v in row] for row in matrix.cells], dtype=float)
    plot = (min(max(3.0, 0.45 * len(matrix.checks)), 24.0), _rows_height(len(matrix.faults)))
    columns = _label_inches(matrix.checks)  # rotated 60 degrees: about half of it reaches left of its column
    left = max(_label_inches(matrix.faults), columns * 0.5 - plot[0] / len(matrix.checks) / 2)
    with _figure(plot, left=left, bottom=columns * 0.8) as (fig, ax):
        from matplotlib.colors import LinearSegmentedColormap

        cmap = LinearSegmentedColormap.from_list("caught", ["#f0ad4e", "#28a745"]).with_extremes(bad="#e9ecef")
        ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(matrix.checks)), [_short(c) for c in matrix.checks], rotation=60, ha="right")
        _row_labels(ax, matrix.faults)
        if values.size <= ANNOTATE_CELLS:
            for (i, j), v in np.ndenumerate(values):
                if not np.isnan(v):
                    ax.text(j, i, f"{v:.0%}", ha="center", va="center", fontsize=FONT_SIZE - 1)
        fig.suptitle("share caught: green 100%, amber 0%, grey not downstream", x=0.01, ha="left", fontsize=FONT_SIZE)
        return _svg(fig)


def _row_labels(ax: Any, labels: Sequence[str]) -> None:
    """One text per row left of the axes: a tenth of what tick labels cost (each tick is five artists)."""
    ax.set_yticks([])
    transform = ax.get_yaxis_transform()  # x in axes units, y in data units
    for row, label in enumerate(labels):
        ax.text(-0.01, row, _short(label), transform=transform, ha="right", va="center")


def _bars(labels: Sequence[str], values: Sequence[float], colors: Sequence[str], title: str, xlabel: str) -> str:
    with _figure((5.0, _rows_height(len(labels))), left=_label_inches(labels)) as (fig, ax):
        positions = range(len(labels))
        ax.barh(positions, values, color=colors)
        ax.invert_yaxis()
        _row_labels(ax, labels)
        ax.axvline(0, color="#333333", linewidth=0.8)
        ax.set_xlabel(xlabel)
        ax.set_title(title)
        return _svg(fig)


def impact_bars(card: Scorecard) -> str | None:
    """Each scenario's metric delta against the control (measured: scenario minus control); the largest
    ``MAX_BARS`` when there are more (every one is in the scenarios table)."""
    bars = [(f"{s.name}: {i.metric}", i.delta) for s in card.scenarios for i in s.impact]
    if not bars:
        return None
    title = "impact on the model against the control"
    if len(bars) > MAX_BARS:
        title += f" (the {MAX_BARS} largest of {len(bars)})"
        bars = sorted(bars, key=lambda b: -abs(b[1]))[:MAX_BARS]
    labels, deltas = zip(*bars, strict=True)
    colors = ["#dc3545" if d < 0 else "#28a745" for d in deltas]
    return _bars(labels, deltas, colors, title, "metric delta (scenario - control)")


def time_to_detect_bars(card: Scorecard) -> str | None:
    """Seconds from each injection's end to the first detection that caught it: a bar per injection, or
    their histogram when there are more than ``MAX_BARS`` (each is in the verdict table)."""
    from airflow_chaos.report.scorecard import row_label

    timed = [(row_label(r), float(r.time_to_detect_s)) for r in card.results if r.time_to_detect_s is not None]
    if not timed:
        return None
    if len(timed) <= MAX_BARS:
        labels, values = zip(*timed, strict=True)
        return _bars(labels, values, ["#007bff"] * len(values), "time to detect", "seconds")
    with _figure((6.0, 2.5), bottom=0.7) as (fig, ax):
        ax.hist([v for _, v in timed], bins=min(30, len(timed)), color="#007bff")
        ax.set_xlabel("seconds from the injection's end to its first detection")
        ax.set_ylabel("injections")
        ax.set_title(f"time to detect ({len(timed)} injections caught by a check)")
        return _svg(fig)
def score_over_time(card: Scorecard) -> str | None:
    """The resilience score of earlier scorecards of this DAG and of this one."""
    points = [(p.generated_at, p.score) for p in card.history if p.score is not None]
    if not points:
        return None
    if card.score is not None:
        points.append((card.generated_at, card.score))
    with _figure((7.0, 2.5), bottom=1.0) as (fig, ax):
        xs, ys = zip(*points, strict=True)
        ax.plot(xs, [100 * y for y in ys], marker="o", color="#6f42c1")
        ax.set_ylim(0, 105)
        ax.set_ylabel("resilience score (%)")
        ax.set_title(f"score over time ({len(points)} runs)")
        fig.autofmt_xdate()
        return _svg(fig)
