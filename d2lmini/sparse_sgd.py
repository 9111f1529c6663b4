"""word2vec's sparse SGD, written once: the engine of the trainers that learn by word2vec's method.

Three trainers optimise word2vec's objectives by word2vec's method: the
in-memory :func:`~d2lmini.fast_skipgram.train_skipgram_fast`, the streaming and
data-parallel :func:`~d2lmini.stream_skipgram.train_skipgram_stream`, and the
family's trainers (:mod:`d2lmini.family`: CBOW, hierarchical softmax, fastText,
the full softmax). What they share lives here, once:

* **the draws** (:class:`Word2VecDraws`, :func:`epoch_pairs`): word2vec's
  subsampling, a window of random size per center, noise words by
  ``count ** 0.75``, from generators seeded by the trainer's seed;
* **the learning rate** (:func:`linear_rate`, :class:`LinearRate`): it falls
  linearly from ``lr`` to ``lr * min_lr_fraction`` over training;
* **the SGNS block kernels**: the closed-form gradients of a block of pairs
  whose groups share their noise words (:func:`sgns_block_gradients`), the step
  that applies them to the rows the block touched (:func:`sgns_block_step`), its
  compiled form (:func:`compiled_block_step`) and its CUDA-graph form
  (:class:`CudaGraphBlockStep`);
* **the autograd step** the family's models use (:func:`sparse_sgd_update`):
  ``p -= lr * grad`` on the rows a sparse gradient lists.

word2vec's start values (uniform centers in ``[-0.5/d, 0.5/d)``, zero contexts)
are :meth:`~d2lmini.models.SkipGram.word2vec_start`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ._checks import Choice, Instance, Integer, Positive, rules
from .corpus import flatten_corpus
from .skipgram_data import SUBSAMPLING_FORMULAS, AliasSampler, draw_windows, keep_probabilities, noise_distribution
from .vocab import Vocab

__all__ = [
    "linear_rate", "LinearRate", "subsampling_and_noise", "Word2VecDraws", "epoch_pairs", "sgns_block_gradients",
    "sgns_block_step", "compiled_block_step", "CudaGraphBlockStep", "sparse_sgd_update",
]

SHUFFLES = ("pairs", "centers", "none")


def linear_rate(lr: float, progress: float, min_lr_fraction: float = 1e-4) -> float:
    """word2vec's learning rate after ``progress`` (0 to 1) of training: ``lr * (1 - progress)``, floored.

    The floor, ``lr * min_lr_fraction``, keeps the last steps moving (word2vec's is 1e-4).
    """
    return max(lr * (1.0 - progress), lr * min_lr_fraction)


class LinearRate:
    """The rate of a run that counts its progress in examples: :func:`linear_rate` of the share done.

    The run's length is ``num_epochs`` times the first epoch's examples
    (:meth:`plan`), since later epochs, drawn afresh, differ by a few examples.
    """

    def __init__(self, lr: float, min_lr_fraction: float, num_epochs: int) -> None:
        self.lr, self.min_lr_fraction, self.num_epochs = lr, min_lr_fraction, num_epochs
        self.done, self.total = 0, 0

    def plan(self, first_epoch_examples: int) -> None:
        """Fix the run's length from the first epoch; later calls change nothing."""
        if not self.total:
            self.total = max(first_epoch_examples * self.num_epochs, 1)

    def rate(self) -> float:
        """The rate of the next step."""
        return linear_rate(self.lr, min(1.0, self.done / max(self.total, 1)), self.min_lr_fraction)

    def advance(self, examples: int) -> None:
        """Count ``examples`` as done."""
        self.done += examples


@rules(t=Positive(), subsampling=Choice(SUBSAMPLING_FORMULAS))
def subsampling_and_noise(counts: np.ndarray, t: float, unk: int | None,
                          subsampling: str = "word2vec") -> tuple[np.ndarray, AliasSampler]:
    """Each word's probability of being kept (``subsampling``'s formula) and the noise sampler (``count ** 0.75``)."""
    keep = keep_probabilities(counts, t, unk=unk, formula=subsampling)
    return keep, AliasSampler(noise_distribution(counts, unk=unk))


class Word2VecDraws:
    """A corpus as word2vec draws from it: flat ids, keep probabilities, the noise sampler, one generator.

    Every epoch draws afresh from ``rng`` (seeded with ``seed``): the subsampled
    tokens, a window size per center, the order and the noise words.
    """

    @rules(vocab=Instance(Vocab, "a d2lmini.Vocab"), t=Positive(), subsampling=Choice(SUBSAMPLING_FORMULAS),
           seed=Integer(0))
    def __init__(self, corpus: Sequence[Sequence[int]], vocab: Vocab, t: float = 1e-4,
                 subsampling: str = "word2vec", seed: int = 0) -> None:
        self.ids, self.sentence = flatten_corpus(corpus, len(vocab))
        unk = None if vocab.unk_token is None else vocab.unk
        self.keep, self.noise = subsampling_and_noise(vocab.counts, t, unk, subsampling)
        self.rng = np.random.default_rng(seed)

    def windows(self, max_window_size: int) -> tuple[np.ndarray, np.ndarray]:
        """An epoch's windows in random order: centers ``(C,)`` and contexts ``(C, 2w)``, -1 where none."""
        centers, contexts = draw_windows(self.ids, self.sentence, self.keep, max_window_size, self.rng)
        order = self.rng.permutation(len(centers))
        return centers[order], contexts[order]

    def pairs(self, max_window_size: int, shuffle: str = "pairs") -> tuple[np.ndarray, np.ndarray]:
        """An epoch's (center, context) pairs, ordered as :func:`epoch_pairs` says."""
        return epoch_pairs(self.ids, self.sentence, self.keep, max_window_size, self.rng, shuffle)

    def negatives(self, shape: tuple[int, ...]) -> np.ndarray:
        """Noise ids of ``shape``, drawn by ``count ** 0.75``."""
        return self.noise.sample(self.rng, shape)


@rules(max_window_size=Integer(1), shuffle=Choice(SHUFFLES))
def epoch_pairs(ids: np.ndarray, sentence: np.ndarray, keep: np.ndarray, max_window_size: int,
                rng: np.random.Generator, shuffle: str = "pairs") -> tuple[np.ndarray, np.ndarray]:
    """One epoch's (center, context) pairs as two flat id arrays, in the order ``shuffle`` asks for.

    Subsamples and draws windows with :func:`~d2lmini.skipgram_data.draw_windows`,
    then lists the pairs: ``"pairs"`` shuffles them all, ``"centers"`` keeps
    each center's pairs together with the centers in random order, ``"none"``
    keeps the corpus order.
    """
    center_ids, context_ids = draw_windows(ids, sentence, keep, max_window_size, rng)
    if shuffle == "centers":
        order = rng.permutation(len(center_ids))
        center_ids, context_ids = center_ids[order], context_ids[order]
    flat = np.flatnonzero(context_ids.ravel() >= 0)  # row-major: each center's pairs together
    if shuffle == "pairs":
        flat = flat[rng.permutation(len(flat))]
    return center_ids[flat // context_ids.shape[1]], context_ids.ravel()[flat]


def sgns_block_gradients(center: torch.Tensor, context: torch.Tensor, centers: torch.Tensor,
                         contexts: torch.Tensor, negatives: torch.Tensor):
    """Summed SGNS loss of a block and its gradients for the rows it touches.

    Args:
        center, context: the two tables, ``(V, d)``.
        centers, contexts: ids of the block's ``B`` pairs, ``(B,)``; ``B`` a multiple of the group size.
        negatives: ``(B / G, K)`` noise ids, shared by the ``G`` consecutive pairs of each group.

    Returns:
        ``(loss, grad_centers, grad_contexts, grad_negatives)``: the loss
        ``sum_i [-log s(v_i . u_i) - sum_k log s(-v_i . n_gk)]`` (``s`` the
        sigmoid), and its gradients with respect to the gathered rows, of
        shapes ``(B, d)``, ``(B, d)`` and ``(B / G, K, d)``.
    """
    groups, k = negatives.shape
    b, d = len(centers), center.shape[1]
    v = center.index_select(0, centers)  # (B, d)
    u = context.index_select(0, contexts)  # (B, d)
    noise = context.index_select(0, negatives.reshape(-1)).view(groups, k, d)  # (B/G, K, d)
    v_grouped = v.view(groups, b // groups, d)  # (B/G, G, d)
    positive = (v * u).sum(1)  # (B,)
    negative = torch.bmm(v_grouped, noise.transpose(1, 2))  # (B/G, G, K)
    loss = -(F.logsigmoid(positive).sum() + F.logsigmoid(-negative).sum())
    g_positive = torch.sigmoid(positive) - 1.0  # dloss / dpositive
    g_negative = torch.sigmoid(negative)  # dloss / dnegative
    grad_v = g_positive[:, None] * u + torch.bmm(g_negative, noise).view(b, d)
    grad_u = g_positive[:, None] * v
    grad_noise = torch.bmm(g_negative.transpose(1, 2), v_grouped)  # (B/G, K, d)
    return loss, grad_v, grad_u, grad_noise


@torch.no_grad()
def sgns_block_step(center: torch.Tensor, context: torch.Tensor, centers: torch.Tensor, contexts: torch.Tensor,
                    negatives: torch.Tensor, lr: float | torch.Tensor) -> torch.Tensor:
    """One SGD step on a block: every touched row moves by ``-lr`` times its summed gradient.

    The same arithmetic as :func:`sgns_block_gradients`, arranged for speed in
    eager PyTorch: the learning rate is folded into the two sigmoid terms, the
    noise part of the center gradient is one ``baddbmm``, and the context table
    (true contexts and noise words) is updated by one ``scatter_add_``, which
    on the CPU is about twice as fast as ``index_add_``.

    Returns the block's summed loss before the step.
    """
    groups, k = negatives.shape
    b, d = len(centers), center.shape[1]
    noise_ids = negatives.reshape(-1)
    v = center.index_select(0, centers)
    u = context.index_select(0, contexts)
    noise = context.index_select(0, noise_ids).view(groups, k, d)
    v_grouped = v.view(groups, b // groups, d)
    positive = (v * u).sum(1)
    negative = torch.bmm(v_grouped, noise.transpose(1, 2))
    loss = -(F.logsigmoid(positive).sum() + F.logsigmoid(-negative).sum())
    step_positive = (torch.sigmoid(positive) - 1.0).mul_(-lr)  # -lr * dloss/dpositive
    step_negative = torch.sigmoid(negative).mul_(-lr)
    step_v = torch.baddbmm((step_positive[:, None] * u).view(groups, b // groups, d), step_negative, noise)
    step_noise = torch.bmm(step_negative.transpose(1, 2), v_grouped).view(-1, d)
    step_context = torch.cat([step_positive[:, None] * v, step_noise])
    rows = torch.cat([contexts, noise_ids])
    center.scatter_add_(0, centers[:, None].expand(b, d), step_v.view(b, d))
    context.scatter_add_(0, rows[:, None].expand(len(rows), d), step_context)
    return loss


def _fusable_block_step(center: torch.Tensor, context: torch.Tensor, centers: torch.Tensor, contexts: torch.Tensor,
                        negatives: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
    """:func:`sgns_block_step` written for ``torch.compile``: the grouped products as broadcasts.

    Eager PyTorch would build ``(B/G, G, K, d)`` temporaries here and run
    slower; the compiler fuses each broadcast and its sum into one loop, and
    the gathers and scatters around them into a handful of kernels.
    """
    groups, k = negatives.shape
    b, d = centers.shape[0], center.shape[1]
    noise_ids = negatives.reshape(-1)
    v = center[centers]
    u = context[contexts]
    noise = context[noise_ids].view(groups, 1, k, d)
    v_grouped = v.view(groups, b // groups, 1, d)
    positive = (v * u).sum(1)
    negative = (v_grouped * noise).sum(-1)  # (B/G, G, K)
    loss = -(F.logsigmoid(positive).sum() + F.logsigmoid(-negative).sum())
    step_positive = (torch.sigmoid(positive) - 1.0) * -lr
    step_negative = (torch.sigmoid(negative) * -lr)[..., None]  # (B/G, G, K, 1)
    step_v = step_positive[:, None] * u + (step_negative * noise).sum(2).view(b, d)
    step_noise = (step_negative * v_grouped).sum(1).view(-1, d)
    center.index_add_(0, centers, step_v)
    context.index_add_(0, torch.cat([contexts, noise_ids]), torch.cat([step_positive[:, None] * v, step_noise]))
    return loss


class CudaGraphBlockStep:
    """:func:`sgns_block_step` recorded once as a CUDA graph, replayed for each full block.

    Call it as the step, ``step(center, context, centers, contexts, negatives, lr)``,
    with the tables it was recorded on and a full block. Each call copies the
    block's ids and the rate into the graph's input buffers and replays the
    graph. The loss it returns lives in the graph's output buffer: use it
    (e.g. add it to a sum) before the next call overwrites it.
    """

    @rules(group_size=Integer(1), block_size=Integer("group_size"), num_noise_words=Integer(1))
    def __init__(self, center: torch.Tensor, context: torch.Tensor, block_size: int, group_size: int,
                 num_noise_words: int) -> None:
        if block_size % group_size:
            raise ValueError(f"block_size must be a multiple of group_size={group_size}, got {block_size}")
        if center.device.type != "cuda" or context.device != center.device:
            raise ValueError(f"a CUDA graph needs both tables on one CUDA device, got {center.device} "
                             f"and {context.device}; train on the CPU with sgns_block_step instead")
        device = center.device
        self.centers = torch.zeros(block_size, dtype=torch.long, device=device)
        self.contexts = torch.zeros_like(self.centers)
        self.negatives = torch.zeros((block_size // group_size, num_noise_words), dtype=torch.long, device=device)
        self.rate = torch.zeros((), device=device)  # rate 0: the warm-up steps below change nothing
        inputs = (center, context, self.centers, self.contexts, self.negatives, self.rate)
        side = torch.cuda.Stream(device)  # PyTorch's recipe: warm up on a side stream, then record
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):
            for _ in range(3):
                sgns_block_step(*inputs)
        torch.cuda.current_stream(device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.loss = sgns_block_step(*inputs)

    def __call__(self, center: torch.Tensor, context: torch.Tensor, centers: torch.Tensor, contexts: torch.Tensor,
                 negatives: torch.Tensor, lr: torch.Tensor) -> torch.Tensor:
        self.centers.copy_(centers)
        self.contexts.copy_(contexts)
        self.negatives.copy_(negatives)
        self.rate.copy_(lr)
        self.graph.replay()
        return self.loss


_COMPILED: dict[str, Callable] = {}


def compiled_block_step() -> Callable:
    """``torch.compile`` of the block step, made once per process.

    The first call of the result compiles (tens of seconds on a laptop CPU the
    first time; PyTorch keeps the generated code in its on-disk cache, and a
    later process loads it in a second or two). Pass the learning rate as a
    0-d tensor, so that a new rate does not compile again.
    """
    if "step" not in _COMPILED:
        # cpp_wrapper: the compiled step is called from C++ without holding the GIL, so that
        # Hogwild threads run in parallel (with the default Python wrapper two threads are slower than one).
        _COMPILED["step"] = torch.compile(torch.no_grad()(_fusable_block_step), dynamic=False,
                                          options={"cpp_wrapper": True})
    return _COMPILED["step"]


@torch.no_grad()
def sparse_sgd_update(model: torch.nn.Module, lr: float) -> None:
    """One SGD step, ``p -= lr * grad``, for every parameter with a gradient; then drop the gradients.

    A sparse gradient (an embedding built with ``sparse=True``) lists the rows
    a batch looked up, once per look-up; ``scatter_add_`` adds them all, repeats
    included, and leaves every other row untouched (on the CPU it is about
    twice as fast as ``index_add_``).
    """
    for p in model.parameters():
        if p.grad is None:
            continue
        if p.grad.is_sparse:
            rows, values = p.grad._indices()[0], p.grad._values()
            p.scatter_add_(0, rows[:, None].expand_as(values), values.mul_(-lr))
        else:
            p.add_(p.grad, alpha=-lr)
        p.grad = None
