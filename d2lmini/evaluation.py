"""Word-similarity and analogy benchmarks, read from the files that ship with gensim.

WordSim-353 (353 pairs scored for relatedness by humans), SimLex-999 (999
pairs scored for similarity, which penalises mere association) and Google's
analogy questions (19,544 questions in 14 sections) are in the ``gensim``
wheel under ``gensim/test/test_data``; installing gensim is all it takes.
"""

from __future__ import annotations

from pathlib import Path

from .embeddings import Embeddings

__all__ = ["BENCHMARK_FILES", "benchmark_path", "evaluate"]

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
        raise ImportError("the benchmark files ship with gensim: pip install gensim") from err
    path = Path(datapath(BENCHMARK_FILES[name]))
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the installed gensim package")
    return path


def evaluate(vectors: Embeddings) -> dict[str, float]:
    """Spearman correlations on WordSim-353 and SimLex-999 and Google-analogy accuracy,
    each with its coverage (share of items in the vocabulary)."""
    results = {}
    for name in ("wordsim353", "simlex999"):
        _, spearman, oov = vectors.evaluate_word_pairs(benchmark_path(name))
        results[f"{name}_spearman"] = float(spearman.statistic)
        results[f"{name}_coverage"] = 1.0 - oov / 100.0
    accuracy, sections = vectors.evaluate_word_analogies(benchmark_path("google_analogies"))
    total = sections[-1]
    answered = len(total["correct"]) + len(total["incorrect"])
    results["analogy_accuracy"] = accuracy
    results["analogy_coverage"] = answered / (answered + total["oov"])
    return results
