"""Shuffled mini-batches of tensors, and the GloVe loader built on them.

Batches are drawn by :class:`ShuffledBatches`: a sampler that yields whole
index tensors, so a DataLoader with ``batch_size=None`` gathers each batch with
one tensor indexing operation instead of collating thousands of items in Python.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from . import _checks
from ._checks import Integer, Seed, rules
from .cooccurrence import cooccurrence
from .datasets import read_ptb
from .vocab import Vocab

__all__ = ["TensorBatches", "ShuffledBatches", "batch_loader", "load_data_ptb_glove", "make_generator",
           "default_num_workers"]


def make_generator(seed: int | torch.Generator | None) -> torch.Generator:
    """A private ``torch.Generator``: seeded by ``seed``, the given generator itself, or seeded
    from the operating system when ``seed`` is ``None``. The global RNG is never touched."""
    if isinstance(seed, torch.Generator):
        return seed
    generator = torch.Generator()
    if seed is None:
        generator.seed()  # a non-deterministic seed for this generator only
    else:
        generator.manual_seed(_checks.integer("seed", seed, 0))
    return generator


class TensorBatches(Dataset):
    """Tensors of equal length, indexed by a whole batch of indices at once.

    ``vocab`` (optional) is the vocabulary whose ids the tensors hold; training
    loops use it to check that a model has one row per word.
    """

    def __init__(self, *tensors: torch.Tensor, vocab: Vocab | None = None) -> None:
        if not tensors or not all(isinstance(t, torch.Tensor) for t in tensors):
            raise TypeError("TensorBatches needs at least one torch.Tensor (convert arrays with torch.as_tensor)")
        if any(len(t) != len(tensors[0]) for t in tensors):
            lengths = [len(t) for t in tensors]
            raise ValueError(f"TensorBatches needs tensors of the same length, got lengths {lengths}")
        self.tensors, self.vocab = tensors, vocab

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, indices: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return tuple(t[indices] for t in self.tensors)


class ShuffledBatches(Sampler):
    """Yield index tensors of ``batch_size`` (the last may be smaller), reshuffled each epoch.

    ``seed`` is an integer, a ``torch.Generator`` (used as is), or ``None`` for a
    non-deterministic order; the global RNG is never read or reseeded.
    """

    @rules(num_items=Integer(0), batch_size=Integer(1), seed=Seed(torch.Generator))
    def __init__(self, num_items: int, batch_size: int, shuffle: bool = True,
                 seed: int | torch.Generator | None = None) -> None:
        self.num_items, self.batch_size = num_items, batch_size
        self.shuffle = bool(shuffle)
        self.generator = make_generator(seed)

    def __len__(self) -> int:
        return -(-self.num_items // self.batch_size)

    def __iter__(self):
        order = (torch.randperm(self.num_items, generator=self.generator) if self.shuffle
                 else torch.arange(self.num_items))
        yield from order.split(self.batch_size)


def batch_loader(*tensors: torch.Tensor, batch_size: int, shuffle: bool = True,
                 seed: int | torch.Generator | None = None, vocab: Vocab | None = None) -> DataLoader:
    """A DataLoader over equal-length tensors that gathers whole batches at once."""
    dataset = TensorBatches(*tensors, vocab=vocab)
    sampler = ShuffledBatches(len(dataset), batch_size, shuffle=shuffle, seed=seed)
    # The loader's own generator only seeds worker processes; giving it one keeps the
    # DataLoader from drawing that seed from the caller's global RNG.
    return DataLoader(dataset, batch_size=None, sampler=sampler, generator=make_generator(None))


@rules(batch_size=Integer(1), window_size=Integer(1), min_freq=Integer(0), seed=Seed(torch.Generator))
def load_data_ptb_glove(
    batch_size: int, window_size: int, min_freq: int = 5, seed: int | torch.Generator | None = 0
) -> tuple[DataLoader, Vocab]:
    """PTB's nonzero co-occurrence entries as shuffled batches of ``(center, context, count)``.

    Counts are weighted ``1/d`` (:func:`d2lmini.cooccurrence`); every nonzero
    entry of the matrix is one example (2,904,195 at window 10, ``min_freq=5``).
    Centers and contexts are int64 tensors, counts float32.
    """
    sentences = read_ptb("train")
    vocab = Vocab(sentences, min_freq=min_freq)
    counts = cooccurrence(vocab.encode(sentences), window_size, len(vocab)).tocoo()
    loader = batch_loader(
        torch.from_numpy(counts.row.astype(np.int64)),
        torch.from_numpy(counts.col.astype(np.int64)),
        torch.from_numpy(counts.data.astype(np.float32)),
        batch_size=batch_size,
        seed=seed,
        vocab=vocab,
    )
    return loader, vocab


@rules(wanted=Integer(0))
def default_num_workers(wanted: int = 4) -> int:
    """``wanted`` DataLoader workers, never more than the CPUs this process may use."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(wanted, available)
