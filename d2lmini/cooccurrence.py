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
from .corpus import TokenFile, flatten_corpus

__all__ = ["shifted_pmi", "cooccurrence", "cooccurrence_stream", "PairCounter", "ppmi",
           "log_cooccurrence_fourgrams"]

WEIGHTINGS = ("harmonic", "uniform")


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
    window_size = _checks.integer("window_size", window_size, 1)
    vocab_size = _checks.integer("vocab_size", vocab_size, 1)
    _checks.choice("weighting", weighting, WEIGHTINGS)
    ids, sentence = flatten_corpus(corpus, vocab_size)
    counter = PairCounter(vocab_size, window_size, weighting)
    counter.add(ids, sentence)
    return counter.matrix()


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
    window_size = _checks.integer("window_size", window_size, 1)
    _checks.choice("weighting", weighting, WEIGHTINGS)
    memory = _checks.integer("memory", memory, MIN_MEMORY)
    counter = PairCounter(len(tokens.vocab), window_size, weighting, memory, spill_folder)
    try:
        for ids, sentence in tokens.chunks(counter.chunk_tokens):
            counter.add(ids, sentence)
            if progress is not None:
                progress(len(ids))
        return counter.matrix()
    finally:
        counter.close()


MIN_MEMORY = 64 * 2**20
_DEFAULT_DENSE_BYTES = 64 * 2**20
_SLICE = 1 << 20  # entries converted at once when the matrix is assembled


