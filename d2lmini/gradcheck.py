"""Finite-difference gradient checks for the hand-written NumPy backprop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._checks import Integer, Positive, rules

__all__ = ["numerical_gradient", "relative_error", "check_gradient"]


def numerical_gradient(loss: Callable[[], float], array: np.ndarray, index: tuple, eps: float = 1e-4) -> float:
    """Central difference ``(loss(x + eps) - loss(x - eps)) / (2 eps)`` for one entry.

    ``array[index]`` is changed in place and restored, so ``loss`` must read
    the parameters it depends on, ``array`` among them, when it is called.
    """
    original = array[index]
    try:
        array[index] = original + eps
        plus = loss()
        array[index] = original - eps
        minus = loss()
    finally:
        array[index] = original
    return (plus - minus) / (2 * eps)


def relative_error(a: float, b: float, floor: float = 1e-12) -> float:
    """``|a - b| / max(|a| + |b|, floor)``: 0 when equal, 1 when of opposite sign."""
    return abs(a - b) / max(abs(a) + abs(b), floor)


@rules(num_checks=Integer(1), eps=Positive())
def check_gradient(
    loss: Callable[[], float],
    params: dict[str, np.ndarray],
    grads: dict[str, np.ndarray],
    num_checks: int = 20,
    eps: float = 1e-4,
    seed: int = 0,
) -> dict[str, float]:
    """Compare analytic gradients with central differences on random entries.

    Returns the worst relative error of each parameter.
    """
    rng = np.random.default_rng(seed)
    worst = {}
    for name, array in params.items():
        if grads[name].shape != array.shape:
            raise ValueError(f"gradient of {name} has shape {grads[name].shape}, parameter has {array.shape}")
        flat = rng.choice(array.size, size=min(num_checks, array.size), replace=False)
        errors = []
        for index in (np.unravel_index(i, array.shape) for i in flat):
            errors.append(relative_error(grads[name][index], numerical_gradient(loss, array, index, eps)))
        worst[name] = max(errors)
    return worst
