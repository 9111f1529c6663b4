"""Word vectors with the look-ups users know from gensim's ``KeyedVectors``."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["Embeddings"]


class Embeddings:
    """A vocabulary of words and one vector per word.

    Args:
        words: the words, in the order of the rows of ``vectors``.
        vectors: array of shape ``(len(words), dim)`` (a torch tensor is converted).

    Example:
        >>> emb = Embeddings(["a", "b", "c"], [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> emb.most_similar("a", topn=1)
        [('b', 0.9938837...)]
    """

    def __init__(self, words: Sequence[str], vectors) -> None:
        if hasattr(vectors, "detach"):
            vectors = vectors.detach().cpu().numpy()
        vectors = np.asarray(vectors, dtype=np.float32)
        words = list(words)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(f"vectors must have shape ({len(words)}, dim), got {vectors.shape}")
        if len(set(words)) != len(words):
            raise ValueError("words must be unique")
        self.words = words
        self.vectors = vectors
        self.key_to_index = {w: i for i, w in enumerate(words)}
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = vectors / np.maximum(norms, 1e-12)

    @classmethod
    def from_vocab(cls, vocab, vectors, drop_unk: bool = True) -> "Embeddings":
        """Embeddings for the tokens of a :class:`~d2lmini.Vocab`; ``<unk>`` is left out by default."""
        words = list(vocab.idx_to_token)
        vectors = vectors.detach().cpu().numpy() if hasattr(vectors, "detach") else np.asarray(vectors)
        if drop_unk and vocab.unk_token is not None:
            keep = [i for i, w in enumerate(words) if w != vocab.unk_token]
            return cls([words[i] for i in keep], vectors[keep])
        return cls(words, vectors)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self.key_to_index

    @property
    def vector_size(self) -> int:
        return self.vectors.shape[1]

    def index(self, word: str) -> int:
        """Row of ``word``; an unknown word raises ``KeyError`` naming it and close spellings."""
        try:
            return self.key_to_index[word]
        except KeyError:
            close = difflib.get_close_matches(str(word), self.words, n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise KeyError(f"{word!r} is not in the vocabulary ({len(self)} words){hint}") from None

    def __getitem__(self, word: str) -> np.ndarray:
        return self.vectors[self.index(word)]

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        return float(self._unit[self.index(w1)] @ self._unit[self.index(w2)])

    def word_distance(self, w1: str, w2: str) -> float:
        """Euclidean distance between the vectors of two words."""
        return float(np.linalg.norm(self[w1] - self[w2]))

    def nearest(self, word: str, topn: int = 10, metric: str = "cosine") -> list[tuple[str, float]]:
        """The ``topn`` words closest to ``word``: by cosine similarity (highest first)
        or by Euclidean distance (``metric="euclidean"``, smallest first)."""
        if metric == "cosine":
            return self.most_similar(word, topn=topn)
        if metric != "euclidean":
            raise ValueError(f"metric must be 'cosine' or 'euclidean', got {metric!r}")
        row = self.index(word)
        self._check_topn(topn)
        distances = np.linalg.norm(self.vectors - self.vectors[row], axis=1)
        distances[row] = np.inf
        best = np.argsort(distances, kind="stable")[:topn]
        return [(self.words[i], float(distances[i])) for i in best]

    def _check_topn(self, topn: int) -> None:
        if isinstance(topn, bool) or not isinstance(topn, (int, np.integer)) or not 1 <= topn <= len(self) - 1:
            raise ValueError(f"topn must be an integer in [1, {len(self) - 1}], got {topn!r}")

    def most_similar(
        self, positive: str | Iterable[str], negative: Iterable[str] = (), topn: int = 10
    ) -> list[tuple[str, float]]:
        """Words closest by cosine to the mean of the unit vectors of ``positive``
        minus those of ``negative`` (3CosAdd), the query words excluded.

        ``most_similar("chip")`` gives the neighbours of one word;
        ``most_similar(positive=["king", "woman"], negative=["man"])`` an analogy.
        """
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive and not negative:
            raise ValueError("most_similar needs at least one positive or negative word")
        rows = [self.index(w) for w in positive + negative]
        self._check_topn(topn)
        signs = np.array([1.0] * len(positive) + [-1.0] * len(negative), dtype=np.float32)
        query = (signs[:, None] * self._unit[rows]).mean(axis=0)
        query /= max(np.linalg.norm(query), 1e-12)
        scores = self._unit @ query
        scores[rows] = -np.inf
        best = np.argpartition(-scores, topn)[:topn]
        best = best[np.argsort(-scores[best])]
        return [(self.words[i], float(scores[i])) for i in best]

    def __repr__(self) -> str:
        return f"Embeddings({len(self)} words, dim {self.vector_size})"