class PairCounter:
    """Sums the weighted pairs of words of chunks of a corpus (see :func:`cooccurrence_stream`).

    The counts are symmetric, so a pair is counted once, as ``(i, j)`` with
    ``i <= j``: the upper triangle ``U`` of the result, which is ``U + U^T``
    with the diagonal doubled (a pair of equal words, counted from each side).
    The table of frequent pairs holds, for row ``i``, the columns ``i <= j``
    with ``(i + 1) * (j + 1) <= P`` (ids are ranked by frequency, so these
    are the pairs of frequent words, about nine in ten of PTB's); ``P`` is the
    largest power of two whose table fits a quarter of ``memory``. Every
    other pair is coded as one int64 ``(i * n + j) * window + (d - 1)``, so
    that a plain sort (no argsort) groups a pair's occurrences together with
    their distances.
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
               and np.maximum(0, np.minimum(vocab_size, 2 * product // rank) - rank + 1).sum() * 8 <= dense_bytes):
            product *= 2
        self.set_table(np.minimum(vocab_size, product // rank))
        # Counting a chunk holds about 160 bytes per pair at its peak (measured): a chunk gets a quarter of
        # memory. Merging runs holds about 3.5 times their size (keys, order, sorted copies): runs get an eighth.
        self.chunk_tokens = None if memory is None else max(1024, memory // 4 // (160 * window_size))
        self.run_bytes_limit = None if memory is None else memory // 8
        self.runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.spilled: list[Path] = []
        self._spill_folder = spill_folder
        self._tmp: tempfile.TemporaryDirectory | None = None

    def set_table(self, limit: np.ndarray) -> None:
        """Give row ``i`` of the table the columns ``i <= j < limit[i]`` (empty where ``limit[i] <= i``)."""
        self.limit = np.asarray(limit, dtype=np.int64)
        self.start = np.concatenate([[0], np.cumsum(np.maximum(0, self.limit - np.arange(self.n)))])
        self.dense = np.zeros(int(self.start[-1]))

    def add(self, ids: np.ndarray, sentence: np.ndarray) -> None:
        """Count the pairs of one chunk of whole sentences (``ids`` and their sentence numbers)."""
        ids = np.asarray(ids, dtype=np.int64)
        in_table, codes, table_weights = [], [], []
        for d in range(1, min(self.window, len(ids) - 1) + 1):
            same = sentence[d:] == sentence[:-d]  # pairs d apart inside one sentence
            left, right = ids[:-d][same], ids[d:][same]
            low, high = np.minimum(left, right), np.maximum(left, right)
            del left, right
            frequent = high < self.limit[low]
            in_table.append(self.start[low[frequent]] + (high[frequent] - low[frequent]))
            table_weights.append(np.full(len(in_table[-1]), self.weights[d - 1]))
            rare = ~frequent
            codes.append((low[rare] * self.n + high[rare]) * self.window + (d - 1))
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

    def _merged(self, runs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Sorted runs, in memory and spilled, merged into one sorted run of distinct keys.

        The runs are merged key range by key range, each holding about a
        sixteenth of ``memory`` (a merge holds about 3.5 times its input), into
        arrays sized for every entry of every run: the pages past the distinct
        keys are never touched, so they take no memory. Spilled runs are mapped
        again for each range, so that their pages leave memory between ranges.
        """
        def spilled(path: Path) -> tuple[np.ndarray, np.ndarray]:
            return np.load(path / "keys.npy", mmap_mode="r"), np.load(path / "values.npy", mmap_mode="r")

        runs = [run for run in [*runs, *self.spilled] if len(run[0] if isinstance(run, tuple) else spilled(run)[0])]
        total = sum(len(run[0] if isinstance(run, tuple) else spilled(run)[0]) for run in runs)
        keys, values = np.empty(total, dtype=np.int64), np.empty(total)
        parts = 1 if self.run_bytes_limit is None else max(1, -(-total * 16 // max(1, self.run_bytes_limit // 2)))
        cuts = [0, self.n * self.n]
        if parts > 1:
            sample = np.sort(np.concatenate([
                np.asarray((run if isinstance(run, tuple) else spilled(run))[0][::1000]) for run in runs]))
            cuts = np.unique(np.concatenate([cuts, sample[(np.arange(1, parts) * len(sample)) // parts]]))
        filled = 0
        for lo, hi in zip(cuts[:-1], cuts[1:]):
            pieces = []
            for run in runs:
                k, v = run if isinstance(run, tuple) else spilled(run)
                a, b = np.searchsorted(k, [lo, hi])
                pieces.append((np.array(k[a:b]), np.array(v[a:b])))
                del k, v
            part_keys, part_values = _merge_runs(pieces)
            keys[filled:filled + len(part_keys)], values[filled:filled + len(part_keys)] = part_keys, part_values
            filled += len(part_keys)
        return keys[:filled], values[:filled]

    def matrix(self) -> sp.csr_matrix:
        """The symmetric ``(n, n)`` float64 CSR matrix of everything added so far (sorted indices)."""
        n = self.n
        at = np.flatnonzero(self.dense)
        rows = np.searchsorted(self.start, at, side="right") - 1
        table = (rows * n + rows + (at - self.start[rows]), self.dense[at])  # sorted keys, as a run
        del at, rows
        keys, values = self._merged([table, *self.runs])
        del table
        upper_ptr = np.searchsorted(keys, np.arange(n + 1, dtype=np.int64) * n)
        columns = np.empty(len(keys), dtype=np.int32 if 2 * len(keys) < 2**31 else np.int64)
        for a in range(0, len(keys), _SLICE):
            columns[a:a + _SLICE] = keys[a:a + _SLICE] % n
        del keys
        return _symmetric(upper_ptr, columns, values, n)

    def close(self) -> None:
        """Remove the spilled runs."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


def _symmetric(upper_ptr: np.ndarray, columns: np.ndarray, values: np.ndarray, n: int,
               slice_size: int = _SLICE) -> sp.csr_matrix:
    """``U + U^T`` (diagonal doubled) as CSR, from the upper triangle ``U`` in CSR (``i <= j``, sorted rows).

    Row ``r`` of the result is the column ``r`` of ``U`` above the diagonal
    (entries ``(i, r)``, ``i < r``, in the order of ``i``) followed by row ``r``
    of ``U`` (columns ``j >= r``), so it comes out sorted. Both parts are written
    straight into the result's arrays, a slice of ``U`` at a time: no copy of
    ``U``'s transpose and no sum of two matrices is ever held.
    """
    index_type = columns.dtype
    own = np.diff(upper_ptr)
    has_diagonal = np.zeros(n, dtype=bool)
    nonempty = np.flatnonzero(own)
    has_diagonal[nonempty] = columns[upper_ptr[nonempty]] == nonempty  # a row's first column, if on the diagonal
    above = np.bincount(columns, minlength=n) - has_diagonal  # entries (i, r), i < r, of each column r
    indptr = np.zeros(n + 1, dtype=index_type)
    np.cumsum(own + above, out=indptr[1:])
    indices = np.empty(int(indptr[-1]), dtype=index_type)
    data = np.empty(int(indptr[-1]))
    filled = np.zeros(n, dtype=np.int64)  # entries already written into the first part of each row
    for a in range(0, len(columns), slice_size):
        b = min(a + slice_size, len(columns))
        k = np.arange(a, b)
        row = np.searchsorted(upper_ptr, k, side="right") - 1
        col, value = columns[a:b], values[a:b]
        at = indptr[row] + above[row] + (k - upper_ptr[row])  # the row's own part
        indices[at], data[at] = col, np.where(col == row, 2 * value, value)
        off = col != row
        row, col, value = row[off], col[off].astype(np.int64), value[off]
        order = np.argsort(col, kind="stable")  # by target row, source rows ascending
        col_sorted = col[order]
        first = np.searchsorted(col_sorted, col_sorted)  # where each target row's group begins
        rank = np.empty(len(col), dtype=np.int64)
        rank[order] = np.arange(len(col)) - first
        at = indptr[col] + filled[col] + rank
        indices[at], data[at] = row, value
        filled += np.bincount(col, minlength=n)
    matrix = sp.csr_matrix((data, indices, indptr), shape=(n, n))
    matrix.has_sorted_indices = True
    return matrix


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


def ppmi(counts: sp.spmatrix | np.ndarray, alpha: float = 1.0) -> sp.csr_matrix:
    """Positive pointwise mutual information of a co-occurrence matrix.

    ``PPMI_ij = max(0, log(X_ij * N / (X_i. * X_.j)))`` with ``N`` the total
    count. ``alpha < 1`` smooths the context distribution (``X_.j ** alpha``,
    Levy et al. 2015 use 0.75), which lowers the PMI of rare contexts.
    Zero counts stay zero (sparse).
    """
    alpha = _checks.real("alpha", alpha, 0.0, 1.0, low_open=True)
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
    k = _checks.integer("k", k, 1)
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
    vocab_size = _checks.integer("vocab_size", vocab_size, 1)
    smoothing = _checks.positive("smoothing", smoothing)
    inputs = _checks.id_array("inputs", inputs, vocab_size).astype(np.int64, copy=False)
    if inputs.ndim != 2 or inputs.shape[1] != 3 or len(inputs) == 0:
        raise ValueError(f"inputs must be a non-empty (N, 3) array of ids, got shape {inputs.shape}")
    first = np.concatenate([inputs[:, 0], inputs[:, 1]])
    second = np.concatenate([inputs[:, 1], inputs[:, 2]])
    if symmetric:
        first, second = np.concatenate([first, second]), np.concatenate([second, first])
    counts = np.bincount(first * vocab_size + second, minlength=vocab_size * vocab_size)
    return np.log(counts.reshape(vocab_size, vocab_size) + smoothing)
