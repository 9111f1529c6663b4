"""The numbers and words a chapter prints, checked against oracles that do not share our code.

The numerics underneath (gradients, counters) have their own tests. These check the
layer that reports results: each test here failed with a bug planted in that layer
(Pearson for Spearman, an inverted coverage, rows paired with the wrong words, a
context read backwards, the wrong table exported, centers separated from their
contexts), while every other unit test passed.
"""

from collections import Counter

import numpy as np
import pytest
import torch

import d2lmini
from d2lmini import evaluation
from d2lmini.embeddings import Embeddings
from d2lmini.sparse_sgd import epoch_pairs

gensim_models = pytest.importorskip("gensim.models")


@pytest.fixture(scope="module")
def benchmark_vectors():
    """Random vectors for most words of WordSim-353 and SimLex-999 (every fifth left out)."""
    words = sorted(evaluation.pair_words("wordsim353") | evaluation.pair_words("simlex999"))
    words = [w for i, w in enumerate(words) if i % 5]
    rng = np.random.default_rng(3)
    return Embeddings(words, rng.standard_normal((len(words), 16)).astype(np.float32))


def test_similarity_scores_are_gensims_spearman_and_coverage(benchmark_vectors):
    kv = gensim_models.KeyedVectors(vector_size=benchmark_vectors.vector_size)
    kv.add_vectors(benchmark_vectors.words, benchmark_vectors.vectors)
    scores = evaluation.similarity_scores(benchmark_vectors)
    for name in ("wordsim353", "simlex999"):
        _, spearman, oov_percent = kv.evaluate_word_pairs(evaluation.benchmark_path(name))
        assert scores[f"{name}_spearman"] == pytest.approx(spearman.statistic, abs=1e-9)
        assert scores[f"{name}_coverage"] == pytest.approx(1 - oov_percent / 100, abs=1e-12)
        assert 0.5 < scores[f"{name}_coverage"] < 1  # some pairs were left out, most kept


def test_common_vocabulary_keeps_each_words_own_vector():
    rng = np.random.default_rng(0)
    a = Embeddings(["the", "cat", "sat", "mat"], rng.standard_normal((4, 3)))
    b = Embeddings(["mat", "dog", "the", "sat"], rng.standard_normal((4, 3)))
    for original, restricted in zip((a, b), evaluation.common_vocabulary(a, b)):
        assert sorted(restricted.words) == ["mat", "sat", "the"]
        for word in restricted.words:
            np.testing.assert_array_equal(restricted[word], original[word])


def test_predict_next_word_reads_the_context_left_to_right():
    vocab = d2lmini.Vocab([list("abcdefgh")] * 3)
    torch.manual_seed(0)
    model = d2lmini.NGramLM(len(vocab), embed_size=4, hidden_size=8, init_std=1.0)
    context = ("b", "e", "g")
    ids = torch.tensor([[vocab.lookup(w) for w in context]])  # built by hand, w1 first
    with torch.no_grad():
        expected = torch.softmax(model(ids), dim=-1)[0]
        reversed_probs = torch.softmax(model(ids.flip(1)), dim=-1)[0]
    got = d2lmini.predict_next_word(model, vocab, *context, k=len(vocab))
    assert [vocab.lookup(word) for word, _ in got] == torch.argsort(expected, descending=True).tolist()
    for word, probability in got:
        assert probability == pytest.approx(float(expected[vocab.lookup(word)]), rel=1e-6)
    assert not torch.allclose(expected, reversed_probs)  # the test can tell the two orders apart


