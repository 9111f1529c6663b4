"""Declared argument rules: every declared function refuses every kind of invalid value its rules name.

A function declares its constraints once, with ``_checks.rules``, outside its
body. For each declared argument this test passes each value the rule says it
refuses (the other arguments left valid), and expects the rule's exception with
a message that names the argument. A second test checks that valid values are
coerced (``np.int64`` becomes ``int``) and that the rules name only real arguments.
"""

import functools
import importlib
import inspect
import pkgutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

import d2lmini
from d2lmini import _checks
from d2lmini.corpus import TokenFile, encode_files
from d2lmini.huffman import HuffmanTree, huffman_tree

for _module in pkgutil.iter_modules(d2lmini.__path__):  # every module declares its functions on import
    if _module.name != "__main__":  # the command line runs on import
        importlib.import_module(f"d2lmini.{_module.name}")

DECLARED = list(_checks.DECLARED)


@functools.cache
def stock(kind: type):
    """A small valid value of a kind an Instance rule asks for."""
    if kind is d2lmini.Vocab:
        return d2lmini.Vocab([["a", "b", "a"]])
    if kind is HuffmanTree:
        return huffman_tree([3, 2, 1])
    if kind is TokenFile:
        folder = Path(tempfile.mkdtemp())
        (folder / "text.txt").write_text("a b a\nb a b\n")
        return encode_files(folder / "text.txt", min_count=1)
    raise LookupError(f"add a stock value of {kind.__name__} to this test")


def valid_arguments(func) -> dict:
    """Arguments that pass every rule: defaults, a valid value for a required declared one, None elsewhere.

    The body never runs in these tests (a rule refuses first), so an undeclared
    required argument can be anything.
    """
    arguments = {}
    for name, parameter in inspect.signature(func).parameters.items():
        rule = func.rules.get(name)
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if isinstance(rule, _checks.Instance):
            arguments[name] = stock(rule.kind)
        elif parameter.default is inspect.Parameter.empty:
            arguments[name] = None if rule is None else rule.valid()
    return arguments


CASES = [
    pytest.param(func, name, value, error, id=f"{func.__module__}.{func.__qualname__}-{name}-{value!r}")
    for func in DECLARED
    for name, rule in func.rules.items()
    for value, error in rule.invalid()
]


def test_the_public_trainers_declare_their_rules():
    names = {f.__qualname__ for f in DECLARED}
    expected = {"fit", "train_glove", "train_skipgram", "train_lm", "train_skipgram_fast", "train_skipgram_stream",
                "train_cbow", "train_hierarchical_softmax", "train_fasttext", "train_full_softmax",
                "Word2VecConfig", "FastWord2VecConfig", "FamilyConfig", "GloVeConfig", "NGramLMConfig"}
    assert expected <= names


@pytest.mark.parametrize(("func", "name", "value", "error"), CASES)
def test_an_invalid_value_is_refused_with_the_arguments_name(func, name, value, error):
    arguments = valid_arguments(func) | {name: value}
    with pytest.raises(error, match=rf"^(\w+\.)?{name} must be"):  # a config's field: Class.field
        func(**arguments)


def test_a_rule_coerces_and_refers_to_earlier_arguments():
    calls = []

    @_checks.rules(group=_checks.Integer(1), block=_checks.Integer("group"), rate=_checks.Positive())
    def declared(block, group=4, rate=0.5):
        calls.append((block, group, rate))

    declared(np.int64(8), rate=np.float32(0.25))
    assert calls == [(8, 4, 0.25)] and type(calls[0][0]) is int and type(calls[0][2]) is float
    with pytest.raises(ValueError, match=r"block must be an integer >= 4, got 3"):
        declared(3)
    with pytest.raises(TypeError, match="arguments it does not have"):
        _checks.rules(nothing=_checks.Integer())(lambda something: None)
    _checks.DECLARED.remove(declared)
