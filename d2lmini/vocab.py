"""A vocabulary: tokens <-> indices, ordered by frequency, with counts."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from . import _checks
from ._checks import Integer, rules

__all__ = ["Vocab"]


def _tokens_of(tokens: Iterable) -> list[str]:
    """Every token of a flat list of tokens or of a list of sentences, type-checked."""
    if isinstance(tokens, (str, bytes)):
        raise TypeError(f"tokens must be a list of tokens or of sentences (lists of tokens), got the string "
                        f"{tokens[:40]!r}; split it first, e.g. Vocab(text.split()) or "
                        "Vocab([line.split() for line in text.splitlines()])")
    flat: list[str] = []
    for item in tokens:
        if isinstance(item, str):
            flat.append(item)
        elif isinstance(item, (list, tuple)):
            flat.extend(item)
        else:
            raise TypeError(f"tokens must hold strings or lists of strings, got an item of type "
                            f"{type(item).__name__}: {item!r}")
    if not all(isinstance(token, str) for token in flat):
        bad = next(token for token in flat if not isinstance(token, str))
        raise TypeError(f"every token must be a string, got {bad!r} of type {type(bad).__name__}; "
                        "a Vocab maps words to ids (pass the words, not ids)")
    return flat


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

    @rules(min_freq=Integer(0))
    def __init__(
        self,
        tokens: Iterable = (),
        min_freq: int = 0,
        reserved_tokens: Sequence[str] = (),
        unk_token: str | None = "<unk>",
    ) -> None:
        if unk_token is not None and not isinstance(unk_token, str):
            raise TypeError(f"unk_token must be a string or None, got {unk_token!r}")
        if isinstance(reserved_tokens, str) or not all(isinstance(t, str) for t in reserved_tokens):
            raise TypeError(f"reserved_tokens must be a list of strings, got {reserved_tokens!r}")
        self.unk_token = unk_token
        self.counter = Counter(_tokens_of(tokens))
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

    @classmethod
    def from_tokens(cls, idx_to_token: Sequence[str], counts: Sequence[int] | None = None,
                    unk_token: str | None = "<unk>") -> Vocab:
        """Rebuild a vocabulary from its list of tokens (index order) and, optionally, the count of each.

        ``idx_to_token[0]`` must be ``unk_token`` unless ``unk_token`` is ``None``.
        """
        idx_to_token = list(idx_to_token)
        if unk_token is not None and (not idx_to_token or idx_to_token[0] != unk_token):
            raise ValueError(f"idx_to_token must start with the unknown token {unk_token!r}")
        if len(set(idx_to_token)) != len(idx_to_token):
            raise ValueError("idx_to_token must not repeat a token")
        counts = [0] * len(idx_to_token) if counts is None else [int(c) for c in counts]
        if len(counts) != len(idx_to_token):
            raise ValueError(f"got {len(counts)} counts for {len(idx_to_token)} tokens")
        vocab = cls(unk_token=unk_token)
        vocab.counter = Counter({t: c for t, c in zip(idx_to_token, counts) if c > 0})
        vocab.token_freqs = sorted(vocab.counter.items(), key=lambda kv: kv[1], reverse=True)
        vocab.idx_to_token = idx_to_token
        vocab.token_to_idx = {token: idx for idx, token in enumerate(idx_to_token)}
        return vocab

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
        if hasattr(indices, "tolist") and getattr(indices, "ndim", 1) == 0:  # a 0-d array or tensor
            indices = indices.tolist()
        if isinstance(indices, (list, tuple)) or hasattr(indices, "tolist"):
            return [self.to_tokens(i) for i in np.asarray(indices).tolist()]
        indices = _checks.integer("index", indices)
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
        sentences = _checks.sentences("sentences", sentences)
        for i, s in enumerate(sentences):
            if not all(isinstance(t, str) for t in s):
                bad = next(t for t in s if not isinstance(t, str))
                raise TypeError(f"sentences[{i}] holds {bad!r} of type {type(bad).__name__}, not a string token; "
                                "encode words, not ids (is the corpus encoded already?)")
        if self.unk_token is None:
            return [[self.lookup(t) for t in s] for s in sentences]
        get = self.token_to_idx.get
        return [[get(t, 0) for t in s] for s in sentences]

    def __repr__(self) -> str:
        head = ", ".join(map(repr, self.idx_to_token[:5]))
        return f"Vocab({len(self)} tokens: {head}, ...)"
