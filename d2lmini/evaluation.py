"""Word-similarity and analogy benchmarks, scored as gensim scores them.

WordSim-353 (353 pairs scored for relatedness by humans), SimLex-999 (999
pairs scored for similarity, which penalises mere association) and Google's
analogy questions (19,544 questions in 14 sections) are in the ``gensim``
wheel under ``gensim/test/test_data``; installing gensim is all it takes.
:class:`~d2lmini.Embeddings` offers these functions under gensim's method names.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from scipy import stats

from . import _checks
from .embeddings import Embeddings

__all__ = ["BENCHMARK_FILES", "benchmark_path", "evaluate_word_pairs", "evaluate_word_analogies", "evaluate",
           "common_vocabulary", "similarity_scores"]

BENCHMARK_FILES = {
    "wordsim353": "wordsim353.tsv",
    "simlex999": "simlex999.txt",
    "google_analogies": "questions-words.txt",
}


def benchmark_path(name: str) -> Path:
    """Path of a benchmark file inside the installed gensim package."""
    if name not in BENCHMARK_FILES:
        raise KeyError(f"unknown benchmark {name!r}: choose one of {sorted(BENCHMARK_FILES)}")
    try:
        from gensim.test.utils import datapath
    except ImportError as err:
        raise ImportError("the benchmark files ship with gensim: pip install 'd2lmini[analysis]' "
                          "(or pip install gensim)") from err
    path = Path(datapath(BENCHMARK_FILES[name]))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed gensim package")
    return path


def _check_embeddings(vectors) -> Embeddings:
    if not isinstance(vectors, Embeddings):
        raise TypeError(f"vectors must be d2lmini.Embeddings, got {type(vectors).__name__}; "
                        "wrap a model's vectors with Embeddings.from_model(model, vocab)")
    return vectors


def _lookup_table(vectors: Embeddings, case_insensitive: bool, restrict_vocab: int) -> dict[str, int]:
    # As gensim: among the first restrict_vocab words, the most frequent (first) spelling wins.
    keys = vectors.words[:_checks.integer("restrict_vocab", restrict_vocab, 1)]
    if case_insensitive:
        return {w.upper(): i for i, w in reversed(list(enumerate(keys)))}
    return {w: i for i, w in enumerate(keys)}


def evaluate_word_pairs(
    vectors: Embeddings, path: str | os.PathLike, delimiter: str = "\t", case_insensitive: bool = True,
    restrict_vocab: int = 300000,
):
    """Correlation of cosine similarities with human judgements, as gensim computes it.

    Reads lines ``word1<delimiter>word2<delimiter>score`` (``#`` comments
    skipped). Pairs with a word outside the vocabulary are left out.

    Returns:
        ``(pearson, spearman, oov_ratio)``: scipy's Pearson and Spearman
        results (``.statistic``, ``.pvalue``) on the pairs in vocabulary,
        and the percentage of pairs left out.
    """
    vectors = _check_embeddings(vectors)
    table = _lookup_table(vectors, case_insensitive, restrict_vocab)
    unit = vectors._unit
    gold, model, oov = [], [], 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            try:
                a, b, score = line.rstrip("\n").split(delimiter)
                score = float(score)
            except ValueError:
                continue
            if case_insensitive:
                a, b = a.upper(), b.upper()
            if a not in table or b not in table:
                oov += 1
                continue
            gold.append(score)
            model.append(float(unit[table[a]] @ unit[table[b]]))
    if len(gold) < 3:
        raise ValueError(f"only {len(gold)} pairs of {path} are in the vocabulary: too few to correlate")
    return stats.pearsonr(gold, model), stats.spearmanr(gold, model), 100.0 * oov / (len(gold) + oov)


def evaluate_word_analogies(
    vectors: Embeddings, path: str | os.PathLike, case_insensitive: bool = True, restrict_vocab: int = 300000,
    batch_size: int = 1024,
) -> tuple[float, list[dict]]:
    """Accuracy on analogy questions ``a b c d`` ("a is to b as c is to d"), as gensim computes it.

    The answer is the word nearest (3CosAdd) to ``b - a + c``, the three
    question words excluded; questions with a word outside the vocabulary
    are skipped and counted. Questions are answered in batches (one
    matrix product each), not one by one.

    Returns:
        ``(accuracy, sections)``: accuracy over the questions answered, and
        one dict per section of the file (``section``, ``correct``,
        ``incorrect``: lists of question tuples, ``oov``: number skipped),
        then a last one, ``"Total accuracy"``, over all sections.
    """
    vectors = _check_embeddings(vectors)
    batch_size = _checks.integer("batch_size", batch_size, 1)
    table = _lookup_table(vectors, case_insensitive, restrict_vocab)
    norm = (lambda w: w.upper()) if case_insensitive else (lambda w: w)  # noqa: E731
    sections: list[dict] = []
    questions: list[tuple[int, tuple[str, ...]]] = []  # (section number, question)
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f):
            if line.startswith(": "):
                sections.append({"section": line[2:].strip(), "correct": [], "incorrect": [], "oov": 0})
                continue
            if not sections:
                raise ValueError(f"{path}: missing section header before line {line_no + 1}")
            words = [norm(w) for w in line.split()]
            if len(words) != 4:
                continue
            if any(w not in table for w in words):
                sections[-1]["oov"] += 1
                continue
            questions.append((len(sections) - 1, tuple(words)))
    keys = np.array([norm(w) for w in vectors.words[:restrict_vocab]], dtype=object)
    unit = vectors._unit[:restrict_vocab]
    for start in range(0, len(questions), batch_size):
        chunk = questions[start:start + batch_size]
        ids = np.array([[table[w] for w in q] for _, q in chunk])
        query = unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]
        scores = query @ unit.T
        scores[np.arange(len(chunk))[:, None], ids[:, :3]] = -np.inf
        for (section, question), best in zip(chunk, np.argmax(scores, axis=1)):
            outcome = "correct" if keys[best] == question[3] else "incorrect"
            sections[section][outcome].append(question)
    total = {"section": "Total accuracy",
             "correct": [q for s in sections for q in s["correct"]],
             "incorrect": [q for s in sections for q in s["incorrect"]],
             "oov": sum(s["oov"] for s in sections)}
    sections.append(total)
    answered = len(total["correct"]) + len(total["incorrect"])
    return (len(total["correct"]) / answered if answered else 0.0), sections


def common_vocabulary(*models: Embeddings) -> list[Embeddings]:
    """Each model restricted to the words all of them have (in its own order), so that every
    model is scored on the same benchmark items."""
    models = [_check_embeddings(m) for m in models]
    shared = set(models[0].words).intersection(*(m.words for m in models[1:]))
    restricted = []
    for m in models:
        rows = [i for i, w in enumerate(m.words) if w in shared]
        restricted.append(Embeddings([m.words[i] for i in rows], m.vectors[rows]))
    return restricted


def similarity_scores(vectors: Embeddings) -> dict[str, float]:
    """Spearman correlations on WordSim-353 and SimLex-999 (the pairs in the vocabulary), with coverage."""
    vectors = _check_embeddings(vectors)
    results = {}
    for name in ("wordsim353", "simlex999"):
        _, spearman, oov = evaluate_word_pairs(vectors, benchmark_path(name))
        results[f"{name}_spearman"] = float(spearman.statistic)
        results[f"{name}_coverage"] = 1.0 - oov / 100.0
    return results


def evaluate(vectors: Embeddings) -> dict[str, float]:
    """Spearman correlations on WordSim-353 and SimLex-999 and Google-analogy accuracy,
    each with its coverage (share of items in the vocabulary)."""
    results = similarity_scores(vectors)
    accuracy, sections = evaluate_word_analogies(vectors, benchmark_path("google_analogies"))
    total = sections[-1]
    answered = len(total["correct"]) + len(total["incorrect"])
    results["analogy_accuracy"] = accuracy
    results["analogy_coverage"] = answered / (answered + total["oov"])
    return results
