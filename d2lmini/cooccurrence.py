"""Word-word co-occurrence counts, and the transforms models are trained on.

Two counters with the same values:

* :func:`cooccurrence_reference`: the loop of d2l's "Pretraining GloVe"
  chapter, kept as written for teaching and as the test oracle;
* :func:`cooccurrence`: one NumPy pass per distance ``d = 1..window_size``
  (never a loop over tokens or pairs), summed into a ``scipy.sparse`` matrix.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import chain

import numpy as np
import scipy.sparse as sp

__all__ = [
    "flatten_corpus",
    "cooccurrence_reference",
    "cooccurrence",
    "ppmi",
    "log_cooccurrence_fourgrams",
]

WEIGHTINGS = ("harmonic", "uniform")


def _check_window(window_size: int) -> None:
    if isinstance(window_size, bool) or not isinstance(window_size, (int, np.integer)) or window_size < 1:
        raise ValueError(f"window_size must be an integer >= 1, got {window_size!r}")


def cooccurrence_reference(corpus: Sequence[Sequence[int]], window_size: int) -> list[tuple[int, int, float]]:
    """Co-occurrence counts by a plain Python loop (the seed chapter's semantics).

    For each center word, the ``window_size`` words to its left and to its
    right within the same sentence are its context; a context word ``d``
    positions away adds ``1/d``.

    Returns:
        ``(center, context, count)`` triples in order of first occurrence.
    """
    _check_window(window_size)
    counts: defaultdict[tuple[int, int], float] = defaultdict(float)
    for line in corpus:
        if len(line) < 2:  # a pair needs two words
            continue
        for i in range(len(line)):
            left = line[max(0, i - window_size):i]
            right = line[i + 1:min(len(line), i + 1 + window_size)]
            for distance, word in enumerate(left[::-1]):
                counts[line[i], word] += 1 / (distance + 1)
            for distance, word in enumerate(right):
                counts[line[i], word] += 1 / (distance + 1)
    return [(center, context, count) for (center, context), count in counts.items()]


def flatten_corpus(corpus: Sequence[Sequence[int]], vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """All ids of an encoded corpus in one int64 array, and the sentence each id belongs to.

    Raises ``ValueError`` for an empty corpus or an id outside ``[0, vocab_size)``.
    """
    lengths = np.fromiter(map(len, corpus), dtype=np.int64, count=len(corpus))
    if lengths.sum() == 0:
        raise ValueError("corpus is empty: it must hold at least one sentence with one token")
    try:
        ids = np.fromiter(chain.from_iterable(corpus), dtype=np.int64, count=int(lengths.sum()))
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"corpus must hold integer ids ({err}); encode the sentences first, e.g. vocab.encode(sentences)"
        ) from None
    low, high = ids.min(), ids.max()
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ValueError(
            f"corpus holds id {bad}, outside the vocabulary range [0, {vocab_size}); "
            "encode the corpus with the same vocabulary whose size you pass as vocab_size"
        )
    sentence = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    return ids, sentence


def cooccurrence(
    corpus: Sequence[Sequence[int]],
    window_size: int,
    vocab_size: int,
    weighting: str = "harmonic",
) -> sp.csr_matrix:
    """Symmetric co-occurrence matrix of an encoded corpus, without Python loops over tokens.

    Args:
        corpus: sentences as sequences of ids in ``[0, vocab_size)``.
        window_size: how many words on each side count as context.
        vocab_size: number of rows and columns.
        weighting: ``"harmonic"`` (a pair ``d`` apart adds ``1/d``, as in
            GloVe) or ``"uniform"`` (every pair adds 1).

    Returns:
        ``(vocab_size, vocab_size)`` float64 CSR matrix ``X`` with ``X[i, j]``
        equal to the count of :func:`cooccurrence_reference` for center ``i``
        and context ``j``.
    """
    _check_window(window_size)
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be an integer >= 1, got {vocab_size!r}")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    ids, sentence = flatten_corpus(corpus, vocab_size)
    ids = ids.astype(np.int32 if vocab_size < 2**31 else np.int64)  # less memory to touch
    rows, cols, vals = [], [], []
    for d in range(1, min(window_size, len(ids) - 1) + 1):
        same = sentence[d:] == sentence[:-d]  # pairs d apart inside one sentence
        rows.append(ids[:-d][same])
        cols.append(ids[d:][same])
        vals.append(np.full(rows[-1].shape, 1.0 / d if weighting == "harmonic" else 1.0))
    if not rows:  # a single token: no pairs at all
        return sp.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    # Each pair (left word, right word) is counted once in `forward`; the
    # reference also counts it from the right word's point of view: X = F + F^T.
    forward = _sum_pairs(np.concatenate(rows), np.concatenate(cols), np.concatenate(vals), vocab_size)
    matrix = (forward + forward.T).tocsr()
    matrix.sort_indices()
    return matrix


_DENSE_BLOCK_BYTES = 64 * 2**20


def _sum_pairs(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n: int) -> sp.csr_matrix:
    """Sum duplicate (row, col) entries into an ``(n, n)`` CSR matrix.

    Ids are ranked by frequency, so most pairs start at one of the first few
    hundred ids. Those rows are summed by ``np.bincount`` into a dense block
    (at most 64 MiB); only the rest go through the slower sparse path, whose
    cost is a sort of the duplicates within each row.
    """
    head = max(1, min(n, _DENSE_BLOCK_BYTES // (8 * n)))
    in_head = rows < head
    dense = np.bincount(
        rows[in_head].astype(np.int64) * n + cols[in_head], weights=vals[in_head], minlength=head * n
    ).reshape(head, n)
    in_tail = ~in_head
    tail = sp.csr_matrix((vals[in_tail], (rows[in_tail], cols[in_tail])), shape=(n, n))
    top = sp.csr_matrix(dense)
    top.resize((n, n))
    return (top + tail).tocsr()


def ppmi(counts: sp.spmatrix | np.ndarray, alpha: float = 1.0) -> sp.csr_matrix:
    """Positive pointwise mutual information of a co-occurrence matrix.

    ``PPMI_ij = max(0, log(X_ij * N / (X_i. * X_.j)))`` with ``N`` the total
    count. ``alpha < 1`` smooths the context distribution (``X_.j ** alpha``,
    Levy et al. 2015 use 0.75), which lowers the PMI of rare contexts.
    Zero counts stay zero (sparse).
    """
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    X = sp.csr_matrix(counts, dtype=np.float64)
    if X.nnz and X.data.min() < 0:
        raise ValueError("counts must be non-negative")
    total = X.sum()
    if total == 0:
        raise ValueError("counts are all zero: PPMI is undefined")
    row_p = np.asarray(X.sum(axis=1)).ravel() / total
    col = np.asarray(X.sum(axis=0)).ravel() ** alpha
    col_p = col / col.sum()
    row_of_entry = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    pmi = np.log(X.data / total) - np.log(row_p[row_of_entry]) - np.log(col_p[X.indices])
    out = sp.csr_matrix((np.maximum(pmi, 0.0), X.indices.copy(), X.indptr.copy()), shape=X.shape)
    out.eliminate_zeros()
    return out


def log_cooccurrence_fourgrams(
    inputs: np.ndarray, vocab_size: int, smoothing: float = 0.5, symmetric: bool = True
) -> np.ndarray:
    """The log co-occurrence matrix of the CSC321 GloVe exercise.

    Counts the adjacent pairs (w1, w2) and (w2, w3) among the three input words
    of each 4-gram (and their mirror images when ``symmetric``), adds
    ``smoothing`` to every cell so that the log is finite, and takes the log.

    Args:
        inputs: ``(N, 3)`` integer array of context-word ids.
    Returns:
        dense ``(vocab_size, vocab_size)`` float64 array.
    """
    inputs = np.asarray(inputs)
    if inputs.ndim != 2 or inputs.shape[1] != 3 or len(inputs) == 0:
        raise ValueError(f"inputs must be a non-empty (N, 3) array of ids, got shape {inputs.shape}")
    if inputs.min() < 0 or inputs.max() >= vocab_size:
        raise ValueError(f"inputs hold ids outside the vocabulary range [0, {vocab_size})")
    if smoothing <= 0:
        raise ValueError(f"smoothing must be > 0 so that log is finite, got {smoothing!r}")
    first = np.concatenate([inputs[:, 0], inputs[:, 1]])
    second = np.concatenate([inputs[:, 1], inputs[:, 2]])
    if symmetric:
        first, second = np.concatenate([first, second]), np.concatenate([second, first])
    counts = np.bincount(first * vocab_size + second, minlength=vocab_size * vocab_size)
    return np.log(counts.reshape(vocab_size, vocab_size) + smoothing)
