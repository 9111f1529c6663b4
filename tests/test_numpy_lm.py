import numpy as np
import pytest
import torch

import d2lmini
from d2lmini import numpy_lm


def small_params(seed=0, V=12, D=4, H=6):
    params = numpy_lm.init_params(V, D, H, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for _, array in params.items():  # move away from the tiny initial weights
        array += 0.3 * rng.standard_normal(array.shape)
    inputs = rng.integers(0, V, size=(20, 3))
    inputs[1] = inputs[0]  # repeated words and examples: the embedding gradient must accumulate them
    targets = rng.integers(0, V, size=20)
    return params, inputs, targets


def test_parameter_count_of_the_assignment():
    assert numpy_lm.init_params().num_parameters == 42_522
    assert sum(p.numel() for p in d2lmini.NGramLM(250).parameters()) == 42_522


def test_softmax_is_stable_and_normalised():
    z = np.array([[1000.0, 1000.0, -1000.0], [0.0, np.log(3.0), 0.0]])
    p = numpy_lm.softmax(z)
    assert np.allclose(p.sum(axis=1), 1) and np.allclose(p[0], [0.5, 0.5, 0]) and np.allclose(p[1], [0.2, 0.6, 0.2])


def test_loss_derivative_by_hand():
    y = np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])
    derivative = numpy_lm.compute_loss_derivative(y, np.array([1, 2]))
    assert derivative.shape == (2, 3)
    assert np.allclose(derivative, [[0.2, -0.5, 0.3], [0.1, 0.1, -0.2]])
    assert numpy_lm.compute_loss(y, np.array([1, 2])) == pytest.approx(-np.log(0.5) - np.log(0.8))


def test_gradient_check_passes_for_every_parameter():
    params, inputs, targets = small_params()
    worst = numpy_lm.check_gradients(params, inputs, targets, num_checks=25)
    assert set(worst) == {"word_embedding_weights", "embed_to_hid_weights", "hid_bias", "hid_to_output_weights",
                          "output_bias"}
    assert max(worst.values()) < 1e-4


def test_numpy_and_torch_gradients_agree():
    params, inputs, targets = small_params(V=12, D=4, H=6)
    activations = numpy_lm.compute_activations(params, inputs)
    grads = numpy_lm.back_propagate(params, inputs, activations,
                                    numpy_lm.compute_loss_derivative(activations.output_layer, targets))
    model = numpy_lm.to_torch(params)
    assert model.embed_to_hid.weight.dtype == torch.float64
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(inputs)), torch.from_numpy(targets),
                                             reduction="sum")
    loss.backward()
    assert loss.item() == pytest.approx(numpy_lm.compute_loss(activations.output_layer, targets), rel=1e-12)
    pairs = [(grads.word_embedding_weights, model.word_embedding.weight.grad),
             (grads.embed_to_hid_weights, model.embed_to_hid.weight.grad),
             (grads.hid_bias, model.embed_to_hid.bias.grad),
             (grads.hid_to_output_weights, model.hid_to_output.weight.grad),
             (grads.output_bias, model.hid_to_output.bias.grad)]
    for ours, theirs in pairs:
        assert np.abs(ours - theirs.numpy()).max() < 1e-12


def test_bad_inputs():
    params, inputs, _ = small_params()
    with pytest.raises(ValueError, match=r"shape \(batch, 3\)"):
        numpy_lm.compute_activations(params, inputs[:, :2])
    with pytest.raises(ValueError, match="outside"):
        numpy_lm.compute_activations(params, inputs + 100)


def test_evaluate_is_the_mean_cross_entropy():
    params, inputs, targets = small_params()
    probs = numpy_lm.compute_activations(params, inputs).output_layer
    direct = -np.mean(np.log(probs[np.arange(len(targets)), targets]))
    assert numpy_lm.evaluate(params, inputs, targets, batch_size=7) == pytest.approx(direct)
