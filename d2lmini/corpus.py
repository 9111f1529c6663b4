"""Encoded corpora as arrays: every stage after the vocabulary works on these.

An encoded corpus is a list of sentences, each a sequence of integer ids (what
:meth:`d2lmini.Vocab.encode` returns). :func:`flatten_corpus` lays it out as
one id array plus the sentence of each position, the form in which counting
and sampling become array operations instead of loops over tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain

import numpy as np

from . import _checks

__all__ = ["flatten_corpus"]


def flatten_corpus(corpus: Sequence[Sequence[int]], vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """All ids of an encoded corpus in one int64 array, and the sentence each id belongs to.

    Args:
        corpus: sentences as sequences of integer ids in ``[0, vocab_size)``.
        vocab_size: the size of the vocabulary that encoded the corpus.

    Returns:
        ``(ids, sentence)``: two arrays of the corpus's length, int64 and int32.

    Raises:
        TypeError: the corpus holds words or non-integer ids (encode it first).
        ValueError: the corpus is empty, or an id lies outside ``[0, vocab_size)``.
    """
    vocab_size = _checks.integer("vocab_size", vocab_size, 1)
    if isinstance(corpus, (str, bytes)) or not isinstance(corpus, Sequence):
        raise TypeError(f"corpus must be a list of sentences of integer ids, got {type(corpus).__name__}; "
                        "encode the sentences first, e.g. vocab.encode(sentences)")
    try:
        lengths = np.fromiter(map(len, corpus), dtype=np.int64, count=len(corpus))
    except TypeError:
        raise TypeError("corpus must be a list of sentences (sequences of integer ids); "
                        "encode the sentences first, e.g. vocab.encode(sentences)") from None
    if lengths.sum() == 0:
        raise ValueError("corpus is empty: it must hold at least one sentence with one token")
    try:
        flat = np.array(list(chain.from_iterable(corpus)))
    except ValueError:  # ragged: a sentence holds lists
        raise TypeError("corpus must be a list of sentences, each a flat sequence of integer ids") from None
    if flat.dtype.kind in "US":
        raise TypeError("corpus holds words, not ids: encode the sentences first, e.g. vocab.encode(sentences)")
    ids = _checks.id_array("corpus", flat, vocab_size).astype(np.int64, copy=False)
    sentence = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    return ids, sentence
