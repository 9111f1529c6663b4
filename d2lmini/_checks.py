"""Argument checks shared by every public function of d2lmini (private).

Each check runs before any I/O or heavy work and raises ``TypeError`` (wrong
kind of value) or ``ValueError`` (right kind, wrong value) with a message that
names the argument, shows the value, and says what is accepted. Integers are
any :class:`numbers.Integral` except ``bool``; reals any finite
:class:`numbers.Real` except ``bool``. Checked values come back as plain
``int``/``float``, so ``np.int64(5)`` and ``5`` behave the same downstream.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

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


# Declared rules: a public function states its constraints once, outside its body.
#
#     @_checks.rules(embed_size=Integer(1), lr=Positive(), shuffle=Choice(("pairs", "none")))
#     def train(corpus, embed_size=100, lr=0.05, shuffle="pairs"): ...
#
# Before each call the named arguments are checked (and coerced: ``np.int64(5)`` becomes ``5``)
# in the order declared, with the messages of the functions above. ``DECLARED`` lists every
# function so declared, so that one test can try invalid values on all of them.

DECLARED: list = []


class Rule:
    """A constraint on one argument: ``check`` returns the accepted value or raises."""

    def check(self, name: str, value, arguments: dict):
        raise NotImplementedError

    def valid(self):
        """A value this rule accepts (for tests that need the other arguments valid)."""
        raise NotImplementedError

    def invalid(self) -> list[tuple[object, type[Exception]]]:
        """Values this rule refuses, each with the exception it raises."""
        raise NotImplementedError


@dataclass(frozen=True)
class Integer(Rule):
    """An integer in ``[low, high]``; ``low`` may name an argument declared before this one."""

    low: int | str | None = None
    high: int | None = None

    def check(self, name, value, arguments):
        low = arguments[self.low] if isinstance(self.low, str) else self.low
        return integer(name, value, low, self.high)

    def valid(self):
        if isinstance(self.low, int):
            return self.low
        return self.high if self.high is not None else 1024  # above any low an earlier argument sets in tests

    def invalid(self):
        wrong = [(1.5, TypeError), (True, TypeError), ("3", TypeError)]
        if isinstance(self.low, int):
            wrong.append((self.low - 1, ValueError))
        if self.high is not None:
            wrong.append((self.high + 1, ValueError))
        return wrong


@dataclass(frozen=True)
class Real(Rule):
    """A finite real number in ``[low, high]``, or ``(low, high]`` when ``low_open``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def check(self, name, value, arguments):
        return real(name, value, self.low, self.high, self.low_open)

    def valid(self):
        if self.low is None:
            return 0.0 if self.high is None else self.high
        return self.low + 1.0 if self.high is None else self.high

    def invalid(self):
        wrong = [("0.1", TypeError), (True, TypeError), (float("nan"), ValueError), (float("inf"), ValueError)]
        if self.low is not None:
            wrong.append((self.low if self.low_open else self.low - 1.0, ValueError))
        if self.high is not None:
            wrong.append((self.high + 1.0, ValueError))
        return wrong


def Positive() -> Real:  # noqa: N802 (reads as a rule, like the classes)
    """A finite real number ``> 0``."""
    return Real(0.0, low_open=True)


@dataclass(frozen=True)
class Choice(Rule):
    """One of a few strings."""

    options: tuple[str, ...]

    def check(self, name, value, arguments):
        return choice(name, value, self.options)

    def valid(self):
        return self.options[0]

    def invalid(self):
        return [("no such option", ValueError), (None, ValueError)]


@dataclass(frozen=True)
class Boolean(Rule):
    """``True`` or ``False``."""

    def check(self, name, value, arguments):
        return boolean(name, value)

    def valid(self):
        return False

    def invalid(self):
        return [("False", TypeError), (1, TypeError)]


@dataclass(frozen=True)
class Calls(Rule):
    """A callable, or ``None``; ``usage`` shows how it is called."""

    usage: str

    def check(self, name, value, arguments):
        if value is not None and not callable(value):
            raise TypeError(f"{name} must be callable as {self.usage}, got {_show(value)}")
        return value

    def valid(self):
        return None

    def invalid(self):
        return [(5, TypeError), ("print", TypeError)]


@dataclass(frozen=True)
class Instance(Rule):
    """An instance of ``kind``, described to the user as ``description``."""

    kind: type
    description: str

    def check(self, name, value, arguments):
        if not isinstance(value, self.kind):
            raise TypeError(f"{name} must be {self.description}, got {type(value).__name__}")
        return value

    def valid(self):
        raise NotImplementedError(f"no stock value for {self.description}")

    def invalid(self):
        return [(object(), TypeError), ({"a": 1}, TypeError)]


@dataclass(frozen=True)
class Optional(Rule):
    """``None``, or a value ``rule`` accepts."""

    rule: Rule

    def check(self, name, value, arguments):
        return None if value is None else self.rule.check(name, value, arguments)

    def valid(self):
        return None

    def invalid(self):
        return [(value, error) for value, error in self.rule.invalid() if value is not None]


def rules(**declared: Rule) -> Callable:
    """Declare the rules of a function's arguments; they are checked, in order, before each call."""

    def declare(func: Callable) -> Callable:
        signature = inspect.signature(func)
        unknown = [name for name in declared if name not in signature.parameters]
        if unknown:
            raise TypeError(f"rules for {func.__qualname__} name arguments it does not have: {unknown}")

        @functools.wraps(func)
        def checked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, rule in declared.items():
                bound.arguments[name] = rule.check(name, bound.arguments[name], bound.arguments)
            return func(*bound.args, **bound.kwargs)

        checked.rules = declared
        DECLARED.append(checked)
        return checked

    return declare


@dataclass(frozen=True)
class Seed(Rule):
    """A seed: an integer >= 0, a ``generator`` to draw from (NumPy's by default), or ``None`` (fresh entropy)."""

    generator: type = np.random.Generator

    def check(self, name, value, arguments):
        if value is None or isinstance(value, self.generator):
            return value
        return integer(name, value, 0)

    def valid(self):
        return 0

    def invalid(self):
        return [(-1, ValueError), (1.5, TypeError), ("0", TypeError)]


def fields(**declared: Rule) -> Callable[[type], type]:
    """Declare the rules of a frozen dataclass's fields; they are checked, in order, when an instance is made.

    Put it below ``@dataclass`` (so that it runs first and the dataclass calls
    the ``__post_init__`` it adds). Errors name the field as ``Class.field``.
    """

    def declare(cls: type) -> type:
        unknown = [name for name in declared if name not in cls.__annotations__]
        if unknown:
            raise TypeError(f"rules for {cls.__qualname__} name fields it does not have: {unknown}")

        def __post_init__(self) -> None:
            values = {name: getattr(self, name) for name in cls.__annotations__}
            for name, rule in declared.items():
                values[name] = rule.check(f"{cls.__name__}.{name}", values[name], values)
                object.__setattr__(self, name, values[name])  # frozen: set as dataclasses do

        cls.__post_init__ = __post_init__
        cls.rules = declared
        DECLARED.append(cls)
        return cls

    return declare
