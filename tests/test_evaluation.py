"""Our gensim-style evaluation against gensim's own implementation, on the same vectors."""

import numpy as np
import pytest
from scipy import stats

import d2lmini
from d2lmini import Embeddings, evaluation

gensim_models = pytest.importorskip("gensim.models")


@pytest.fixture(scope="module")
def vectors():
    """Random vectors over words that cover part of each benchmark, mixed case included."""
    rng = np.random.default_rng(0)
    words = []
    for name in ("wordsim353", "simlex999"):
        with open(evaluation.benchmark_path(name), encoding="utf-8") as f:
            for line in f:
                if not line.startswith("#"):
                    words += line.split("\t")[:2]
    with open(evaluation.benchmark_path("google_analogies"), encoding="utf-8") as f:
        for line in f:
            if not line.startswith(":"):
                words += line.split()
    words = list(dict.fromkeys(words))
    words = [w for i, w in enumerate(words) if i % 7]  # leave some out: out-of-vocabulary items
    words += ["Tiger", "LOVE"]  # case variants: the first (more frequent) spelling must win
    words += [f"filler{i}" for i in range(200)]
    return Embeddings(words, rng.standard_normal((len(words), 20)).astype(np.float32))


@pytest.fixture(scope="module")
def keyed(vectors):
    kv = gensim_models.KeyedVectors(vector_size=vectors.vector_size)
    kv.add_vectors(vectors.words, vectors.vectors)
    return kv


@pytest.mark.parametrize("name", ["wordsim353", "simlex999"])
@pytest.mark.parametrize("case_insensitive", [True, False])
def test_word_pairs_agree_with_gensim(vectors, keyed, name, case_insensitive):
    path = evaluation.benchmark_path(name)
    ours = vectors.evaluate_word_pairs(path, case_insensitive=case_insensitive)
    theirs = keyed.evaluate_word_pairs(path, case_insensitive=case_insensitive)
    assert ours[0].statistic == pytest.approx(theirs[0].statistic, abs=1e-6)
    assert ours[1].statistic == pytest.approx(theirs[1].statistic, abs=1e-6)
    assert ours[2] == pytest.approx(theirs[2], abs=1e-9)  # the same pairs counted out of vocabulary
    assert 0 < ours[2] < 100


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_analogies_agree_with_gensim(vectors, keyed, case_insensitive):
    path = evaluation.benchmark_path("google_analogies")
    ours_score, ours_sections = vectors.evaluate_word_analogies(path, case_insensitive=case_insensitive)
    theirs_score, theirs_sections = keyed.evaluate_word_analogies(path, case_insensitive=case_insensitive)
    assert ours_score == pytest.approx(theirs_score, abs=1e-6)
    assert [s["section"] for s in ours_sections] == [s["section"] for s in theirs_sections]
    for ours, theirs in zip(ours_sections, theirs_sections):
        assert [tuple(q) for q in ours["correct"]] == [tuple(q) for q in theirs["correct"]]
        assert len(ours["incorrect"]) == len(theirs["incorrect"])
    total_questions = sum(1 for line in open(path) if not line.startswith(":"))
    answered = len(ours_sections[-1]["correct"]) + len(ours_sections[-1]["incorrect"])
    assert answered + ours_sections[-1]["oov"] == total_questions


def test_analogy_on_a_hand_made_embedding(tmp_path):
    emb = Embeddings(["king", "queen", "man", "woman", "apple"],
                     [[0.9, 0.8, 0.1], [0.9, 0.1, 0.8], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9], [-0.5, 0.0, 0.0]])
    questions = tmp_path / "q.txt"
    questions.write_text(": royal\nman king woman queen\nman king woman apple\nman king woman pear\n")
    accuracy, sections = emb.evaluate_word_analogies(questions)
    assert accuracy == 0.5 and sections[0]["oov"] == 1 and len(sections[0]["correct"]) == 1
    assert emb.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    assert emb.doesnt_match(["king", "queen", "apple"]) == "apple"
    bad = tmp_path / "bad.txt"
    bad.write_text("man king woman queen\n")
    with pytest.raises(ValueError, match="missing section header"):
        emb.evaluate_word_analogies(bad)


