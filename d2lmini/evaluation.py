"""Word-similarity and analogy benchmarks, scored as gensim scores them.

WordSim-353 (353 pairs scored for relatedness by humans), SimLex-999 (999
pairs scored for similarity, which penalises mere association) and Google's
analogy questions (19,544 questions in 14 sections) are in the ``gensim``
wheel under ``gensim/test/test_data``; installing gensim is all it takes.
:class:`~d2lmini.Embeddings` offers these functions under gensim's method names.
The functions here score any :class:`WordVectors`: words, their vectors and
unit vectors, as :class:`~d2lmini.Embeddings` holds them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from scipy import stats

from . import _checks
from ._checks import Choice, Integer, Real, rules

__all__ = ["BENCHMARK_FILES", "benchmark_path", "pair_words", "word_pair_similarities", "evaluate_word_pairs",
           "evaluate_word_analogies", "evaluate", "common_vocabulary", "similarity_scores", "bootstrap_interval",
           "Difference", "paired_bootstrap", "compare", "analogy_outcomes", "WordVectors"]


class WordVectors(Protocol):
    """What the benchmarks read of a model's vectors (:class:`~d2lmini.Embeddings` is one).

    ``common_vocabulary`` also builds new ones as ``type(vectors)(words, vectors)``.
    """

    words: list[str]  # most frequent first, as gensim orders its keys
    vectors: np.ndarray  # (len(words), dim)
    unit_vectors: np.ndarray  # the rows of vectors scaled to length 1


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


def _check_embeddings(vectors) -> WordVectors:
    if not all(hasattr(vectors, name) for name in ("words", "vectors", "unit_vectors")):
        raise TypeError(f"vectors must be d2lmini.Embeddings (or have words, vectors and unit_vectors), "
                        f"got {type(vectors).__name__}; wrap a model's vectors with "
                        "Embeddings.from_model(model, vocab)")
    return vectors


def _lookup_table(vectors: WordVectors, case_insensitive: bool, restrict_vocab: int) -> dict[str, int]:
    # As gensim: among the first restrict_vocab words, the most frequent (first) spelling wins.
    keys = vectors.words[:_checks.integer("restrict_vocab", restrict_vocab, 1)]
    if case_insensitive:
        return {w.upper(): i for i, w in reversed(list(enumerate(keys)))}
    return {w: i for i, w in enumerate(keys)}


def _read_pairs(path: str | os.PathLike, delimiter: str = "\t"):
    """The ``(word1, word2, score)`` lines of a word-pair file (``#`` comments and malformed lines skipped)."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            try:
                a, b, score = line.rstrip("\n").split(delimiter)
                yield a, b, float(score)
            except ValueError:
                continue


def pair_words(name: str, lowercase: bool = True) -> set[str]:
    """Every word of a word-pair benchmark (``"wordsim353"`` or ``"simlex999"``), e.g. to build
    vectors for all of them with a subword model; lower-cased by default, as PTB."""
    if name not in ("wordsim353", "simlex999"):
        raise ValueError(f"name must be 'wordsim353' or 'simlex999', got {name!r}")
    words = {w for a, b, _ in _read_pairs(benchmark_path(name)) for w in (a, b)}
    return {w.lower() for w in words} if lowercase else words


def word_pair_similarities(
    vectors: WordVectors, path: str | os.PathLike, delimiter: str = "\t", case_insensitive: bool = True,
    restrict_vocab: int = 300000,
) -> tuple[np.ndarray, np.ndarray, float]:
    """The human scores and the model's cosine similarities of a word-pair file's pairs in vocabulary.

    Reads lines ``word1<delimiter>word2<delimiter>score`` (``#`` comments
    skipped); pairs with a word outside the vocabulary are left out.

    Returns:
        ``(gold, model, oov_ratio)``: two arrays, one entry per pair kept,
        and the percentage of pairs left out.
    """
    vectors = _check_embeddings(vectors)
    table = _lookup_table(vectors, case_insensitive, restrict_vocab)
    unit = vectors.unit_vectors
    gold, model, oov = [], [], 0
    for a, b, score in _read_pairs(path, delimiter):
        if case_insensitive:
            a, b = a.upper(), b.upper()
        if a not in table or b not in table:
            oov += 1
            continue
        gold.append(score)
        model.append(float(unit[table[a]] @ unit[table[b]]))
    return np.array(gold), np.array(model), 100.0 * oov / max(len(gold) + oov, 1)


def evaluate_word_pairs(
    vectors: WordVectors, path: str | os.PathLike, delimiter: str = "\t", case_insensitive: bool = True,
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
    gold, model, oov = word_pair_similarities(vectors, path, delimiter, case_insensitive, restrict_vocab)
    if len(gold) < 3:
        raise ValueError(f"only {len(gold)} pairs of {path} are in the vocabulary: too few to correlate")
    return stats.pearsonr(gold, model), stats.spearmanr(gold, model), oov


def _spearman_rows(gold: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``gold`` with the same row of ``model``."""
    a, b = stats.rankdata(gold, axis=1), stats.rankdata(model, axis=1)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    denominator = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    return np.divide((a * b).sum(axis=1), denominator, out=np.zeros(len(a)), where=denominator > 0)


@rules(kind=Choice(('spearman', 'accuracy')), n_resamples=Integer(100), confidence=Real(0.5, 0.999))
def bootstrap_interval(kind: str, *samples: np.ndarray, n_resamples: int = 2000, confidence: float = 0.95,
                       seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of a Spearman correlation or an accuracy.

    The benchmark's items are resampled with replacement ``n_resamples``
    times, and the statistic recomputed on each resample. Several runs of one
    model (seeds) scored on the same items are passed as one row each: every
    resample then draws the same items for all runs, and the interval is that
    of the runs' mean score.

    Args:
        kind: ``"spearman"`` (``samples``: human scores, one per pair, and the
            model's similarities, ``(pairs,)`` or ``(runs, pairs)``) or
            ``"accuracy"`` (``samples``: one boolean per question, true when
            answered correctly, ``(questions,)`` or ``(runs, questions)``).
        confidence: the interval's coverage, 0.95 for a 95% interval.

    Returns:
        ``(low, high)``.
    """
    arrays = [np.asarray(x, dtype=float) for x in samples]
    expected = 2 if kind == "spearman" else 1
    if len(arrays) != expected or arrays[-1].ndim not in (1, 2) or (kind == "spearman" and arrays[0].ndim != 1):
        raise ValueError(f"kind={kind!r} takes " + ("two arrays: human scores (items,) and model scores "
                                                    "(items,) or (runs, items)" if kind == "spearman" else
                                                    "one array: outcomes (items,) or (runs, items)"))
    runs = np.atleast_2d(arrays[-1])  # (runs, items)
    n = runs.shape[1]
    if (kind == "spearman" and len(arrays[0]) != n) or n < 3:
        raise ValueError(f"the samples must have the same number of items, at least 3; got "
                         f"{[x.shape[-1] for x in arrays]}")
    rows = np.random.default_rng(seed).integers(0, n, size=(n_resamples, n))
    if kind == "spearman":
        values = np.mean([_spearman_rows(arrays[0][rows], run[rows]) for run in runs], axis=0)
    else:
        values = runs.mean(axis=0)[rows].mean(axis=1)  # the runs' mean outcome per item, resampled
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class Difference:
    """Model A's score minus model B's on the same items, with a paired bootstrap interval.

    ``difference`` is the observed difference; ``interval`` the percentile
    bootstrap interval of it (95% unless asked otherwise); ``items`` how many
    items both models were scored on.
    """

    difference: float
    interval: tuple[float, float]
    items: int

    @property
    def verdict(self) -> str:
        """``"higher"`` or ``"lower"`` when the interval excludes 0, else ``"no clear difference"``."""
        low, high = self.interval
        if low > 0:
            return "higher"
        if high < 0:
            return "lower"
        return "no clear difference"

    def words(self) -> str:
        """The verdict as the words of a sentence "A's score is ___ B's"."""
        return {"higher": "higher than", "lower": "lower than",
                "no clear difference": "not clearly different from"}[self.verdict]

    def __str__(self) -> str:
        low, high = self.interval
        return f"{self.difference:+.3f} [{low:+.3f}, {high:+.3f}]"


def _statistic_per_resample(kind: str, runs: np.ndarray, rows: np.ndarray, gold: np.ndarray | None) -> np.ndarray:
    """``(runs, resamples)``: the statistic of each run on each resample of the items."""
    if kind == "spearman":
        return np.stack([_spearman_rows(gold[rows], run[rows]) for run in runs])
    values = runs[:, rows]  # (runs, resamples, items)
    return values.mean(axis=2) if kind in ("mean", "accuracy") else values.sum(axis=2)


def _statistic(kind: str, runs: np.ndarray, gold: np.ndarray | None) -> float:
    """The runs' mean statistic on all the items."""
    if kind == "spearman":
        return float(np.mean([stats.spearmanr(gold, run).statistic for run in runs]))
    return float(np.mean(runs.mean(axis=1) if kind in ("mean", "accuracy") else runs.sum(axis=1)))


@rules(kind=Choice(('spearman', 'accuracy', 'mean', 'sum')), n_resamples=Integer(100), confidence=Real(0.5, 0.999))
def paired_bootstrap(kind: str, a, b, gold=None, n_resamples: int = 2000, confidence: float = 0.95,
                     seed: int = 0) -> Difference:
    """The difference between two models scored on the same items, with its paired bootstrap interval.

    Each resample draws the items with replacement once, and both models are
    scored on that same draw, so that what the two share (an easy item, a
    hard one) cancels in the difference. When a model has several runs
    (seeds), given as rows, each resample also draws its runs with
    replacement: the interval then covers the spread between seeds too.

    Args:
        kind: ``"spearman"`` (``a``, ``b``: each model's similarity of each
            word pair, with ``gold`` the human scores), ``"accuracy"`` or
            ``"mean"`` (one outcome per item, e.g. 1 for an analogy answered
            correctly) or ``"sum"`` (one term of a summed loss per item).
        a, b: ``(items,)`` or ``(runs, items)`` arrays with the same items.
        gold: ``(items,)`` human scores, for ``"spearman"`` only.
        confidence: the interval's coverage, 0.95 for a 95% interval.

    Returns:
        A :class:`Difference`, A minus B.
    """
    a, b = (np.atleast_2d(np.asarray(x, dtype=float)) for x in (a, b))
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or a.shape[1] < 3:
        raise ValueError(f"a and b must be (items,) or (runs, items) arrays with the same items, at least 3; "
                         f"got shapes {a.shape} and {b.shape}")
    if (kind == "spearman") != (gold is not None):
        raise ValueError("gold (the human scores) is needed for kind='spearman' and only for it")
    if gold is not None:
        gold = np.asarray(gold, dtype=float)
        if gold.shape != (a.shape[1],):
            raise ValueError(f"gold must hold one human score per item, {a.shape[1]}; got shape {gold.shape}")
    rng = np.random.default_rng(seed)
    n = a.shape[1]
    # Resamples are drawn in chunks, so that many items (a loss over 30,000 word pairs) fit in memory.
    chunk = max(1, 2_000_000 // (n * max(len(a), len(b))))
    differences = []
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        rows = rng.integers(0, n, size=(size, n))
        sides = []
        for runs in (a, b):
            per_run = _statistic_per_resample(kind, runs, rows, gold)  # (runs, size)
            if len(runs) > 1:  # draw the runs too, so that the spread between seeds counts
                picks = rng.integers(0, len(runs), size=(size, len(runs)))
                sides.append(per_run[picks, np.arange(size)[:, None]].mean(axis=1))
            else:
                sides.append(per_run[0])
        differences.append(sides[0] - sides[1])
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(np.concatenate(differences), [tail, 100 - tail])
    observed = _statistic(kind, a, gold) - _statistic(kind, b, gold)
    return Difference(float(observed), (float(low), float(high)), n)


@rules(batch_size=Integer(1), method=Choice(('3cosadd', 'only_c')))
def evaluate_word_analogies(
    vectors: WordVectors, path: str | os.PathLike, case_insensitive: bool = True, restrict_vocab: int = 300000,
    batch_size: int = 1024, method: str = "3cosadd",
) -> tuple[float, list[dict]]:
    """Accuracy on analogy questions ``a b c d`` ("a is to b as c is to d"), as gensim computes it.

    The answer is the word nearest (3CosAdd) to ``b - a + c``, the three
    question words excluded; questions with a word outside the vocabulary
    are skipped and counted. Questions are answered in batches (one
    matrix product each), not one by one.

    ``method="only_c"`` answers instead with the word nearest to ``c``
    alone, the three question words excluded: Linzen's (2016) baseline,
    which shows how many answers the offset ``b - a`` adds to what the
    neighbourhood of ``c`` already gives.

    Returns:
        ``(accuracy, sections)``: accuracy over the questions answered, and
        one dict per section of the file (``section``, ``correct``,
        ``incorrect``: lists of question tuples, ``oov``: number skipped),
        then a last one, ``"Total accuracy"``, over all sections.
    """
    vectors = _check_embeddings(vectors)
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
    unit = vectors.unit_vectors[:restrict_vocab]
    for start in range(0, len(questions), batch_size):
        chunk = questions[start:start + batch_size]
        ids = np.array([[table[w] for w in q] for _, q in chunk])
        query = unit[ids[:, 2]] if method == "only_c" else unit[ids[:, 1]] - unit[ids[:, 0]] + unit[ids[:, 2]]
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


def common_vocabulary(*models: WordVectors) -> list[WordVectors]:
    """Each model restricted to the words all of them have (in its own order), so that every
    model is scored on the same benchmark items."""
    models = [_check_embeddings(m) for m in models]
    shared = set(models[0].words).intersection(*(m.words for m in models[1:]))
    restricted = []
    for m in models:
        rows = [i for i, w in enumerate(m.words) if w in shared]
        restricted.append(type(m)([m.words[i] for i in rows], m.vectors[rows]))
    return restricted


def _runs(vectors) -> list[WordVectors]:
    """One model's runs: an Embeddings, or a non-empty sequence of them with the same words."""
    runs = list(vectors) if isinstance(vectors, (list, tuple)) else [vectors]
    if not runs:
        raise ValueError("vectors must be an Embeddings or a non-empty list of them (one per run), got an empty list")
    runs = [_check_embeddings(run) for run in runs]
    if any(set(run.words) != set(runs[0].words) for run in runs[1:]):
        raise ValueError("the runs of one model must have the same words, so that they answer the same items: "
                         "restrict them with common_vocabulary(...) first")
    return runs


def similarity_scores(vectors: WordVectors | list[WordVectors], intervals: bool = False) -> dict:
    """Spearman correlations on WordSim-353 and SimLex-999 (the pairs in the vocabulary), with coverage.

    ``vectors`` is one model, or several runs of one model (seeds) with the
    same words: then ``<name>_spearman`` is the runs' mean and ``<name>_runs``
    lists each run's. With ``intervals=True``, also ``<name>_interval``: the
    95% bootstrap interval of that (mean) correlation (:func:`bootstrap_interval`).
    """
    runs = _runs(vectors)
    results = {}
    for name in ("wordsim353", "simlex999"):
        path = benchmark_path(name)
        scored = [word_pair_similarities(run, path) for run in runs]
        gold, _, oov = scored[0]
        if len(gold) < 3:
            raise ValueError(f"only {len(gold)} pairs of {path} are in the vocabulary: too few to correlate")
        model = np.array([similarities for _, similarities, _ in scored])
        per_run = [float(stats.spearmanr(gold, m).statistic) for m in model]
        results[f"{name}_spearman"] = float(np.mean(per_run))
        results[f"{name}_runs"] = per_run
        results[f"{name}_coverage"] = 1.0 - oov / 100.0
        if intervals:
            results[f"{name}_interval"] = bootstrap_interval("spearman", gold, model)
    return results


def analogy_outcomes(vectors: WordVectors | list[WordVectors], method: str = "3cosadd") -> tuple[np.ndarray, int]:
    """Which Google analogy questions each run answers right: a ``(runs, questions)`` array of 0 and 1.

    The columns are the distinct questions the runs can ask (a question
    repeated in the file counts once), in a fixed (sorted) order. So two
    calls on runs with the same words, with either ``method`` of
    :func:`evaluate_word_analogies`, give columns that pair item by item
    (for :func:`paired_bootstrap`). Also returns how many questions were
    skipped for a word outside the vocabulary.
    """
    runs = _runs(vectors)
    path = benchmark_path("google_analogies")
    answered = []
    for run in runs:
        _, sections = evaluate_word_analogies(run, path, method=method)
        total = sections[-1]
        answered.append(({tuple(q) for q in total["correct"]}, {tuple(q) for q in total["incorrect"]}))
    asked = sorted(set.union(*(c | i for c, i in answered)))
    return np.array([[q in correct for q in asked] for correct, _ in answered], dtype=float), total["oov"]


def evaluate(vectors: WordVectors | list[WordVectors], intervals: bool = False) -> dict:
    """Spearman correlations on WordSim-353 and SimLex-999 and Google-analogy accuracy,
    each with its coverage (share of items in the vocabulary), and with
    ``intervals=True`` the 95% bootstrap interval of each (``<name>_interval``).

    ``vectors`` is one model, or several runs of one model with the same words
    (seeds): each score is then the runs' mean, ``<name>_runs`` lists each
    run's, and the interval is that of the mean, all runs answering the same
    resampled items.
    """
    runs = _runs(vectors)
    results = similarity_scores(runs, intervals)
    outcomes, skipped = analogy_outcomes(runs)
    answered = outcomes.shape[1]
    accuracies = [float(run.mean()) if answered else 0.0 for run in outcomes]
    results["analogy_accuracy"] = float(np.mean(accuracies))
    results["analogy_runs"] = accuracies
    results["analogy_coverage"] = answered / (answered + skipped)
    if intervals:
        results["analogy_interval"] = bootstrap_interval("accuracy", outcomes) if answered >= 3 else (0.0, 1.0)
    return results


@rules(benchmark=Choice(('wordsim353', 'simlex999', 'analogy')))
def compare(a: WordVectors | list[WordVectors], b: WordVectors | list[WordVectors], benchmark: str,
            n_resamples: int = 2000, seed: int = 0) -> Difference:
    """Model A's score minus model B's on one benchmark, on the items both can answer.

    Both models (each one :class:`~d2lmini.Embeddings`, or a list of runs of it)
    are first restricted to the words all of them have, so that they answer
    the same pairs or questions; the interval is :func:`paired_bootstrap`'s.

    Args:
        benchmark: ``"wordsim353"``, ``"simlex999"`` (Spearman correlation)
            or ``"analogy"`` (Google analogies, accuracy).
    """
    runs_a, runs_b = _runs(a), _runs(b)
    shared = common_vocabulary(*runs_a, *runs_b)
    runs_a, runs_b = shared[:len(runs_a)], shared[len(runs_a):]
    if benchmark == "analogy":
        outcomes, _ = analogy_outcomes(runs_a + runs_b)
        return paired_bootstrap("accuracy", outcomes[:len(runs_a)], outcomes[len(runs_a):],
                                n_resamples=n_resamples, seed=seed)
    path = benchmark_path(benchmark)
    scored = [word_pair_similarities(run, path) for run in runs_a + runs_b]
    gold = scored[0][0]
    model = np.array([similarities for _, similarities, _ in scored])
    return paired_bootstrap("spearman", model[:len(runs_a)], model[len(runs_a):], gold=gold,
                            n_resamples=n_resamples, seed=seed)
