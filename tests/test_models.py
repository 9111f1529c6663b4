import math

import pytest
import torch

import d2lmini
from d2lmini import GloVe, glove_weight


def test_glove_weight_by_hand():
    x = torch.tensor([0.5, 1.0, 2.0, 3.0])
    expected = [(0.5 / 2) ** 0.75, (1 / 2) ** 0.75, 1.0, 1.0]
    assert glove_weight(x, x_max=2, alpha=0.75).tolist() == pytest.approx(expected)
    assert glove_weight(torch.tensor([10.0]), x_max=100, alpha=1.0).item() == pytest.approx(0.1)


def test_glove_loss_by_hand():
    model = GloVe(vocab_size=3, embed_size=2, x_max=4, alpha=0.5)
    with torch.no_grad():
        model.center.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0]]))
        model.context.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]]))
        model.center_bias.weight.copy_(torch.tensor([[0.1], [0.2], [0.3]]))
        model.context_bias.weight.copy_(torch.tensor([[-0.1], [0.0], [0.5]]))
    center, context, count = torch.tensor([0, 1]), torch.tensor([2, 1]), torch.tensor([2.0, 8.0])
    # pair (0, 2): v.u = 2, b = 0.1, c = 0.5, x = 2: h = (2/4)^0.5, error = 2.6 - log 2
    # pair (1, 1): v.u = 2.5, b = 0.2, c = 0.0, x = 8: h = 1 (capped), error = 2.7 - log 8
    expected = [math.sqrt(0.5) * (2.6 - math.log(2)) ** 2, (2.7 - math.log(8)) ** 2]
    assert model(center, context, count).tolist() == pytest.approx(expected, rel=1e-6)


def test_glove_shapes_and_word_vectors():
    model = GloVe(20, 4)
    ones = torch.ones(2, dtype=torch.long)
    assert model(ones, ones, torch.ones(2)).shape == (2,)
    vectors = model.word_vectors()
    assert vectors.shape == (20, 4)
    assert torch.equal(vectors, model.center.weight.detach() + model.context.weight.detach())


@pytest.mark.parametrize("kwargs, message", [
    ({"x_max": 0}, "x_max must be a number > 0, got 0"),
    ({"x_max": -5.0}, "x_max must be a number > 0"),
    ({"alpha": 0}, "alpha must be a number > 0, got 0"),
    ({"alpha": -0.75}, "alpha must be a number > 0"),
])
def test_glove_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GloVe(10, 4, **kwargs)
    with pytest.raises(ValueError, match=message):
        glove_weight(torch.ones(1), **kwargs)


def test_glove_bad_sizes():
    with pytest.raises(ValueError, match="embed_size must be an integer >= 1, got 0"):
        GloVe(10, 0)
    with pytest.raises(ValueError, match="vocab_size"):
        GloVe(-1, 3)


def test_skipgram_forward_shape():
    net = d2lmini.SkipGram(20, 4)
    out = net(torch.ones((2, 1), dtype=torch.long), torch.ones((2, 4), dtype=torch.long))
    assert out.shape == (2, 1, 4)
    v, u = net.center.weight[1], net.context.weight[1]
    assert out[0, 0, 0].item() == pytest.approx((v @ u).item(), rel=1e-6)


def test_masked_loss_example_of_d2l():
    pred = torch.tensor([[1.1, -2.2, 3.3, -4.4]] * 2)
    label = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    loss = d2lmini.sigmoid_bce_loss(pred, label, mask)
    assert loss.tolist() == pytest.approx([0.9352, 1.8462], abs=1e-4)

    def nll(x):  # -log sigmoid(x), by hand
        return -math.log(1 / (1 + math.exp(-x)))

    assert loss[0].item() == pytest.approx((nll(1.1) + nll(2.2) + nll(-3.3) + nll(4.4)) / 4, rel=1e-5)
    assert loss[1].item() == pytest.approx((nll(-1.1) + nll(-2.2)) / 2, rel=1e-5)
    assert d2lmini.sigmoid_bce_loss(pred[:1], label[:1]).item() == pytest.approx(loss[0].item())


def test_skipgram_bad_sizes():
    with pytest.raises(ValueError, match="embed_size must be an integer >= 1"):
        d2lmini.SkipGram(10, 0)


def test_numpy_integers_are_integers_and_floats_are_not():
    import numpy as np

    assert d2lmini.SkipGram(np.int64(50), np.int32(8)).vocab_size == 50
    assert d2lmini.GloVe(np.int64(10), 4, x_max=np.float32(2.0)).x_max == 2.0
    with pytest.raises(TypeError, match="vocab_size must be an integer, got 50.0"):
        d2lmini.SkipGram(50.0, 8)
    with pytest.raises(TypeError, match="embed_size must be an integer, got True"):
        d2lmini.NGramLM(250, embed_size=True)
