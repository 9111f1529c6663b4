"""From an encoded corpus to training examples and mini-batches.

Batches are drawn by :class:`ShuffledBatches`: a sampler that yields whole
index tensors, so a DataLoader with ``batch_size=None`` gathers each batch with
one tensor indexing operation instead of collating thousands of items in Python.
"""

from __future__ import annotations

import math
import os
import random
from collections import Counter
from typing import NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from .cooccurrence import cooccurrence, flatten_corpus
from .datasets import read_ptb
from .vocab import Vocab

__all__ = [
    "TensorBatches",
    "ShuffledBatches",
    "batch_loader",
    "load_data_ptb_glove",
    "keep_probabilities",
    "noise_distribution",
    "AliasSampler",
    "SkipGramSample",
    "draw_skipgram_sample",
    "SkipGramBatch",
    "SkipGramData",
    "load_data_ptb",
    "subsample_reference",
    "centers_and_contexts_reference",
    "negatives_reference",
    "batchify_reference",
    "default_num_workers",
]


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


class TensorBatches(Dataset):
    """Tensors of equal length, indexed by a whole batch of indices at once."""

    def __init__(self, *tensors: torch.Tensor) -> None:
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorBatches needs at least one tensor, all of the same length")
        self.tensors = tensors

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t[indices] for t in self.tensors)


class ShuffledBatches(Sampler):
    """Yield index tensors of ``batch_size`` (the last may be smaller), reshuffled each epoch."""

    def __init__(self, num_items: int, batch_size: int, shuffle: bool = True, seed: int | None = None) -> None:
        _check_positive_int("batch_size", batch_size)
        self.num_items, self.batch_size, self.shuffle = num_items, batch_size, shuffle
        self.generator = torch.Generator()
        self.generator.manual_seed(seed if seed is not None else int(torch.seed() % 2**63))

    def __len__(self) -> int:
        return -(-self.num_items // self.batch_size)

    def __iter__(self):
        order = (torch.randperm(self.num_items, generator=self.generator) if self.shuffle
                 else torch.arange(self.num_items))
        yield from order.split(self.batch_size)


def batch_loader(*tensors: torch.Tensor, batch_size: int, shuffle: bool = True, seed: int | None = None) -> DataLoader:
    """A DataLoader over equal-length tensors that gathers whole batches at once."""
    dataset = TensorBatches(*tensors)
    sampler = ShuffledBatches(len(dataset), batch_size, shuffle=shuffle, seed=seed)
    return DataLoader(dataset, batch_size=None, sampler=sampler)


def load_data_ptb_glove(
    batch_size: int, window_size: int, min_freq: int = 5, seed: int | None = 0
) -> tuple[DataLoader, Vocab]:
    """PTB's nonzero co-occurrence entries as shuffled batches of ``(center, context, count)``.

    Counts are weighted ``1/d`` (:func:`d2lmini.cooccurrence`); every nonzero
    entry of the matrix is one example (2,904,195 at window 10, ``min_freq=5``).
    Centers and contexts are int64 tensors, counts float32.
    """
    _check_positive_int("batch_size", batch_size)
    sentences = read_ptb("train")
    vocab = Vocab(sentences, min_freq=min_freq)
    counts = cooccurrence(vocab.encode(sentences), window_size, len(vocab)).tocoo()
    loader = batch_loader(
        torch.from_numpy(counts.row.astype(np.int64)),
        torch.from_numpy(counts.col.astype(np.int64)),
        torch.from_numpy(counts.data.astype(np.float32)),
        batch_size=batch_size,
        seed=seed,
    )
    return loader, vocab


# --- word2vec: subsampling, windows, negative sampling ------------------------------


def keep_probabilities(counts: np.ndarray, t: float = 1e-4, unk: int | None = 0) -> np.ndarray:
    """Probability of keeping each token id when subsampling frequent words.

    ``P(keep w) = min(1, sqrt(t / f(w)))`` with ``f(w)`` the word's share of all
    tokens, ``<unk>`` excluded from the total; ``<unk>`` itself is always dropped.
    """
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t!r}")
    counts = np.asarray(counts, dtype=np.float64).copy()
    if unk is not None:
        counts[unk] = 0.0
    freq = counts / counts.sum()
    with np.errstate(divide="ignore"):
        keep = np.minimum(1.0, np.sqrt(t / freq))
    keep[counts == 0] = 0.0
    return keep


def noise_distribution(counts: np.ndarray, power: float = 0.75, unk: int | None = 0) -> np.ndarray:
    """Negative-sampling probabilities ``count ** power`` (normalised), zero for ``<unk>``."""
    weights = np.asarray(counts, dtype=np.float64) ** power
    if unk is not None:
        weights[unk] = 0.0
    return weights / weights.sum()


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


