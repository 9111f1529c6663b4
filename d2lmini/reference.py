"""Seed-style reference training loops, kept to measure the fast versions against.

They follow the published seeds step by step (d2l's GloVe and word2vec
chapters, the CSC321 NumPy language model) and are used by ``benchmarks/``
and the book's performance appendix; nothing else depends on them. The seeds'
data pipelines live beside their fast versions (``cooccurrence_reference``,
``sampling.*_reference``).
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import numpy_lm
from .models import GloVe, sigmoid_bce_loss
from . import sampling
from .sampling import batchify_reference, default_num_workers
from .vocab import Vocab

__all__ = ["glove_seed_style", "skipgram_reference_data", "PaddedSkipGramData", "skipgram_padded_loader", "skipgram_padded_training",
           "numpy_lm_sgd"]


def glove_seed_style(vocab_size: int, triples: list, epochs: int = 1, lr: float = 0.1, embed_size: int = 100,
                     batch_size: int = 1024) -> tuple[list[float], float]:
    """d2l's GloVe loop: a DataLoader collating ``(center, context, count)`` tuples, AdaGrad.

    Returns the mean loss of each epoch and the seconds of all epochs.
    """
    model = GloVe(vocab_size, embed_size, x_max=100, alpha=0.75)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=lr)
    loader = DataLoader(triples, batch_size=batch_size, shuffle=True)
    losses, seconds = [], 0.0
    for _ in range(epochs):
        start, total, seen = time.perf_counter(), 0.0, 0
        for center, context, count in loader:
            loss = model(center, context, count.float())
            optimizer.zero_grad()
            loss.mean().backward()
            optimizer.step()
            total += loss.detach().sum().item()
            seen += len(count)
        seconds += time.perf_counter() - start
        losses.append(total / seen)
    return losses, seconds


def skipgram_reference_data(sentences: list[list[str]], vocab: Vocab, max_window_size: int = 5,
                            num_noise_words: int = 5):
    """d2l's word2vec data preparation, drawn once: subsampling, windows, negatives (Python loops).

    Returns ``(centers, contexts, negatives)``, lists with one entry per center.
    """
    subsampled = sampling.subsample_reference(sentences, vocab)
    counter = Counter(token for line in subsampled for token in line)
    centers, contexts = sampling.centers_and_contexts_reference([vocab[line] for line in subsampled],
                                                                max_window_size)
    return centers, contexts, sampling.negatives_reference(contexts, vocab, counter, num_noise_words)


class PaddedSkipGramData(Dataset):
    """d2l's dataset: one item per center, ``(center, contexts, negatives)``."""

    def __init__(self, centers, contexts, negatives):
        self.centers, self.contexts, self.negatives = centers, contexts, negatives

    def __getitem__(self, index):
        return self.centers[index], self.contexts[index], self.negatives[index]

    def __len__(self):
        return len(self.centers)


def skipgram_padded_loader(centers, contexts, negatives, batch_size: int = 512) -> DataLoader:
    """d2l's DataLoader: padded batches from ``batchify``, d2l's 4 workers capped at the CPU count."""
    return DataLoader(PaddedSkipGramData(centers, contexts, negatives), batch_size, shuffle=True,
                      collate_fn=batchify_reference, num_workers=default_num_workers(4))


def skipgram_padded_training(vocab_size: int, loader, epochs: int, lr: float = 0.002, embed_size: int = 100,
                             max_batches: int | None = None) -> dict:
    """d2l's word2vec training: two ``nn.Embedding``s, ``bmm``, the masked loss summed per batch, Adam.

    Returns the mean loss over all epochs, over the last epoch, the share of
    padding in the batches, the centers seen and the seconds spent.
    """
    net = nn.Sequential(nn.Embedding(vocab_size, embed_size), nn.Embedding(vocab_size, embed_size))
    for table in net:
        nn.init.xavier_uniform_(table.weight)
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    total = count = padding = slots = 0
    last = (0.0, 0)
    start = time.perf_counter()
    for _ in range(epochs):
        epoch_total, epoch_count = 0.0, 0
        for i, (center, context_negative, mask, label) in enumerate(loader):
            if max_batches is not None and i == max_batches:
                break
            pred = torch.bmm(net[0](center), net[1](context_negative).permute(0, 2, 1))
            loss = sigmoid_bce_loss(pred.reshape(label.shape).float(), label.float(), mask)
            optimizer.zero_grad()
            loss.sum().backward()
            optimizer.step()
            epoch_total += loss.sum().item()
            epoch_count += loss.numel()
            padding += int((mask == 0).sum())
            slots += mask.numel()
        total, count, last = total + epoch_total, count + epoch_count, (epoch_total, epoch_count)
    return {"loss_all_epochs": total / count, "loss_last_epoch": last[0] / last[1], "padding_fraction": padding / slots,
            "centers": count, "seconds": time.perf_counter() - start}


def numpy_lm_sgd(params: numpy_lm.Params, inputs: np.ndarray, targets: np.ndarray, batch_size: int = 100,
                 lr: float = 0.1, momentum: float = 0.9, seed: int = 0) -> float:
    """One epoch of the CSC321 training loop in NumPy: forward, hand-written backprop, momentum SGD.

    Updates ``params`` in place and returns the mean training cross-entropy.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(inputs))
    velocity = {name: np.zeros_like(array) for name, array in params.items()}
    total = 0.0
    for start in range(0, len(order), batch_size):
        index = order[start:start + batch_size]
        activations = numpy_lm.compute_activations(params, inputs[index])
        derivative = numpy_lm.compute_loss_derivative(activations.output_layer, targets[index]) / len(index)
        grads = numpy_lm.back_propagate(params, inputs[index], activations, derivative)
        total += numpy_lm.compute_loss(activations.output_layer, targets[index])
        for name, array in params.items():
            velocity[name] = momentum * velocity[name] - lr * getattr(grads, name)
            array += velocity[name]
    return total / len(inputs)
