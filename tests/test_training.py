import numpy as np
import pytest
import torch

import d2lmini
from d2lmini.batching import batch_loader
from d2lmini.skipgram_data import SkipGramData


def tiny_glove_data(seed=0):
    corpus = [[0, 1, 2, 3, 1, 2], [3, 2, 1, 0], [4, 5, 4, 5, 4]]
    counts = d2lmini.cooccurrence(corpus, 2, 6).tocoo()
    return batch_loader(torch.tensor(counts.row).long(), torch.tensor(counts.col).long(),
                        torch.tensor(counts.data).float(), batch_size=8, seed=seed)


def test_short_glove_run_lowers_the_loss_and_reports_progress():
    torch.manual_seed(0)
    model = d2lmini.GloVe(6, 4, x_max=2)
    calls = []
    history = d2lmini.train_glove(model, tiny_glove_data(), num_epochs=30, lr=0.1, device="cpu",
                                  callback=lambda progress, metrics: calls.append((progress, metrics["loss"])))
    assert history["loss"][-1] < 0.2 * history["loss"][0]
    assert len(history.epochs) == 30 and history.examples == 30 * len(tiny_glove_data().dataset)
    assert history.examples_per_second > 0
    assert calls[-1][0] == pytest.approx(30.0)


def _counting_steps(losses):
    """A step that returns the next of ``losses`` as one loss term, and batches that are just indices."""
    values = iter(losses)
    step = lambda batch: d2lmini.training.StepResult(torch.tensor(float(next(values))), 1, 1)
    return step, lambda epoch: list(range(4))


def test_the_curve_gets_the_loss_since_the_last_report_not_since_the_epoch_began():
    # Two epochs of 4 batches, reported twice per epoch: each report is the mean of its own 2 batches.
    step, batches = _counting_steps([1, 3, 5, 7, 100, 200, 10, 20])
    calls = []
    history = d2lmini.training.fit(step, batches, 2, torch.device("cpu"), lr=0.1, updates_per_epoch_reported=2,
                                   callback=lambda progress, metrics: calls.append((progress, metrics["loss"])))
    assert calls == [(0.5, 2.0), (1.0, 6.0), (1.5, 150.0), (2.0, 15.0)]
    assert [row["loss"] for row in history.epochs] == [4.0, 82.5]  # the epochs' means are unchanged


def test_an_epoch_is_reported_in_windows_of_equal_size_with_no_short_last_window():
    # 21 batches reported 10 times: a stride of 2 would leave a last window of one batch.
    values = iter(range(21))
    step = lambda batch: d2lmini.training.StepResult(torch.tensor(float(next(values))), 1, 1)
    calls = []
    d2lmini.training.fit(step, lambda epoch: list(range(21)), 1, torch.device("cpu"), lr=0.1,
                         callback=lambda progress, metrics: calls.append(progress))
    ends = [round(progress * 21) for progress in calls]
    sizes = [b - a for a, b in zip([0, *ends], ends)]
    assert len(calls) == 10 and ends[-1] == 21 and set(sizes) <= {2, 3}


def test_time_spent_in_the_callback_and_after_step_is_not_training_time():
    import time

    step, batches = _counting_steps(range(8))
    slow = lambda *args: time.sleep(0.05)  # 8 calls of each: at least 0.8 s if they were counted
    history = d2lmini.training.fit(step, batches, 2, torch.device("cpu"), lr=0.1, updates_per_epoch_reported=4,
                                   callback=slow, after_step=lambda *args: slow() or False)
    assert history.seconds < 0.4


@pytest.mark.parametrize("kwargs, message", [
    ({"num_epochs": 0}, "num_epochs must be an integer >= 1, got 0"),
    ({"num_epochs": 2, "lr": 0}, "lr must be a number > 0, got 0"),
])
def test_bad_training_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        d2lmini.train_glove(d2lmini.GloVe(6, 2), tiny_glove_data(), **kwargs)


