"""Argument checks shared by every public function of d2lmini (private).

Each check runs before any I/O or heavy work and raises ``TypeError`` (wrong
kind of value) or ``ValueError`` (right kind, wrong value) with a message that
names the argument, shows the value, and says what is accepted. Integers are
any :class:`numbers.Integral` except ``bool``; reals any finite
:class:`numbers.Real` except ``bool``. Checked values come back as plain
``int``/``float``, so ``np.int64(5)`` and ``5`` behave the same downstream.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Iterable

import numpy as np


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _range_text(low, high, low_open: bool = False) -> str:
    low_text = _number(low) if low is not None else None
    if high is None:
        return f"> {low_text}" if low_open else f">= {low_text}"
    return f"in ({low_text}, {_number(high)}]" if low_open else f"in [{low_text}, {_number(high)}]"


def integer(name: str, value, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (either bound may be ``None``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)} of type {type(value).__name__}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = _range_text(low, high) if low is not None else f"<= {high}"
        raise ValueError(f"{name} must be an integer {bounds}, got {value}")
    return value


def real(name: str, value, low: float | None = None, high: float | None = None, low_open: bool = False) -> float:
    """``value`` as a finite ``float`` in ``[low, high]``, or ``(low, high]`` when ``low_open``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and value > high
    if too_low or too_high:
        raise ValueError(f"{name} must be a number {_range_text(low, high, low_open)}, got {value:g}")
    return value


def positive(name: str, value) -> float:
    """A finite real number ``> 0``."""
    return real(name, value, 0.0, low_open=True)


def boolean(name: str, value) -> bool:
    """``value`` if it is ``True`` or ``False`` (a string such as ``"False"`` is refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_show(value)} of type {type(value).__name__}")
    return bool(value)


def lm_arrays(split: str, inputs, targets, vocab_size: int | None, context_len: int | None) -> tuple:
    """A split of next-word examples: ``(N, context_len)`` input ids and ``(N,)`` target ids, N >= 1."""
    inputs = id_array(f"{split}_inputs", inputs, vocab_size)
    targets = id_array(f"{split}_targets", targets, vocab_size)
    if inputs.ndim != 2 or (context_len is not None and inputs.shape[1] != context_len):
        raise ValueError(f"{split}_inputs must have shape (N, {context_len or 'context_len'}), got {inputs.shape}")
    if targets.ndim != 1 or len(targets) != len(inputs):
        raise ValueError(f"{split}_targets must have shape ({len(inputs)},) to match {split}_inputs, "
                         f"got {targets.shape}")
    if len(inputs) == 0:
        raise ValueError(f"the {split} split is empty: it must hold at least one example")
    return inputs, targets


def choice(name: str, value, choices: Collection):
    """``value`` if it is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {_show(value)}")
    return value


def sentences(name: str, value) -> list:
    """A list of sentences, each a list (or tuple) of string tokens.

    A bare string, or sentences given as strings, would be iterated character by
    character; refuse them with a message that says how to split.
    """
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a list of sentences (lists of string tokens), got a string "
                        f"{_show(value)}; split it first, e.g. [line.split() for line in text.splitlines()]")
    if not isinstance(value, Iterable):
        raise TypeError(f"{name} must be a list of sentences (lists of string tokens), "
                        f"got {type(value).__name__}")
    value = list(value)
    for i, sentence in enumerate(value):
        if isinstance(sentence, str):
            raise TypeError(f"{name}[{i}] is a string {_show(sentence)}, not a list of tokens; "
                            "split each sentence first, e.g. [s.split() for s in sentences]")
        if not isinstance(sentence, (list, tuple)):
            raise TypeError(f"{name}[{i}] must be a list of string tokens, got {type(sentence).__name__}")
    return value


def id_array(name: str, value, vocab_size: int | None = None) -> np.ndarray:
    """An array of integer ids (any integer dtype), each in ``[0, vocab_size)``.

    Float ids are refused rather than truncated.
    """
    array = np.asarray(value)
    if array.dtype == bool or array.dtype.kind not in "iu":
        if array.size == 0 and array.dtype.kind == "f":
            return array.astype(np.int64)
        raise TypeError(f"{name} must hold integer ids, got an array of dtype {array.dtype}; "
                        "encode words with a Vocab and pass integer arrays")
    if vocab_size is not None and array.size:
        low, high = array.min(), array.max()
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"{name} holds id {bad}, outside the vocabulary range [0, {vocab_size})")
    return array


def finite_matrix(name: str, value) -> np.ndarray:
    """A 2-D float32 array of finite numbers (a torch tensor is converted)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a 2-D array of numbers ({err})") from None
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (words x dimensions), got shape {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{name} holds {int(bad.sum())} NaN or infinite values (first in row {row}); "
                         "training probably diverged: retrain with a smaller learning rate")
    return array
