"""Notebook helpers: show the package's source, draw curves and labelled scatter plots.

This module is used from the chapters (the top of the stack); nothing below imports it.
"""

from __future__ import annotations

import inspect
import textwrap
import time
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from . import _checks

__all__ = ["show_source", "glue", "scatter_words", "plot_differences", "plot_differences_by_test", "LiveCurve"]

BENCHMARK_TITLES = {"wordsim353": "WordSim-353", "simlex999": "SimLex-999", "analogy": "analogies"}


def show_source(obj) -> object:
    """Display the source of a function or class of ``d2lmini`` with syntax highlighting, as written.

    Chapters show the package's code this way instead of pasting a copy, so
    the book and the package cannot drift apart. A public function's argument
    rules are declared above it (``@rules(...)``), so its body is the computation.
    """
    from IPython.display import Code

    return Code(textwrap.dedent(inspect.getsource(obj)), language="python")


def glue(name: str, value, display: bool = False) -> None:
    """Make ``value`` available to the chapter's text as ``{glue:text}`name``` (MyST-NB's ``glue``).

    Outside a book build, without MyST-NB (in Colab, say), there is no text to
    fill in: a figure is shown where it was made, any other value only when
    ``display`` is true.
    """
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        if display or isinstance(value, plt.Figure):
            from IPython.display import display as show

            show(value)
        return
    myst_glue(name, value, display=display)


def plot_differences(
    ax: plt.Axes,
    differences: dict,
    scale: float = 1.0,
    offset: float = 0.0,
    color: str | None = None,
    label: str | None = None,
) -> plt.Axes:
    """Draw paired differences as a forest plot: one row per entry, top to bottom.

    ``differences`` maps a row label to a :class:`~d2lmini.evaluation.Difference`.
    Each is a dot at the observed difference with a bar over its interval, and
    a dashed line marks 0, so a bar that crosses it is no clear difference.
    Without ``color`` a clear difference is black and the others grey; with it,
    every row takes that colour and ``label`` names the series in a legend.
    ``scale`` multiplies every value (100 turns accuracies into points), and
    ``offset`` shifts the rows down, so that a second call can draw another
    series beside the first.
    """
    names = list(differences)
    for row, name in enumerate(names):
        difference = differences[name]
        low, high = difference.interval
        shade = color or ("black" if difference.verdict != "no clear difference" else "0.6")
        y = row + offset
        ax.plot([scale * low, scale * high], [y, y], color=shade, label=label if row == 0 else None)
        ax.plot(scale * difference.difference, y, "o", color=shade)
    ax.axvline(0, color="tab:red", linestyle="--", linewidth=1)
    left, right = ax.get_xlim()
    room = 0.05 * (max(right, 0) - min(left, 0))  # keep the line at 0 off the frame
    ax.set_xlim(min(left, -room), max(right, room))
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)  # the first row on top, whatever the calls
    return ax


def plot_differences_by_test(by_test: dict, figsize: tuple[float, float] = (10, 2.4)) -> plt.Figure:
    """One :func:`plot_differences` panel per benchmark, side by side, sharing the rows.

    ``by_test`` maps a benchmark key (``"wordsim353"``, ``"simlex999"`` or
    ``"analogy"``) to that benchmark's ``{row label: Difference}``. Analogy
    accuracies are drawn in percentage points, correlations as they are.
    """
    unknown = sorted(set(by_test) - set(BENCHMARK_TITLES))
    if unknown:
        raise ValueError(f"by_test has unknown benchmarks {unknown}; use keys among {list(BENCHMARK_TITLES)}")
    fig, axes = plt.subplots(1, len(by_test), figsize=figsize, sharey=True, squeeze=False)
    for ax, (key, rows) in zip(axes[0], by_test.items()):
        analogy = key == "analogy"
        plot_differences(ax, rows, scale=100 if analogy else 1)
        ax.set_title(BENCHMARK_TITLES[key])
        ax.locator_params(axis="x", nbins=5)  # tick labels that do not run together
        ax.set_xlabel("difference (points of accuracy)" if analogy else "difference (Spearman)")
    fig.tight_layout()
    return fig


