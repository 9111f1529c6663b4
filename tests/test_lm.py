from collections import Counter

import numpy as np
import pytest
import torch

import d2lmini
from d2lmini.datasets import FourGrams


@pytest.fixture(scope="module")
def fourgrams():
    return d2lmini.load_fourgrams()


def subset(data, n_train=20_000, n_eval=5_000):
    return FourGrams(data.vocab, data.train_inputs[:n_train], data.train_targets[:n_train],
                     data.valid_inputs[:n_eval], data.valid_targets[:n_eval],
                     data.test_inputs[:n_eval], data.test_targets[:n_eval])


def test_evaluate_lm_equals_mean_cross_entropy(fourgrams):
    torch.manual_seed(0)
    model = d2lmini.NGramLM(250, init_std=0.5)
    inputs, targets = fourgrams.valid_inputs[:3000], fourgrams.valid_targets[:3000]
    with torch.no_grad():
        log_probs = torch.log_softmax(model(torch.as_tensor(inputs)), dim=-1)
    direct = -log_probs[torch.arange(len(targets)), torch.as_tensor(targets)].mean().item()
    assert d2lmini.evaluate_lm(model, inputs, targets, batch_size=700) == pytest.approx(direct, rel=1e-5)


@pytest.mark.parametrize("early_stopping", ["none", "strict", "patience"])
def test_short_training_lowers_validation_cross_entropy(fourgrams, early_stopping):
    data = subset(fourgrams)
    torch.manual_seed(0)
    model = d2lmini.NGramLM(250)
    before = d2lmini.evaluate_lm(model, data.valid_inputs, data.valid_targets)
    history = d2lmini.train_lm(model, data, num_epochs=3, validate_every=50, early_stopping=early_stopping,
                               patience=2, device="cpu")
    after = d2lmini.evaluate_lm(model, data.valid_inputs, data.valid_targets)
    # log(250) = 5.52 at the start; the strict rule may stop on the early plateau
    assert after < before - (0.5 if early_stopping == "strict" else 1.0)
    assert all(set(row) >= {"train", "train_sample", "valid", "step"} for row in history.checks)
    assert all(set(row) >= {"epoch", "loss", "seconds", "examples"} for row in history.epochs)
    if early_stopping == "patience":  # the best checkpoint is restored
        assert after == pytest.approx(min(row["valid"] for row in history.checks), rel=1e-6)


def test_the_curve_gets_train_and_valid_measured_alike_at_each_check(fourgrams):
    data = subset(fourgrams)
    torch.manual_seed(0)
    model, calls = d2lmini.NGramLM(250), []
    history = d2lmini.train_lm(model, data, num_epochs=1, validate_every=20, device="cpu",
                               callback=lambda progress, metrics: calls.append((progress, metrics)))
    assert [set(metrics) for _, metrics in calls] == [{"train", "valid"}] * len(history.checks)
    n = len(data.valid_targets)
    last = calls[-1][1]  # the final model, scored as the check scored it
    assert last["train"] == pytest.approx(d2lmini.evaluate_lm(model, data.train_inputs[:n], data.train_targets[:n]))
    assert last["valid"] == pytest.approx(d2lmini.evaluate_lm(model, data.valid_inputs, data.valid_targets))


def test_strict_rule_stops_at_the_first_rise():
    data = subset(d2lmini.load_fourgrams(), n_train=2000, n_eval=500)
    torch.manual_seed(0)
    history = d2lmini.train_lm(d2lmini.NGramLM(250), data, num_epochs=30, lr=2.0, momentum=0.9,
                               validate_every=5, early_stopping="strict", device="cpu")
    valid = [row["valid"] for row in history.checks]
    assert all(b <= a for a, b in zip(valid[:-2], valid[1:-1]))  # no rise before the last check
    assert len(valid) < 30 * 20 and valid[-1] > valid[-2]
    # the course's rule: a check every validate_every batches and nowhere else (not at epoch ends)
    assert [row["step"] for row in history.checks] == [5 * (k + 1) for k in range(len(valid))]
    assert history.stopped_early


def test_stopped_early_is_false_when_training_runs_to_its_cap():
    data = subset(d2lmini.load_fourgrams(), n_train=2000, n_eval=500)
    torch.manual_seed(0)
    history = d2lmini.train_lm(d2lmini.NGramLM(250), data, num_epochs=2, validate_every=7,
                               early_stopping="patience", patience=100, device="cpu")
    assert not history.stopped_early and len(history.epochs) == 2


