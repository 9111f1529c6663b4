"""Statistics of the vectorised skip-gram sampling, checked against its definition and d2l's loops."""

import random
from collections import Counter

import numpy as np
import pytest
import torch

import d2lmini
from d2lmini import seed_style
from d2lmini import skipgram_data as sampling
from d2lmini.corpus import flatten_corpus


def test_keep_probabilities_formula_and_unk():
    counts = np.array([50, 1000, 10, 0, 1])
    keep = sampling.keep_probabilities(counts, t=1e-2)
    freq = counts[1:] / counts[1:].sum()
    assert keep[0] == 0.0  # <unk> is always dropped
    assert keep[1] == pytest.approx(np.sqrt(1e-2 / freq[0]))
    assert keep[2] == 1.0 and keep[3] == 0.0  # rare words are kept, unseen ids never drawn
    with pytest.raises(ValueError, match="t must be a number > 0, got 0"):
        sampling.keep_probabilities(counts, t=0)


def test_alias_sampler_matches_the_distribution():
    p = sampling.noise_distribution(np.array([100, 50, 20, 5, 1, 0, 7]) * 1.0)
    assert p[0] == 0.0 and p[1:].tolist() == pytest.approx((np.array([50, 20, 5, 1, 0, 7]) ** 0.75 / (
        np.array([50, 20, 5, 1, 0, 7]) ** 0.75).sum()).tolist())
    draws = sampling.AliasSampler(p).sample(np.random.default_rng(0), 400_000)
    freq = np.bincount(draws, minlength=len(p)) / len(draws)
    assert freq[0] == 0 and freq[5] == 0
    assert np.abs(freq - p).max() < 0.003


def tiny_problem(max_window=2, noise_words=3, seed=0):
    corpus = [list(range(1, 8)), list(range(8, 11)), [11]]  # the last sentence has one word
    ids, sentence = flatten_corpus(corpus, 12)
    keep = np.ones(12)
    noise = sampling.AliasSampler(sampling.noise_distribution(np.arange(12.0) + 1))
    return corpus, sampling.draw_skipgram_sample(ids, sentence, keep, noise, max_window, noise_words,
                                                 np.random.default_rng(seed))


def test_pairs_stay_inside_sentences_and_windows():
    corpus, sample = tiny_problem()
    where = {w: (s, i) for s, line in enumerate(corpus) for i, w in enumerate(line)}
    contexts = sample.contexts_negatives[:, 0]
    for center, context in zip(sample.centers, contexts):
        (s1, i1), (s2, i2) = where[int(center)], where[int(context)]
        assert s1 == s2 and 1 <= abs(i1 - i2) <= 2
    assert 11 not in sample.centers  # a one-word sentence has no center
    assert sample.num_centers == 10
    # all rows of a center are contiguous and its weights sum to 1
    for c in range(sample.num_centers):
        rows = np.flatnonzero(sample.center_of_row == c)
        assert np.all(np.diff(rows) == 1)
        assert sample.weights[rows].sum() == pytest.approx(1.0)