@pytest.mark.parametrize(("model", "table"), [
    (lambda n: d2lmini.SkipGram(n, 4), "center"),  # word2vec's input vectors
    (lambda n: d2lmini.CBOW(n, 4), "context"),  # CBOW's inputs are the window's words
    (lambda n: d2lmini.NGramLM(n, 4), "word_embedding"),
])
def test_exported_word_vectors_are_the_models_input_table(model, table):
    vocab = d2lmini.Vocab([list("abcab")])
    torch.manual_seed(0)
    built = model(len(vocab))
    with torch.no_grad():  # word2vec starts its output table at zero: make it differ
        for other in built.modules():
            if isinstance(other, torch.nn.Embedding) and other is not getattr(built, table):
                other.weight.normal_()
    exported = Embeddings.from_model(built, vocab)
    rows = getattr(built, table).weight.detach().numpy()
    for word in exported.words:
        np.testing.assert_array_equal(exported[word], rows[vocab.lookup(word)])


def test_glove_exports_the_sum_of_its_two_tables():
    vocab = d2lmini.Vocab([list("abcab")])
    torch.manual_seed(0)
    model = d2lmini.GloVe(len(vocab), 4)
    exported = Embeddings.from_model(model, vocab)
    total = (model.center.weight + model.context.weight).detach().numpy()
    for word in exported.words:
        np.testing.assert_allclose(exported[word], total[vocab.lookup(word)])


def tiny_corpus():
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 30, size=400)
    sentence = np.repeat(np.arange(20), 20)  # twenty sentences of twenty tokens
    return ids, sentence, np.full(30, 0.9)


@pytest.mark.parametrize("shuffle", ["pairs", "centers"])
def test_shuffling_reorders_the_pairs_and_keeps_every_pair(shuffle):
    ids, sentence, keep = tiny_corpus()
    plain = epoch_pairs(ids, sentence, keep, 3, np.random.default_rng(5), shuffle="none")
    shuffled = epoch_pairs(ids, sentence, keep, 3, np.random.default_rng(5), shuffle=shuffle)
    assert Counter(zip(*map(np.ndarray.tolist, shuffled))) == Counter(zip(*map(np.ndarray.tolist, plain)))
    assert not np.array_equal(shuffled[0], plain[0])


def test_shuffle_none_lists_each_centers_window_in_corpus_order():
    """The pairs of "none" against a loop over the same subsampled tokens and window sizes."""
    ids, sentence, keep = tiny_corpus()
    centers, contexts = epoch_pairs(ids, sentence, keep, 3, np.random.default_rng(5), shuffle="none")
    rng = np.random.default_rng(5)  # the same draws, in the order draw_windows makes them
    kept = rng.random(len(ids)) < keep[ids]
    tokens, sentences = ids[kept], sentence[kept]
    windows = rng.integers(1, 4, size=len(tokens))
    expected = [(int(tokens[i]), int(tokens[j]))
                for i in range(len(tokens))
                for j in range(max(0, i - windows[i]), min(len(tokens), i + windows[i] + 1))
                if j != i and sentences[j] == sentences[i]]
    assert list(zip(centers.tolist(), contexts.tolist())) == expected


def test_analogy_accuracy_counts_gensims_distinct_correct_questions():
    path = evaluation.benchmark_path("google_analogies")
    with open(path, encoding="utf-8") as f:
        words = list(dict.fromkeys(w for line in f if not line.startswith(":") for w in line.lower().split()))
    words = [w for i, w in enumerate(words) if i % 4]  # some questions skipped for a missing word
    rng = np.random.default_rng(2)
    vectors = Embeddings(words, rng.standard_normal((len(words), 4)).astype(np.float32))
    kv = gensim_models.KeyedVectors(vector_size=4)
    kv.add_vectors(words, vectors.vectors)
    _, sections = kv.evaluate_word_analogies(path)
    correct = {tuple(q) for q in sections[-1]["correct"]}
    asked = correct | {tuple(q) for q in sections[-1]["incorrect"]}
    scores = evaluation.evaluate(vectors)
    assert 0 < len(correct) < len(asked)  # in four dimensions, random vectors get a few right
    assert scores["analogy_accuracy"] == pytest.approx(len(correct) / len(asked), abs=1e-12)