def test_default_device_is_usable():
    device = d2lmini.default_device()
    assert torch.zeros(1, device=device).device.type == device.type


def test_short_skipgram_run_lowers_the_loss():
    torch.manual_seed(0)
    sentences = [list("abcdef"), list("fedcba"), list("ghighi")] * 40
    vocab = d2lmini.Vocab(sentences)
    data = SkipGramData(vocab.encode(sentences), vocab, batch_size=32, max_window_size=2, num_noise_words=3,
                        t=1.0, seed=0)
    loader = torch.utils.data.DataLoader(data, batch_size=None)
    history = d2lmini.train_skipgram(d2lmini.SkipGram(len(vocab), 8), loader, num_epochs=15, lr=0.02, device="cpu")
    assert history["loss"][-1] < 0.7 * history["loss"][0]
    assert history.mean_loss == pytest.approx(sum(r["loss"] * r["centers"] for r in history.epochs)
                                              / sum(r["centers"] for r in history.epochs))


def test_bad_skipgram_training_arguments():
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        d2lmini.train_skipgram(d2lmini.SkipGram(5, 2), [], num_epochs=1, lr=-1)


# --- guards: divergence, no process-wide side effects, mismatched vocabularies ----------


def test_diverging_glove_run_stops_naming_epoch_step_and_a_smaller_lr():
    torch.manual_seed(0)
    with pytest.raises(d2lmini.DivergedError, match=r"diverged at epoch 1, step \d+ .*lr=1e\+30.*"
                                                    r"smaller learning rate, e\.g\. lr=1e\+29"):
        d2lmini.train_glove(d2lmini.GloVe(6, 4, x_max=2), tiny_glove_data(), num_epochs=5, lr=1e30, device="cpu")


def test_diverging_lm_run_stops_with_an_error():
    data = d2lmini.load_fourgrams()
    small = d2lmini.FourGrams(data.vocab, data.train_inputs[:3000], data.train_targets[:3000],
                              data.valid_inputs[:100], data.valid_targets[:100],
                              data.test_inputs[:100], data.test_targets[:100])
    torch.manual_seed(0)
    with pytest.raises(d2lmini.DivergedError, match="epoch 1, step"):
        d2lmini.train_lm(d2lmini.NGramLM(250), small, num_epochs=2, lr=1e12, device="cpu")


def test_training_changes_no_process_wide_setting(monkeypatch):
    import ctypes

    calls = []
    real = ctypes.CDLL
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: calls.append(a) or real(*a, **k))
    model, data = d2lmini.GloVe(6, 4, x_max=2), tiny_glove_data()  # building a model draws from the RNG
    state = torch.random.get_rng_state()
    d2lmini.train_glove(model, data, num_epochs=2, lr=0.1, device="cpu")
    assert calls == []  # no mallopt behind the caller's back
    assert torch.equal(torch.random.get_rng_state(), state)


def test_model_and_data_vocabularies_must_agree():
    sentences = [list("abcdef"), list("fedcba")] * 20
    vocab = d2lmini.Vocab(sentences)
    data = SkipGramData(vocab.encode(sentences), vocab, batch_size=8, max_window_size=1, num_noise_words=2, t=1.0)
    loader = torch.utils.data.DataLoader(data, batch_size=None)
    with pytest.raises(ValueError, match=r"the model has 5 words but the data's vocabulary has 7"):
        d2lmini.train_skipgram(d2lmini.SkipGram(5, 4), loader, num_epochs=1)
    fourgrams = d2lmini.load_fourgrams()
    with pytest.raises(ValueError, match="the model has 100 words but the data's vocabulary has 250"):
        d2lmini.train_lm(d2lmini.NGramLM(100), fourgrams, num_epochs=1)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_epochs": 2.0}, TypeError, "num_epochs must be an integer, got 2.0"),
    ({"num_epochs": 1, "lr": float("inf")}, ValueError, "lr must be a finite number"),
    ({"num_epochs": 1, "device": "tpu9"}, ValueError, "device must be"),
])
def test_bad_argument_kinds(kwargs, error, message):
    with pytest.raises(error, match=message):
        d2lmini.train_glove(d2lmini.GloVe(6, 2), tiny_glove_data(), **kwargs)