def test_window_sizes_are_uniform_in_range():
    corpus = [list(range(1, 40))] * 300
    ids, sentence = flatten_corpus(corpus, 40)
    noise = sampling.AliasSampler(np.ones(40))
    sample = sampling.draw_skipgram_sample(ids, sentence, np.ones(40), noise, 4, 1, np.random.default_rng(1))
    # centers far from sentence ends have 2 * window contexts, window uniform in 1..4
    sizes = np.bincount(sample.center_of_row)
    position = np.tile(np.arange(39), 300)
    interior = sizes[(position >= 4) & (position < 35)]
    assert set(np.unique(interior)) == {2, 4, 6, 8}
    assert np.abs(np.bincount(interior // 2)[1:] / len(interior) - 0.25).max() < 0.02


def test_negatives_are_never_unk_nor_a_context_of_their_center():
    corpus, sample = tiny_problem(noise_words=5)
    negatives = sample.contexts_negatives[:, 1:]
    assert (negatives != 0).all()
    for c in range(sample.num_centers):
        rows = sample.center_of_row == c
        assert not set(negatives[rows].ravel()) & set(sample.contexts_negatives[rows, 0])


def test_ptb_sampling_statistics(ptb_train):
    data_iter, vocab = d2lmini.load_data_ptb(512, 5, 5, seed=0)
    assert len(vocab) == 6719
    data = data_iter.dataset
    sample = data.draw()
    # about d2l's 1,503,420 pairs; subsampling keeps about 343k of the 887k tokens
    assert 1_450_000 < len(sample.centers) < 1_560_000
    assert 330_000 < sample.num_centers < 356_000
    assert (sample.centers != 0).all() and (sample.contexts_negatives != 0).all()  # no <unk> anywhere
    # subsampling: kept share of "the" close to its keep probability
    the = vocab["the"]
    ids, _ = flatten_corpus(vocab.encode(ptb_train), len(vocab))
    centers_the = (sample.weights * (sample.centers == the)).sum()  # each center's weights sum to 1
    assert centers_the / (ids == the).sum() == pytest.approx(data.keep[the], rel=0.05)
    # negatives follow count ** 0.75 (rejection of context words biases frequent ones slightly down)
    negatives = sample.contexts_negatives[:, 1:]
    freq = np.bincount(negatives.ravel(), minlength=len(vocab)) / negatives.size
    p = data.noise.probabilities
    assert np.abs(freq - p).max() < 0.002
    assert np.corrcoef(freq, p)[0, 1] > 0.999


def test_batches_cover_each_center_once_with_padding_free_rows(ptb_train):
    data_iter, _ = d2lmini.load_data_ptb(4096, 5, 5, seed=1, resample=False)
    sample = data_iter.dataset._sample
    total_centers = total_rows = 0
    for batch in data_iter:
        assert batch.centers.shape == (len(batch.weights), 1)
        assert batch.contexts_negatives.shape == (len(batch.weights), 6)
        assert torch.equal(batch.labels[:, 0], torch.ones(len(batch.weights)))
        assert batch.labels[:, 1:].sum() == 0
        assert batch.weights.sum().item() == pytest.approx(batch.num_centers, rel=1e-5)
        total_centers += batch.num_centers
        total_rows += len(batch.weights)
    assert total_centers == sample.num_centers and total_rows == len(sample.centers)


def test_reference_pipeline_on_a_tiny_corpus():
    random.seed(0)
    centers, contexts = seed_style.centers_and_contexts_reference([list(range(7)), list(range(7, 10))], 2)
    assert centers == list(range(10)) and all(1 <= len(c) <= 4 for c in contexts)
    vocab = d2lmini.Vocab([["a", "b", "b", "c", "c", "c"]])
    negatives = seed_style.negatives_reference([[1], [2, 3]], vocab, Counter({"a": 1, "b": 2, "c": 3}), 2)
    assert [len(n) for n in negatives] == [2, 4]
    assert 1 not in negatives[0] and not {2, 3} & set(negatives[1])
    c, cn, mask, label = seed_style.batchify_reference([(1, [2, 2], [3, 3, 3, 3]), (1, [2, 2, 2], [3, 3])])
    assert cn.tolist() == [[2, 2, 3, 3, 3, 3], [2, 2, 2, 3, 3, 0]]
    assert mask.tolist() == [[1] * 6, [1] * 5 + [0]] and label.tolist()[1] == [1, 1, 1, 0, 0, 0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="max_window_size must be an integer >= 1, got 0"):
        d2lmini.load_data_ptb(512, 0, 5)
    with pytest.raises(ValueError, match="num_noise_words must be an integer >= 1"):
        d2lmini.load_data_ptb(512, 5, -1)
    with pytest.raises(ValueError, match="batch_size"):
        d2lmini.load_data_ptb(0, 5, 5)


# --- small corpora, closed vocabularies, bounded redraws ----------------------------------


def test_tiny_corpus_whose_contexts_cover_every_noise_word_is_refused_not_hung():
    s = [["the", "cat", "sat", "on", "the", "mat"]]
    v = d2lmini.Vocab(s)
    with pytest.raises(ValueError, match=r"too small for negative sampling.*contexts of 'the' cover all 5 words"):
        d2lmini.SkipGramData(v.encode(s), v, 2, 5, 1, t=1.0)
    data = d2lmini.SkipGramData(v.encode(s), v, 2, 1, 1, t=1.0)  # a narrower window leaves noise to draw
    assert sum(b.num_centers for b in data) == 6


def test_corpus_with_no_pairs_or_no_words_says_why():
    v = d2lmini.Vocab([["a"], ["b"], ["c"]])
    with pytest.raises(ValueError, match="no \\(center, context\\) pair"):
        d2lmini.SkipGramData(v.encode([["a"], ["b"], ["c"]]), v, 2, 2, 1, t=1.0)
    only_unk = d2lmini.Vocab([["x", "y"]], min_freq=5)
    with pytest.raises(ValueError, match="counts are all zero"):
        d2lmini.SkipGramData(only_unk.encode([["x", "y"]]), only_unk, 2, 2, 1)


def test_closed_vocabulary_keeps_id_0():
    sentences = [list("abcdefgh")] * 30
    closed = d2lmini.Vocab(sentences, unk_token=None)
    data = d2lmini.SkipGramData(closed.encode(sentences), closed, 8, 2, 2, t=1.0)
    sample = data.draw()
    assert 0 in sample.centers and 0 in sample.contexts_negatives[:, 0]  # id 0 is a real word here
    assert data.keep[0] > 0 and data.noise.probabilities[0] > 0


def test_redraws_are_bounded_and_the_rest_drawn_exactly():
    # The contexts of every center hold all the noise mass but 2e-12: rejection alone would need
    # about 5e11 draws per noise word; the bounded rounds and the exact fallback finish at once.
    p = np.array([0.0, 0.5 - 1e-12, 0.5 - 1e-12, 2e-12])
    noise = sampling.AliasSampler(p)
    ids = np.array([1, 2] * 500 + [3, 1], dtype=np.int64)
    sentence = np.zeros(len(ids), dtype=np.int32)
    sample = sampling.draw_skipgram_sample(ids, sentence, np.ones(4), noise, 1, 3, np.random.default_rng(0))
    for c in range(sample.num_centers):
        rows = sample.center_of_row == c
        assert not set(sample.contexts_negatives[rows, 1:].ravel()) & set(sample.contexts_negatives[rows, 0])


def test_exact_fallback_draws_the_restricted_distribution():
    p = np.array([0.1, 0.2, 0.3, 0.4])
    excluded = np.array([[1, -1], [0, 3]])
    draws = sampling._draw_excluding(p, excluded, 20000, np.random.default_rng(0))
    first = np.bincount(draws[0], minlength=4) / 20000
    second = np.bincount(draws[1], minlength=4) / 20000
    assert first[1] == 0 and np.allclose(first, np.array([0.1, 0, 0.3, 0.4]) / 0.8, atol=0.015)
    assert second[0] == 0 and second[3] == 0 and np.allclose(second, [0, 0.4, 0.6, 0], atol=0.015)


def test_wrong_kinds_of_input():
    v = d2lmini.Vocab([list("abcd")])
    with pytest.raises(TypeError, match="corpus holds words, not ids"):
        d2lmini.SkipGramData([list("abcd")], v, 2, 1, 1)
    with pytest.raises(TypeError, match="vocab must be a d2lmini.Vocab"):
        d2lmini.SkipGramData([[1, 2]], ["a", "b"], 2, 1, 1)
    with pytest.raises(TypeError, match="batch_size must be an integer, got 2.0"):
        d2lmini.SkipGramData([[1, 2]], v, 2.0, 1, 1)


def test_d2l_padded_masked_loss_equals_the_padding_free_weighted_loss():
    """The word2vec chapter's central claim: same sample, same model, same loss per center."""
    torch.manual_seed(0)
    sentences = [list("abcdefghij"), list("jihgfedcba"), list("acegi")] * 5
    vocab = d2lmini.Vocab(sentences)
    data = d2lmini.SkipGramData(vocab.encode(sentences), vocab, batch_size=1000, max_window_size=3,
                                num_noise_words=4, t=1.0, seed=0)
    sample = data.draw()
    model = d2lmini.SkipGram(len(vocab), 6)
    # Ours: one row per pair, weight 1/contexts.
    scores = model(torch.as_tensor(sample.centers[:, None], dtype=torch.long),
                   torch.as_tensor(sample.contexts_negatives, dtype=torch.long)).squeeze(1)
    labels = torch.zeros_like(scores)
    labels[:, 0] = 1
    per_row = d2lmini.sigmoid_bce_loss(scores, labels) * torch.as_tensor(sample.weights, dtype=torch.float32)
    ours = torch.zeros(sample.num_centers).index_add_(0, torch.as_tensor(sample.center_of_row), per_row)
    # d2l's: one padded row per center (contexts, then their noise words), masked loss.
    items = []
    for c in range(sample.num_centers):
        rows = np.flatnonzero(sample.center_of_row == c)
        items.append((int(sample.centers[rows[0]]), sample.contexts_negatives[rows, 0].tolist(),
                      sample.contexts_negatives[rows, 1:].ravel().tolist()))
    center, contexts_negatives, mask, label = seed_style.batchify_reference(items)
    assert (mask == 0).any()  # the padded layout really pads here
    pred = model(center, contexts_negatives).squeeze(1)
    d2l = d2lmini.sigmoid_bce_loss(pred, label.float(), mask)
    assert torch.allclose(ours, d2l, rtol=1e-5, atol=1e-6)
    assert ours.mean().item() == pytest.approx(d2l.mean().item(), rel=1e-5)


def test_word2vec_subsampling_formula_keeps_more_frequent_words():
    counts = np.array([7, 1000, 10, 0, 1])
    d2l = sampling.keep_probabilities(counts, t=1e-2)
    w2v = sampling.keep_probabilities(counts, t=1e-2, formula="word2vec")
    ratio = 1e-2 / (1000 / 1011)
    assert w2v[1] == pytest.approx(np.sqrt(ratio) + ratio) and w2v[1] > d2l[1]  # word2vec's C code and gensim
    assert w2v[0] == 0.0 and w2v[2] == 1.0
    with pytest.raises(ValueError, match="formula must be one of"):
        sampling.keep_probabilities(counts, formula="gensim")
