"""Word vectors with the look-ups users know from gensim's ``KeyedVectors``."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from . import _checks, _files
from .evaluation import evaluate_word_analogies, evaluate_word_pairs

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
        if isinstance(words, str):
            raise TypeError(f"words must be a list of words, got the string {words[:40]!r}")
        words = list(words)
        if not all(isinstance(w, str) for w in words):
            bad = next(w for w in words if not isinstance(w, str))
            raise TypeError(f"every word must be a string, got {bad!r} of type {type(bad).__name__}")
        vectors = _checks.finite_matrix("vectors", vectors)
        if vectors.shape[0] != len(words):
            raise ValueError(f"vectors must have one row per word: {len(words)} words, got shape {vectors.shape}")
        if len(set(words)) != len(words):
            raise ValueError("words must be unique")
        self.words = words
        self.vectors = vectors
        self.key_to_index = {w: i for i, w in enumerate(words)}
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self._unit = vectors / np.maximum(norms, 1e-12)

    @property
    def unit_vectors(self) -> np.ndarray:
        """The vectors scaled to length 1, one row per word (cosine similarity is their dot product)."""
        return self._unit

    @classmethod
    def from_vocab(cls, vocab, vectors, drop_unk: bool = True) -> Embeddings:
        """Embeddings for the tokens of a :class:`~d2lmini.Vocab`; ``<unk>`` is left out by default."""
        words = list(vocab.idx_to_token)
        vectors = _checks.finite_matrix("vectors", vectors)
        if len(vectors) != len(words):
            raise ValueError(f"vectors has {len(vectors)} rows but the vocabulary has {len(words)} tokens: "
                             "pass the vocabulary the model was trained with")
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
        topn = self._check_topn(topn)
        distances = np.linalg.norm(self.vectors - self.vectors[row], axis=1)
        distances[row] = np.inf
        best = np.argsort(distances, kind="stable")[:topn]
        return [(self.words[i], float(distances[i])) for i in best]

    def _check_topn(self, topn: int, excluded: int = 1) -> int:
        """``topn`` as an int, at most the number of words left once the query words are excluded."""
        if len(self) <= excluded:
            raise ValueError(f"the query excludes {excluded} of the {len(self)} words: none is left to return")
        return _checks.integer("topn", topn, 1, len(self) - excluded)

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
        topn = self._check_topn(topn, excluded=len(set(rows)))
        signs = np.array([1.0] * len(positive) + [-1.0] * len(negative), dtype=np.float32)
        query = (signs[:, None] * self._unit[rows]).mean(axis=0)
        query /= max(np.linalg.norm(query), 1e-12)
        scores = self._unit @ query
        scores[rows] = -np.inf
        best = np.argpartition(-scores, topn)[:topn]
        best = best[np.argsort(-scores[best])]
        return [(self.words[i], float(scores[i])) for i in best]

    def most_similar_cosmul(
        self, positive: str | Iterable[str], negative: Iterable[str] = (), topn: int = 10
    ) -> list[tuple[str, float]]:
        """3CosMul (Levy and Goldberg, 2014): rank ``w`` by
        ``prod_p (1 + cos(w, p)) / 2  /  (prod_n (1 + cos(w, n)) / 2 + 1e-6)``, the query words excluded."""
        positive = [positive] if isinstance(positive, str) else list(positive)
        negative = [negative] if isinstance(negative, str) else list(negative)
        if not positive:
            raise ValueError("most_similar_cosmul needs at least one positive word")
        rows = [self.index(w) for w in positive + negative]
        topn = self._check_topn(topn, excluded=len(set(rows)))
        shifted = lambda word: (1.0 + self._unit @ self._unit[self.index(word)]) / 2  # noqa: E731
        scores = np.prod([shifted(w) for w in positive], axis=0)
        scores = scores / (np.prod([shifted(w) for w in negative], axis=0) + 1e-6)
        scores[rows] = -np.inf
        best = np.argsort(-scores, kind="stable")[:topn]
        return [(self.words[i], float(scores[i])) for i in best]

    def doesnt_match(self, words: Iterable[str]) -> str:
        """The word furthest (by cosine) from the mean of the unit vectors of ``words``."""
        if isinstance(words, str):
            raise TypeError(f"words must be a list of words, got the string {words!r}")
        words = list(words)
        if len(words) < 2:
            raise ValueError(f"doesnt_match needs at least two words, got {words!r}")
        rows = [self.index(w) for w in words]
        unit = self._unit[rows]
        mean = unit.mean(axis=0)
        return words[int(np.argmin(unit @ (mean / max(np.linalg.norm(mean), 1e-12))))]

    def evaluate_word_pairs(self, path: str | os.PathLike, delimiter: str = "\t", case_insensitive: bool = True,
                            restrict_vocab: int = 300000):
        """gensim's ``evaluate_word_pairs``: see :func:`d2lmini.evaluation.evaluate_word_pairs`."""
        return evaluate_word_pairs(self, path, delimiter, case_insensitive, restrict_vocab)

    def evaluate_word_analogies(self, path: str | os.PathLike, case_insensitive: bool = True,
                                restrict_vocab: int = 300000, batch_size: int = 1024,
                                method: str = "3cosadd") -> tuple[float, list[dict]]:
        """gensim's ``evaluate_word_analogies``: see :func:`d2lmini.evaluation.evaluate_word_analogies`
        (``method="only_c"``: Linzen's baseline, the word nearest to ``c``)."""
        return evaluate_word_analogies(self, path, case_insensitive, restrict_vocab, batch_size, method)

    def save_word2vec_format(self, path: str | os.PathLike) -> None:
        """Write the word2vec text format (a ``count dim`` header, then ``word v1 v2 ...``).

        Floats are written with 9 significant digits, enough to read float32
        back exactly. The file is written to a temporary name and renamed.
        """
        path = Path(path)
        if any(not w or any(c.isspace() for c in w) for w in self.words):
            raise ValueError("words must be non-empty and contain no whitespace for the word2vec text format")
        tmp = _files.temp_path(_files.make_folder(path.parent), path.name)
        try:
            with open(tmp, "x", encoding="utf-8") as f:
                f.write(f"{len(self)} {self.vector_size}\n")
                for word, row in zip(self.words, self.vectors):
                    f.write(word + " " + " ".join(format(float(x), ".9g") for x in row) + "\n")
            _files.follow_umask(tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load_word2vec_format(cls, path: str | os.PathLike) -> Embeddings:
        """Read a file written by :meth:`save_word2vec_format` (or gensim, in text mode)."""
        with open(path, encoding="utf-8") as f:
            header = f.readline().split()
            if len(header) != 2 or not all(h.isdigit() for h in header):
                raise ValueError(f"{path}: the first line must be '<count> <dim>', got {' '.join(header)!r}")
            count, dim = map(int, header)
            words, rows = [], []
            for line_no, line in enumerate(f, start=2):
                parts = line.rstrip("\n").rstrip(" ").split(" ")
                if len(parts) != dim + 1:
                    raise ValueError(f"{path}, line {line_no}: expected a word and {dim} numbers, "
                                     f"got {len(parts)} fields")
                words.append(parts[0])
                rows.append(np.array(parts[1:], dtype=np.float32))
        if len(words) != count:
            raise ValueError(f"{path}: the header announces {count} words but the file holds {len(words)}")
        return cls(words, np.vstack(rows) if rows else np.zeros((0, dim), dtype=np.float32))

    @classmethod
    def from_model(cls, model, vocab, drop_unk: bool = True) -> Embeddings:
        """The word vectors of a trained ``GloVe`` (``v + u``), ``SkipGram`` (center vectors)
        or ``NGramLM`` (its embedding table), with the words of ``vocab``."""
        if not callable(getattr(model, "word_vectors", None)):
            raise TypeError(f"{type(model).__name__} has no word_vectors(): expected GloVe, SkipGram or NGramLM")
        return cls.from_vocab(vocab, model.word_vectors(), drop_unk=drop_unk)

    def __repr__(self) -> str:
        return f"Embeddings({len(self)} words, dim {self.vector_size})"
