"""A fast skip-gram trainer: word2vec's sparse SGD on blocks of pairs, noise words shared by groups.

:func:`~d2lmini.training.train_skipgram` follows d2l: autograd through two
embedding tables and a dense Adam step over both whole tables at every batch.
This trainer keeps the model and the objective (skip-gram with negative
sampling, SGNS) and changes how it is optimised, as word2vec and gensim do:

* **Sparse SGD.** The gradient of a block of pairs is written out in closed
  form and added to the rows the block touches (``index_add_``); no other row
  is read or written, and the learning rate decays linearly to almost 0 over
  training, word2vec's schedule. Center vectors start uniform in
  ``[-0.5/d, 0.5/d]`` and context vectors at 0, word2vec's initialisation.
* **Shared noise words** (Ji et al., 2016, "Parallelizing Word2Vec in Shared
  and Distributed Memory"): the ``group_size`` consecutive pairs of a group
  share their ``K`` noise words, so a group is scored by one
  ``(G x d) @ (d x K)`` product and ``K`` rows are gathered per group instead
  of per pair. Each pair still sees ``K`` independent draws from the noise
  distribution, so the loss is an unbiased estimate of SGNS's.
* **Blocks of pairs.** A thousand pairs per step keep the fixed cost of a
  PyTorch call small against its arithmetic. Larger blocks are faster but
  worse: a frequent word met ``m`` times in a block receives ``m`` gradients
  computed from the same stale vectors, all summed, where sequential SGD
  would have corrected itself after each. On PTB we measured lower
  SimLex-999 scores with blocks of 4,096 pairs and more than with 1,024.
* **Hogwild workers** (``workers > 1``): like word2vec's and gensim's
  threads, several threads update the shared tables at once without locks.
  PyTorch releases the GIL inside its kernels, so the threads run in
  parallel; give each one core (``torch.set_num_threads(1)``, which this
  function leaves to you). Runs with ``workers > 1`` are not bit-for-bit
  reproducible, as gensim's are not.

Everything is plain PyTorch on tensors of the chosen device (CPU, CUDA, MPS).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks
from .corpus import flatten_corpus
from .models import SkipGram
from .skipgram_data import draw_windows, keep_probabilities, noise_distribution
from .training import History, StepResult, _device, fit
from .vocab import Vocab

__all__ = ["AliasTable", "sgns_block_gradients", "sgns_block_step", "train_skipgram_fast"]

BLOCKS_PER_WORKER = 8  # blocks each worker trains between two synchronisations


class AliasTable:
    """Walker's alias method on a torch device: O(1) draws from a fixed distribution.

    Built once on the CPU (a loop over the vocabulary), then two look-up
    tensors live on ``device``; a draw is one ``randint``, one ``rand`` and two
    gathers, all on the device.
    """

    def __init__(self, probabilities: np.ndarray, device: torch.device) -> None:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.ndim != 1 or not len(p) or not np.isfinite(p).all() or (p < 0).any() or not p.sum() > 0:
            raise ValueError("probabilities must be a non-empty 1-D array of finite, non-negative numbers, "
                             "not all zero")
        n = len(p)
        scaled = p / p.sum() * n
        accept, alias = np.ones(n), np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        while small and large:
            s, g = small.pop(), large.pop()
            accept[s], alias[s] = scaled[s], g
            scaled[g] -= 1.0 - scaled[s]
            (small if scaled[g] < 1.0 else large).append(g)
        self.accept = torch.as_tensor(accept, dtype=torch.float32, device=device)
        self.alias = torch.as_tensor(alias, dtype=torch.long, device=device)
        self.probabilities = p / p.sum()

    def sample(self, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
        device = self.accept.device
        k = torch.randint(len(self.accept), shape, generator=generator, device=device)
        keep = torch.rand(shape, generator=generator, device=device) < self.accept[k]
        return torch.where(keep, k, self.alias[k])


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
                    negatives: torch.Tensor, lr: float) -> torch.Tensor:
    """One SGD step on a block: every touched row moves by ``-lr`` times its summed gradient.

    Returns the block's summed loss before the step.
    """
    loss, grad_v, grad_u, grad_noise = sgns_block_gradients(center, context, centers, contexts, negatives)
    center.index_add_(0, centers, grad_v, alpha=-lr)
    context.index_add_(0, contexts, grad_u, alpha=-lr)
    context.index_add_(0, negatives.reshape(-1), grad_noise.reshape(-1, center.shape[1]), alpha=-lr)
    return loss


def train_skipgram_fast(
    corpus: Sequence[Sequence[int]],
    vocab: Vocab,
    embed_size: int = 100,
    max_window_size: int = 5,
    num_noise_words: int = 5,
    num_epochs: int = 5,
    lr: float = 0.05,
    min_lr_fraction: float = 1e-4,
    t: float = 1e-4,
    subsampling: str = "word2vec",
    group_size: int = 8,
    block_size: int = 1024,
    workers: int = 1,
    shuffle: str = "pairs",
    seed: int = 0,
    device: torch.device | str | None = None,
    callback: Callable[[float, dict[str, float]], None] | None = None,
    on_epoch_end: Callable[[int, SkipGram, History], None] | None = None,
) -> tuple[SkipGram, History]:
    """Train skip-gram with negative sampling by sparse SGD on blocks of pairs (see the module).

    Each epoch subsamples frequent words (``subsampling``: the formula of
    :func:`~d2lmini.skipgram_data.keep_probabilities`; word2vec's keeps more
    frequent words than d2l's) and draws windows afresh
    (:func:`~d2lmini.skipgram_data.draw_windows`), shuffles the pairs, and
    trains on blocks of ``block_size`` pairs whose groups of ``group_size``
    share ``num_noise_words`` noise words drawn by ``count ** 0.75`` (as in
    word2vec, a noise word may happen to be a context of its center: nothing
    is redrawn, so nothing can loop). The learning rate falls linearly from
    ``lr`` to ``lr * min_lr_fraction``.

    Args:
        corpus: sentences of ids encoded with ``vocab``.
        workers: threads updating the tables at once (Hogwild); 1 is deterministic.
        shuffle: the order of an epoch's pairs: ``"pairs"`` (every pair anywhere),
            ``"centers"`` (a center's pairs together, centers in random order) or
            ``"none"`` (corpus order, as word2vec). With blocks, the order decides
            which updates are summed together; on PTB, keeping a center's pairs
            together favoured WordSim-353 and corpus order SimLex-999.
        on_epoch_end: called as ``on_epoch_end(epoch, model, history)`` after
            each epoch, outside the timed part (e.g. to score the vectors).

    Returns:
        ``(model, history)``: a :class:`~d2lmini.models.SkipGram` holding the
        trained tables, and a :class:`~d2lmini.training.History` whose loss is
        the mean SGNS loss per pair (with its ``K`` noise words).
    """
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a d2lmini.Vocab, got {type(vocab).__name__}")
    embed_size = _checks.integer("embed_size", embed_size, 1)
    max_window_size = _checks.integer("max_window_size", max_window_size, 1)
    num_noise_words = _checks.integer("num_noise_words", num_noise_words, 1)
    num_epochs = _checks.integer("num_epochs", num_epochs, 1)
    lr = _checks.positive("lr", lr)
    min_lr_fraction = _checks.real("min_lr_fraction", min_lr_fraction, 0.0, 1.0)
    t = _checks.positive("t", t)
    _checks.choice("subsampling", subsampling, ("d2l", "word2vec"))
    group_size = _checks.integer("group_size", group_size, 1)
    block_size = _checks.integer("block_size", block_size, group_size)
    block_size -= block_size % group_size
    workers = _checks.integer("workers", workers, 1)
    _checks.choice("shuffle", shuffle, ("pairs", "centers", "none"))
    seed = _checks.integer("seed", seed, 0)
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be callable as on_epoch_end(epoch, model, history), "
                        f"got {on_epoch_end!r}")
    device = _device(device)

    ids, sentence = flatten_corpus(corpus, len(vocab))
    unk = None if vocab.unk_token is None else vocab.unk
    keep = keep_probabilities(vocab.counts, t, unk=unk, formula=subsampling)
    noise = AliasTable(noise_distribution(vocab.counts, unk=unk), device)
    rng = np.random.default_rng(seed)
    generators = [torch.Generator(device=device).manual_seed(seed + w) for w in range(workers)]
    cpu_generator = torch.Generator().manual_seed(seed)
    model = SkipGram(len(vocab), embed_size)
    with torch.no_grad():  # word2vec's start: small uniform centers, zero contexts
        model.center.weight.copy_((torch.rand(len(vocab), embed_size, generator=cpu_generator) - 0.5) / embed_size)
        model.context.weight.zero_()
    model.to(device)
    center, context = model.center.weight.data, model.context.weight.data
    state = {"pairs_done": 0, "pairs_total": None}

    def epoch_blocks(epoch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        center_ids, context_ids = draw_windows(ids, sentence, keep, max_window_size, rng)
        if shuffle == "centers":  # each center's pairs stay together; centers in random order
            order = rng.permutation(len(center_ids))
            center_ids, context_ids = center_ids[order], context_ids[order]
        rows, cols = np.nonzero(context_ids >= 0)
        pairs = len(rows) - len(rows) % group_size
        if pairs == 0:
            raise ValueError(f"an epoch drew {len(rows)} pairs, fewer than group_size={group_size}; "
                             "use a larger corpus or a smaller group_size")
        if shuffle == "pairs":
            order = rng.permutation(len(rows))[:pairs]
            rows, cols = rows[order], cols[order]
        rows, cols = rows[:pairs], cols[:pairs]
        centers = torch.from_numpy(center_ids[rows].astype(np.int64)).to(device)
        contexts = torch.from_numpy(context_ids[rows, cols].astype(np.int64)).to(device)
        if state["pairs_total"] is None:  # the schedule's length, from the first epoch's size
            state["pairs_total"] = pairs * num_epochs
        blocks = [(centers[i:i + block_size], contexts[i:i + block_size]) for i in range(0, pairs, block_size)]
        # One step of the loop: BLOCKS_PER_WORKER blocks for each worker, so that the workers
        # wait for each other (and the loop's bookkeeping runs) once per step, not once per block.
        per_step = workers * BLOCKS_PER_WORKER
        return [blocks[i:i + per_step] for i in range(0, len(blocks), per_step)]

    def train_blocks(worker: int, blocks, rate: float) -> torch.Tensor:
        loss = torch.zeros((), device=device)
        for centers, contexts in blocks[worker::workers]:
            negatives = noise.sample((len(centers) // group_size, num_noise_words), generators[worker])
            loss += sgns_block_step(center, context, centers, contexts, negatives, rate)
        return loss

    pool = ThreadPoolExecutor(workers) if workers > 1 else None

    def step(blocks) -> StepResult:
        progress = min(1.0, state["pairs_done"] / state["pairs_total"])
        rate = max(lr * (1.0 - progress), lr * min_lr_fraction)
        if pool is None:
            losses = [train_blocks(0, blocks, rate)]
        else:
            losses = list(pool.map(train_blocks, range(workers), [blocks] * workers, [rate] * workers))
        pairs = sum(len(b[0]) for b in blocks)
        state["pairs_done"] += pairs
        return StepResult(torch.stack(losses).sum(), pairs, pairs)

    epoch_end = None if on_epoch_end is None else (lambda epoch, history: on_epoch_end(epoch, model, history))
    try:
        history = fit(step, epoch_blocks, num_epochs, device, lr, callback, on_epoch_end=epoch_end)
    finally:
        if pool is not None:
            pool.shutdown()
    return model, history