def test_only_c_answers_with_the_nearest_word_to_c(vectors, keyed):
    """Linzen's baseline against gensim's nearest neighbours of c, a and b left out."""
    path = evaluation.benchmark_path("google_analogies")
    _, sections = vectors.evaluate_word_analogies(path, case_insensitive=False, method="only_c")
    correct = {tuple(q) for q in sections[-1]["correct"]}
    asked = sections[-1]["correct"] + sections[-1]["incorrect"]
    assert len(asked) > 300
    for a, b, c, d in asked[::len(asked) // 300]:
        nearest = next(w for w, _ in keyed.most_similar(positive=[c], topn=3) if w not in (a, b))
        assert ((a, b, c, d) in correct) == (nearest == d)


def test_only_c_differs_from_the_offset_where_it_should(tmp_path):
    # "girl" is the nearest word to "woman", but the offset king - man + woman lands on "queen"
    emb = Embeddings(["king", "queen", "man", "woman", "girl"],
                     [[1.0, 0.0, 0.0], [0.7, 0.0, 0.7], [0.0, 1.0, 0.0], [0.0, 0.7, 0.7], [0.0, 0.6, 0.8]])
    questions = tmp_path / "q.txt"
    questions.write_text(": royal\nman king woman queen\n")
    assert emb.evaluate_word_analogies(questions)[0] == 1.0
    assert emb.evaluate_word_analogies(questions, method="only_c")[0] == 0.0
    with pytest.raises(ValueError, match="method must be one of"):
        emb.evaluate_word_analogies(questions, method="3cosmul")


def test_analogy_outcomes_pair_the_two_methods_question_by_question(vectors):
    runs = [vectors, Embeddings(vectors.words, vectors.vectors[::-1].copy())]
    offset, skipped = evaluation.analogy_outcomes(runs)
    only_c, skipped_c = evaluation.analogy_outcomes(runs, method="only_c")
    assert offset.shape == only_c.shape and offset.shape[0] == 2 and skipped == skipped_c
    path = evaluation.benchmark_path("google_analogies")

    def distinct_accuracy(run, method):  # each distinct question once, as analogy_outcomes counts
        total = run.evaluate_word_analogies(path, method=method)[1][-1]
        right = {tuple(q) for q in total["correct"]}
        return len(right) / len(right | {tuple(q) for q in total["incorrect"]})

    for run, row, row_c in zip(runs, offset, only_c):
        assert row.mean() == pytest.approx(distinct_accuracy(run, "3cosadd"))
        assert row_c.mean() == pytest.approx(distinct_accuracy(run, "only_c"))


def test_cosmul_and_doesnt_match_agree_with_gensim(vectors, keyed):
    words = vectors.words[:3]
    ours = vectors.most_similar_cosmul(positive=words[:2], negative=words[2:3], topn=5)
    theirs = keyed.most_similar_cosmul(positive=words[:2], negative=words[2:3], topn=5)
    assert [w for w, _ in ours] == [w for w, _ in theirs]
    assert [s for _, s in ours] == pytest.approx([s for _, s in theirs], rel=1e-4)
    assert vectors.doesnt_match(vectors.words[:6]) == keyed.doesnt_match(vectors.words[:6])
    assert vectors.most_similar(positive=words[:2], negative=words[2:3], topn=5)[0][0] == \
        keyed.most_similar(positive=words[:2], negative=words[2:3], topn=5)[0][0]


def test_word2vec_format_round_trip_and_gensim_reads_it(tmp_path, vectors):
    path = tmp_path / "vectors.txt"
    vectors.save_word2vec_format(path)
    again = Embeddings.load_word2vec_format(path)
    assert again.words == vectors.words and np.array_equal(again.vectors, vectors.vectors)
    kv = gensim_models.KeyedVectors.load_word2vec_format(str(path), binary=False)
    assert kv.index_to_key == vectors.words and np.array_equal(kv.vectors, vectors.vectors)
    assert [w for w, _ in kv.most_similar("tiger", topn=5)] == [w for w, _ in vectors.most_similar("tiger", topn=5)]
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.txt"]  # no temporary file left


def test_loading_malformed_files_says_what_is_wrong(tmp_path):
    path = tmp_path / "broken.txt"
    path.write_text("2 3\na 1 2 3\nb 1 2\n")
    with pytest.raises(ValueError, match=r"line 3: expected a word and 3 numbers, got 3 fields"):
        Embeddings.load_word2vec_format(path)
    path.write_text("3 2\na 1 2\n")
    with pytest.raises(ValueError, match="announces 3 words but the file holds 1"):
        Embeddings.load_word2vec_format(path)
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="first line"):
        Embeddings.load_word2vec_format(path)


