"""Notebook helpers: show the package's source, draw curves and labelled scatter plots.

This module is used from the chapters (the top of the stack); nothing below imports it.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["show_source", "scatter_words"]


def show_source(obj) -> object:
    """Display the source of a function or class of ``d2lmini`` with syntax highlighting.

    Chapters show the package's code this way instead of pasting a copy, so
    the book and the package cannot drift apart.
    """
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def scatter_words(
    points: np.ndarray,
    words: Sequence[str],
    ax: plt.Axes | None = None,
    title: str | None = None,
    fontsize: int = 8,
) -> plt.Axes:
    """Scatter 2-D points with a text label next to each (embeddings after PCA/t-SNE)."""
    points = np.asarray(points)
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {points.shape}")
    if len(words) != len(points):
        raise ValueError(f"got {len(points)} points but {len(words)} words")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 9))
    ax.scatter(points[:, 0], points[:, 1], s=6, alpha=0.5)
    for (x, y), word in zip(points, words):
        ax.annotate(word, (x, y), fontsize=fontsize, alpha=0.85)
    if title:
        ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    return ax
