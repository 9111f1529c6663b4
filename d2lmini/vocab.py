"""A vocabulary: tokens <-> indices, ordered by frequency, with counts."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["Vocab"]


def _flatten(tokens: Iterable) -> Iterable[str]:
    for item in tokens:
        if isinstance(item, str):
            yield item
        else:
            yield from item


class Vocab:
    """Map tokens to indices and back.

    Index 0 is the unknown token ``<unk>`` (unless ``unk_token=None``), then the
    reserved tokens, then every token seen at least ``min_freq`` times, most
    frequent first (ties keep the order of first appearance).

    Args:
        tokens: a list of tokens, or a list of sentences (lists of tokens).
        min_freq: tokens seen fewer times map to ``<unk>``.
        reserved_tokens: tokens placed right after ``<unk>`` whatever their count.
        unk_token: the unknown token, or ``None`` for a closed vocabulary in
            which looking up an unknown word raises ``KeyError``.

    Example:
        >>> vocab = Vocab([["a", "b", "a"], ["c", "a"]])
        >>> vocab["a"], vocab[["c", "zzz"]], vocab.to_tokens([1, 2])
        (1, [3, 0], ['a', 'b'])
    """

    def __init__(
        self,
        tokens: Iterable = (),
        min_freq: int = 0,
        reserved_tokens: Sequence[str] = (),
        unk_token: str | None = "<unk>",
    ) -> None:
        if not isinstance(min_freq, (int, np.integer)) or min_freq < 0:
            raise ValueError(f"min_freq must be an integer >= 0, got {min_freq!r}")
        self.unk_token = unk_token
        self.counter = Counter(_flatten(tokens))
        self.token_freqs = sorted(self.counter.items(), key=lambda kv: kv[1], reverse=True)
        specials = ([unk_token] if unk_token is not None else []) + list(reserved_tokens)
        self.idx_to_token: list[str] = list(dict.fromkeys(specials))
        seen = set(self.idx_to_token)
        for token, freq in self.token_freqs:
            if freq < min_freq:
                break
            if token not in seen:
                self.idx_to_token.append(token)
                seen.add(token)
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __contains__(self, token: str) -> bool:
        return token in self.token_to_idx

    def __getitem__(self, tokens):
        """Index of a token, or list of indices for a list/tuple; unknown -> ``<unk>``."""
        if isinstance(tokens, (list, tuple)):
            return [self[t] for t in tokens]
        idx = self.token_to_idx.get(tokens)
        if idx is None:
            if self.unk_token is None:
                return self.lookup(tokens)  # raises a KeyError that explains
            return self.unk
        return idx

    @property
    def unk(self) -> int:
        """Index of the unknown token (0)."""
        if self.unk_token is None:
            raise AttributeError("this vocabulary is closed: it has no unknown token")
        return 0

    def lookup(self, token: str) -> int:
        """Strict look-up: the index of ``token``, or a ``KeyError`` naming it and close spellings."""
        idx = self.token_to_idx.get(token)
        if idx is None:
            raise KeyError(self._unknown_message(token))
        return idx

    def _unknown_message(self, token: str) -> str:
        close = difflib.get_close_matches(str(token), self.idx_to_token, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"{token!r} is not in the vocabulary ({len(self)} tokens){hint}"

    def to_tokens(self, indices):
        """Token of an index, or list of tokens for a sequence of indices."""
        if isinstance(indices, (list, tuple, np.ndarray)):
            return [self.to_tokens(int(i)) for i in indices]
        if not 0 <= indices < len(self):
            raise IndexError(f"index {indices} is outside the vocabulary [0, {len(self)})")
        return self.idx_to_token[indices]

    @property
    def counts(self) -> np.ndarray:
        """Corpus count of each index; ``<unk>`` also counts the rare tokens mapped to it."""
        counts = np.zeros(len(self), dtype=np.int64)
        for token, freq in self.counter.items():
            idx = self.token_to_idx.get(token, 0 if self.unk_token is not None else None)
            if idx is not None:
                counts[idx] += freq
        return counts

    def encode(self, sentences: Iterable[Sequence[str]]) -> list[list[int]]:
        """Map each sentence (a list of tokens) to its list of indices."""
        if self.unk_token is None:
            return [[self.lookup(t) for t in s] for s in sentences]
        get = self.token_to_idx.get
        return [[get(t, 0) for t in s] for s in sentences]

    def __repr__(self) -> str:
        head = ", ".join(map(repr, self.idx_to_token[:5]))
        return f"Vocab({len(self)} tokens: {head}, ...)"