class AliasSampler:
    """Draw ids from a fixed discrete distribution in O(1) per draw (Walker's alias method).

    The table is built once (a loop over the vocabulary); each draw then costs
    one uniform integer, one uniform float and two look-ups, all vectorised.
    """

    def __init__(self, probabilities: np.ndarray) -> None:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 1 or len(p) == 0 or (p < 0).any() or not p.sum() > 0:
            raise ValueError("probabilities must be a non-empty 1-D array of non-negative numbers, not all zero")
        n = len(p)
        scaled = p / p.sum() * n
        self.accept = np.ones(n)
        self.alias = np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            s, l = small.pop(), large.pop()
            self.accept[s], self.alias[s] = scaled[s], l
            scaled[l] -= 1.0 - scaled[s]
            (small if scaled[l] < 1.0 else large).append(l)
        self.probabilities = p / p.sum()

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        k = rng.integers(0, len(self.accept), size=size)
        return np.where(rng.random(size) < self.accept[k], k, self.alias[k]).astype(np.int32)


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
    loops are over the ``2 * max_window_size`` window offsets and over rounds of
    redrawing the few negatives that hit one of their center's context words.
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
    contexts_per_center = valid.sum(axis=1)
    has_context = contexts_per_center > 0  # one-word sentences give no pairs
    context_ids = np.where(valid, ids[position], -1)[has_context]  # (C, 2w), -1 = none
    contexts_per_center = contexts_per_center[has_context]
    center_ids = ids[has_context]
    rows, cols = np.nonzero(context_ids >= 0)  # row-major: grouped by center, d2l's order
    negatives = noise.sample(rng, (len(rows), num_noise_words))
    check = np.arange(len(rows))
    while len(check):  # d2l never uses a context word of the same center as a noise word
        hit = np.zeros((len(check), num_noise_words), dtype=bool)
        for column in context_ids.T:  # 2w columns, each compared with every row at once
            hit |= negatives[check] == column[rows[check], None]
        redraw = hit.any(axis=1)
        check, hit = check[redraw], hit[redraw]
        fresh = negatives[check]
        fresh[hit] = noise.sample(rng, int(hit.sum()))
        negatives[check] = fresh
    return SkipGramSample(
        centers=center_ids[rows],
        contexts_negatives=np.concatenate([context_ids[rows, cols][:, None], negatives], axis=1),
        weights=1.0 / contexts_per_center[rows],
        center_of_row=rows,
        num_centers=len(center_ids),
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
    them once, before training; here a draw costs well under a second).
    Batches hold ``batch_size`` centers, shuffled, with all their pairs.
    """

    def __init__(
        self,
        corpus: list[list[int]],
        vocab: Vocab,
        batch_size: int,
        max_window_size: int,
        num_noise_words: int,
        t: float = 1e-4,
        seed: int | None = 0,
        resample: bool = True,
    ) -> None:
        for name, value in (("batch_size", batch_size), ("max_window_size", max_window_size),
                            ("num_noise_words", num_noise_words)):
            _check_positive_int(name, value)
        self.vocab, self.batch_size = vocab, batch_size
        self.max_window_size, self.num_noise_words, self.resample = max_window_size, num_noise_words, resample
        self.ids, self.sentence = flatten_corpus(corpus, len(vocab))
        counts = vocab.counts
        self.keep = keep_probabilities(counts, t)
        self.noise = AliasSampler(noise_distribution(counts))
        self.rng = np.random.default_rng(seed)
        self._sample = self.draw()

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


def load_data_ptb(
    batch_size: int,
    max_window_size: int,
    num_noise_words: int,
    min_freq: int = 10,
    seed: int | None = 0,
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
    return DataLoader(data, batch_size=None, num_workers=0), vocab


# --- the d2l reference pipeline (Python loops), for teaching, tests and benchmarks --


def subsample_reference(sentences: list[list[str]], vocab: Vocab, t: float = 1e-4) -> list[list[str]]:
    """d2l's subsampling: drop ``<unk>``, keep each token with probability ``sqrt(t / f(w))``."""
    sentences = [[token for token in line if vocab[token] != vocab.unk] for line in sentences]
    counter = Counter(token for line in sentences for token in line)
    num_tokens = sum(counter.values())
    return [[token for token in line if random.uniform(0, 1) < math.sqrt(t / counter[token] * num_tokens)]
            for line in sentences]


def centers_and_contexts_reference(corpus: list[list[int]], max_window_size: int):
    """d2l's window loop: a window size in ``1..max_window_size`` drawn for every center."""
    centers, contexts = [], []
    for line in corpus:
        if len(line) < 2:
            continue
        centers += line
        for i in range(len(line)):
            window_size = random.randint(1, max_window_size)
            indices = [j for j in range(max(0, i - window_size), min(len(line), i + 1 + window_size)) if j != i]
            contexts.append([line[j] for j in indices])
    return centers, contexts


def negatives_reference(all_contexts, vocab: Vocab, counter: Counter, num_noise_words: int):
    """d2l's negative sampling: ``count ** 0.75`` over ids 1.. (no ``<unk>``), in chunks
    of 10,000 draws, rejecting noise words that are contexts of the same center."""
    population = list(range(1, len(vocab)))
    weights = [counter[vocab.to_tokens(i)] ** 0.75 for i in population]
    cache, position = [], 0
    all_negatives = []
    for contexts in all_contexts:
        negatives = []
        while len(negatives) < len(contexts) * num_noise_words:
            if position == len(cache):
                cache, position = random.choices(population, weights, k=10000), 0
            neg = cache[position]
            position += 1
            if neg not in contexts:
                negatives.append(neg)
        all_negatives.append(negatives)
    return all_negatives


def batchify_reference(data):
    """d2l's collate function: pad each center's contexts + negatives to the longest row."""
    max_len = max(len(c) + len(n) for _, c, n in data)
    centers, contexts_negatives, masks, labels = [], [], [], []
    for center, context, negative in data:
        cur_len = len(context) + len(negative)
        centers += [center]
        contexts_negatives += [context + negative + [0] * (max_len - cur_len)]
        masks += [[1] * cur_len + [0] * (max_len - cur_len)]
        labels += [[1] * len(context) + [0] * (max_len - len(context))]
    return (torch.tensor(centers).reshape((-1, 1)), torch.tensor(contexts_negatives),
            torch.tensor(masks), torch.tensor(labels))


def default_num_workers(wanted: int = 4) -> int:
    """``wanted`` DataLoader workers, never more than the CPUs this process may use."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(0, min(wanted, available))
