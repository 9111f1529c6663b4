"""A fast skip-gram trainer: word2vec's sparse SGD on blocks of pairs, noise words shared by groups.

:func:`~d2lmini.training.train_skipgram` follows d2l: autograd through two
embedding tables and a dense Adam step over both whole tables at every batch.
This trainer keeps the model and the objective (skip-gram with negative
sampling, SGNS) and changes how it is optimised, as word2vec and gensim do:

* **Sparse SGD.** The gradient of a block of pairs is written out in closed
  form and added to the rows the block touches (``scatter_add_``; ``index_add_``
  in the compiled step); no other row
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
  parallel. On a CPU each worker's steps run on one PyTorch thread (set for
  the training, restored after): the parallelism comes from the workers, as
  in word2vec, and a block's small operations run faster on one thread than
  split between several (measured on PTB: about half the cost per pair). So
  the trainer costs the same per pair whatever thread setting the caller has.
  Runs with ``workers > 1`` are not bit-for-bit reproducible, as gensim's are
  not.
* **The next epoch drawn during this one**: a background thread subsamples,
  draws windows, shuffles the pairs and draws the noise words of epoch
  ``e + 1`` while epoch ``e`` trains.
* **A compiled step** (``compile=True``): ``torch.compile`` fuses the
  gathers, products, sigmoids and scatters of a block into a few C++ loops,
  faster per block than eager PyTorch (the fast-word2vec chapter measures by
  how much), at the price of a compilation (seconds from PyTorch's on-disk
  cache, tens of seconds the first time on a machine).

* **A recorded step on CUDA** (``cuda_graph=True``, one worker): a block
  launches some forty small kernels (40 operations for a block of 1,024 pairs on
  the CPU, counted with a dispatch mode), and from Python each launch can cost
  more than the kernel runs. The step is recorded once as a CUDA graph and
  replayed for every full block; the host then only launches the copies of
  the block's ids and rate into the graph's inputs, and the replay.
* **The shuffle on the accelerator**: off the CPU, the pairs are drawn in
  corpus order and permuted where they train; permuting millions of pairs
  is most of a draw's time on the CPU.

Everything is plain PyTorch on tensors of the chosen device (CPU, CUDA, MPS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import Boolean, Calls, Choice, Instance, Integer, Positive, Real, rules
from .models import SkipGram
from .skipgram_data import SUBSAMPLING_FORMULAS
from .sparse_sgd import (
    SHUFFLES,
    CudaGraphBlockStep,
    LinearRate,
    Word2VecDraws,
    compiled_block_step,
    sgns_block_step,
)
from .training import History, StepResult, as_device, fit
from .vocab import Vocab

__all__ = ["train_skipgram_fast"]

BLOCKS_PER_WORKER = 8  # blocks each worker trains between two synchronisations


@rules(
    vocab=Instance(Vocab, "a d2lmini.Vocab"), embed_size=Integer(1), max_window_size=Integer(1),
    num_noise_words=Integer(1), num_epochs=Integer(1), lr=Positive(), min_lr_fraction=Real(0.0, 1.0), t=Positive(),
    subsampling=Choice(SUBSAMPLING_FORMULAS), group_size=Integer(1), block_size=Integer("group_size"),
    workers=Integer(1), shuffle=Choice(SHUFFLES), compile=Boolean(), cuda_graph=Boolean(), seed=Integer(0),
    callback=Calls("callback(progress, metrics)"), on_epoch_end=Calls("on_epoch_end(epoch, model, history)"),
)
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
    compile: bool = False,
    cuda_graph: bool = True,
    seed: int = 0,
    device: torch.device | str | None = None,
    callback: Callable[[float, dict[str, float]], None] | None = None,
    on_epoch_end: Callable[[int, SkipGram, History], None] | None = None,
) -> tuple[SkipGram, History]:
    """Train skip-gram with negative sampling by sparse SGD on blocks of pairs (see the module).

    Each epoch subsamples frequent words (``subsampling``: the formula of
    :func:`~d2lmini.skipgram_data.keep_probabilities`), draws windows afresh,
    shuffles the pairs, and trains on blocks of ``block_size`` pairs whose
    groups of ``group_size`` share ``num_noise_words`` noise words drawn by
    ``count ** 0.75``. A noise word equal to the pair's context is kept (word2vec
    skips it). The rate falls linearly from ``lr`` to ``lr * min_lr_fraction``.

    Args:
        workers: threads updating the tables at once (Hogwild); 1 is reproducible.
        shuffle: the order of an epoch's pairs: ``"pairs"`` (every pair anywhere),
            ``"centers"`` (a center's pairs together, centers in random order) or
            ``"none"`` (corpus order, as word2vec). With blocks, the order decides
            which updates are summed together; on PTB, keeping a center's pairs
            together favoured WordSim-353 and corpus order SimLex-999.
        compile: run the block step through ``torch.compile``
            (:func:`~d2lmini.sparse_sgd.compiled_block_step`); pays once training
            outlasts the compilation. With one worker it is reproducible too.
        cuda_graph: on a CUDA device with one worker and no ``compile``, replay the
            block step as a recorded CUDA graph (:class:`~d2lmini.sparse_sgd.CudaGraphBlockStep`);
            ignored elsewhere. CUDA adds rows with atomic additions, so no CUDA run
            is bit-for-bit reproducible.
        on_epoch_end: ``on_epoch_end(epoch, model, history)`` after each epoch, untimed.

    Returns:
        ``(model, history)``: a :class:`~d2lmini.models.SkipGram` holding the
        trained tables, and a :class:`~d2lmini.training.History` whose loss is
        the mean SGNS loss per pair (with its ``K`` noise words).
    """
    block_size -= block_size % group_size  # whole groups
    device = as_device(device)

    draws = Word2VecDraws(corpus, vocab, t, subsampling, seed)
    model = SkipGram.word2vec_start(len(vocab), embed_size, torch.Generator().manual_seed(seed)).to(device)
    shape = _Blocks(block_size, group_size, num_noise_words, workers)
    steps = _BlockSteps(model, shape, device, compile, cuda_graph)  # may record a CUDA graph: before any thread
    drawer = _EpochDrawer(draws, shape, max_window_size, shuffle, device, seed)  # starts drawing epoch 1
    rate = LinearRate(lr, min_lr_fraction, num_epochs)

    def epoch_steps(epoch: int) -> list:
        drawn = drawer.epoch(last=epoch + 1 == num_epochs)
        rate.plan(sum(len(block[0]) for step in drawn for block in step))
        return drawn

    def step(blocks) -> StepResult:
        loss = steps.train(blocks, rate.rate())
        pairs = sum(len(block[0]) for block in blocks)
        rate.advance(pairs)
        return StepResult(loss, pairs, pairs)

    epoch_end = None if on_epoch_end is None else (lambda epoch, history: on_epoch_end(epoch, model, history))
    with drawer, steps, _one_thread_per_worker(device):
        steps.warm_up()  # compiles while the drawer draws the first epoch
        history = fit(step, epoch_steps, num_epochs, device, lr, callback, on_epoch_end=epoch_end)
    return model, history


@dataclass(frozen=True)
class _Blocks:
    """How an epoch's pairs are cut: blocks of ``size`` pairs, groups of ``group_size`` sharing ``noise_words``."""

    size: int
    group_size: int
    noise_words: int
    workers: int

    def cut(self, centers: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> list[list[tuple]]:
        """The epoch as steps, each ``BLOCKS_PER_WORKER`` blocks for each worker.

        The workers wait for each other (and the loop's bookkeeping runs) once
        per step, not once per block.
        """
        per_block = self.size // self.group_size
        blocks = [(centers[i:i + self.size], contexts[i:i + self.size],
                   negatives[i // self.group_size:i // self.group_size + per_block])
                  for i in range(0, len(centers), self.size)]
        per_step = self.workers * BLOCKS_PER_WORKER
        return [blocks[i:i + per_step] for i in range(0, len(blocks), per_step)]


class _EpochDrawer:
    """Draws each epoch's blocks in a background thread, one epoch ahead of training.

    NumPy and PyTorch release the GIL in their loops, so the next epoch is drawn
    while this one trains; the draws still happen one epoch after another, in order.
    """

    def __init__(self, draws: Word2VecDraws, blocks: _Blocks, max_window_size: int, shuffle: str,
                 device: torch.device, seed: int) -> None:
        self.draws, self.blocks, self.window, self.device = draws, blocks, max_window_size, device
        # Off the CPU the pairs are permuted where they train: permuting millions of pairs is most of a
        # draw's time on the CPU.
        self.shuffle_on_device = device.type != "cpu" and shuffle == "pairs"
        self.shuffle = "none" if self.shuffle_on_device else shuffle
        self.generator = torch.Generator(device=device).manual_seed(seed)
        self.thread = ThreadPoolExecutor(1)
        self.next = self.thread.submit(self.draw)

    def draw(self) -> list[list[tuple]]:
        """An epoch: its pairs in order, cut into blocks, with every block's noise words."""
        group = self.blocks.group_size
        center_ids, context_ids = self.draws.pairs(self.window, self.shuffle)
        pairs = len(center_ids) - len(center_ids) % group
        if pairs == 0:
            raise ValueError(f"an epoch drew {len(center_ids)} pairs, fewer than group_size={group}; "
                             "use a larger corpus or a smaller group_size")
        centers = torch.from_numpy(center_ids).to(self.device).long()
        contexts = torch.from_numpy(context_ids).to(self.device).long()
        if self.shuffle_on_device:
            order = torch.randperm(len(centers), generator=self.generator, device=self.device)[:pairs]
            centers, contexts = centers[order], contexts[order]
        else:
            centers, contexts = centers[:pairs], contexts[:pairs]
        shape = (pairs // group, self.blocks.noise_words)
        if self.device.type == "cpu":  # numpy draws twice as fast as torch on the CPU
            negatives = torch.from_numpy(self.draws.negatives(shape).astype(np.int64))
        else:
            negatives = self.draws.noise.sample_torch(shape, self.generator)
        return self.blocks.cut(centers, contexts, negatives)

    def epoch(self, last: bool) -> list[list[tuple]]:
        """The epoch drawn in the background; starts drawing the next unless this is the ``last``."""
        drawn = self.next.result()
        if not last:
            self.next = self.thread.submit(self.draw)
        return drawn

    def __enter__(self) -> _EpochDrawer:
        return self

    def __exit__(self, *exc) -> None:
        self.next.cancel()
        self.thread.shutdown(wait=True)


class _BlockSteps:
    """Trains a step's blocks on the model's tables: eager, compiled or replayed, by one worker or several."""

    def __init__(self, model: SkipGram, blocks: _Blocks, device: torch.device, compile: bool,
                 cuda_graph: bool) -> None:
        self.center, self.context = model.center.weight.data, model.context.weight.data
        self.blocks, self.device, self.compile = blocks, device, compile
        self.full_step = compiled_block_step() if compile else sgns_block_step
        if device.type == "cuda" and cuda_graph and blocks.workers == 1 and not compile:
            self.full_step = CudaGraphBlockStep(self.center, self.context, blocks.size, blocks.group_size,
                                                blocks.noise_words)
        self.pool = ThreadPoolExecutor(blocks.workers) if blocks.workers > 1 else None

    def warm_up(self) -> None:
        """Compile the step now (if compiled): a step at rate 0 changes nothing."""
        if self.compile:
            no_ids = torch.zeros(self.blocks.size, dtype=torch.long, device=self.device)
            no_noise = torch.zeros((self.blocks.size // self.blocks.group_size, self.blocks.noise_words),
                                   dtype=torch.long, device=self.device)
            self.full_step(self.center, self.context, no_ids, no_ids, no_noise, torch.zeros((), device=self.device))

    def train(self, blocks: list[tuple], rate: float) -> torch.Tensor:
        """Train every block of a step at ``rate``, spread over the workers; the summed loss."""
        workers = self.blocks.workers
        if self.pool is None:
            return self.worker(0, blocks, rate)
        return torch.stack(list(self.pool.map(self.worker, range(workers), [blocks] * workers,
                                              [rate] * workers))).sum()

    def worker(self, index: int, blocks: list[tuple], rate: float) -> torch.Tensor:
        """Worker ``index`` trains every ``workers``-th block (Hogwild: no locks)."""
        loss = torch.zeros((), device=self.device)
        rate_tensor = torch.full((), rate, device=self.device)  # a fill, not a copy from the host: no wait
        for centers, contexts, negatives in blocks[index::self.blocks.workers]:
            if len(centers) == self.blocks.size:  # compiled and recorded steps are specialised to full blocks
                loss += self.full_step(self.center, self.context, centers, contexts, negatives, rate_tensor)
            else:
                loss += sgns_block_step(self.center, self.context, centers, contexts, negatives, rate)
        return loss

    def __enter__(self) -> _BlockSteps:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown()


@contextmanager
def _one_thread_per_worker(device: torch.device) -> Iterator[None]:
    """On a CPU, one PyTorch thread per worker (the parallelism comes from the workers); restored after."""
    caller_threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(caller_threads)
