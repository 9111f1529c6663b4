"""The Kneser-Ney count model: a worked example, normalisation, and clear errors."""

import numpy as np
import pytest

from d2lmini import KneserNeyLM


def test_bigram_probabilities_match_a_hand_computation():
    # Bigrams (0, 1) twice and (1, 2) once, 3 words. Discounts: D2 = n1 / (n1 + 2 n2)
    # = 1 / 3; the unigram continuation counts are 1 and 1 (words 1 and 2), so D1 = 1
    # and the lowest order is uniform, 1/3 each.
    model = KneserNeyLM([[0], [0], [1]], [1, 1, 2], vocab_size=3)
    assert model.discounts == {2: pytest.approx(1 / 3), 1: pytest.approx(1.0)}
    # P(1 | 0) = (2 - 1/3) / 2 + (1/3) * 1 / 2 * (1/3) = 8/9; the others share 1/9.
    np.testing.assert_allclose(model.distribution([0]), [1 / 18, 8 / 9, 1 / 18])
    # A context never seen passes the lower order's distribution up unchanged.
    np.testing.assert_allclose(model.distribution([2]), [1 / 3, 1 / 3, 1 / 3])


@pytest.fixture(scope="module")
def fourgram_model():
    rng = np.random.default_rng(0)
    words = rng.zipf(1.5, size=(2000, 4)) % 30  # skewed, with repeats, like text
    return KneserNeyLM(words[:, :3], words[:, 3], vocab_size=30), words


@pytest.mark.parametrize("context", [(1, 2, 3), (0, 0, 0), (29, 28, 27)])
def test_every_distribution_sums_to_one(fourgram_model, context):
    model, _ = fourgram_model
    probabilities = model.distribution(context)
    assert probabilities.shape == (30,)
    assert (probabilities > 0).all()
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)


def test_log_probs_and_cross_entropy_agree_with_the_distribution(fourgram_model):
    model, words = fourgram_model
    inputs, targets = words[:50, :3], words[:50, 3]
    expected = [np.log(model.distribution(h)[w]) for h, w in zip(inputs, targets)]
    np.testing.assert_allclose(model.log_probs(inputs, targets), expected)
    assert model.cross_entropy(inputs, targets) == pytest.approx(-np.mean(expected))


def test_seen_fourgrams_score_better_than_shuffled_ones(fourgram_model):
    model, words = fourgram_model
    shuffled = np.random.default_rng(1).permutation(words[:, 3])
    assert model.cross_entropy(words[:, :3], words[:, 3]) < model.cross_entropy(
        words[:, :3], shuffled
    )


def test_bad_input_gets_a_clear_error(fourgram_model):
    model, _ = fourgram_model
    with pytest.raises(ValueError, match="context must hold 3 word ids"):
        model.distribution([1, 2])
    with pytest.raises(ValueError, match="vocab"):
        model.distribution([1, 2, 30])
    with pytest.raises(ValueError, match="scored_inputs must have shape"):
        model.log_probs([[1, 2]], [3])
    with pytest.raises(ValueError, match="vocab_size"):
        KneserNeyLM([[0]], [1], vocab_size=0)
