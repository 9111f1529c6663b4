"""From an encoded corpus to training examples and mini-batches.

Batches are drawn by :class:`ShuffledBatches`: a sampler that yields whole
index tensors, so a DataLoader with ``batch_size=None`` gathers each batch with
one tensor indexing operation instead of collating thousands of items in Python.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .cooccurrence import cooccurrence
from .datasets import read_ptb
from .vocab import Vocab

__all__ = ["TensorBatches", "ShuffledBatches", "batch_loader", "load_data_ptb_glove"]


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
