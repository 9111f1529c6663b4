"""Questions to ask a trained 4-gram language model, as in the CSC321 assignment."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from . import _checks
from ._checks import Choice, rules
from .datasets import FourGrams
from .vocab import Vocab

__all__ = ["predict_next_word", "find_occurrences", "seen_in_training"]


def _ids(vocab: Vocab, words: tuple[str, ...]) -> list[int]:
    return [vocab.lookup(w) for w in words]  # KeyError naming an unknown word and close spellings


@torch.no_grad()
def predict_next_word(model: torch.nn.Module, vocab: Vocab, w1: str, w2: str, w3: str,
                      k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` most probable next words after ``w1 w2 w3``, with their probabilities, most probable first."""
    k = _checks.integer("k", k, 1, len(vocab))
    size = getattr(model, "vocab_size", None)
    if size is not None and size != len(vocab):
        raise ValueError(f"the model predicts {size} words but the vocabulary has {len(vocab)}: "
                         "pass the vocabulary the model was trained with")
    ids = torch.tensor([_ids(vocab, (w1, w2, w3))])
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    probs = torch.softmax(model(ids.to(device)), dim=-1)[0].cpu()
    model.train(was_training)
    top = torch.topk(probs, k)
    return [(vocab.to_tokens(int(i)), float(p)) for p, i in zip(top.values, top.indices)]


@rules(split=Choice(('train', 'valid', 'test', 'all')))
def find_occurrences(data: FourGrams, w1: str, w2: str, w3: str, split: str = "train") -> list[tuple[str, int]]:
    """What followed ``w1 w2 w3`` in a split (``"train"``, ``"valid"``, ``"test"`` or ``"all"``), with counts.

    Returns ``(word, count)`` pairs, most frequent first; an empty list means
    the trigram never occurred there.
    """
    splits = ("train", "valid", "test") if split == "all" else (split,)
    query = np.array(_ids(data.vocab, (w1, w2, w3)))
    followers: Counter = Counter()
    for s in splits:
        inputs, targets = getattr(data, f"{s}_inputs"), getattr(data, f"{s}_targets")
        match = (inputs == query).all(axis=1)
        followers.update(data.vocab.to_tokens(targets[match]))
    return followers.most_common()


def _row_keys(rows: np.ndarray, vocab_size: int) -> np.ndarray:
    """One integer per row of word ids (base ``vocab_size`` digits), so rows compare as numbers."""
    keys = np.zeros(len(rows), dtype=np.int64)
    for column in np.asarray(rows, dtype=np.int64).T:  # a loop over the 3 or 4 positions, not the rows
        keys = keys * vocab_size + column
    return keys


@rules(split=Choice(('valid', 'test')))
def seen_in_training(data: FourGrams, split: str = "test") -> dict[str, np.ndarray]:
    """Which examples of a split also occur verbatim in the training 4-grams.

    Returns boolean masks over the split's examples: ``"context"`` (its three
    context words occur as a training context) and ``"fourgram"`` (the whole
    4-gram, context and target, occurs in training).
    """
    if not isinstance(data, FourGrams):
        raise TypeError(f"data must be the FourGrams of d2lmini.load_fourgrams(), got {type(data).__name__}")
    vocab_size = len(data.vocab)
    if vocab_size ** 4 >= 2 ** 63:
        raise ValueError(f"a vocabulary of {vocab_size:,} words is too large to key 4-grams as int64")
    inputs, targets = getattr(data, f"{split}_inputs"), getattr(data, f"{split}_targets")
    train_grams = np.column_stack([data.train_inputs, data.train_targets])
    grams = np.column_stack([inputs, targets])
    return {
        "context": np.isin(_row_keys(inputs, vocab_size), _row_keys(data.train_inputs, vocab_size)),
        "fourgram": np.isin(_row_keys(grams, vocab_size), _row_keys(train_grams, vocab_size)),
    }