def scatter_words(
    points: np.ndarray,
    words: Sequence[str],
    ax: plt.Axes | None = None,
    title: str | None = None,
    fontsize: int = 8,
    groups: dict[str, Sequence[str]] | None = None,
) -> plt.Axes:
    """Scatter 2-D points (embeddings after PCA or t-SNE, or learned in 2-D) with word labels.

    Without ``groups`` every point is labelled. With ``groups`` (a name and its
    words, e.g. ``{"modal verbs": ["can", "could"]}``) every word is a grey dot,
    and only the groups' words are coloured, labelled and named in a legend:
    a page-sized picture in which the groups the text talks about can be found.
    Labels are moved around their point so that they do not overlap.
    """
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if len(words) != len(points):
        raise ValueError(f"got {len(points)} points but {len(words)} words")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 9) if groups is None else (7, 6))
    index = {w: i for i, w in enumerate(words)}
    if groups is None:
        ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.5)
        labelled = [(i, None) for i in range(len(words))]
    else:
        missing = sorted(w for members in groups.values() for w in members if w not in index)
        if missing:
            raise ValueError(f"groups name words that are not among the points: {missing}")
        grouped = {w for members in groups.values() for w in members}
        if len(grouped) < len(words):  # a legend entry only for points drawn in grey
            ax.scatter(points[:, 0], points[:, 1], s=8, color="0.8", label="other words")
        labelled = []
        for k, (name, members) in enumerate(groups.items()):
            colour = plt.get_cmap("tab10")(k % 10)
            rows = [index[w] for w in members]
            ax.scatter(points[rows, 0], points[rows, 1], s=22, color=colour, label=name)
            labelled += [(i, colour) for i in rows]
        ax.legend(fontsize=8, loc="best", framealpha=0.9)
    ax.margins(0.08)  # room for the labels of points at the edge
    _place_labels(ax, points, words, labelled, fontsize)
    if title:
        ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _place_labels(ax: plt.Axes, points: np.ndarray, words: Sequence[str], labelled: list, fontsize: int) -> None:
    """Label points, trying positions around each and keeping the first that covers no other label or dot.

    The positions form five rings, from near the point to five times as far; a
    label away from the first ring gets a thin line to its point. A label that
    fits nowhere takes the position that covers the fewest labels, then dots.
    """
    renderer = ax.figure.canvas.get_renderer()
    ax.get_xlim(), ax.get_ylim()  # settle the pending autoscaling, so that data maps to its final pixels
    near = [(4, 2), (4, -10), (-4, 2), (-4, -10), (0, 6), (0, -14), (8, -4), (-8, -4)]
    offsets = [(ring * dx, ring * dy) for ring in (1, 2, 3, 4, 5) for dx, dy in near]
    centres = ax.transData.transform(points[[i for i, _ in labelled]])
    dots = [Bbox.from_extents(x - 3, y - 3, x + 3, y + 3) for x, y in centres]
    frame = ax.get_window_extent(renderer)

    def text_box(label) -> Bbox:
        label.update_positions(renderer)  # place the text at its offset, as a draw would
        return Text.get_window_extent(label, renderer)  # the text alone, not its line

    def annotate(i: int, colour, n: int):
        dx, dy = offsets[n]
        line = None if n < len(near) else {"arrowstyle": "-", "lw": 0.5, "color": colour or "black"}
        return ax.annotate(words[i], points[i], xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                           ha="left" if dx >= 0 else "right", color=colour or "black", alpha=0.9, arrowprops=line)

    placed = []
    for k, (i, colour) in enumerate(labelled):
        others = dots[:k] + dots[k + 1:]
        best, best_cost = 0, None
        for n in range(len(offsets)):
            label = annotate(i, colour, n)
            box = text_box(label)
            inside = frame.contains(box.x0, box.y0) and frame.contains(box.x1, box.y1)
            # Covering a label is worse than covering a dot; leaving the frame, worst.
            cost = (10 * sum(box.overlaps(other) for other in placed) + sum(box.overlaps(dot) for dot in others)
                    + (0 if inside else 1000))
            if cost == 0:
                placed.append(box)
                break
            label.remove()
            if best_cost is None or cost < best_cost:
                best, best_cost = n, cost
        else:
            label = annotate(i, colour, best)
            placed.append(text_box(label))


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ != "TerminalInteractiveShell"


