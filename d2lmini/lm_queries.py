"""Questions to ask a trained 4-gram language model, as in the CSC321 assignment."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from . import _checks
from .datasets import FourGrams
from .vocab import Vocab

__all__ = ["predict_next_word", "find_occurrences"]


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


def find_occurrences(data: FourGrams, w1: str, w2: str, w3: str, split: str = "train") -> list[tuple[str, int]]:
    """What followed ``w1 w2 w3`` in a split (``"train"``, ``"valid"``, ``"test"`` or ``"all"``), with counts.

    Returns ``(word, count)`` pairs, most frequent first; an empty list means
    the trigram never occurred there.
    """
    _checks.choice("split", split, ("train", "valid", "test", "all"))
    splits = ("train", "valid", "test") if split == "all" else (split,)
    query = np.array(_ids(data.vocab, (w1, w2, w3)))
    followers: Counter = Counter()
    for s in splits:
        inputs, targets = getattr(data, f"{s}_inputs"), getattr(data, f"{s}_targets")
        match = (inputs == query).all(axis=1)
        followers.update(data.vocab.to_tokens(targets[match]))
    return followers.most_common()
