"""Skip-gram training data: subsampling, windows, noise words, padding-free batches.

Every step is an array operation over the whole encoded corpus
(:func:`d2lmini.corpus.flatten_corpus`); the only Python loops run over the
``2 * max_window_size`` window offsets and over a bounded number of rounds of
redrawing the few noise words that hit a context word of their center. d2l's
loops, kept as oracles, are in :mod:`d2lmini.seed_style`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset

from . import _checks
from ._checks import Boolean, Choice, Instance, Integer, Positive, Real, Seed, rules
from .corpus import flatten_corpus
from .datasets import read_ptb
from .vocab import Vocab

__all__ = [
    "keep_probabilities",
    "noise_distribution",
    "AliasSampler",
    "SkipGramSample",
    "draw_windows",
    "draw_skipgram_sample",
    "SkipGramBatch",
    "SkipGramData",
    "load_data_ptb",
]

MAX_REDRAW_ROUNDS = 20  # after these, the last hits are drawn exactly from the restricted distribution


def _counts(counts) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or len(counts) == 0 or not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("counts must be a non-empty 1-D array of finite, non-negative word counts")
    return counts.copy()


SUBSAMPLING_FORMULAS = ("d2l", "word2vec")


@rules(t=Positive(), formula=Choice(SUBSAMPLING_FORMULAS))
def keep_probabilities(counts: np.ndarray, t: float = 1e-4, unk: int | None = 0, formula: str = "d2l") -> np.ndarray:
    """Probability of keeping each token id when subsampling frequent words.

    With ``f(w)`` the word's share of all tokens (``<unk>`` excluded from the
    total; ``<unk>`` itself is always dropped):

    * ``formula="d2l"`` (and the word2vec paper): ``P(keep w) = min(1, sqrt(t / f(w)))``;
    * ``formula="word2vec"`` (word2vec's C code and gensim):
      ``P(keep w) = min(1, sqrt(t / f(w)) + t / f(w))``, which keeps more of
      the frequent words.

    Pass ``unk=None`` for a closed vocabulary (no unknown token: every id is a word).
    """
    counts = _counts(counts)
    if unk is not None:
        counts[_checks.integer("unk", unk, 0, len(counts) - 1)] = 0.0
    if counts.sum() == 0:
        raise ValueError("counts are all zero (apart from <unk>): the corpus has no word to keep")
    freq = counts / counts.sum()
    with np.errstate(divide="ignore"):
        ratio = t / freq
        keep = np.minimum(1.0, np.sqrt(ratio) + (ratio if formula == "word2vec" else 0.0))
    keep[counts == 0] = 0.0
    return keep


@rules(power=Real(0.0))
def noise_distribution(counts: np.ndarray, power: float = 0.75, unk: int | None = 0) -> np.ndarray:
    """Negative-sampling probabilities ``count ** power`` (normalised), zero for ``<unk>``
    (``unk=None``: a closed vocabulary, every id may be drawn)."""
    counts = _counts(counts)
    weights = np.where(counts > 0, counts**power, 0.0)
    if unk is not None:
        weights[_checks.integer("unk", unk, 0, len(counts) - 1)] = 0.0
    if weights.sum() == 0:
        raise ValueError("counts are all zero (apart from <unk>): no word can be drawn as noise")
    return weights / weights.sum()


class AliasSampler:
    """Draw ids from a fixed discrete distribution in O(1) per draw (Walker's alias method).

    The table is built once (a loop over the vocabulary); each draw then costs
    one uniform integer, one uniform float and two look-ups, all vectorised:
    with numpy (:meth:`sample`) or with PyTorch on any device (:meth:`sample_torch`).
    """

    def __init__(self, probabilities: np.ndarray) -> None:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 1 or len(p) == 0 or not np.isfinite(p).all() or (p < 0).any() or not p.sum() > 0:
            raise ValueError("probabilities must be a non-empty 1-D array of finite, non-negative numbers, "
                             "not all zero")
        n = len(p)
        scaled = p / p.sum() * n
        self.accept = np.ones(n)
        self.alias = np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            self.accept[s], self.alias[s] = scaled[s], g
            scaled[g] -= 1.0 - scaled[s]
            (small if scaled[g] < 1.0 else large).append(g)
        self.probabilities = p / p.sum()
        # 32-bit copies for drawing: half the memory traffic of numpy's defaults, and faster draws
        self.accept32, self.alias32 = self.accept.astype(np.float32), self.alias.astype(np.int32)
        self._on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = {}

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` int32 draws with numpy's ``rng``."""
        k = rng.integers(0, len(self.accept), size=size, dtype=np.int32)
        return np.where(rng.random(size, dtype=np.float32) < self.accept32[k], k, self.alias32[k])

    def sample_torch(self, size: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        """``size`` int64 draws on the device of ``generator`` (the tables are copied there once)."""
        device = generator.device
        if device not in self._on_device:
            self._on_device[device] = (torch.as_tensor(self.accept, dtype=torch.float32, device=device),
                                       torch.as_tensor(self.alias, dtype=torch.long, device=device))
        accept, alias = self._on_device[device]
        k = torch.randint(len(accept), size, generator=generator, device=device)
        keep = torch.rand(size, generator=generator, device=device) < accept[k]
        return torch.where(keep, k, alias[k])


class SkipGramSample(NamedTuple):
    """One draw of training examples for an epoch, padding-free.

    Each row is one (center, context) pair with its ``K`` noise words; the rows
    of one center are contiguous, in the order of ``center_of_row``.
    """

    centers: np.ndarray  # (P,) id of the center word of each pair
    contexts_negatives: np.ndarray  # (P, 1 + K): the context word, then K noise words
    weights: np.ndarray  # (P,) 1 / (number of contexts of the row's center)
    center_of_row: np.ndarray  # (P,) which center (0..C-1) the row belongs to
    num_centers: int


def _draw_excluding(p: np.ndarray, excluded: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """``size`` draws per row from ``p`` with each row's ``excluded`` ids (``-1``: none) removed.

    Exact inverse-CDF sampling, used for the rare rows that rejection did not
    finish; rows are handled in chunks so that memory stays small.
    """
    out = np.empty((len(excluded), size), dtype=np.int32)
    chunk = max(1, 2**22 // len(p))
    for start in range(0, len(excluded), chunk):
        rows = excluded[start:start + chunk]
        probs = np.broadcast_to(p, (len(rows), len(p))).copy()
        r, c = np.nonzero(rows >= 0)
        probs[r, rows[r, c]] = 0.0
        mass = probs.sum(axis=1)
        if not (mass > 0).all():
            raise ValueError("a center's context words cover every word that can be drawn as noise; "
                             "use a larger corpus or a smaller max_window_size")
        cdf = np.cumsum(probs, axis=1) / mass[:, None]
        offset = 2.0 * np.arange(len(rows))[:, None]  # keeps each row's CDF in its own interval
        flat = (cdf + offset).ravel()
        u = rng.random((len(rows), size)) + offset
        picks = np.searchsorted(flat, u, side="right") - np.arange(len(rows))[:, None] * len(p)
        out[start:start + chunk] = np.minimum(picks, len(p) - 1)
    return out


def draw_windows(
    ids: np.ndarray, sentence: np.ndarray, keep: np.ndarray, max_window_size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Subsample, draw a window size per center, and find each center's contexts.

    Returns ``(center_ids, context_ids)``: the ids of the centers that have at
    least one context, shape ``(C,)``, and their context ids, shape
    ``(C, 2 * max_window_size)`` with ``-1`` where there is none. Reading the
    entries other than ``-1`` row by row lists each center's contexts from left to
    right, in the order of d2l's loop.

    Raises:
        ValueError: no two kept tokens share a sentence (no pair at all).
    """
    kept = rng.random(len(ids)) < keep[ids]
    ids, sentence = ids[kept].astype(np.int32), sentence[kept]
    n = len(ids)
    window = rng.integers(1, max_window_size + 1, size=n)
    offsets = np.concatenate([np.arange(-max_window_size, 0), np.arange(1, max_window_size + 1)])
    position = np.arange(n)[:, None] + offsets  # (n, 2w): candidate context positions
    inside = (position >= 0) & (position < n)
    position = np.where(inside, position, 0)
    valid = inside & (sentence[position] == sentence[:, None]) & (np.abs(offsets) <= window[:, None])
    has_context = valid.any(axis=1)  # one-word sentences give no pairs
    if not has_context.any():
        raise ValueError(f"the draw holds no (center, context) pair: after subsampling, {n} tokens are left "
                         "and no two of them share a sentence; use a larger corpus or a larger t")
    context_ids = np.where(valid, ids[position], -1)[has_context]
    return ids[has_context], context_ids


@rules(max_window_size=Integer(1), num_noise_words=Integer(1))
def draw_skipgram_sample(
    ids: np.ndarray,
    sentence: np.ndarray,
    keep: np.ndarray,
    noise: AliasSampler,
    max_window_size: int,
    num_noise_words: int,
    rng: np.random.Generator,
) -> SkipGramSample:
    """Subsample, draw a window size per center, pair centers with contexts, draw negatives.

    Every step is an array operation over all tokens at once; the only Python
    loops are over the ``2 * max_window_size`` window offsets and over at most
    :data:`MAX_REDRAW_ROUNDS` rounds of redrawing the noise words that hit one
    of their center's context words (the last few are then drawn exactly from
    the noise distribution without those words).

    Raises:
        ValueError: the draw holds no (center, context) pair, or a center's
            contexts cover every word that can be drawn as noise.
    """
    center_ids, context_ids = draw_windows(ids, sentence, keep, max_window_size, rng)  # (C,), (C, 2w)
    contexts_per_center = (context_ids >= 0).sum(axis=1)
    rows, cols = np.nonzero(context_ids >= 0)  # row-major: grouped by center, d2l's order
    negatives = noise.sample(rng, (len(rows), num_noise_words))
    check = np.arange(len(rows))
    for _ in range(MAX_REDRAW_ROUNDS):  # d2l never uses a context word of the same center as noise
        hit = np.zeros((len(check), num_noise_words), dtype=bool)
        for column in context_ids.T:  # 2w columns, each compared with every row at once
            hit |= negatives[check] == column[rows[check], None]
        redraw = hit.any(axis=1)
        check, hit = check[redraw], hit[redraw]
        if not len(check):
            break
        fresh = negatives[check]
        fresh[hit] = noise.sample(rng, int(hit.sum()))
        negatives[check] = fresh
    else:  # rows whose contexts hold most of the noise mass: finish them exactly
        hit = np.zeros((len(check), num_noise_words), dtype=bool)
        for column in context_ids.T:
            hit |= negatives[check] == column[rows[check], None]
        exact = _draw_excluding(noise.probabilities, context_ids[rows[check]], num_noise_words, rng)
        negatives[check] = np.where(hit, exact, negatives[check])
    return SkipGramSample(
        centers=center_ids[rows],
        contexts_negatives=np.concatenate([context_ids[rows, cols][:, None], negatives], axis=1),
        weights=1.0 / contexts_per_center[rows],
        center_of_row=rows,
        num_centers=len(center_ids),
    )


def _check_noise_is_possible(ids, sentence, keep, noise, max_window_size, vocab) -> None:
    """Refuse a corpus in which some center's widest window covers every word noise can draw.

    That can only happen when at most ``2 * max_window_size`` words can be
    drawn at all (a toy corpus); then no noise word could ever be drawn for
    that center, and rejection sampling would never finish.
    """
    drawable = noise.probabilities > 0
    num_drawable = int(drawable.sum())
    if num_drawable > 2 * max_window_size:
        return
    offsets = np.concatenate([np.arange(-max_window_size, 0), np.arange(1, max_window_size + 1)])
    position = np.arange(len(ids))[:, None] + offsets
    inside = (position >= 0) & (position < len(ids))
    position = np.where(inside, position, 0)
    context = ids[position]
    usable = inside & (sentence[position] == sentence[:, None]) & (keep[context] > 0) & drawable[context]
    covered = np.sort(np.where(usable, context, -1), axis=1)
    distinct = ((covered >= 0) & (np.diff(covered, axis=1, prepend=-2) != 0)).sum(axis=1)
    stuck = np.flatnonzero((distinct == num_drawable) & (keep[ids] > 0))
    if len(stuck):
        word = vocab.to_tokens(int(ids[stuck[0]]))
        raise ValueError(
            f"the corpus is too small for negative sampling: within max_window_size={max_window_size}, "
            f"the contexts of {word!r} cover all {num_drawable} words that can be drawn as noise, so no "
            "noise word could be drawn for it; use a larger corpus or a smaller max_window_size"
        )


class SkipGramBatch(NamedTuple):
    """A padding-free batch: one row per (center, context) pair of ``num_centers`` centers."""

    centers: torch.Tensor  # (P, 1) int64
    contexts_negatives: torch.Tensor  # (P, 1 + K) int64; column 0 is the true context
    labels: torch.Tensor  # (P, 1 + K) float32: 1 in column 0, 0 elsewhere
    weights: torch.Tensor  # (P,) float32: 1 / contexts of the row's center
    num_centers: int


class SkipGramData(IterableDataset):
    """Skip-gram batches over an encoded corpus, drawn afresh for every epoch.

    Each epoch subsamples frequent words, draws a window size for every
    center, pairs centers with contexts and draws negatives anew (d2l draws
    them once, before training: ``resample=False``; here a draw costs well
    under a second). Batches hold ``batch_size`` centers, shuffled, with all
    their pairs. ``seed`` is an integer, a ``numpy.random.Generator`` or
    ``None`` (non-deterministic); no global RNG is used.

    Raises:
        TypeError: ``corpus`` is not encoded (words instead of integer ids) or
            ``vocab`` is not a :class:`~d2lmini.Vocab`.
        ValueError: bad sizes, ids outside the vocabulary, or a corpus too
            small for the requested sampling.
    """

    @rules(vocab=Instance(Vocab, "a d2lmini.Vocab"), batch_size=Integer(1), max_window_size=Integer(1),
           num_noise_words=Integer(1), t=Positive(), seed=Seed(), resample=Boolean())
    def __init__(
        self,
        corpus: list[list[int]],
        vocab: Vocab,
        batch_size: int,
        max_window_size: int,
        num_noise_words: int,
        t: float = 1e-4,
        seed: int | np.random.Generator | None = 0,
        resample: bool = True,
    ) -> None:
        self.batch_size, self.max_window_size, self.num_noise_words = batch_size, max_window_size, num_noise_words
        self.vocab, self.resample = vocab, resample
        self.ids, self.sentence = flatten_corpus(corpus, len(vocab))
        unk = None if vocab.unk_token is None else vocab.unk
        counts = vocab.counts
        self.keep = keep_probabilities(counts, t, unk=unk)
        self.noise = AliasSampler(noise_distribution(counts, unk=unk))
        _check_noise_is_possible(self.ids, self.sentence, self.keep, self.noise, self.max_window_size, vocab)
        self.rng = np.random.default_rng(seed)
        self._sample = self.draw()

    @property
    def sample(self) -> SkipGramSample:
        """The current draw: the pairs and noise words the next epoch trains on."""
        return self._sample

    def draw(self) -> SkipGramSample:
        """A fresh sample of pairs and negatives for one epoch."""
        return draw_skipgram_sample(self.ids, self.sentence, self.keep, self.noise,
                                    self.max_window_size, self.num_noise_words, self.rng)

    def __len__(self) -> int:
        return -(-self._sample.num_centers // self.batch_size)

    def __iter__(self):
        sample = self._sample
        self._sample = self.draw() if self.resample else sample  # the next epoch's draw
        # Shuffle centers; gather each center's contiguous block of rows in that order.
        order = self.rng.permutation(sample.num_centers)
        starts = np.searchsorted(sample.center_of_row, np.arange(sample.num_centers))
        sizes = np.diff(np.append(starts, len(sample.centers)))[order]
        first_row = np.repeat(starts[order], sizes)
        rows = first_row + np.arange(len(first_row)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        centers = torch.from_numpy(sample.centers[rows].astype(np.int64)).unsqueeze(1)
        contexts_negatives = torch.from_numpy(sample.contexts_negatives[rows].astype(np.int64))
        weights = torch.from_numpy(sample.weights[rows].astype(np.float32))
        labels = torch.zeros(1, 1 + self.num_noise_words)
        labels[0, 0] = 1.0
        bounds = np.append(np.cumsum(sizes)[self.batch_size - 1::self.batch_size], len(rows))
        start = 0
        for i, stop in enumerate(bounds):
            if stop == start:
                continue
            num_centers = min(self.batch_size, sample.num_centers - i * self.batch_size)
            yield SkipGramBatch(centers[start:stop], contexts_negatives[start:stop],
                                labels.expand(stop - start, -1), weights[start:stop], num_centers)
            start = stop


@rules(batch_size=Integer(1), max_window_size=Integer(1), num_noise_words=Integer(1), min_freq=Integer(0),
       seed=Seed(), resample=Boolean())
def load_data_ptb(
    batch_size: int,
    max_window_size: int,
    num_noise_words: int,
    min_freq: int = 10,
    seed: int | np.random.Generator | None = 0,
    resample: bool = True,
) -> tuple[DataLoader, Vocab]:
    """PTB skip-gram batches (d2l's ``load_data_ptb``), vectorised and padding-free.

    Returns a DataLoader of :class:`SkipGramBatch` and the vocabulary
    (``min_freq=10``: 6,719 entries). Sampling runs in the main process
    (no workers: a whole epoch is drawn in well under a second).
    """
    sentences = read_ptb("train")
    vocab = Vocab(sentences, min_freq=min_freq)
    data = SkipGramData(vocab.encode(sentences), vocab, batch_size, max_window_size, num_noise_words,
                        seed=seed, resample=resample)
    # A generator of its own keeps the DataLoader from drawing from the global RNG.
    generator = torch.Generator().manual_seed(0)
    return DataLoader(data, batch_size=None, num_workers=0, generator=generator), vocab