def test_train_lm_bad_arguments(fourgrams):
    data = subset(fourgrams, 100, 100)
    for kwargs, message in [({"optimizer": "rmsprop"}, "optimizer must be"), ({"schedule": "step"}, "schedule"),
                            ({"early_stopping": "sometimes"}, "early_stopping must be one of"),
                            ({"batch_size": 0}, "batch_size must be an integer >= 1"),
                            ({"lr": 0}, "lr must be a number > 0")]:
        with pytest.raises(ValueError, match=message):
            d2lmini.train_lm(d2lmini.NGramLM(250), data, num_epochs=1, **kwargs)


def test_ngram_lm_bad_arguments():
    with pytest.raises(ValueError, match="activation must be one of"):
        d2lmini.NGramLM(250, activation="gelu")
    with pytest.raises(ValueError, match=r"dropout must be a number in \[0, 1\)"):
        d2lmini.NGramLM(250, dropout=1.0)
    with pytest.raises(ValueError, match="hidden_size must be an integer >= 1"):
        d2lmini.NGramLM(250, hidden_size=0)


def test_predict_next_word(fourgrams):
    torch.manual_seed(0)
    model = d2lmini.NGramLM(250, init_std=0.3)
    top = d2lmini.predict_next_word(model, fourgrams.vocab, "she", "is", "a", k=10)
    probs = [p for _, p in top]
    assert len(top) == 10 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-6
    everything = d2lmini.predict_next_word(model, fourgrams.vocab, "she", "is", "a", k=250)
    assert sum(p for _, p in everything) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, 250\], got 0"):
        d2lmini.predict_next_word(model, fourgrams.vocab, "she", "is", "a", k=0)
    with pytest.raises(KeyError, match="'shee' is not in the vocabulary.*'she'"):
        d2lmini.predict_next_word(model, fourgrams.vocab, "shee", "is", "a")


def test_find_occurrences_equals_a_direct_count(fourgrams):
    found = dict(d2lmini.find_occurrences(fourgrams, "she", "is", "a", split="all"))
    direct = Counter()
    vocab = fourgrams.vocab
    for split in ("train", "valid", "test"):
        for inputs, target in zip(getattr(fourgrams, f"{split}_inputs"), getattr(fourgrams, f"{split}_targets")):
            if vocab.to_tokens(list(inputs)) == ["she", "is", "a"]:
                direct[vocab.to_tokens(int(target))] += 1
    assert found == dict(direct) and found  # "she is a" does occur
    text = Counter(s[i + 3] for s in d2lmini.read_sentences() for i in range(len(s) - 3)
                   if s[i:i + 3] == ["she", "is", "a"])
    assert found == dict(text)
    assert d2lmini.find_occurrences(fourgrams, "york", "york", "york") == []
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        d2lmini.find_occurrences(fourgrams, "zebra", "is", "a")
    with pytest.raises(ValueError, match="split must be"):
        d2lmini.find_occurrences(fourgrams, "she", "is", "a", split="dev")


def test_embeddings_euclidean_queries():
    emb = d2lmini.Embeddings(["a", "b", "c"], np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]]))
    assert emb.word_distance("a", "b") == pytest.approx(5.0)
    assert emb.nearest("a", topn=2, metric="euclidean") == [("c", 1.0), ("b", 5.0)]
    with pytest.raises(ValueError, match="metric"):
        emb.nearest("a", metric="manhattan")


def test_seen_in_training_matches_a_direct_set_lookup(fourgrams):
    seen = d2lmini.seen_in_training(fourgrams, "test")
    contexts = {tuple(row) for row in fourgrams.train_inputs.tolist()}
    grams = {(*row, t) for row, t in zip(fourgrams.train_inputs.tolist(), fourgrams.train_targets.tolist())}
    for i in range(0, len(fourgrams.test_inputs), 997):
        context = tuple(fourgrams.test_inputs[i].tolist())
        assert seen["context"][i] == (context in contexts)
        assert seen["fourgram"][i] == ((*context, int(fourgrams.test_targets[i])) in grams)
    assert seen["fourgram"].sum() <= seen["context"].sum() < len(seen["context"])
    with pytest.raises(ValueError, match="split must be one of"):
        d2lmini.seen_in_training(fourgrams, "train")


def test_seen_in_training_refuses_what_is_not_fourgrams():
    with pytest.raises(TypeError, match="data must be the FourGrams"):
        d2lmini.seen_in_training({"test_inputs": []})
