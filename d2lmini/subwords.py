"""fastText's subwords: character n-grams of a word, hashed into a fixed number of buckets.

A word is wrapped in ``<`` and ``>`` so that prefixes and suffixes differ from
the same letters inside a word; its n-grams for ``min_n <= n <= max_n`` are
then hashed (32-bit FNV-1a over the UTF-8 bytes, as fastText's
``Dictionary::hash``) into one of ``buckets`` rows. A word's vector is the mean
of its own row and its n-grams' rows (:class:`~d2lmini.models.FastText`), so a
word never seen in training still gets a vector from its n-grams.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._checks import Integer, rules

__all__ = ["char_ngrams", "fnv1a_32", "subword_table"]

_FNV_OFFSET, _FNV_PRIME = 2166136261, 16777619


def _check_range(min_n, max_n) -> tuple[int, int]:
    min_n = _checks.integer("min_n", min_n, 1)
    max_n = _checks.integer("max_n", max_n, 1)
    if max_n < min_n:
        raise ValueError(f"max_n must be >= min_n, got min_n={min_n}, max_n={max_n}: "
                         "pass an n-gram range such as min_n=3, max_n=6 (fastText's default)")
    return min_n, max_n


def char_ngrams(word: str, min_n: int = 3, max_n: int = 6) -> list[str]:
    """The character n-grams of ``<word>`` that fastText uses, in fastText's order.

    As fastText's ``computeSubwords``, n-grams are read from each start
    position, shortest first, counting characters (not bytes); the 1-grams made
    of the lone ``<`` or ``>`` are skipped, and a short word's whole bracketed
    form (``<a>`` for ``a``) is one of its n-grams when it is at most ``max_n`` long.
    ``char_ngrams("where", 3, 3)`` is ``['<wh', 'whe', 'her', 'ere', 're>']``.
    """
    if not isinstance(word, str) or not word:
        raise ValueError(f"word must be a non-empty string, got {word!r}")
    min_n, max_n = _check_range(min_n, max_n)
    wrapped = f"<{word}>"
    grams = []
    for start in range(len(wrapped)):
        for n in range(min_n, max_n + 1):
            end = start + n
            if end > len(wrapped):
                break
            if n == 1 and (start == 0 or end == len(wrapped)):
                continue  # the lone "<" or ">"
            grams.append(wrapped[start:end])
    return grams


def fnv1a_32(text: str) -> int:
    """fastText's hash of a string: 32-bit FNV-1a over its UTF-8 bytes, each byte sign-extended
    first (fastText reads them as ``int8_t``), so that non-ASCII words hash as in fastText."""
    h = _FNV_OFFSET
    for byte in text.encode("utf-8"):
        h ^= (byte - 256 if byte >= 128 else byte) & 0xFFFFFFFF
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
    return h


@rules(buckets=Integer(1))
def subword_table(words, buckets: int = 2_000_000, min_n: int = 3, max_n: int = 6,
                  word_rows=None, num_words: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The rows that make up each word's vector, as a flat array with offsets (CSR).

    By default ``words`` is the vocabulary: word ``i`` owns row ``i`` and its
    n-grams map to rows ``len(words) + fnv1a_32(gram) % buckets``. To look up
    other words in a trained table (words never seen, as fastText's
    ``getWordVector``), pass ``num_words``, the vocabulary's size, and
    ``word_rows``: each word's own row, or -1 for a word outside the vocabulary,
    which then gets its n-gram rows only. Row lists are built once per list of
    words (a loop over words, not over tokens); training then gathers
    ``rows[offsets[i]:offsets[i + 1]]`` for a batch with array operations.

    Returns:
        ``(rows, offsets)``: int64 arrays; ``offsets`` has ``len(words) + 1`` entries.
    """
    min_n, max_n = _check_range(min_n, max_n)
    words = list(words)
    num_words = len(words) if num_words is None else _checks.integer("num_words", num_words, 1)
    own = np.arange(len(words)) if word_rows is None else np.asarray(word_rows)
    if own.shape != (len(words),) or own.dtype.kind not in "iu" or (own < -1).any() or (own >= num_words).any():
        raise ValueError(f"word_rows must hold one integer per word, each a row in [0, {num_words}) "
                         "or -1 for a word outside the vocabulary")
    rows, offsets = [], [0]
    for word, row in zip(words, own.tolist()):
        if row >= 0:
            rows.append(row)
        rows.extend(num_words + fnv1a_32(gram) % buckets for gram in char_ngrams(word, min_n, max_n))
        offsets.append(len(rows))
    return np.array(rows, dtype=np.int64), np.array(offsets, dtype=np.int64)
