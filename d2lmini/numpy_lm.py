"""The neural 4-gram language model of the CSC321 assignment, in NumPy, with hand-written backprop.

Architecture (sizes of the assignment): the three context words are looked up
in one word-embedding table (250 x 16) shared by the three positions, the
three 16-d vectors are concatenated (48), a logistic hidden layer of 128
units follows, then a softmax over the 250 words.

Shapes use the assignment's names: ``word_embedding_weights`` (V, D),
``embed_to_hid_weights`` (H, 3D), ``hid_bias`` (H,), ``hid_to_output_weights``
(V, H), ``output_bias`` (V,).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import _checks
from ._checks import Integer, Positive, rules
from .gradcheck import check_gradient

__all__ = [
    "Params",
    "Activations",
    "init_params",
    "softmax",
    "compute_activations",
    "compute_loss",
    "compute_loss_derivative",
    "back_propagate",
    "check_gradients",
    "evaluate",
    "to_torch",
]


@dataclass
class Params:
    """Parameters of the model (or, returned by :func:`back_propagate`, their gradients)."""

    word_embedding_weights: np.ndarray  # (V, D)
    embed_to_hid_weights: np.ndarray  # (H, context_len * D)
    hid_bias: np.ndarray  # (H,)
    hid_to_output_weights: np.ndarray  # (V, H)
    output_bias: np.ndarray  # (V,)

    def items(self):
        return [(f.name, getattr(self, f.name)) for f in fields(self)]

    @property
    def num_parameters(self) -> int:
        return sum(array.size for _, array in self.items())


@dataclass
class Activations:
    embedding_layer: np.ndarray  # (B, context_len * D)
    hidden_layer: np.ndarray  # (B, H), logistic units
    output_layer: np.ndarray  # (B, V), probabilities


@rules(vocab_size=Integer(1), embedding_dim=Integer(1), num_hid=Integer(1), context_len=Integer(1),
       init_std=Positive(), seed=Integer(0))
def init_params(vocab_size: int = 250, embedding_dim: int = 16, num_hid: int = 128, context_len: int = 3,
                init_std: float = 0.01, seed: int = 0) -> Params:
    """Weights normal with std ``init_std``, biases zero, as in the assignment; float64."""
    rng = np.random.default_rng(seed)
    return Params(
        word_embedding_weights=init_std * rng.standard_normal((vocab_size, embedding_dim)),
        embed_to_hid_weights=init_std * rng.standard_normal((num_hid, context_len * embedding_dim)),
        hid_bias=np.zeros(num_hid),
        hid_to_output_weights=init_std * rng.standard_normal((vocab_size, num_hid)),
        output_bias=np.zeros(vocab_size),
    )


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax; the row maximum is subtracted first so that ``exp`` cannot overflow."""
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _check_inputs(params: Params, inputs: np.ndarray) -> np.ndarray:
    context_len = params.embed_to_hid_weights.shape[1] // params.word_embedding_weights.shape[1]
    inputs = _checks.id_array("inputs", inputs, len(params.word_embedding_weights))
    if inputs.ndim != 2 or inputs.shape[1] != context_len:
        raise ValueError(f"inputs must have shape (batch, {context_len}), got {inputs.shape}")
    return inputs


def compute_activations(params: Params, inputs: np.ndarray) -> Activations:
    """Forward pass for a batch of ``(B, context_len)`` word ids."""
    inputs = _check_inputs(params, inputs)
    embedding = params.word_embedding_weights[inputs].reshape(len(inputs), -1)  # (B, 3D)
    hidden = 1.0 / (1.0 + np.exp(-(embedding @ params.embed_to_hid_weights.T + params.hid_bias)))
    output = softmax(hidden @ params.hid_to_output_weights.T + params.output_bias)
    return Activations(embedding, hidden, output)


def compute_loss(output_activations: np.ndarray, targets: np.ndarray) -> float:
    """Cross-entropy summed over the batch: ``-sum_b log y_b[target_b]``."""
    targets = _checks.id_array("targets", targets, output_activations.shape[1])
    if targets.shape != (len(output_activations),):
        raise ValueError(f"targets must have shape ({len(output_activations)},), got {targets.shape}")
    return float(-np.log(output_activations[np.arange(len(targets)), targets] + 1e-300).sum())


