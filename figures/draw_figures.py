"""Draw the book's concept figures as SVG files beside this script.

These are pictures of ideas (a window sliding over a sentence, a true pair scored
against noise words, a path down a Huffman tree), not results of a run: they are drawn
once and committed. Where a figure shows something `d2lmini` computes (the Huffman
tree of the family chapter's tiny example, GloVe's weighting function, fastText's
n-grams), the script asks `d2lmini` for it, so the picture and the code agree.

Run from the repository root after changing a figure:

    python figures/draw_figures.py
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("svg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

from d2lmini.huffman import huffman_tree  # noqa: E402
from d2lmini.models import glove_weight  # noqa: E402  (the function the model uses)
from d2lmini.subwords import char_ngrams  # noqa: E402

HERE = Path(__file__).resolve().parent

# One palette for the whole book: the center word, its true contexts, noise words.
CENTER = "#f4a259"
CONTEXT = "#7fb3e6"
NOISE = "#e8a0a0"
PLAIN = "#eeeeee"
INK = "#333333"
FADED = "#bbbbbb"

plt.rcParams.update({
    "svg.fonttype": "none",  # text stays text: sharp at any zoom, found by the browser's search
    "svg.hashsalt": "d2lmini",  # stable ids, so an unchanged figure gives an unchanged file
    "font.family": "DejaVu Sans",
    "font.size": 11,
})


def canvas(width: float, height: float, xlim: tuple[float, float], ylim: tuple[float, float]):
    """A figure with one axis in data units and no frame, for drawing."""
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.axis("off")
    return fig, ax


def box(ax, x: float, y: float, text: str, color: str = PLAIN, width: float = 1.0, height: float = 0.5,
        size: float = 11, edge: str = INK, text_color: str = INK, weight: str = "normal"):
    """A rounded box centred at (x, y) with a label."""
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                                boxstyle="round,pad=0.02,rounding_size=0.08", facecolor=color, edgecolor=edge,
                                linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=text_color, weight=weight)


def arrow(ax, start: tuple[float, float], end: tuple[float, float], color: str = INK, style: str = "-|>",
          width: float = 1.2, curve: float = 0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=color, linewidth=width,
                                 connectionstyle=f"arc3,rad={curve}", shrinkA=2, shrinkB=2))


def save(fig, name: str) -> None:
    fig.savefig(HERE / f"{name}.svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


# --- Counting -------------------------------------------------------------------------

SENTENCE = ["the", "stock", "market", "fell", "sharply", "on", "friday"]


def sliding_window() -> None:
    """Two positions of a window of 2 around a center word, and the pairs each gives."""
    fig, ax = canvas(10, 3.6, (-0.8, 14.2), (0.4, 4.2))
    step = 1.5
    for row, (center, y) in enumerate([(2, 3.2), (3, 1.5)]):
        ax.text(-0.75, y, f"step {row + 1}", ha="left", va="center", fontsize=10, color=INK)
        for i, word in enumerate(SENTENCE):
            distance = abs(i - center)
            color = CENTER if i == center else CONTEXT if distance <= 2 else PLAIN
            box(ax, 0.6 + i * step + 0.4, y, word, color, width=1.35)
        left, right = 0.6 + (center - 2) * step - 0.3, 0.6 + (center + 2) * step + 1.1
        ax.plot([left, left, right, right], [y - 0.42, y - 0.5, y - 0.5, y - 0.42], color=INK, linewidth=1)
        ax.text((left + right) / 2, y - 0.72, "window: 2 words on each side", ha="center", va="center",
                fontsize=9, color=INK)
        pairs = [f"({SENTENCE[center]}, {SENTENCE[j]})" for j in range(center - 2, center + 3) if j != center]
        ax.text(11.4, y + 0.1, "\n".join(pairs), ha="left", va="center", fontsize=9.5, family="DejaVu Sans Mono",
                linespacing=1.25)
    ax.text(11.4, 4.15, "(center, context)", ha="left", va="center", fontsize=9.5, weight="bold")
    arrow(ax, (4.0, 2.02), (5.4, 2.02), color="#888888")
    ax.text(5.6, 2.02, "the center slides by one word", fontsize=9, color="#777777", va="center")
    save(fig, "sliding_window")


def cooccurrence_weighting() -> None:
    """Context words add 1/d to the center's row of X, d being their distance."""
    fig, ax = canvas(9.5, 3.2, (-0.5, 12.6), (-1.9, 2.0))
    center = 2
    step = 1.55
    for i, word in enumerate(SENTENCE):
        d = abs(i - center)
        box(ax, i * step + 0.5, 1.2, word, CENTER if d == 0 else CONTEXT, width=1.35)
        if d:
            ax.text(i * step + 0.5, 0.6, f"d = {d}", ha="center", fontsize=9.5)
            ax.text(i * step + 0.5, 0.15, f"+ 1/{d}" if d > 1 else "+ 1", ha="center", fontsize=11, weight="bold")
    # The center's row of the count matrix.
    columns = [w for i, w in enumerate(SENTENCE) if i != center]
    adds = [f"{1 / abs(i - center):.2f}" for i in range(len(SENTENCE)) if i != center]
    ax.text(-0.45, -1.2, "added to the\nrow of X for\n\"market\"", ha="left", va="center", fontsize=9.5)
    for k, (word, add) in enumerate(zip(columns, adds)):
        x = 2.5 + k * 1.65
        ax.text(x, -0.6, word, ha="center", fontsize=9)
        box(ax, x, -1.2, add, PLAIN, width=1.4, height=0.55)
    ax.text(2.5 + 6 * 1.65 - 0.7, -1.2, "...", ha="left", va="center")
    ax.text(6.0, 1.85, "window 4: a word d positions away adds 1/d, not 1", ha="center", fontsize=10)
    save(fig, "cooccurrence_weighting")


