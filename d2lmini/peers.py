"""Our fast word2vec against gensim's on the same sentences, in one process: time to quality.

Both trainers get the same hyperparameters (:data:`PTB_SETTINGS`: skip-gram
with negative sampling, ``min_count=10``, window 5, 5 noise words, dimension
100, subsampling 1e-4) and one worker thread per CPU. gensim runs a whole
training per epoch count (its learning rate decays over the epochs it is
given); ours runs once and keeps its vectors after every epoch. Times are
cumulative wall seconds including data preparation (building the vocabulary
and encoding; reading the text is shared and not counted) and excluding
scoring. All vectors are scored on the words they all share
(:func:`~d2lmini.evaluation.common_vocabulary`), so that every model answers
the same WordSim-353 and SimLex-999 pairs.

:func:`race` puts the two together; ``benchmarks/word2vec_vs_gensim.py`` and
the fast-word2vec chapter both call it. :func:`gensim_word2vec_by_epoch`
observes one gensim training after every epoch, as ours is observed: raced
against gensim's own runs, it is a control that shows what the race's
criterion makes of a single algorithm.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

from . import _checks, evaluation
from ._checks import Integer, rules
from .embeddings import Embeddings
from .fast_skipgram import train_skipgram_fast
from .training import as_device
from .vocab import Vocab

__all__ = ["PTB_SETTINGS", "Point", "Race", "gensim_word2vec", "gensim_word2vec_by_epoch", "fast_word2vec_by_epoch",
           "race"]

PTB_SETTINGS = {"min_count": 10, "window": 5, "negative": 5, "dim": 100, "sample": 1e-4}
SCORES = ("wordsim353_spearman", "simlex999_spearman")


@dataclass
class Point:
    """Vectors after some training: who, after how many epochs, at which cumulative second.

    ``training_seconds`` (ours only) is the time inside the trainer's epochs so
    far: ``seconds`` without the vocabulary, the encoding and the trainer's setup.
    """

    trainer: str
    epochs: int
    seconds: float
    vectors: Embeddings = field(repr=False)
    scores: dict[str, float] = field(default_factory=dict)
    training_seconds: float | None = None


def _workers(workers: int | None) -> int:
    if workers is None:
        return os.cpu_count() or 1
    return _checks.integer("workers", workers, 1)


def _gensim_sentences(sentences) -> list:
    """The sentences, checked before gensim sees them (its own errors name no argument)."""
    sentences = _checks.sentences("sentences", sentences)
    counts = Counter(chain.from_iterable(sentences))
    if max(counts.values(), default=0) < PTB_SETTINGS["min_count"]:
        raise ValueError(f"sentences hold no word seen at least min_count={PTB_SETTINGS['min_count']} times "
                         f"({sum(counts.values())} tokens in {len(sentences)} sentences), so gensim would have "
                         "no vocabulary; pass a larger corpus")
    return sentences


def _gensim_model(sentences, epochs: int, seed: int, workers: int | None, callbacks=()):
    """gensim's ``Word2Vec`` with :data:`PTB_SETTINGS`, trained for ``epochs`` epochs (gensim is imported here)."""
    from gensim.models import Word2Vec

    return Word2Vec(sentences, sg=1, negative=PTB_SETTINGS["negative"], window=PTB_SETTINGS["window"],
                    vector_size=PTB_SETTINGS["dim"], min_count=PTB_SETTINGS["min_count"],
                    sample=PTB_SETTINGS["sample"], epochs=epochs, workers=_workers(workers),
                    seed=_checks.integer("seed", seed, 0), callbacks=callbacks)


@rules(epochs=Integer(1))
def gensim_word2vec(sentences: Sequence[Sequence[str]], epochs: int, seed: int = 0,
                    workers: int | None = None) -> Point:
    """Train gensim's ``Word2Vec`` with :data:`PTB_SETTINGS` for ``epochs`` epochs (gensim is imported here)."""
    sentences = _gensim_sentences(sentences)
    start = time.perf_counter()
    model = _gensim_model(sentences, epochs, seed, workers)
    seconds = time.perf_counter() - start
    return Point("gensim", epochs, seconds, Embeddings(model.wv.index_to_key, model.wv.vectors))


@rules(epochs=Integer(1))
def gensim_word2vec_by_epoch(sentences: Sequence[Sequence[str]], epochs: int, seed: int = 0,
                             workers: int | None = None) -> list[Point]:
    """Train gensim's ``Word2Vec`` once for ``epochs`` epochs, keeping its vectors after every epoch.

    The same training as :func:`gensim_word2vec` with the same ``epochs`` and
    seed (one learning-rate decay over all ``epochs``; the same vectors with
    ``workers=1``, otherwise up to how gensim's threads interleave), observed
    as :func:`fast_word2vec_by_epoch` observes ours. Raced against
    :func:`gensim_word2vec`'s separate runs, it shows what :func:`race` makes
    of one algorithm: whether gensim itself reaches its own points sooner.
    The points are labelled ``"gensim, by epoch"``; copying the vectors is
    not timed.
    """
    from gensim.models.callbacks import CallbackAny2Vec

    sentences = _gensim_sentences(sentences)
    points, outside = [], 0.0

    class Keep(CallbackAny2Vec):  # gensim calls on_epoch_end in this thread, after its workers finished the epoch
        def on_epoch_end(self, model):
            nonlocal outside
            now = time.perf_counter()
            points.append(Point("gensim, by epoch", len(points) + 1, now - start - outside,
                                Embeddings(model.wv.index_to_key, model.wv.vectors.copy())))
            outside += time.perf_counter() - now

    start = time.perf_counter()
    _gensim_model(sentences, epochs, seed, workers, callbacks=[Keep()])
    return points