class LiveCurve:
    """A training curve that redraws in place in a notebook while a model trains.

    Pass an instance as the ``callback`` of a training loop in
    :mod:`d2lmini.training`: it is called with ``(progress, metrics)`` and plots
    every metric against progress (in epochs). While training runs, the title
    shows a progress bar and the latest values; when it ends (the training loop
    calls :meth:`close`), the figure is drawn once more without them, so the
    one left on the page is a clean plot. Redraws are throttled to one per
    ``min_interval`` seconds, except at the end of each epoch. Outside a
    notebook it only records. ``references`` maps names to fixed levels to
    compare the curve with, such as the loss of a guess: grey lines (dashed,
    dotted, then dash-dotted, in the dict's order) named in the legend.
    """

    def __init__(
        self,
        num_epochs: float | None = None,
        xlabel: str = "epoch",
        ylabel: str = "loss",
        yscale: str = "linear",
        min_interval: float = 1.0,
        figsize: tuple[float, float] = (5.5, 3.2),
        references: dict[str, float] | None = None,
    ) -> None:
        self.num_epochs, self.xlabel, self.ylabel, self.yscale = num_epochs, xlabel, ylabel, yscale
        self.references = {name: _checks.real(f"references[{name!r}]", level)
                            for name, level in (references or {}).items()}
        self.min_interval = min_interval
        self.series: dict[str, tuple[list[float], list[float]]] = {}
        self.fig, self.ax = plt.subplots(figsize=figsize)
        plt.close(self.fig)  # displayed by us, not by the inline backend at the end of the cell
        self._handle = None
        self._last_draw = 0.0
        self._closed = False

    def __call__(self, progress: float, metrics: dict[str, float]) -> None:
        for name, value in metrics.items():
            xs, ys = self.series.setdefault(name, ([], []))
            xs.append(progress)
            ys.append(value)
        now = time.monotonic()
        epoch_end = abs(progress - round(progress)) < 1e-9
        if epoch_end or now - self._last_draw >= self.min_interval:
            self.draw()
            self._last_draw = now

    def close(self) -> None:
        """Training ended: draw the curves once more, without the progress text."""
        self._closed = True
        self.draw()

    def draw(self) -> None:
        """Redraw the figure (in place, in a notebook)."""
        ax = self.ax
        ax.clear()
        for name, (xs, ys) in self.series.items():
            ax.plot(xs, ys, label=name)
        styles = iter(["--", ":", "-."])
        for name, level in self.references.items():
            ax.axhline(level, color="gray", linewidth=1, linestyle=next(styles, "--"), label=name)
        ax.set_xlabel(self.xlabel)
        ax.set_ylabel(self.ylabel)
        ax.set_yscale(self.yscale)
        if self.num_epochs:
            ax.set_xlim(0, self.num_epochs)
        if len(self.series) + len(self.references) > 1:
            ax.legend(fontsize=8)
        if not self._closed:
            ax.set_title(self.status(), fontsize=9, family="monospace")
        self.fig.tight_layout()
        if _in_notebook():
            from IPython.display import display

            if self._handle is None:
                self._handle = display(self.fig, display_id=True)
            else:
                self._handle.update(self.fig)

    def status(self) -> str:
        """A progress bar and the latest value of each metric, e.g. ``[####----] epoch 2.00/5: loss 0.41``."""
        if not self.series:
            return ""
        progress = max(xs[-1] for xs, _ in self.series.values())
        total = f"/{self.num_epochs:g}" if self.num_epochs else ""
        latest = ", ".join(f"{k} {ys[-1]:.4g}" for k, (_, ys) in self.series.items())
        bar = ""
        if self.num_epochs:  # a text progress bar: 20 cells
            done = min(20, int(round(20 * progress / self.num_epochs)))
            bar = "[" + "#" * done + "-" * (20 - done) + "] "
        return f"{bar}{self.xlabel} {progress:.2f}{total}: {latest}"