# --- GloVe ----------------------------------------------------------------------------

def glove_ratio() -> None:
    """P(k | ice) / P(k | steam) for four probe words, as Table 1 of the GloVe paper reports them."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    probes = ["solid", "gas", "water", "fashion"]
    kind = ["goes with ice,\nnot steam", "goes with steam,\nnot ice", "goes with\nboth", "goes with\nneither"]
    heights = [8.9, 8.5e-2, 1.36, 0.96]  # Pennington et al. (2014), Table 1: 6 billion tokens
    colors = [CENTER, CONTEXT, PLAIN, PLAIN]
    # Bars grow from 1 (no information): up for ice's probes, down for steam's.
    ax.bar(range(4), [h - 1 for h in heights], bottom=1, color=colors, edgecolor=INK, width=0.6)
    ax.set_yscale("log")
    ax.axhline(1, color=INK, linewidth=1, linestyle="--")
    ax.text(3.45, 1.08, "ratio = 1", fontsize=9, ha="right", va="bottom")
    ax.set_xticks(range(4), [f"k = {p}\n({k})" for p, k in zip(probes, kind)], fontsize=9)
    ax.set_ylim(0.04, 15)
    ax.set_yticks([0.1, 1, 10], ["0.1", "1", "10"])
    for i, height in enumerate(heights):
        ax.text(i, height * (1.12 if height >= 1 else 0.8), f"{height:g}", ha="center",
                va="bottom" if height >= 1 else "top", fontsize=9)
    ax.set_ylabel("P(k | ice) / P(k | steam)\n(log scale)")
    ax.set_title("Ratios from the GloVe paper's Table 1 (a corpus of 6 billion tokens)", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    save(fig, "glove_ratio")


def glove_weighting() -> None:
    """GloVe's weighting function h(x) = min((x / x_max)^alpha, 1) and what it does."""
    x = torch.linspace(0, 200, 401)
    h = glove_weight(x, x_max=100, alpha=0.75).numpy()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for alpha, style in ((0.5, ":"), (1.0, "--")):
        ax.plot(x.numpy(), glove_weight(x, x_max=100, alpha=alpha).numpy(), color="#777777", linewidth=1.2,
                linestyle=style, label=f"α = {alpha:g}")
    ax.plot(x.numpy(), h, color=INK, linewidth=2, label="α = 0.75 (the paper's)")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    ax.axvspan(0, 10, color=CONTEXT, alpha=0.35)
    ax.axvspan(100, 200, color=CENTER, alpha=0.35)
    ax.annotate("rare pairs (small counts):\nnoisy, so a small weight", xy=(4, 0.1), xytext=(12, 0.85),
                fontsize=9.5, va="center", arrowprops={"arrowstyle": "-|>", "color": "#555555"})
    ax.text(150, 0.55, "frequent pairs:\nweight capped at 1,\nso no single pair\ndominates the loss",
            fontsize=9.5, ha="center", va="center")
    ax.set_xlabel("co-occurrence count $x_{ik}$ (each pair weighted by 1 / distance)")
    ax.set_ylabel("weight $h(x_{ik})$")
    ax.set_xlim(0, 200)
    ax.set_ylim(0, 1.1)
    ax.text(101, 1.03, "$x_{\\max} = 100$", fontsize=9.5)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    save(fig, "glove_weighting")


def matrix_grid(ax, x0: float, y0: float, rows: int, cols: int, fill, label: str, sub: str,
                cell: float = 0.5) -> None:
    """A matrix drawn as a grid of cells, coloured by fill(row, col), with a label and a note below."""
    for r in range(rows):
        for c in range(cols):
            color = fill(r, c)
            ax.add_patch(plt.Rectangle((x0 + c * cell, y0 + (rows - 1 - r) * cell), cell, cell,
                                       facecolor=color, edgecolor=INK if color != "white" else FADED,
                                       linewidth=0.8))
    ax.text(x0 + cols * cell / 2, y0 - 0.35, label, ha="center", va="top", fontsize=10.5, color=INK)
    ax.text(x0 + cols * cell / 2, y0 - 0.85, sub, ha="center", va="top", fontsize=9, color="#666666")


def factorisation_picture(name: str, cell_colour, labels: tuple[str, ...], notes: tuple[str, ...],
                          caption: str) -> None:
    """A 6 x 6 target matrix ~ a tall table times a flat one, plus a bias column and a bias row.

    ``labels`` and ``notes`` name the five blocks in order (target, tall, flat, row biases,
    column biases); ``cell_colour(r, c)`` colours the target's cells.
    """
    fig, ax = canvas(10, 3.4, (-0.3, 15.6), (-1.4, 4.0))
    n = 6
    grid = partial(matrix_grid, ax)
    blocks = [(0, 0.5, n, n, cell_colour), (4.3, 0.5, n, 2, lambda r, c: CENTER),
              (6.2, 1.75, 2, n, lambda r, c: CENTER), (10.2, 0.5, n, 1, lambda r, c: PLAIN),
              (11.6, 1.75, 1, n, lambda r, c: PLAIN)]
    for (x, y, rows, cols, fill), label, note in zip(blocks, labels, notes):
        grid(x, y, rows, cols, fill, label, note)
    for x, sign, size in ((3.55, "≈", 22), (5.65, "×", 16), (9.75, "+", 16), (11.15, "+", 16)):
        ax.text(x, 2.0, sign, ha="center", va="center", fontsize=size, color=INK)
    ax.text(0.0, 3.75, caption, ha="left", va="center", fontsize=9, color="#555555")
    save(fig, name)