@rules(epochs=Integer(1))
def fast_word2vec_by_epoch(sentences: Sequence[Sequence[str]], epochs: int, seed: int = 0,
                           workers: int | None = None, device=None, **options) -> list[Point]:
    """Train :func:`~d2lmini.fast_skipgram.train_skipgram_fast` once, keeping the vectors of every epoch.

    ``workers`` defaults to one thread per CPU on the CPU and to one on an
    accelerator (there the blocks queue on one stream; more threads only
    contend for it). ``options`` go to the trainer (``compile``, ``lr``,
    ``group_size``, ...).
    """
    on_cpu = as_device(device).type == "cpu"
    workers = _workers(workers) if workers is not None or on_cpu else 1
    points, outside = [], 0.0  # outside: seconds spent copying vectors, not training
    start = time.perf_counter()
    vocab = Vocab(sentences, min_freq=PTB_SETTINGS["min_count"])
    corpus = vocab.encode(sentences)

    def keep(epoch, model, history):
        nonlocal outside
        now = time.perf_counter()
        points.append(Point("ours", epoch + 1, now - start - outside, Embeddings.from_model(model, vocab),
                            training_seconds=history.seconds))
        outside += time.perf_counter() - now

    train_skipgram_fast(corpus, vocab, embed_size=PTB_SETTINGS["dim"], max_window_size=PTB_SETTINGS["window"],
                        num_noise_words=PTB_SETTINGS["negative"], num_epochs=epochs, t=PTB_SETTINGS["sample"],
                        workers=workers, seed=seed, device=device, on_epoch_end=keep, **options)
    return points


@dataclass
class Race:
    """Every point scored on the same pairs, and when ours first reached each of gensim's points."""

    ours: list[Point]
    gensim: list[Point]
    common_words: int
    coverage: dict[str, float]
    reached: list[float | None]  # per gensim point: our first time with both scores at least as high

    @property
    def ratios(self) -> list[float]:
        """gensim's time over ours for each gensim point (0 where ours never reached it)."""
        return [peer.seconds / t if t else 0.0 for peer, t in zip(self.gensim, self.reached)]

    @property
    def margins(self) -> list[float]:
        """How close each verdict was: per gensim point, a score difference at the deciding epoch.

        The deciding epoch is our first epoch that reached the point or, where none
        did, the epoch that came closest. Its margin is the smaller of its two score
        differences from the point (ours minus gensim's): 0 or more where ours
        reached the point, negative where it fell short.
        """
        result = []
        for peer, t in zip(self.gensim, self.reached):
            both = [min(p.scores[k] - peer.scores[k] for k in SCORES) for p in self.ours]
            deciding = next(i for i, p in enumerate(self.ours) if p.seconds == t) if t else both.index(max(both))
            result.append(both[deciding])
        return result

    @property
    def speedup(self) -> float:
        """The minimum ratio over gensim's points: how much sooner ours gets there at every budget."""
        return min(self.ratios)

    def table(self) -> str:
        width = max(8, *(len(p.trainer) for p in self.gensim + self.ours))
        lines = [f"{'trainer':<{width}} {'epochs':>6} {'seconds':>8} {'WS-353':>7} {'SimLex':>7}"]
        for p in self.gensim + self.ours:
            lines.append(f"{p.trainer:<{width}} {p.epochs:>6} {p.seconds:>8.2f} "
                         f"{p.scores['wordsim353_spearman']:>7.3f} {p.scores['simlex999_spearman']:>7.3f}")
        for peer, t, ratio, margin in zip(self.gensim, self.reached, self.ratios, self.margins):
            reaches = "never reaches both scores" if t is None else f"reaches both scores at {t:.2f} s"
            lines.append(f"gensim {peer.epochs:>2} epochs ({peer.seconds:.2f} s): {self.ours[0].trainer} "
                         f"{reaches}; ratio {ratio:.2f}, margin {margin:+.3f}")
        return "\n".join(lines)

    def plot(self, axes) -> None:
        """Time-to-quality curves, WordSim-353 on ``axes[0]`` and SimLex-999 on ``axes[1]``."""
        for ax, key, title in zip(axes, SCORES, ("WordSim-353", "SimLex-999")):
            ax.plot([p.seconds for p in self.ours], [p.scores[key] for p in self.ours], "o-",
                    label="ours, after each epoch")
            # hollow squares, so that a point of ours behind one stays visible
            ax.plot([p.seconds for p in self.gensim], [p.scores[key] for p in self.gensim], "s", markersize=8,
                    markerfacecolor="none", markeredgewidth=1.5,
                    label="gensim, one run each for " + ", ".join(str(p.epochs) for p in self.gensim) + " epochs")
            for p in self.gensim:
                ax.annotate(f"{p.epochs}", (p.seconds, p.scores[key]), textcoords="offset points", xytext=(6, -10))
            ax.set_xlabel("cumulative wall seconds (vocabulary and encoding included)")
            ax.set_ylabel(f"Spearman, {title}")
            ax.legend()


def race(ours: list[Point], gensim: list[Point]) -> Race:
    """Score every point on the shared vocabulary and find when ours first matched each gensim point."""
    if not ours or not gensim:
        raise ValueError("race needs at least one point of ours and one of gensim's")
    points = ours + gensim
    restricted = evaluation.common_vocabulary(*(p.vectors for p in points))
    for p, vectors in zip(points, restricted):
        p.scores = evaluation.similarity_scores(vectors)
    reached = []
    for peer in gensim:
        times = [p.seconds for p in ours if all(p.scores[k] >= peer.scores[k] for k in SCORES)]
        reached.append(times[0] if times else None)
    coverage = {k: ours[0].scores[k] for k in ("wordsim353_coverage", "simlex999_coverage")}
    return Race(ours, gensim, len(restricted[0]), coverage, reached)
