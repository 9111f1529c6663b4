"""Word-word co-occurrence counts, and the transforms models are trained on.

:func:`cooccurrence` makes one NumPy pass per distance ``d = 1..window_size``
(never a loop over tokens or pairs) and sums the pairs into a ``scipy.sparse``
matrix; :func:`cooccurrence_stream` does the same for a corpus on disk, chunk
by chunk under a memory limit. Its oracle, the loop of d2l's "Pretraining GloVe" chapter, is
:func:`d2lmini.seed_style.cooccurrence_reference`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from . import _checks
from ._checks import Choice, Integer, Positive, Real, rules
from .corpus import TokenFile, flatten_corpus

__all__ = ["shifted_pmi", "cooccurrence", "cooccurrence_stream", "PairCounter", "ppmi",
           "log_cooccurrence_fourgrams"]

WEIGHTINGS = ("harmonic", "uniform")


@rules(window_size=Integer(1), vocab_size=Integer(1), weighting=Choice(WEIGHTINGS))
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
        equal to the count of :func:`~d2lmini.seed_style.cooccurrence_reference`
        for center ``i`` and context ``j``.
    """
    ids, sentence = flatten_corpus(corpus, vocab_size)
    counter = PairCounter(vocab_size, window_size, weighting)
    counter.add(ids, sentence)
    return counter.matrix()


MIN_MEMORY = 64 * 2**20


@rules(window_size=Integer(1), weighting=Choice(WEIGHTINGS), memory=Integer(MIN_MEMORY))
def cooccurrence_stream(
    tokens: TokenFile,
    window_size: int,
    weighting: str = "harmonic",
    memory: int = 2**30,
    spill_folder: str | os.PathLike | None = None,
    progress: Callable[[int], None] | None = None,
) -> sp.csr_matrix:
    """:func:`cooccurrence` of a corpus on disk, counted chunk by chunk under a memory limit.

    As Stanford's ``cooccur`` does: the pairs of frequent words are summed in a
    dense table, the others are sorted and summed chunk by chunk into runs,
    and when the runs outgrow their share of ``memory`` they are spilled to
    temporary files, merged at the end. ``memory`` (bytes) sizes the chunks,
    the table and the runs from per-pair costs measured on PTB-like text; it
    is a target, not an enforced cap, and it does not cover the interpreter
    or the returned matrix, which has one entry per distinct pair (and whose
    assembly needs about four times its size). ``benchmarks/cooccurrence_stream.py``
    prints the peak memory this gives.

    Args:
        tokens: an encoded corpus on disk (:func:`~d2lmini.corpus.encode_files`).
        progress: called with the number of tokens counted after every chunk.
    """
    if not isinstance(tokens, TokenFile):
        raise TypeError(f"tokens must be a d2lmini.corpus.TokenFile (from encode_files), got {type(tokens).__name__}")
    counter = PairCounter(len(tokens.vocab), window_size, weighting, memory, spill_folder)
    try:
        for ids, sentence in tokens.chunks(counter.chunk_tokens):
            counter.add(ids, sentence)
            if progress is not None:
                progress(len(ids))
        return counter.matrix()
    finally:
        counter.close()


_DEFAULT_DENSE_BYTES = 64 * 2**20


