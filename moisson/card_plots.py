"""The dataset card's plots: horizontal bar charts and a length histogram, as PNG bytes that never vary.

Why byte-stable: a release must be byte-identical to another release of the same data apart from its
date, and the card's images are part of it. So every figure is drawn from matplotlib's own defaults
(not the user's matplotlibrc), with the font matplotlib ships (DejaVu Sans), fixed sizes and dpi, by
the Agg renderer, and saved without the PNG text chunks (matplotlib's version) that would change with
the library. Figures are built with `matplotlib.figure.Figure` on an Agg canvas, not pyplot: no global
figure state, no GUI backend, and the host's pyplot backend left as it was.

matplotlib is imported inside the functions: importing the card modules stays cheap for the CLI.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from contextlib import contextmanager

DPI = 100
WIDTH_INCHES = 9.0
BAR_HEIGHT_INCHES = 0.32
MAX_BARS = 15  # more categories than this: the smallest are summed into one "other" bar
STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.titlesize": 10,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "path.simplify": True,
}
COLOURS = ("#3b6ea8", "#d08c2a")  # documents, words (kept, rejected in the opt-out plot)
NO_METADATA = {"Software": None}  # matplotlib writes only this text chunk to PNGs; None leaves it out


def breakdown_png(title: str, rows: Sequence[tuple[str, int, int]], measures: tuple[str, str] = ("documents", "words")) -> bytes:
    """Two bar charts side by side, one per measure: `rows` are (label, first measure, second measure)."""
    rows = capped(rows)
    labels = [_short(label) for label, _, _ in rows]
    with _style():
        figure = _figure(height=BAR_HEIGHT_INCHES * len(rows) + 1.1)
        axes = figure.subplots(1, 2, sharey=True)
        for index, (axis, measure) in enumerate(zip(axes, measures)):
            values = [row[index + 1] for row in rows]
            _bars(axis, labels, values, COLOURS[index])
            axis.set_title(measure)
        axes[0].invert_yaxis()  # largest first, at the top (shared y: inverting one inverts both)
        figure.suptitle(title, fontsize=11)
        return _png(figure)


def histogram_png(title: str, bins: Sequence[tuple[float, float, int]], xlabel: str) -> bytes:
    """A histogram on a logarithmic x axis: `bins` are (lower edge, upper edge, count)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, NullFormatter

    with _style():
        figure = _figure(height=3.2)
        axis = figure.subplots()
        axis.bar([low for low, _, _ in bins], [n for _, _, n in bins], width=[high - low for low, high, _ in bins],
                 align="edge", color=COLOURS[0], edgecolor="white", linewidth=0.5)
        axis.set_xscale("log")
        low, high = min(b[0] for b in bins), max(b[1] for b in bins)
        axis.set_xlim(10 ** math.floor(math.log10(low) + 1e-9), 10 ** math.ceil(math.log10(high) - 1e-9))  # whole decades
        axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: human(round(value))))
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_xlabel(xlabel)
        axis.set_ylabel("documents")
        axis.set_title(title, fontsize=11)
        axis.spines[["top", "right"]].set_visible(False)
        return _png(figure)


def capped(rows: Sequence[tuple[str, int, int]], limit: int = MAX_BARS) -> list[tuple[str, int, int]]:
    """At most `limit` rows: the first `limit - 1`, then one row summing the rest (a plot of 300 sources reads as none)."""
    rows = list(rows)
    if len(rows) <= limit:
        return rows
    rest = rows[limit - 1:]
    return rows[:limit - 1] + [(f"{len(rest)} others", sum(r[1] for r in rest), sum(r[2] for r in rest))]


def human(n: int) -> str:
    """12345 -> 12.3k, 10000 -> 10k: bar labels and ticks stay short whatever the corpus size."""
    for size, suffix in ((1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")):
        if abs(n) >= size:
            return f"{n / size:.1f}".removesuffix(".0") + suffix
    return str(n)


def _bars(axis, labels: list[str], values: list[int], colour: str) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    positions = range(len(labels))
    axis.barh(positions, values, color=colour, height=0.7)
    axis.set_yticks(list(positions), labels)
    top = max(values, default=0) or 1
    axis.set_xlim(0, top * 1.22)  # room for the value written after the longest bar
    for position, value in zip(positions, values):
        axis.text(value + top * 0.01, position, human(value), va="center", fontsize=8)
    axis.spines[["top", "right"]].set_visible(False)
    axis.tick_params(axis="x", labelsize=8)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: human(round(value))))


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


@contextmanager
def _style():
    import matplotlib
    import matplotlib.style

    with matplotlib.style.context("default"), matplotlib.rc_context(STYLE):
        yield


def _figure(height: float):
    """A figure drawn by Agg whatever pyplot's backend is (matplotlib.use would switch a host's, a notebook's)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata=NO_METADATA)
    return buffer.getvalue()
