"""Every seed-faithful reference, kept to teach from and to measure the fast versions against.

They follow the published seeds step by step: d2l's co-occurrence loop, its
word2vec data pipeline (subsampling, windows, negatives, padded batches) and
training loop, its GloVe loop, and the CSC321 NumPy training loop. Tests use
them as oracles; ``benchmarks/`` and the performance appendix time them; the
chapters show them. Nothing else in the package depends on them.

Like the seeds, the d2l pipeline draws from Python's global ``random`` module
(it never reseeds it: seed it yourself for a reproducible run).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from . import numpy_lm
from ._checks import Integer, rules
from .batching import default_num_workers
from .models import GloVe, sigmoid_bce_loss
from .vocab import Vocab

__all__ = [
    "cooccurrence_reference",
    "subsample_reference",
    "centers_and_contexts_reference",
    "negatives_reference",
    "batchify_reference",
    "skipgram_reference_data",
    "PaddedSkipGramData",
    "skipgram_padded_loader",
    "skipgram_padded_training",
    "glove_seed_style",
    "numpy_lm_sgd",
]


# --- counting ----------------------------------------------------------------------


@rules(window_size=Integer(1))
def cooccurrence_reference(corpus: Sequence[Sequence[int]], window_size: int) -> list[tuple[int, int, float]]:
    """Co-occurrence counts by a plain Python loop (d2l's "Pretraining GloVe" semantics).

    For each center word, the ``window_size`` words to its left and to its
    right within the same sentence are its context; a context word ``d``
    positions away adds ``1/d``.

    Returns:
        ``(center, context, count)`` triples in order of first occurrence.
    """
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


# --- d2l's word2vec data pipeline ---------------------------------------------------


def subsample_reference(sentences: list[list[str]], vocab: Vocab, t: float = 1e-4) -> tuple[list[list[str]], Counter]:
    """d2l's ``subsample``: drop ``<unk>``, keep each token with probability ``sqrt(t / f(w))``.

    Returns the subsampled sentences and, as d2l does, the counter of the
    tokens *before* subsampling (``<unk>`` removed), from which d2l draws noise words.
    """
    sentences = [[token for token in line if vocab[token] != vocab.unk] for line in sentences]
    counter = Counter(token for line in sentences for token in line)
    num_tokens = sum(counter.values())
    kept = [[token for token in line if random.uniform(0, 1) < math.sqrt(t / counter[token] * num_tokens)]
            for line in sentences]
    return kept, counter


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


def skipgram_reference_data(sentences: list[list[str]], vocab: Vocab, max_window_size: int = 5,
                            num_noise_words: int = 5):
    """d2l's word2vec data preparation, drawn once: subsampling, windows, negatives (Python loops).

    Noise words are drawn from the counts before subsampling, as in d2l.
    Returns ``(centers, contexts, negatives)``, lists with one entry per center.
    """
    subsampled, counter = subsample_reference(sentences, vocab)
    centers, contexts = centers_and_contexts_reference([vocab[line] for line in subsampled], max_window_size)
    return centers, contexts, negatives_reference(contexts, vocab, counter, num_noise_words)


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
    return {"loss_all_epochs": total / count, "loss_last_epoch": last[0] / last[1],
            "padding_fraction": padding / slots, "centers": count, "seconds": time.perf_counter() - start}


# --- d2l's GloVe loop and the CSC321 NumPy loop -------------------------------------


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