def test_history_rows_mean_the_same_in_every_loop():
    torch.manual_seed(0)
    glove = d2lmini.train_glove(d2lmini.GloVe(6, 4, x_max=2), tiny_glove_data(), num_epochs=3, lr=0.1,
                                device="cpu")
    for history in (glove,):
        assert [row["epoch"] for row in history.epochs] == [1, 2, 3]
        assert all({"loss", "seconds", "examples"} <= set(row) for row in history.epochs)
        assert history.mean_loss == pytest.approx(sum(r["loss"] * r["examples"] for r in history.epochs)
                                                  / sum(r["examples"] for r in history.epochs))


def test_a_tiny_first_loss_does_not_look_like_divergence():
    # GloVe's loss on a first batch of rare pairs can be ~0.01; ordinary later batches are larger.
    center, context = torch.tensor([0, 1, 2, 3] * 8), torch.tensor([1, 2, 3, 0] * 8)
    count = torch.tensor([1.0] * 4 + [50.0] * 28)
    loader = batch_loader(center, context, count, batch_size=4, shuffle=False)
    torch.manual_seed(0)
    history = d2lmini.train_glove(d2lmini.GloVe(4, 2, x_max=100), loader, num_epochs=1, lr=0.05, device="cpu")
    assert len(history.epochs) == 1


def test_glove_data_must_fit_the_model():
    with pytest.raises(ValueError, match="the data holds word id 5 but the model has 3 words"):
        d2lmini.train_glove(d2lmini.GloVe(3, 2), tiny_glove_data(), num_epochs=1, device="cpu")
    bad = batch_loader(torch.tensor([0, 1]), torch.tensor([1, 0]), torch.tensor([0.0, 2.0]), batch_size=2)
    with pytest.raises(ValueError, match="GloVe counts must be > 0"):
        d2lmini.train_glove(d2lmini.GloVe(2, 2), bad, num_epochs=1, device="cpu")


def test_lm_splits_are_checked_before_training():
    data = d2lmini.load_fourgrams()
    V = len(data.vocab)

    def with_(**arrays):
        fields = {k: getattr(data, k) for k in ("train_inputs", "train_targets", "valid_inputs", "valid_targets",
                                                 "test_inputs", "test_targets")}
        return d2lmini.FourGrams(data.vocab, **{**fields, **arrays})

    for arrays, error, message in [
        ({"valid_inputs": data.valid_inputs.astype(float)}, TypeError, "valid_inputs must hold integer ids"),
        ({"valid_inputs": data.valid_inputs * 0 + V}, ValueError, "valid_inputs holds id 250"),
        ({"train_inputs": data.train_inputs[:, :2]}, ValueError, r"train_inputs must have shape \(N, 3\)"),
        ({"train_targets": data.train_targets[:-5]}, ValueError, "train_targets must have shape"),
        ({"train_inputs": data.train_inputs[:0], "train_targets": data.train_targets[:0]}, ValueError,
         "the train split is empty"),
    ]:
        with pytest.raises(error, match=message):
            d2lmini.train_lm(d2lmini.NGramLM(V), with_(**arrays), num_epochs=1, device="cpu")
    with pytest.raises(ValueError, match=r"evaluated_inputs must have shape \(N, 3\)"):
        d2lmini.evaluate_lm(d2lmini.NGramLM(V), np.zeros((3, 2), dtype=int), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="the model predicts 20 words but the vocabulary has 250"):
        d2lmini.predict_next_word(d2lmini.NGramLM(20), data.vocab, "she", "is", "a")