def compute_loss_derivative(output_activations: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Derivative of :func:`compute_loss` with respect to the softmax inputs: ``y - t`` (one-hot ``t``)."""
    derivative = output_activations.copy()
    derivative[np.arange(len(targets)), targets] -= 1.0
    return derivative


def back_propagate(params: Params, inputs: np.ndarray, activations: Activations,
                   loss_derivative: np.ndarray) -> Params:
    """Gradients of the loss for every parameter, given ``dLoss/d(softmax input)``.

    The embedding gradient adds each position's slice of the embedding-layer
    gradient into the rows of that position's words with ``np.add.at``, which
    accumulates repeated words correctly, without a loop over examples.
    """
    inputs = _check_inputs(params, inputs)
    hidden = activations.hidden_layer
    hid_to_output_grad = loss_derivative.T @ hidden  # (V, H)
    output_bias_grad = loss_derivative.sum(axis=0)
    hid_deriv = (loss_derivative @ params.hid_to_output_weights) * hidden * (1.0 - hidden)  # logistic'
    embed_to_hid_grad = hid_deriv.T @ activations.embedding_layer  # (H, 3D)
    hid_bias_grad = hid_deriv.sum(axis=0)
    embed_deriv = (hid_deriv @ params.embed_to_hid_weights).reshape(len(inputs), inputs.shape[1], -1)
    word_embedding_grad = np.zeros_like(params.word_embedding_weights)
    np.add.at(word_embedding_grad, inputs.ravel(), embed_deriv.reshape(-1, embed_deriv.shape[-1]))
    return Params(word_embedding_grad, embed_to_hid_grad, hid_bias_grad, hid_to_output_grad, output_bias_grad)


def check_gradients(params: Params, inputs: np.ndarray, targets: np.ndarray, num_checks: int = 20,
                    eps: float = 1e-4, seed: int = 0) -> dict[str, float]:
    """Finite differences (central, ``eps``) on random entries of every parameter.

    Returns the worst relative error per parameter; the assignment asks for
    less than 1e-4.
    """
    activations = compute_activations(params, inputs)
    grads = back_propagate(params, inputs, activations, compute_loss_derivative(activations.output_layer, targets))

    def loss() -> float:
        return compute_loss(compute_activations(params, inputs).output_layer, targets)

    return check_gradient(loss, dict(params.items()), dict(grads.items()), num_checks=num_checks, eps=eps, seed=seed)


def evaluate(params: Params, inputs: np.ndarray, targets: np.ndarray, batch_size: int = 1000) -> float:
    """Mean cross-entropy per 4-gram over a whole split."""
    if len(inputs) == 0:
        raise ValueError("inputs is empty: there is nothing to evaluate")
    total = sum(compute_loss(compute_activations(params, inputs[i:i + batch_size]).output_layer,
                             targets[i:i + batch_size]) for i in range(0, len(inputs), batch_size))
    return total / len(inputs)


def to_torch(params: Params, dtype=None):
    """An :class:`~d2lmini.models.NGramLM` holding a copy of ``params`` (float64 unless ``dtype`` says otherwise).

    The two share parameter layouts, so autograd on the result differentiates
    exactly the model that :func:`back_propagate` differentiates by hand.
    """
    import torch

    from .models import NGramLM

    vocab_size, embed_size = params.word_embedding_weights.shape
    hidden_size, width = params.embed_to_hid_weights.shape
    model = NGramLM(vocab_size, embed_size, hidden_size, context_len=width // embed_size).to(dtype or torch.float64)
    with torch.no_grad():
        model.word_embedding.weight.copy_(torch.from_numpy(params.word_embedding_weights))
        model.embed_to_hid.weight.copy_(torch.from_numpy(params.embed_to_hid_weights))
        model.embed_to_hid.bias.copy_(torch.from_numpy(params.hid_bias))
        model.hid_to_output.weight.copy_(torch.from_numpy(params.hid_to_output_weights))
        model.hid_to_output.bias.copy_(torch.from_numpy(params.output_bias))
    return model