def test_errors_for_unknown_words_and_empty_inputs(vectors):
    with pytest.raises(KeyError, match="not in the vocabulary"):
        vectors.most_similar_cosmul(positive=["zzzqx"])
    with pytest.raises(ValueError, match="at least one positive"):
        vectors.most_similar_cosmul(positive=[])
    with pytest.raises(ValueError, match="at least two words"):
        vectors.doesnt_match(["tiger"])
    with pytest.raises(ValueError, match="topn must be"):
        vectors.most_similar_cosmul(positive=["tiger"], topn=0)
    with pytest.raises(KeyError, match="unknown benchmark"):
        evaluation.benchmark_path("toefl")


def test_from_model_for_each_model():
    vocab = d2lmini.Vocab([["a", "b", "b"]])
    for model in (d2lmini.GloVe(len(vocab), 4), d2lmini.SkipGram(len(vocab), 4), d2lmini.NGramLM(len(vocab), 4)):
        emb = Embeddings.from_model(model, vocab)
        assert emb.words == ["b", "a"] and emb.vector_size == 4
    with pytest.raises(TypeError, match="word_vectors"):
        Embeddings.from_model(object(), vocab)


def test_spearman_of_each_resample_equals_scipys():
    rng = np.random.default_rng(0)
    gold, model = rng.normal(size=(5, 40)), rng.normal(size=(5, 40))
    model[:, :3] = model[:, 3:6]  # ties, ranked as scipy ranks them
    ours = evaluation._spearman_rows(gold, model)
    expected = [stats.spearmanr(g, m).statistic for g, m in zip(gold, model)]
    assert np.allclose(ours, expected)


def test_bootstrap_interval_of_a_spearman_correlation_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    rho, n, hits, runs = 0.5, 150, 0, 200
    cov = [[1.0, rho], [rho, 1.0]]
    # For normal data, Spearman's population value is (6 / pi) * asin(rho / 2).
    truth = 6 / np.pi * np.arcsin(rho / 2)
    for run in range(runs):
        gold, model = rng.multivariate_normal([0, 0], cov, size=n).T
        low, high = evaluation.bootstrap_interval("spearman", gold, model, n_resamples=500, seed=run)
        hits += low <= truth <= high
    assert 0.88 <= hits / runs <= 0.99


def test_bootstrap_interval_of_an_accuracy():
    outcomes = np.r_[np.ones(60), np.zeros(40)]
    low, high = evaluation.bootstrap_interval("accuracy", outcomes)
    assert 0.48 < low < 0.55 and 0.65 < high < 0.72  # about 0.6 +- 1.96 * sqrt(0.24 / 100)
    assert evaluation.bootstrap_interval("accuracy", np.ones(50)) == (1.0, 1.0)


def test_paired_difference_of_identical_models_is_exactly_zero():
    rng = np.random.default_rng(0)
    gold, model = rng.normal(size=50), rng.normal(size=50)
    same = evaluation.paired_bootstrap("spearman", model, model, gold=gold)
    assert same.difference == 0 and same.interval == (0.0, 0.0) and same.items == 50
    assert same.verdict == "no clear difference" and same.words() == "not clearly different from"


