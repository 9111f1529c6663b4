"""An interpolated Kneser-Ney n-gram model: the count baseline of the neural language model.

A table of counts predicts the next word from the words before it. Kneser-Ney
(Kneser and Ney, 1995; in the interpolated form of Chen and Goodman, 1998)
takes a fixed *discount* ``D`` off every count and gives the mass it frees to a
shorter context. The shorter contexts do not use plain counts: they count in
how many different contexts a word continues (``N1+(. w)``), since a word
that follows many different words is a good guess where the longer context was
never seen. The lowest order mixes with the uniform distribution, so every
word gets some probability.

For the context ``h`` and the word ``w`` at order ``m`` (``c`` is the raw count
at the highest order and the continuation count below it)::

    P_m(w | h) = max(c(h w) - D_m, 0) / c(h) + D_m * N1+(h .) / c(h) * P_{m-1}(w | h')

where ``h'`` drops the first word of ``h``, ``c(h)`` sums ``c(h w)`` over
``w`` and ``N1+(h .)`` counts the words with ``c(h w) > 0``. A context with no
counts at an order passes straight to the order below. Each ``D_m`` is
``n1 / (n1 + 2 n2)``, from the numbers of n-grams counted once and twice at
that order (Ney, Essen and Kneser, 1994).
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from . import _checks

__all__ = ["KneserNeyLM"]


class KneserNeyLM:
    """Interpolated Kneser-Ney over the examples of a next-word task.

    Fit it with ``(N, n - 1)`` context ids and ``(N,)`` next-word ids (the
    4-grams of :func:`d2lmini.load_fourgrams` give ``n = 4``); lower orders are
    counted from the suffixes of those n-grams. :meth:`log_probs` scores
    examples, :meth:`cross_entropy` averages their negative log probabilities
    (nats, as :func:`d2lmini.evaluate_lm`), and :meth:`distribution` gives the
    probabilities of every word after one context.
    """

    def __init__(self, inputs, targets, vocab_size: int) -> None:
        self.vocab_size = _checks.integer("vocab_size", vocab_size, 1)
        inputs, targets = _checks.lm_arrays("fitted", inputs, targets, self.vocab_size, None)
        self.order = inputs.shape[1] + 1
        ngrams = Counter(map(tuple, np.column_stack([inputs, targets]).tolist()))
        # counts[m] maps the n-grams of order m (length m) to their counts: raw at the
        # highest order, continuation counts (distinct words before them) below it.
        self.counts: dict[int, Counter] = {self.order: ngrams}
        for m in range(self.order - 1, 0, -1):
            self.counts[m] = Counter(gram[1:] for gram in self.counts[m + 1])
        self.discounts: dict[int, float] = {}
        self._totals: dict[int, Counter] = {}  # c(h) per context h
        self._types: dict[int, Counter] = {}  # N1+(h .) per context h
        for m, counts in self.counts.items():
            once = sum(1 for c in counts.values() if c == 1)
            twice = sum(1 for c in counts.values() if c == 2)
            self.discounts[m] = once / (once + 2 * twice) if once else 0.5
            totals, types = Counter(), Counter()
            for gram, count in counts.items():
                totals[gram[:-1]] += count
                types[gram[:-1]] += 1
            self._totals[m], self._types[m] = totals, types

    def _prob(self, context: tuple[int, ...], word: int) -> float:
        """P(word | context), by the recursion of the module's docstring."""
        prob = 1.0 / self.vocab_size  # below the lowest order: uniform
        for m in range(1, len(context) + 2):  # from the unigram up to the full context
            h = context[len(context) - (m - 1):]
            total = self._totals[m].get(h, 0)
            if total == 0:
                continue  # an unseen context passes the shorter one's probability up
            d = self.discounts[m]
            count = self.counts[m].get((*h, word), 0)
            prob = max(count - d, 0.0) / total + d * self._types[m][h] / total * prob
        return prob

    def log_probs(self, inputs, targets) -> np.ndarray:
        """Natural-log probability of each target after its context, shape ``(N,)``."""
        inputs, targets = _checks.lm_arrays("scored", inputs, targets, self.vocab_size, self.order - 1)
        return np.log([self._prob(tuple(h), w) for h, w in zip(inputs.tolist(), targets.tolist())])

    def cross_entropy(self, inputs, targets) -> float:
        """Mean negative log probability of the targets, in nats per predicted word."""
        return float(-self.log_probs(inputs, targets).mean())

    def distribution(self, context) -> np.ndarray:
        """The probability of every word after ``context`` (``n - 1`` ids), shape ``(vocab_size,)``."""
        context = _checks.id_array("context", context, self.vocab_size)
        if context.shape != (self.order - 1,):
            raise ValueError(f"context must hold {self.order - 1} word ids, got shape {context.shape}")
        h = tuple(context.tolist())
        return np.array([self._prob(h, w) for w in range(self.vocab_size)])
