import pytest
import torch

import d2lmini
from d2lmini.sampling import SkipGramData, batch_loader


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