class PairCounter:
    """Sums the weighted (left word, right word) pairs of chunks of a corpus (see :func:`cooccurrence_stream`).

    The table of frequent pairs holds, for row ``i``, the columns ``j`` with
    ``(i + 1) * (j + 1) <= P`` (ids are ranked by frequency, so these are the
    pairs of frequent words, about nine in ten of PTB's); ``P`` is the largest
    power of two whose table fits a quarter of ``memory``. Every other pair is
    coded as one int64 ``(i * n + j) * window + (d - 1)``, so that a plain sort
    (no argsort) groups a pair's occurrences together with their distances.
    """

    def __init__(self, vocab_size: int, window_size: int, weighting: str = "harmonic",
                 memory: int | None = None, spill_folder: str | os.PathLike | None = None) -> None:
        self.n, self.window = vocab_size, window_size
        self.weights = (1.0 / np.arange(1, window_size + 1) if weighting == "harmonic"
                        else np.ones(window_size))
        self.memory = memory
        dense_bytes = _DEFAULT_DENSE_BYTES if memory is None else min(_DEFAULT_DENSE_BYTES, memory // 4)
        rank = np.arange(1, vocab_size + 1, dtype=np.int64)
        product = 1
        while (product < vocab_size * vocab_size
               and np.minimum(vocab_size, 2 * product // rank).sum() * 8 <= dense_bytes):
            product *= 2
        self.limit = np.minimum(vocab_size, product // rank)  # columns of row i in the table
        self.start = np.concatenate([[0], np.cumsum(self.limit)])
        self.dense = np.zeros(int(self.start[-1]))
        # Counting a chunk holds about 160 bytes per pair at its peak (measured): a chunk gets a quarter of
        # memory. Merging runs holds about 3.5 times their size (keys, order, sorted copies): runs get an eighth.
        self.chunk_tokens = None if memory is None else max(1024, memory // 4 // (160 * window_size))
        self.run_bytes_limit = None if memory is None else memory // 8
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.spilled: list[Path] = []
        self._spill_folder = spill_folder
        self._tmp: tempfile.TemporaryDirectory | None = None

    def add(self, ids: np.ndarray, sentence: np.ndarray) -> None:
        """Count the pairs of one chunk of whole sentences (``ids`` and their sentence numbers)."""
        ids = np.asarray(ids, dtype=np.int64)
        in_table, codes, table_weights = [], [], []
        for d in range(1, min(self.window, len(ids) - 1) + 1):
            same = sentence[d:] == sentence[:-d]  # pairs d apart inside one sentence
            left, right = ids[:-d][same], ids[d:][same]
            frequent = right < self.limit[left]
            in_table.append(self.start[left[frequent]] + right[frequent])
            table_weights.append(np.full(len(in_table[-1]), self.weights[d - 1]))
            rare = ~frequent
            codes.append((left[rare] * self.n + right[rare]) * self.window + (d - 1))
        if not codes:  # a single token: no pairs
            return
        index = np.concatenate(in_table)
        if len(index):
            self.dense += np.bincount(index, weights=np.concatenate(table_weights), minlength=len(self.dense))
        code = np.sort(np.concatenate(codes))
        if len(code):
            keys, first = _unique_sorted(code // self.window)
            self.runs.append((keys, np.add.reduceat(self.weights[code % self.window], first)))
            self._bound_runs()

    def _bound_runs(self) -> None:
        if self.run_bytes_limit is None or sum(k.nbytes + v.nbytes for k, v in self.runs) <= self.run_bytes_limit:
            return
        keys, values = _merge_runs(self.runs)
        self.runs = []
        if keys.nbytes + values.nbytes <= self.run_bytes_limit // 2:
            self.runs = [(keys, values)]
            return
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="d2lmini-cooccur-", dir=self._spill_folder)
        path = Path(self._tmp.name) / f"run{len(self.spilled)}"
        path.mkdir()
        np.save(path / "keys.npy", keys)
        np.save(path / "values.npy", values)
        self.spilled.append(path)

    def _tail(self) -> tuple[np.ndarray, np.ndarray]:
        """All runs, in memory and spilled, merged into one sorted run of distinct keys."""
        if not self.spilled:
            return _merge_runs(self.runs)
        runs = self.runs + [(np.load(p / "keys.npy", mmap_mode="r"), np.load(p / "values.npy", mmap_mode="r"))
                            for p in self.spilled]
        # Merge key range by key range, each holding about a run-limit's worth of entries.
        total = sum(len(k) for k, _ in runs)
        parts = max(1, -(-total * 16 // max(1, self.run_bytes_limit)))
        sample = np.sort(np.concatenate([np.asarray(k[::max(1, len(k) // 1000)]) for k, _ in runs]))
        cuts = np.unique(np.concatenate([[0], sample[(np.arange(1, parts) * len(sample)) // parts],
                                         [self.n * self.n]]))
        keys, values = [], []
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            pieces = []
            for k, v in runs:
                a, b = np.searchsorted(k, [lo, hi])
                pieces.append((np.asarray(k[a:b]), np.asarray(v[a:b])))
            part_keys, part_values = _merge_runs(pieces)
            keys.append(part_keys)
            values.append(part_values)
        return np.concatenate(keys), np.concatenate(values)

    def matrix(self) -> sp.csr_matrix:
        """The symmetric ``(n, n)`` float64 CSR matrix of everything added so far."""
        n = self.n
        at = np.flatnonzero(self.dense)
        rows = np.searchsorted(self.start, at, side="right") - 1
        table_keys, table_values = rows * n + (at - self.start[rows]), self.dense[at]
        del at, rows
        tail_keys, tail_values = self._tail()
        # Both key lists are sorted and disjoint: merge them in place of a sort.
        where = np.searchsorted(tail_keys, table_keys) + np.arange(len(table_keys))
        keys = np.empty(len(table_keys) + len(tail_keys), dtype=np.int64)
        values = np.empty(len(keys))
        from_tail = np.ones(len(keys), dtype=bool)
        from_tail[where] = False
        keys[where], values[where] = table_keys, table_values
        keys[from_tail], values[from_tail] = tail_keys, tail_values
        del table_keys, table_values, tail_keys, tail_values, where, from_tail
        indptr = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) * n)
        index_type = np.int32 if n < 2**31 else np.int64
        forward = sp.csr_matrix((values, (keys % n).astype(index_type), indptr), shape=(n, n))
        del keys, values
        # Each pair (left word, right word) was counted once; the reference also
        # counts it from the right word's point of view: X = F + F^T.
        matrix = (forward + forward.T.tocsr()).tocsr()
        matrix.sort_indices()
        return matrix

    def close(self) -> None:
        """Remove the spilled runs."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _unique_sorted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array, and where each first occurs."""
    first = np.concatenate([[0], np.flatnonzero(keys[1:] != keys[:-1]) + 1])
    return keys[first], first


def _merge_runs(runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge sorted runs of (distinct key, value) into one, summing the values of equal keys."""
    runs = [(k, v) for k, v in runs if len(k)]
    if not runs:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if len(runs) == 1:
        return np.asarray(runs[0][0]), np.asarray(runs[0][1])
    keys = np.concatenate([k for k, _ in runs])
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    unique, first = _unique_sorted(keys)
    return unique, np.add.reduceat(np.concatenate([v for _, v in runs])[order], first)


@rules(alpha=Real(0.0, 1.0, low_open=True))
def ppmi(counts: sp.spmatrix | np.ndarray, alpha: float = 1.0) -> sp.csr_matrix:
    """Positive pointwise mutual information of a co-occurrence matrix.

    ``PPMI_ij = max(0, log(X_ij * N / (X_i. * X_.j)))`` with ``N`` the total
    count. ``alpha < 1`` smooths the context distribution (``X_.j ** alpha``,
    Levy et al. 2015 use 0.75), which lowers the PMI of rare contexts.
    Zero counts stay zero (sparse).
    """
    X = sp.csr_matrix(counts, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != X.shape[1]:
        raise ValueError(f"counts must be a square (vocab x vocab) matrix, got shape {X.shape}")
    if X.nnz and not (np.isfinite(X.data).all() and X.data.min() >= 0):
        raise ValueError("counts must be finite and non-negative")
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


@rules(k=Integer(1))
def shifted_pmi(pair_counts: sp.spmatrix | np.ndarray, noise: np.ndarray, k: int) -> sp.csr_matrix:
    """The dot products that minimise SGNS's expected loss: ``log(X_wc / (k * X_w * P_n(c)))``.

    ``pair_counts[w, c]`` counts the (center, context) pairs that training
    sees, ``X_w`` is a center's row sum, ``P_n`` the noise distribution and
    ``k`` the noise words per pair. For each pair, SGNS's expected loss
    ``X_wc * -log s(x) + k * X_w * P_n(c) * -log s(-x)`` is smallest at this
    ``x`` (Levy and Goldberg, 2014): the PMI of ``w`` and ``c``, measured
    against the smoothed noise distribution, shifted by ``-log k``. Entries
    exist where ``X_wc > 0`` (elsewhere the optimum is minus infinity).
    """
    X = sp.csr_matrix(pair_counts, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != X.shape[1]:
        raise ValueError(f"pair_counts must be a square (vocab x vocab) matrix, got shape {X.shape}")
    if X.nnz and not (np.isfinite(X.data).all() and X.data.min() >= 0):
        raise ValueError("pair_counts must be finite and non-negative")
    X.eliminate_zeros()
    noise = np.asarray(noise, dtype=np.float64)
    if noise.shape != (X.shape[0],) or not np.isfinite(noise).all() or (noise < 0).any():
        raise ValueError(f"noise must hold one probability per word ({X.shape[0]}), got shape {noise.shape}")
    if X.nnz and (noise[X.indices] == 0).any():
        raise ValueError("noise gives probability 0 to a context that occurs in pair_counts: the optimum is infinite")
    centers = np.asarray(X.sum(axis=1)).ravel()
    row_of_entry = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    values = np.log(X.data) - np.log(k * centers[row_of_entry] * noise[X.indices])
    return sp.csr_matrix((values, X.indices.copy(), X.indptr.copy()), shape=X.shape)


@rules(vocab_size=Integer(1), smoothing=Positive())
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
    inputs = _checks.id_array("inputs", inputs, vocab_size).astype(np.int64, copy=False)
    if inputs.ndim != 2 or inputs.shape[1] != 3 or len(inputs) == 0:
        raise ValueError(f"inputs must be a non-empty (N, 3) array of ids, got shape {inputs.shape}")
    first = np.concatenate([inputs[:, 0], inputs[:, 1]])
    second = np.concatenate([inputs[:, 1], inputs[:, 2]])
    if symmetric:
        first, second = np.concatenate([first, second]), np.concatenate([second, first])
    counts = np.bincount(first * vocab_size + second, minlength=vocab_size * vocab_size)
    return np.log(counts.reshape(vocab_size, vocab_size) + smoothing)
