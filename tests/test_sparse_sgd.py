"""The engine's schedule and draws: the rate word2vec uses, the draws every trainer shares.

The SGNS block kernels are tested against autograd and finite differences in
``test_fast_skipgram.py``; the sparse update against dense SGD in ``test_family.py``.
"""

import numpy as np
import pytest

import d2lmini
from d2lmini.sparse_sgd import LinearRate, Word2VecDraws, epoch_pairs, linear_rate


def test_linear_rate_falls_from_lr_to_its_floor():
    assert linear_rate(0.05, 0.0) == 0.05
    assert linear_rate(0.05, 0.5) == pytest.approx(0.025)
    assert linear_rate(0.05, 1.0, min_lr_fraction=1e-4) == pytest.approx(5e-6)
    assert linear_rate(0.05, 1.7, min_lr_fraction=1e-4) == pytest.approx(5e-6)  # past the end: the floor


def test_linear_rate_counts_examples_over_the_first_epochs_size():
    rate = LinearRate(0.1, 0.0, num_epochs=4)
    rate.plan(250)
    rate.plan(999)  # later epochs do not change the run's length
    assert rate.rate() == 0.1
    rate.advance(500)
    assert rate.rate() == pytest.approx(0.05)
    rate.advance(2000)
    assert rate.rate() == 0.0


def test_draws_are_the_epoch_pairs_of_one_seeded_generator():
    sentences = [["a", "b", "c", "a", "b"], ["c", "a", "d", "d", "b", "a"]] * 20
    vocab = d2lmini.Vocab(sentences)
    corpus = [vocab[s] for s in sentences]
    draws = Word2VecDraws(corpus, vocab, t=1.0, seed=4)
    centers, contexts = draws.pairs(2, "none")
    same = epoch_pairs(draws.ids, draws.sentence, draws.keep, 2, np.random.default_rng(4), "none")
    assert np.array_equal(centers, same[0]) and np.array_equal(contexts, same[1])
    again = Word2VecDraws(corpus, vocab, t=1.0, seed=4)
    assert np.array_equal(again.pairs(2, "pairs")[0], Word2VecDraws(corpus, vocab, t=1.0, seed=4).pairs(2, "pairs")[0])
    with pytest.raises(TypeError, match="vocab must be a d2lmini.Vocab"):
        Word2VecDraws(corpus, {"a": 1})
