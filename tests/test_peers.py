"""The race against gensim: scores on shared pairs, the first epoch that matches each gensim point, the ratio."""

import numpy as np
import pytest

from d2lmini import Embeddings, peers


def point(trainer, epochs, seconds, seed):
    words = ["tiger", "cat", "car", "automobile", "king", "queen", "money", "bank"]
    vectors = np.random.default_rng(seed).normal(size=(len(words), 4))
    return peers.Point(trainer, epochs, seconds, Embeddings(words, vectors))


def test_race_finds_the_first_point_that_matches_both_scores(monkeypatch):
    scores = {  # by (trainer, epochs): WordSim-353, SimLex-999
        ("ours", 1): (0.10, 0.20), ("ours", 2): (0.30, 0.10), ("ours", 3): (0.30, 0.20), ("ours", 4): (0.50, 0.30),
        ("gensim", 5): (0.25, 0.15), ("gensim", 10): (0.60, 0.10),
    }
    ours = [point("ours", e, 2.0 * e, e) for e in (1, 2, 3, 4)]
    gensim = [point("gensim", 5, 9.0, 5), point("gensim", 10, 12.0, 10)]
    fake = iter(scores[(p.trainer, p.epochs)] for p in ours + gensim)
    monkeypatch.setattr(peers.evaluation, "similarity_scores", lambda vectors: dict(
        zip(("wordsim353_spearman", "simlex999_spearman"), next(fake)), wordsim353_coverage=1.0,
        simlex999_coverage=1.0))
    result = peers.race(ours, gensim)
    assert result.reached == [6.0, None]  # epoch 3 is the first with both scores at least gensim's
    assert result.ratios == [1.5, 0.0] and result.speedup == 0.0
    # epoch 3 decided the first verdict (its smaller lead, 0.05); epoch 4 came closest to the second
    assert result.margins == pytest.approx([0.05, -0.10])
    assert "margin +0.050" in result.table() and "margin -0.100" in result.table()
    assert "never" in result.table() and "ratio 1.50" in result.table()
    assert result.common_words == 8


def test_race_scores_every_model_on_the_shared_words_only(monkeypatch):
    seen = []

    def fake_scores(vectors):
        seen.append(sorted(vectors.words))
        return {"wordsim353_spearman": 0.1, "simlex999_spearman": 0.1, "wordsim353_coverage": 1.0,
                "simlex999_coverage": 1.0}

    monkeypatch.setattr(peers.evaluation, "similarity_scores", fake_scores)
    ours = [point("ours", 1, 1.0, 0)]
    other = point("gensim", 5, 2.0, 1)
    other.vectors = Embeddings(other.vectors.words[2:], other.vectors.vectors[2:])
    result = peers.race(ours, [other])
    assert result.common_words == 6
    assert seen[0] == seen[1] == sorted(other.vectors.words)


def test_race_needs_points():
    with pytest.raises(ValueError, match="at least one point"):
        peers.race([], [point("gensim", 5, 1.0, 0)])


def test_gensim_settings_are_checked_before_training():
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        peers.gensim_word2vec([["a", "b"]], 0)
    with pytest.raises(ValueError, match="epochs must be an integer >= 1"):
        peers.gensim_word2vec_by_epoch([["a", "b"]], 0)
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        peers.fast_word2vec_by_epoch([["a", "b"]], 1, workers=0)


@pytest.mark.parametrize("train", [peers.gensim_word2vec, peers.gensim_word2vec_by_epoch])
def test_gensim_sentences_are_checked_before_gensim_sees_them(train):
    with pytest.raises(TypeError, match="sentences must be a list of sentences"):
        train("the cat sat", 1)
    with pytest.raises(ValueError, match=r"no word seen at least min_count=10 times \(2 tokens in 1 sentences\)"):
        train([["a", "b"]], 1)
    with pytest.raises(ValueError, match="no word seen at least min_count=10"):
        train([], 1)


def test_gensim_by_epoch_observes_one_unchanged_training():
    pytest.importorskip("gensim")
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(30)]
    sentences = [list(rng.choice(words, size=12)) for _ in range(300)]
    points = peers.gensim_word2vec_by_epoch(sentences, 3, seed=1, workers=1)
    whole = peers.gensim_word2vec(sentences, 3, seed=1, workers=1)
    assert [p.epochs for p in points] == [1, 2, 3]
    assert all(p.trainer == "gensim, by epoch" for p in points)
    assert 0 < points[0].seconds < points[1].seconds < points[2].seconds
    assert not np.array_equal(points[0].vectors.vectors, points[2].vectors.vectors)  # copies, not one live array
    # The snapshots do not change the training: its last one is the vectors of one 3-epoch run.
    assert points[-1].vectors.words == whole.vectors.words
    np.testing.assert_array_equal(points[-1].vectors.vectors, whole.vectors.vectors)
