"""The simplified GloVe of the CSC321 assignment, in NumPy, on the full matrix.

One vector ``w_i`` and one bias ``b_i`` per word (no separate context
vectors), fitted to a dense log co-occurrence matrix ``A`` by full-batch
gradient descent on

    L(W, b) = sum_ij (w_i . w_j + b_i + b_j - A_ij) ** 2.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._checks import Integer, Positive, rules

__all__ = ["init_glove", "glove_loss", "glove_pair_losses", "glove_grad", "train_glove_full_batch"]


def _residual(W: np.ndarray, b: np.ndarray, log_cooc: np.ndarray) -> np.ndarray:
    if log_cooc.shape != (len(W), len(W)):
        raise ValueError(f"log_cooc must have shape {(len(W), len(W))}, got {log_cooc.shape}")
    return W @ W.T + b + b.T - log_cooc  # D_ij = w_i . w_j + b_i + b_j - A_ij


@rules(vocab_size=Integer(1), embed_dim=Integer(1), scale=Positive())
def init_glove(vocab_size: int, embed_dim: int, seed: int = 0, scale: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """``W`` of shape ``(vocab_size, embed_dim)`` and ``b`` of shape ``(vocab_size, 1)``, normal with std ``scale``."""
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((vocab_size, embed_dim)), scale * rng.standard_normal((vocab_size, 1))


def glove_loss(W: np.ndarray, b: np.ndarray, log_cooc: np.ndarray) -> float:
    """``sum_ij (w_i . w_j + b_i + b_j - A_ij)^2``."""
    return float((_residual(W, b, log_cooc) ** 2).sum())


def glove_pair_losses(W: np.ndarray, b: np.ndarray, log_cooc: np.ndarray) -> np.ndarray:
    """The terms of :func:`glove_loss`, one per unordered pair of words ``i <= j``, for a symmetric ``A``.

    The model's matrix ``W W^T + b + b^T`` is symmetric, so for a symmetric
    ``A`` cells ``(i, j)`` and ``(j, i)`` hold the same term: a pair ``i < j``
    contributes both, twice the cell, and a word with itself once. These
    ``V (V + 1) / 2`` terms sum to the loss, which makes them the items over
    which two models' losses can be compared (:func:`d2lmini.evaluation.paired_bootstrap`).
    """
    if not np.allclose(log_cooc, log_cooc.T):
        raise ValueError("log_cooc must be symmetric (counted in both directions) to be split into pairs")
    squared = _residual(W, b, log_cooc) ** 2
    rows, cols = np.triu_indices(len(W))
    return np.where(rows == cols, 1.0, 2.0) * squared[rows, cols]


def glove_grad(W: np.ndarray, b: np.ndarray, log_cooc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of :func:`glove_loss` with respect to ``W`` and ``b``.

    ``w_i`` appears in row ``i`` and in column ``i`` of the sum, hence
    ``dL/dW = 2 (D + D^T) W`` and ``dL/db = 2 (D + D^T) 1``; for a symmetric
    ``A``, ``D`` is symmetric and these are ``4 D W`` and ``4 D 1``.
    """
    D = _residual(W, b, log_cooc)
    S = D + D.T
    return 2 * S @ W, 2 * S.sum(axis=1, keepdims=True)


@rules(num_epochs=Integer(1))
def train_glove_full_batch(
    W: np.ndarray,
    b: np.ndarray,
    train_log_cooc: np.ndarray,
    valid_log_cooc: np.ndarray | None = None,
    num_epochs: int = 500,
    lr: float | None = None,
) -> dict[str, list[float]]:
    """Full-batch gradient descent, updating ``W`` and ``b`` in place.

    The default learning rate is the assignment's ``0.2 / V``. Returns the
    train (and valid) loss after every epoch.
    """
    lr = 0.2 / len(W) if lr is None else _checks.positive("lr", lr)
    history: dict[str, list[float]] = {"train": [], "valid": []}
    for _ in range(num_epochs):
        grad_W, grad_b = glove_grad(W, b, train_log_cooc)
        W -= lr * grad_W
        b -= lr * grad_b
        history["train"].append(glove_loss(W, b, train_log_cooc))
        if valid_log_cooc is not None:
            history["valid"].append(glove_loss(W, b, valid_log_cooc))
    return history
