"""The book's models as ``torch.nn.Module``s. They know tensors only: no files, no training loop."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["glove_weight", "GloVe"]


def _check_positive(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a number > 0, got {value!r}")


def glove_weight(x: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """GloVe's weighting function ``h(x) = min((x / x_max) ** alpha, 1)``.

    Rare pairs (small ``x``) get little weight, and no pair gets more than 1,
    so that very frequent pairs do not dominate the loss.
    """
    _check_positive("x_max", x_max)
    _check_positive("alpha", alpha)
    return torch.clamp((x / x_max) ** alpha, max=1.0)


class GloVe(nn.Module):
    """GloVe: center vectors ``v``, context vectors ``u`` and a bias for each.

    ``forward(center, context, count)`` takes three tensors of shape
    ``(batch,)`` (ids, ids, co-occurrence counts ``x_ij > 0``) and returns the
    per-pair loss, shape ``(batch,)``:

        h(x_ij) * (v_i . u_j + b_i + c_j - log x_ij) ** 2

    After training, ``v + u`` are the word vectors (:meth:`word_vectors`).
    """

    def __init__(self, vocab_size: int, embed_size: int, x_max: float = 100.0, alpha: float = 0.75) -> None:
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_size", embed_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        _check_positive("x_max", x_max)
        _check_positive("alpha", alpha)
        self.x_max, self.alpha = float(x_max), float(alpha)
        self.center = nn.Embedding(vocab_size, embed_size)
        self.context = nn.Embedding(vocab_size, embed_size)
        self.center_bias = nn.Embedding(vocab_size, 1)
        self.context_bias = nn.Embedding(vocab_size, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Small uniform vectors (as in the reference GloVe code) and zero biases."""
        bound = 0.5 / self.center.embedding_dim
        for table in (self.center, self.context):
            nn.init.uniform_(table.weight, -bound, bound)
        for table in (self.center_bias, self.context_bias):
            nn.init.zeros_(table.weight)

    def forward(self, center: torch.Tensor, context: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        # index_select rather than calling the Embedding: its backward is one
        # index_add_, which is faster on the CPU than the embedding backward.
        v = self.center.weight.index_select(0, center)  # (batch, embed)
        u = self.context.weight.index_select(0, context)  # (batch, embed)
        b = self.center_bias.weight.index_select(0, center).squeeze(-1)  # (batch,)
        c = self.context_bias.weight.index_select(0, context).squeeze(-1)  # (batch,)
        error = (v * u).sum(-1) + b + c - torch.log(count)
        return glove_weight(count, self.x_max, self.alpha) * error**2

    def word_vectors(self) -> torch.Tensor:
        """``v + u``, shape ``(vocab_size, embed_size)``: the two sets are symmetric roles, so their sum is used."""
        return (self.center.weight + self.context.weight).detach()