def glove_factorisation() -> None:
    """GloVe as a matrix factorisation: seen cells of log X ~ V U^T plus the two biases."""
    rng = np.random.default_rng(3)
    seen = rng.random((6, 6)) < 0.3
    seen = seen | seen.T  # the counts are symmetric
    np.fill_diagonal(seen, True)
    factorisation_picture(
        "glove_factorisation", lambda r, c: CONTEXT if seen[r, c] else "white",
        ("log x_ik", "v_i", "u_k (transposed)", "b_i", "c_k"),
        ("V x V: only seen cells count", "V x d", "d x V", "one per row", "one per column"),
        "blank cells: pairs never seen together, log 0 undefined, left out of the loss")


def glove_full_matrix() -> None:
    """The simplified GloVe: every cell of A = log(x + 0.5) ~ W W^T plus one bias per row and per column."""
    factorisation_picture(
        "glove_full_matrix", lambda r, c: CONTEXT,
        ("A_ij = log(x_ij + 0.5)", "W", "W transposed", "b_i", "b_j"),
        ("V x V: every cell counts", "V x d", "the same W", "one per row", "the same b"),
        "no blank cells: the 0.5 makes every log finite, and no weighting function")


def central_difference() -> None:
    """The slope of the chord from theta - eps to theta + eps estimates the derivative at theta."""
    theta, eps = 1.0, 0.6
    loss = lambda t: 0.35 * t ** 3 - 0.6 * t ** 2 + 0.9  # noqa: E731  (any smooth curve will do)
    slope = lambda t: 1.05 * t ** 2 - 1.2 * t  # noqa: E731
    t = np.linspace(-0.1, 2.3, 200)
    fig, ax = plt.subplots(figsize=(7, 3.4))
    ax.plot(t, loss(t), color=INK, linewidth=2, label="the loss L as one parameter moves")
    tangent = loss(theta) + slope(theta) * (t - theta)
    ax.plot(t, tangent, color=CENTER, linewidth=2, label="tangent at θ: slope dL/dθ (the formula)")
    left, right = theta - eps, theta + eps
    chord = (loss(right) - loss(left)) / (2 * eps)
    ax.plot(t, loss(left) + chord * (t - left), color=CONTEXT, linewidth=2, linestyle="--",
            label="chord: slope (L(θ+ε) − L(θ−ε)) / 2ε")
    ax.plot([left, right], [loss(left), loss(right)], "o", color=CONTEXT, markersize=7)
    ax.plot([theta], [loss(theta)], "o", color=CENTER, markersize=7)
    for x, name in ((left, "θ − ε"), (theta, "θ"), (right, "θ + ε")):
        ax.axvline(x, color=FADED, linewidth=0.8, zorder=0)
        ax.text(x, 0.12, name, ha="center", fontsize=10)
    ax.text(2.28, 0.3, "as ε shrinks, the two slopes\nagree up to an error of order ε²", ha="right",
            fontsize=9.5, color="#555555")
    ax.set_ylim(0, 1.6)
    ax.set_xlim(-0.1, 2.3)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("one entry θ of W or b")
    ax.set_ylabel("loss")
    ax.legend(loc="upper left", fontsize=9, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    save(fig, "central_difference")


# --- word2vec -------------------------------------------------------------------------

def sgns_pair() -> None:
    """One true (center, context) pair pushed towards 1, K noise words pushed towards 0."""
    fig, ax = canvas(9, 4.0, (-0.5, 10.8), (-0.6, 4.6))
    box(ax, 1.0, 2.0, "market", CENTER, width=1.6, height=0.7, weight="bold")
    ax.text(1.0, 1.3, "center word c\nvector $\\mathbf{v}_c$", ha="center", va="top", fontsize=9.5)
    rows = [("stock", CONTEXT, "true context", "1"), ("pilot", NOISE, "noise word", "0"),
            ("ounces", NOISE, "noise word", "0"), ("toy", NOISE, "noise word", "0")]
    for k, (word, color, role, label) in enumerate(rows):
        y = 4.0 - k * 1.2
        box(ax, 4.4, y, word, color, width=1.4, height=0.6)
        ax.text(4.4, y - 0.45, role, ha="center", va="center", fontsize=8.5, color="#555555")
        arrow(ax, (1.85, 2.0), (3.65, y), color=INK if k == 0 else "#a05050")
        name = "o" if k == 0 else f"n_{k}"
        ax.text(5.4, y, f"$\\sigma(\\mathbf{{u}}_{{{name}}}^\\top \\mathbf{{v}}_c)$", va="center", fontsize=11)
        ax.text(7.55, y, "$\\rightarrow$", va="center", fontsize=12)
        ax.text(8.1, y, f"target {label}", va="center", fontsize=10.5, weight="bold")
        ax.text(9.45, y, "push up" if k == 0 else "push down", va="center", fontsize=9, color="#555555")
    ax.text(4.4, -0.45, "K = 3 noise words drawn from count$^{0.75}$", ha="center", fontsize=9.5)
    save(fig, "sgns_pair")


def subsampling() -> None:
    """Dropping frequent words lets a window of 2 reach words that say more."""
    words = ["the", "stock", "of", "the", "company", "rose", "in", "the", "morning"]
    dropped = {0, 2, 3, 6, 7}
    fig, ax = canvas(10, 3.0, (-2.2, 13.6), (-0.1, 3.2))
    step = 1.55
    for row, (y, title) in enumerate([(2.5, "before"), (0.8, "after")]):
        ax.text(-2.15, y, title, ha="left", va="center", fontsize=10, weight="bold")
        kept = [i for i in range(len(words)) if row == 0 or i not in dropped]
        center = 1
        position = {i: k for k, i in enumerate(kept)}
        for i, word in enumerate(words):
            x = i * step + 0.1
            if row == 1 and i in dropped:
                box(ax, x, y, word, "white", width=1.4, edge=FADED, text_color=FADED)
                ax.plot([x - 0.45, x + 0.45], [y, y], color=FADED, linewidth=1)
                continue
            near = abs(position[i] - position[center]) <= 2 and i != center
            box(ax, x, y, word, CENTER if i == center else CONTEXT if near else PLAIN, width=1.4)
    ax.text(6.0, 3.05, "window of 2 around \"stock\": its contexts in blue", ha="center", fontsize=10)
    ax.text(6.0, 0.05, "frequent words dropped at random: the same window now reaches \"company\" and \"rose\"",
            ha="center", fontsize=9.5)
    save(fig, "subsampling")


# --- The word2vec family --------------------------------------------------------------

def cbow_vs_skipgram() -> None:
    """Skip-gram predicts each context from the center; CBOW predicts the center from the average."""
    fig, ax = canvas(10, 4.2, (-0.3, 12.3), (-0.6, 4.6))
    contexts = ["$w_{t-2}$", "$w_{t-1}$", "$w_{t+1}$", "$w_{t+2}$"]
    ys = [3.9, 2.8, 1.7, 0.6]
    # Skip-gram: center on the left, contexts on the right.
    ax.text(2.6, 4.55, "skip-gram", ha="center", fontsize=12, weight="bold")
    box(ax, 0.8, 2.25, "$w_t$", CENTER, width=1.2, height=0.7)
    for c, y in zip(contexts, ys):
        box(ax, 4.4, y, c, CONTEXT, width=1.2, height=0.6)
        arrow(ax, (1.45, 2.25), (3.75, y))
    ax.text(2.6, -0.35, "one prediction per context word", ha="center", fontsize=9.5)
    # CBOW: contexts on the left, averaged, center on the right.
    ax.text(9.4, 4.55, "CBOW", ha="center", fontsize=12, weight="bold")
    for c, y in zip(contexts, ys):
        box(ax, 7.2, y, c, CONTEXT, width=1.2, height=0.6)
        arrow(ax, (7.85, y), (9.0, 2.25))
    box(ax, 9.45, 2.25, "mean", PLAIN, width=0.95, height=0.6)
    arrow(ax, (9.95, 2.25), (10.9, 2.25))
    box(ax, 11.55, 2.25, "$w_t$", CENTER, width=1.2, height=0.7)
    ax.text(9.4, -0.35, "one prediction per center word", ha="center", fontsize=9.5)
    ax.plot([5.8, 5.8], [-0.5, 4.6], color=FADED, linewidth=1)
    save(fig, "cbow_vs_skipgram")


def softmax_vs_sampling() -> None:
    """The full softmax scores every word of the vocabulary; negative sampling, the true context and K noise words."""
    fig, ax = canvas(10, 4.6, (-0.4, 13.4), (-1.2, 5.4))
    vocabulary = ["the", "a", "stock", "pilot", "toy", "ounces", "shares", "…"]
    panels = ((0.0, "full softmax", "every word of V scored and normalised:\n|V| dot products per pair"),
              (7.0, "negative sampling", "true context and K = 3 noise words:\nK + 1 dot products per pair"))
    for panel, (x0, title, note) in enumerate(panels):
        box(ax, x0 + 0.9, 2.4, "market", CENTER, width=1.6, height=0.6, weight="bold")
        ax.text(x0 + 0.9, 1.8, "center", ha="center", va="top", fontsize=9, color="#555555")
        ax.text(x0 + 2.9, 5.1, title, ha="center", fontsize=11.5, weight="bold", color=INK)
        ax.text(x0 + 2.9, -0.55, note, ha="center", va="top", fontsize=9, color="#555555")
        for k, word in enumerate(vocabulary):
            y = 4.5 - k * 0.58
            if panel == 0:
                color = CONTEXT if word == "stock" else PLAIN
                scored = True
            else:
                color = CONTEXT if word == "stock" else NOISE if word in ("pilot", "toy", "ounces") else "white"
                scored = color != "white"
            edge = INK if scored else FADED
            box(ax, x0 + 4.4, y, word, color, width=1.3, height=0.44, size=9.5, edge=edge,
                text_color=INK if scored else FADED)
            if scored and word != "…":
                arrow(ax, (x0 + 1.75, 2.4), (x0 + 3.7, y), color=INK if word == "stock" else "#999999", width=0.8)
        if panel == 0:
            ax.text(x0 + 5.3, 2.4, "softmax:\nsum over\nall words", ha="left", va="center", fontsize=9)
        else:
            ax.text(x0 + 5.3, 2.4, "σ each:\nstock → 1,\nnoise → 0", ha="left", va="center", fontsize=9)
    save(fig, "softmax_vs_sampling")


def huffman_path() -> None:
    """The Huffman tree of the family chapter's tiny example (counts 5, 1, 1, 3), one path highlighted."""
    counts = [5, 1, 1, 3]
    tree = huffman_tree(counts)
    V = len(counts)
    root = V - 2
    # Rebuild the children of each inner node from the words' paths.
    children: dict[int, dict[int, tuple[str, int]]] = {}
    for w in range(V):
        depth = tree.lengths[w]
        nodes, codes = tree.nodes[w, :depth], tree.codes[w, :depth]
        for k in range(depth):
            child = ("node", int(nodes[k + 1])) if k + 1 < depth else ("word", w)
            children.setdefault(int(nodes[k]), {})[int(codes[k])] = child
    # Leaves left to right in the order an in-order walk meets them; inner nodes above their children.
    position: dict[tuple[str, int], tuple[float, float]] = {}
    next_x = [0.0]

    def place(item: tuple[str, int], depth: int) -> float:
        if item[0] == "word":
            x = next_x[0]
            next_x[0] += 2.2
        else:
            xs = [place(children[item[1]][b], depth + 1) for b in (0, 1)]
            x = sum(xs) / 2
        position[item] = (x, -depth * 1.5)
        return x

    place(("node", root), 0)
    highlight_word = 1
    on_path = {("node", int(n)) for n in tree.nodes[highlight_word, :tree.lengths[highlight_word]]}
    on_path.add(("word", highlight_word))
    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    fig, ax = canvas(8, 4.6, (min(xs) - 1.2, max(xs) + 3.8), (min(ys) - 1.3, 0.8))
    for n, branches in children.items():
        kind = "node"
        parent = position[(kind, n)]
        for code, child in branches.items():
            end = position[child]
            hot = (kind, n) in on_path and child in on_path
            ax.plot([parent[0], end[0]], [parent[1], end[1]], color=CENTER if hot else FADED,
                    linewidth=3 if hot else 1.2, zorder=0)
            ax.text((parent[0] + end[0]) / 2 + (-0.25 if end[0] < parent[0] else 0.25),
                    (parent[1] + end[1]) / 2 + 0.1, f"branch {code}", fontsize=8.5,
                    ha="right" if end[0] < parent[0] else "left", color=INK)
    for item, (x, y) in position.items():
        if item[0] == "node":
            box(ax, x, y, f"node {item[1]}\n$\\mathbf{{u}}_{item[1]}$", CENTER if item in on_path else PLAIN,
                width=1.3, height=0.75, size=9)
        else:
            w = item[1]
            box(ax, x, y, f"word {w}\ncount {counts[w]}", CONTEXT if item in on_path else PLAIN,
                width=1.4, height=0.75, size=9)
    depth = tree.lengths[highlight_word]
    factors = [("+" if c == 0 else "-", int(n)) for n, c in
               zip(tree.nodes[highlight_word, :depth], tree.codes[highlight_word, :depth])]
    formula = " ".join(f"$\\sigma({s}\\mathbf{{u}}_{n}^\\top \\mathbf{{v}}_c)$" for s, n in factors)
    ax.text(max(xs) + 1.2, 0.2, f"P(word {highlight_word} | c) =", fontsize=10, va="center")
    ax.text(max(xs) + 1.2, -0.4, formula.replace("$ $", r"\,"), fontsize=10, va="center")
    ax.text(max(xs) + 1.2, -1.1, f"{depth} factors: one per\nnode on the path", fontsize=9, va="top")
    save(fig, "huffman_path")


def char_ngram_figure() -> None:
    """fastText's vector of "where": its own row plus the rows of its character n-grams."""
    grams = char_ngrams("where", min_n=3, max_n=3)
    fig, ax = canvas(10, 2.9, (-0.3, 13.0), (-1.6, 1.7))
    box(ax, 0.9, 0.6, "where", CENTER, width=1.5, height=0.65, weight="bold")
    ax.text(0.9, -0.05, "wrapped:\n<where>", ha="center", va="top", fontsize=9.5)
    arrow(ax, (1.7, 0.6), (2.6, 0.6))
    items = ["<where>"] + grams
    for k, g in enumerate(items):
        x = 3.4 + k * 1.5
        box(ax, x, 0.6, g, CONTEXT if k else PLAIN, width=1.2 if k else 1.35, height=0.55, size=10)
        ax.text(x + 0.75, 0.6, "+" if k < len(items) - 1 else "", ha="center", va="center", fontsize=12)
    ax.text(3.4, 1.25, "the word itself", ha="center", fontsize=8.5)
    ax.text(3.4 + 3.5 * 1.5, 1.25, "its character 3-grams (fastText also uses 4- to 6-grams)", ha="center",
            fontsize=8.5)
    ax.text(7.0, -0.6, "vector(where) = mean of these rows' vectors", ha="center", fontsize=10.5)
    ax.text(7.0, -1.25, "a word never seen still has n-grams, so it still gets a vector", ha="center",
            fontsize=9.5, color="#555555")
    save(fig, "char_ngrams")


# --- The neural language model --------------------------------------------------------

def fourgram_network() -> None:
    """The CSC321 4-gram network, layer by layer, with the shapes the chapter uses."""
    fig, ax = canvas(10, 4.6, (-0.4, 13.4), (-0.9, 5.2))
    words = ["the", "game", "is"]
    for k, word in enumerate(words):
        y = 4.2 - k * 1.6
        box(ax, 0.8, y, word, CONTEXT, width=1.2, height=0.55)
        ax.text(0.8, y - 0.5, f"word {k + 1}: id", ha="center", fontsize=8.5)
        arrow(ax, (1.45, y), (2.75, y))
        box(ax, 3.7, y, "row of E", PLAIN, width=1.8, height=0.55, size=9.5)
        ax.text(3.7, y - 0.5, "16 numbers", ha="center", fontsize=8.5)
        arrow(ax, (4.65, y), (5.9, 2.6))
    ax.text(3.7, 4.95, "one table E (250 x 16)\nshared by the 3 positions", ha="center", fontsize=9)
    box(ax, 6.5, 2.6, "concat\n48", PLAIN, width=1.1, height=1.0, size=9.5)
    arrow(ax, (7.1, 2.6), (7.9, 2.6))
    box(ax, 8.75, 2.6, "hidden\n128\nlogistic", CENTER, width=1.5, height=1.4, size=9.5)
    arrow(ax, (9.55, 2.6), (10.35, 2.6))
    box(ax, 11.3, 2.6, "output\n250\nsoftmax", CENTER, width=1.6, height=1.4, size=9.5)
    arrow(ax, (12.15, 2.6), (12.75, 2.6))
    ax.text(12.8, 2.6, "P(4th word)", fontsize=9.5, va="center", rotation=90)
    ax.text(7.5, 1.25, "$W_{eh}$: 128 x 48", ha="center", fontsize=9)
    ax.text(10.0, 1.25, "$W_{ho}$: 250 x 128", ha="center", fontsize=9)
    ax.text(6.3, -0.7, "parameters: E 4,000 + hidden 6,272 + output 32,250 = 42,522", ha="center", fontsize=9.5)
    save(fig, "fourgram_network")


def fourgram_windows() -> None:
    """Each 4-word window of a sentence is one example: three words in, the fourth out."""
    words = ["the", "game", "is", "over", "for", "us", "."]
    fig, ax = canvas(9, 3.2, (-0.5, 11.0), (-1.7, 2.0))
    step = 1.3
    for i, word in enumerate(words):
        box(ax, i * step + 0.5, 1.3, word, PLAIN, width=1.1)
    for k in range(3):
        y = 0.3 - k * 0.65
        for j in range(4):
            x = (k + j) * step + 0.5
            box(ax, x, y, words[k + j], CONTEXT if j < 3 else CENTER, width=1.1, height=0.45, size=9.5)
        ax.text((k + 3) * step + 1.25, y, "example " + str(k + 1), va="center", fontsize=9)
    ax.text(9.7, 1.3, "...", fontsize=12, va="center")
    ax.text(5.0, 1.85, "blue: the three words the model sees; orange: the word it must predict", ha="center",
            fontsize=9.5)
    save(fig, "fourgram_windows")


# --- What the vectors know ------------------------------------------------------------

def analogy_offsets() -> None:
    """3CosAdd: the offset from a to b, added to c, lands near d."""
    fig, ax = canvas(6, 4, (-0.5, 6.8), (-0.9, 4.2))
    man, king, woman, queen = (0.5, 0.5), (1.5, 3.0), (4.0, 0.8), (5.35, 3.05)
    guess = (king[0] - man[0] + woman[0], king[1] - man[1] + woman[1])
    for name, (x, y), colour in (("man", man, CENTER), ("king", king, CENTER), ("woman", woman, CENTER),
                                 ("queen", queen, CONTEXT)):
        ax.plot(x, y, "o", color=colour, markersize=9)
        ax.text(x + 0.15, y - 0.3, name, fontsize=11)
    arrow(ax, man, king, color=INK)
    arrow(ax, woman, guess, color=INK)
    ax.plot(*guess, "x", color="#a05050", markersize=10, mew=2)
    ax.text(guess[0] - 1.9, guess[1] + 0.3, "king - man + woman", fontsize=9.5, color="#a05050")
    for (x0, y0), (x1, y1) in ((man, king), (woman, guess)):
        ax.text((x0 + x1) / 2 - 0.5, (y0 + y1) / 2, "same\noffset", fontsize=8.5, ha="right", va="center")
    ax.text(3.1, -0.75, "answer: the word nearest to the point x,\nleaving out man, king and woman",
            ha="center", fontsize=9.5)
    save(fig, "analogy_offsets")


def cosine_vs_dot() -> None:
    """Cosine compares directions; the dot product also grows with length."""
    fig, ax = canvas(6.5, 4.2, (-0.4, 6.5), (-1.2, 3.9))
    vectors = {"stock": np.array([2.0, 1.0]), "shares": np.array([1.8, 1.2]), "the": np.array([1.2, 3.4])}
    for name, (x, y) in vectors.items():
        arrow(ax, (0, 0), (x, y), color=INK if name != "the" else "#888888", width=2)
        ax.text(x + 0.12, y - 0.05 if name != "shares" else y + 0.05, name, fontsize=11)

    def cosine(a, b):
        return a @ b / np.linalg.norm(a) / np.linalg.norm(b)

    stock, shares, the = vectors.values()
    ax.text(0.0, -0.55, f"dot products with \"shares\": \"stock\" {stock @ shares:.1f}, \"the\" {the @ shares:.1f}"
            " (the long vector wins)", fontsize=9)
    cosines = f"\"stock\" {cosine(stock, shares):.2f}, \"the\" {cosine(the, shares):.2f}"
    ax.text(0.0, -1.0, f"cosines with \"shares\": {cosines} (the same direction wins)", fontsize=9)
    save(fig, "cosine_vs_dot")


def paired_bootstrap() -> None:
    """One paired bootstrap: draw the items once, score both models on that draw, repeat."""
    fig = plt.figure(figsize=(10, 3.4))
    ax = fig.add_axes([0.0, 0.0, 0.58, 1.0])
    ax.set_xlim(-0.3, 10.2)
    ax.set_ylim(-0.2, 4.2)
    ax.axis("off")
    ax.text(0.0, 3.9, "the test's items (word pairs)", fontsize=9.5)
    for i in range(8):
        box(ax, 0.45 + i * 0.62, 3.3, str(i + 1), PLAIN, width=0.5, height=0.45, size=9.5)
    ax.text(0.0, 2.45, "one draw, with replacement", fontsize=9.5)
    draw = [3, 3, 7, 1, 5, 5, 2, 8]
    for i, item in enumerate(draw):
        box(ax, 0.45 + i * 0.62, 1.85, str(item), CONTEXT, width=0.5, height=0.45, size=9.5)
    arrow(ax, (5.3, 3.3), (5.3, 1.85), color="#888888", curve=-0.4)
    ax.text(5.6, 2.15, "model A's score on this draw\nminus model B's score\non the same draw",
            fontsize=9.5, va="center")
    arrow(ax, (5.2, 1.85), (5.55, 1.85), color="#888888")
    ax.text(0.0, 0.75, "repeat 2,000 times: one difference per draw", fontsize=9.5)
    ax.text(0.0, 0.2, "items that are easy (or hard) for both models cancel in the difference",
            fontsize=9, color="#555555")
    # The differences of many draws (an illustration: drawn from a normal distribution).
    hist = fig.add_axes([0.64, 0.2, 0.34, 0.65])
    values = np.random.default_rng(0).normal(0.03, 0.012, 2000)
    hist.hist(values, bins=40, color=CONTEXT, edgecolor="white")
    low, high = np.percentile(values, [2.5, 97.5])
    hist.axvspan(low, high, color=CENTER, alpha=0.25, label="95% interval")
    hist.axvline(0, color=INK, linestyle="--", linewidth=1)
    hist.text(0.001, hist.get_ylim()[1] * 0.92, "0", fontsize=9)
    hist.set_xlabel("difference, A minus B")
    hist.set_yticks([])
    hist.legend(fontsize=8.5, loc="upper right")
    hist.set_title("the interval excludes 0: A is better", fontsize=9.5)
    for side in ("top", "right", "left"):
        hist.spines[side].set_visible(False)
    save(fig, "paired_bootstrap")


# --- Making it fast ---------------------------------------------------------------------


def shared_noise_blocks() -> None:
    """A block of pairs is one step; each group of G pairs shares its K noise words."""
    fig, ax = canvas(9, 5.4, (-0.4, 10.2), (-1.5, 4.9))
    pairs = [("stock", "market"), ("rose", "sharply"), ("bank", "loans"), ("oil", "prices"),
             ("chip", "maker"), ("new", "york"), ("vice", "president"), ("profit", "fell")]
    noise = [["pilot", "ounces", "toy"], ["season", "wine", "lawn"]]
    for x, header in ((0.9, "center"), (2.55, "context"), (7.05, "noise words")):
        ax.text(x, 4.6, header, ha="center", fontsize=9.5, weight="bold", color=INK)
    for g in range(2):
        top = 3.9 - g * 2.6
        ax.add_patch(FancyBboxPatch((0.0, top - 1.95), 3.6, 2.1, boxstyle="round,pad=0.02,rounding_size=0.1",
                                    facecolor="#f7f7f7", edgecolor=FADED, linewidth=1))
        ax.text(0.1, top + 0.22, f"group {g + 1}: G = 4 pairs", fontsize=9, color="#555555", va="bottom")
        for i in range(4):
            center, context = pairs[4 * g + i]
            y = top - 0.3 - i * 0.45
            box(ax, 0.9, y, center, CENTER, width=1.4, height=0.36, size=9.5)
            box(ax, 2.55, y, context, CONTEXT, width=1.5, height=0.36, size=9.5)
        for k, word in enumerate(noise[g]):
            box(ax, 5.6 + k * 1.45, top - 0.95, word, NOISE, width=1.3, height=0.42, size=9.5)
        arrow(ax, (3.65, top - 0.95), (4.85, top - 0.95), color="#a05050")
        ax.text(5.6 + 1.45, top - 1.5, "K = 3 noise words, shared by the group", ha="center", fontsize=9,
                color="#555555")
    ax.text(0.0, -1.0, "one block = one step: 8 pairs here (1,024 in the trainer), "
            "each scored against its true context and its group's noise words", fontsize=9.5)
    ax.text(0.0, -1.4, "a group gathers its K noise rows once, not once per pair", fontsize=9.5,
            color="#555555")
    save(fig, "shared_noise_blocks")


def allreduce_step() -> None:
    """Data parallelism: each process computes its gradient, the all-reduce sums them, all update alike."""
    fig, ax = canvas(10, 3.6, (-0.3, 12.6), (-0.6, 3.9))
    for p, y in enumerate((3.0, 0.6)):
        ax.text(-0.2, y + 0.55, f"process {p}", fontsize=10, weight="bold", color=INK)
        box(ax, 1.3, y, f"shard {p} of\nthe corpus", PLAIN, width=2.0, height=0.8, size=9.5)
        box(ax, 4.2, y, f"its minibatch:\ngradient $g_{p}$", CONTEXT, width=2.3, height=0.8, size=9.5)
        box(ax, 10.6, y, "update the tables\nwith $g_0 + g_1$", CENTER, width=2.6, height=0.8, size=9.5)
        arrow(ax, (2.35, y), (3.0, y))
        arrow(ax, (5.4, y), (6.35, 1.8 + (0.35 if p == 0 else -0.35)))
        arrow(ax, (8.65, 1.8 + (0.35 if p == 0 else -0.35)), (9.25, y))
    box(ax, 7.5, 1.8, "all-reduce:\n$g_0 + g_1$ to both", NOISE, width=2.3, height=1.0, size=9.5)
    ax.text(7.5, -0.45, "every step: same sum, same update, identical tables", ha="center", fontsize=9.5,
            color="#555555")
    save(fig, "allreduce_step")


def table_strip(ax, x: float, y: float, touched: set[int], cells: int = 12, size: float = 0.32) -> None:
    """A whole table as a strip of rows: the rows a step touched in colour, the zeros in grey."""
    for k in range(cells):
        colour = CONTEXT if k in touched else PLAIN
        ax.add_patch(FancyBboxPatch((x + k * size, y), size * 0.9, size * 0.9, boxstyle="square,pad=0",
                                    facecolor=colour, edgecolor=FADED, linewidth=0.6))


def allreduce_sparse_dense() -> None:
    """Sparse all-reduce (all-gather the touched rows with their indices) beside dense (a ring over whole tables)."""
    fig, ax = canvas(11, 4.4, (-0.4, 16.4), (-1.2, 5.4))
    # Left: sparse. Each process sends only its touched rows, with their indices, to every other.
    ax.text(3.6, 5.0, "sparse: all-gather the touched rows", ha="center", fontsize=11, weight="bold", color=INK)
    for p, (y, rows) in enumerate(((3.6, "rows 3, 17, 42"), (0.9, "rows 5, 17, 90"))):
        ax.text(0.3, y + 0.65, f"process {p}", fontsize=9.5, weight="bold", color=INK)
        box(ax, 1.6, y, f"{rows}\n+ their values", CONTEXT, width=2.6, height=0.9, size=9)
        box(ax, 6.3, y, "both lists merged:\nrow 17's two parts added", CENTER, width=3.4, height=0.9, size=9)
        arrow(ax, (2.95, y), (4.55, y))
    arrow(ax, (2.95, 3.35), (4.55, 1.15), color="#888888")
    arrow(ax, (2.95, 1.15), (4.55, 3.35), color="#888888")
    ax.text(3.6, -0.5, "bytes: the touched rows, from every other process", ha="center", fontsize=9,
            color="#555555")
    # Right: dense. Whole tables, zeros included, pass around a ring of processes.
    ax.text(12.2, 5.0, "dense: a ring over the whole tables", ha="center", fontsize=11, weight="bold", color=INK)
    centre, radius = (12.2, 2.2), 1.9
    angles = [90, 0, 270, 180]
    spots = [(centre[0] + radius * np.cos(np.radians(a)), centre[1] + radius * np.sin(np.radians(a)))
             for a in angles]
    touched = [{1, 4}, {0, 3}, {2, 5}, {1, 3}]
    for p, ((x, y), rows) in enumerate(zip(spots, touched)):
        table_strip(ax, x - 1.0, y - 0.05, rows, cells=6, size=0.34)
        ax.text(x, y - 0.35, f"process {p}", ha="center", fontsize=9, weight="bold", color=INK)
    for k in range(4):
        (x0, y0), (x1, y1) = spots[k], spots[(k + 1) % 4]
        arrow(ax, (x0 + 0.3 * (x1 - x0), y0 + 0.3 * (y1 - y0) + 0.1),
              (x0 + 0.7 * (x1 - x0), y0 + 0.7 * (y1 - y0) + 0.1), curve=-0.2)
    ax.text(12.2, -0.5, "bytes: 2(N-1)/N times the whole tables, zeros included", ha="center", fontsize=9,
            color="#555555")
    save(fig, "allreduce_sparse_dense")


FIGURES = [sliding_window, cooccurrence_weighting, glove_ratio, glove_weighting, glove_factorisation, sgns_pair,
           subsampling, cbow_vs_skipgram, softmax_vs_sampling, huffman_path, char_ngram_figure, fourgram_network,
           fourgram_windows, glove_full_matrix, central_difference, analogy_offsets, cosine_vs_dot, paired_bootstrap,
           shared_noise_blocks, allreduce_step, allreduce_sparse_dense]


if __name__ == "__main__":
    for draw in FIGURES:
        draw()
        print("drew", draw.__name__)