def test_paired_interval_contains_the_observed_difference_and_decides_the_verdict():
    rng = np.random.default_rng(1)
    gold = rng.normal(size=300)
    good, bad = gold + rng.normal(0, 0.5, 300), gold + rng.normal(0, 3.0, 300)
    better = evaluation.paired_bootstrap("spearman", good, bad, gold=gold)
    low, high = better.interval
    assert low <= better.difference <= high
    expected = stats.spearmanr(gold, good).statistic - stats.spearmanr(gold, bad).statistic
    assert better.difference == pytest.approx(expected)
    assert better.verdict == "higher" and better.words() == "higher than"
    worse = evaluation.paired_bootstrap("spearman", bad, good, gold=gold)
    assert worse.verdict == "lower" and worse.difference == pytest.approx(-expected)


def test_pairing_removes_what_two_similar_models_share():
    # Two models that make the same big errors and differ by a little noise: scored apart, their
    # intervals overlap widely; paired on the same items, the small difference is resolved.
    rng = np.random.default_rng(2)
    gold = rng.normal(size=400)
    shared = gold + rng.normal(0, 1.5, 400)
    a, b = shared + rng.normal(0, 0.1, 400), shared + rng.normal(0, 0.6, 400)
    paired = evaluation.paired_bootstrap("spearman", a, b, gold=gold)
    ia = evaluation.bootstrap_interval("spearman", gold, a)
    ib = evaluation.bootstrap_interval("spearman", gold, b)
    assert ia[0] < ib[1]  # the separate intervals overlap
    assert paired.verdict == "higher"


def test_paired_interval_of_an_accuracy_covers_the_true_difference_about_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    hits, trials = 0, 200
    for trial in range(trials):
        a, b = rng.random(200) < 0.6, rng.random(200) < 0.5
        low, high = evaluation.paired_bootstrap("accuracy", a, b, n_resamples=500, seed=trial).interval
        hits += low <= 0.1 <= high
    assert 0.88 <= hits / trials <= 0.99


def test_a_summed_loss_is_compared_item_by_item():
    losses_a, losses_b = np.arange(10.0), np.arange(10.0) + 0.5
    result = evaluation.paired_bootstrap("sum", losses_a, losses_b)
    assert result.difference == pytest.approx(-5.0) and result.interval == pytest.approx((-5.0, -5.0))
    assert result.verdict == "lower"


def test_several_runs_widen_the_interval_by_their_spread():
    rng = np.random.default_rng(4)
    base = rng.random((1, 300)) < 0.5
    other = rng.random((1, 300)) < 0.5
    one = evaluation.paired_bootstrap("accuracy", base, other)
    # Three runs (seeds) of one model whose accuracies differ: one gets 40 more items right, one 40
    # fewer. The spread between seeds must widen the interval.
    runs = np.repeat(base, 3, axis=0).astype(float)
    runs[1, np.flatnonzero(runs[1] == 0)[:40]] = 1
    runs[2, np.flatnonzero(runs[2] == 1)[:40]] = 0
    several = evaluation.paired_bootstrap("accuracy", runs, other)
    assert several.difference == pytest.approx(runs.mean() - other.mean())
    assert several.interval[1] - several.interval[0] > one.interval[1] - one.interval[0]


@pytest.mark.parametrize("args, kwargs, message", [
    (("median", np.ones(5), np.ones(5)), {}, "kind must be one of"),
    (("mean", np.ones(5), np.ones(4)), {}, "same items"),
    (("mean", np.ones(2), np.ones(2)), {}, "at least 3"),
    (("spearman", np.ones(5), np.ones(5)), {}, "gold"),
    (("mean", np.ones(5), np.ones(5)), {"gold": np.ones(5)}, "gold"),
    (("spearman", np.ones(5), np.ones(5)), {"gold": np.ones(4)}, "one human score per item"),
])
def test_paired_bootstrap_refuses_bad_samples(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        evaluation.paired_bootstrap(*args, **kwargs)


def test_compare_scores_two_models_on_the_items_both_answer(vectors):
    rng = np.random.default_rng(5)
    noisy = Embeddings(vectors.words, vectors.vectors + rng.normal(0, 0.5, vectors.vectors.shape))
    fewer = Embeddings(noisy.words[::2], noisy.vectors[::2])  # answers fewer items
    for benchmark, key in (("wordsim353", "wordsim353_spearman"), ("simlex999", "simlex999_spearman"),
                           ("analogy", "analogy_accuracy")):
        same = evaluation.compare(vectors, vectors, benchmark)
        assert same.difference == 0 and same.verdict == "no clear difference"
        result = evaluation.compare(vectors, fewer, benchmark)
        mine, theirs = evaluation.common_vocabulary(vectors, fewer)
        expected = evaluation.evaluate(mine)[key] - evaluation.evaluate(theirs)[key]
        assert result.difference == pytest.approx(expected)
        assert result.interval[0] <= result.difference <= result.interval[1]
    with pytest.raises(ValueError, match="benchmark must be one of"):
        evaluation.compare(vectors, vectors, "toefl")


@pytest.mark.parametrize("args, message", [
    (("median", np.ones(5)), "kind must be one of"),
    (("spearman", np.ones(5)), "takes two arrays"),
    (("accuracy", np.ones(5), np.ones(5)), "takes one array"),
    (("spearman", np.ones(5), np.ones(4)), "same number of items"),
    (("spearman", np.ones((2, 5)), np.ones(5)), "takes two arrays"),
])
def test_bootstrap_interval_refuses_bad_samples(args, message):
    with pytest.raises(ValueError, match=message):
        evaluation.bootstrap_interval(*args)


def test_scores_with_intervals_hold_the_point_estimate(vectors):
    scores = evaluation.evaluate(vectors, intervals=True)
    for name in ("wordsim353", "simlex999"):
        low, high = scores[f"{name}_interval"]
        assert low <= scores[f"{name}_spearman"] <= high
    low, high = scores["analogy_interval"]
    assert low <= scores["analogy_accuracy"] <= high


def test_runs_of_one_model_are_scored_on_the_same_items(vectors):
    single = evaluation.evaluate(vectors, intervals=True)
    twice = evaluation.evaluate([vectors, vectors], intervals=True)
    for key in ("wordsim353_spearman", "simlex999_spearman", "analogy_accuracy", "wordsim353_interval",
                "analogy_interval", "analogy_coverage"):
        assert twice[key] == pytest.approx(single[key])
    assert twice["wordsim353_runs"] == pytest.approx([single["wordsim353_spearman"]] * 2)
    rng = np.random.default_rng(0)
    other = d2lmini.Embeddings(vectors.words, vectors.vectors + rng.normal(0, 0.5, vectors.vectors.shape))
    both = evaluation.evaluate([vectors, other])
    assert both["simlex999_spearman"] == pytest.approx(np.mean(both["simlex999_runs"]))
    assert both["simlex999_runs"][0] == pytest.approx(single["simlex999_spearman"])


def test_runs_with_different_words_are_refused(vectors):
    fewer = d2lmini.Embeddings(vectors.words[:-1], vectors.vectors[:-1])
    with pytest.raises(ValueError, match="same words.*common_vocabulary"):
        evaluation.evaluate([vectors, fewer])
    with pytest.raises(ValueError, match="non-empty list"):
        evaluation.evaluate([])


def test_interval_of_the_mean_of_runs_is_narrower_than_one_noisy_run():
    rng = np.random.default_rng(1)
    gold = rng.normal(size=300)
    runs = gold + rng.normal(0, 2.0, size=(8, 300))  # eight noisy runs of one model
    one = evaluation.bootstrap_interval("spearman", gold, runs[0])
    mean = evaluation.bootstrap_interval("spearman", gold, runs)
    assert mean[1] - mean[0] < one[1] - one[0]


def test_pair_words_lists_every_word_of_a_benchmark():
    from d2lmini import evaluation

    words = evaluation.pair_words("wordsim353")
    assert {"tiger", "cat", "coffee", "cup"} <= words and all(w == w.lower() for w in words)
    assert len(evaluation.pair_words("simlex999")) > 1000 and "word1" not in evaluation.pair_words("simlex999")
    with pytest.raises(ValueError, match="name must be 'wordsim353' or 'simlex999', got 'google_analogies'"):
        evaluation.pair_words("google_analogies")
