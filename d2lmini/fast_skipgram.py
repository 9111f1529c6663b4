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

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from . import _checks
from .corpus import flatten_corpus
from .models import SkipGram
from .skipgram_data import AliasSampler, draw_windows, keep_probabilities, noise_distribution
from .training import History, StepResult, as_device, fit
from .vocab import Vocab

__all__ = [
    "epoch_pairs", "compiled_block_step", "CudaGraphBlockStep", "sgns_block_gradients", "sgns_block_step",
    "train_skipgram_fast",
]

BLOCKS_PER_WORKER = 8  # blocks each worker trains between two synchronisations


def epoch_pairs(ids: np.ndarray, sentence: np.ndarray, keep: np.ndarray, max_window_size: int,
                rng: np.random.Generator, shuffle: str = "pairs") -> tuple[np.ndarray, np.ndarray]:
    """One epoch's (center, context) pairs as two flat id arrays, in the order ``shuffle`` asks for.

    Subsamples and draws windows with :func:`~d2lmini.skipgram_data.draw_windows`,
    then lists the pairs: ``"pairs"`` shuffles them all, ``"centers"`` keeps
    each center's pairs together with the centers in random order, ``"none"``
    keeps the corpus order.
    """
    _checks.choice("shuffle", shuffle, ("pairs", "centers", "none"))
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

    def __init__(self, center: torch.Tensor, context: torch.Tensor, block_size: int, group_size: int,
                 num_noise_words: int) -> None:
        group_size = _checks.integer("group_size", group_size, 1)
        block_size = _checks.integer("block_size", block_size, group_size)
        if block_size % group_size:
            raise ValueError(f"block_size must be a multiple of group_size={group_size}, got {block_size}")
        num_noise_words = _checks.integer("num_noise_words", num_noise_words, 1)
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
    :func:`~d2lmini.skipgram_data.keep_probabilities`; word2vec's keeps more
    frequent words than d2l's) and draws windows afresh
    (:func:`~d2lmini.skipgram_data.draw_windows`), shuffles the pairs, and
    trains on blocks of ``block_size`` pairs whose groups of ``group_size``
    share ``num_noise_words`` noise words drawn by ``count ** 0.75`` (a noise
    word may happen to be a context of its center, even the pair's own: nothing
    is redrawn or skipped, so nothing can loop; word2vec skips a draw equal to
    the pair's context). The learning rate falls linearly from
    ``lr`` to ``lr * min_lr_fraction``.

    Args:
        corpus: sentences of ids encoded with ``vocab``.
        workers: threads updating the tables at once (Hogwild); 1 is reproducible.
        shuffle: the order of an epoch's pairs: ``"pairs"`` (every pair anywhere),
            ``"centers"`` (a center's pairs together, centers in random order) or
            ``"none"`` (corpus order, as word2vec). With blocks, the order decides
            which updates are summed together; on PTB, keeping a center's pairs
            together favoured WordSim-353 and corpus order SimLex-999.
        compile: run the block step through ``torch.compile`` (see
            :func:`compiled_block_step`); pays once training outlasts the compilation.
            On a CPU the step runs on one PyTorch thread per worker, so a compiled
            run with one worker is reproducible too.
        cuda_graph: on a CUDA device with one worker and no ``compile``, replay the
            block step as a recorded CUDA graph (:class:`CudaGraphBlockStep`);
            ignored elsewhere. CUDA adds rows with atomic additions, so no CUDA run
            is bit-for-bit reproducible.
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
    compile = _checks.boolean("compile", compile)
    cuda_graph = _checks.boolean("cuda_graph", cuda_graph)
    seed = _checks.integer("seed", seed, 0)
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be callable as on_epoch_end(epoch, model, history), "
                        f"got {on_epoch_end!r}")
    device = as_device(device)

    ids, sentence = flatten_corpus(corpus, len(vocab))
    unk = None if vocab.unk_token is None else vocab.unk
    keep = keep_probabilities(vocab.counts, t, unk=unk, formula=subsampling)
    noise = AliasSampler(noise_distribution(vocab.counts, unk=unk))
    rng = np.random.default_rng(seed)
    noise_generator = torch.Generator(device=device).manual_seed(seed)
    cpu_generator = torch.Generator().manual_seed(seed)
    model = SkipGram.word2vec_start(len(vocab), embed_size, cpu_generator).to(device)
    center, context = model.center.weight.data, model.context.weight.data
    block_step = compiled_block_step() if compile else sgns_block_step
    if device.type == "cuda" and cuda_graph and workers == 1 and not compile:
        # Recorded before the drawing thread starts: no other thread may touch CUDA while a graph records.
        block_step = CudaGraphBlockStep(center, context, block_size, group_size, num_noise_words)
    state = {"pairs_done": 0, "pairs_total": None}

    def prepare_epoch() -> list[list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]]:
        """Draw an epoch: its pairs in order, cut into blocks, with every block's noise words."""
        shuffle_here = device.type != "cpu" and shuffle == "pairs"
        center_ids, context_ids = epoch_pairs(ids, sentence, keep, max_window_size, rng,
                                              "none" if shuffle_here else shuffle)
        pairs = len(center_ids) - len(center_ids) % group_size
        if pairs == 0:
            raise ValueError(f"an epoch drew {len(center_ids)} pairs, fewer than group_size={group_size}; "
                             "use a larger corpus or a smaller group_size")
        centers = torch.from_numpy(center_ids).to(device).long()
        contexts = torch.from_numpy(context_ids).to(device).long()
        if shuffle_here:
            order = torch.randperm(len(centers), generator=noise_generator, device=device)[:pairs]
            centers, contexts = centers[order], contexts[order]
        else:
            centers, contexts = centers[:pairs], contexts[:pairs]
        shape = (pairs // group_size, num_noise_words)
        if device.type == "cpu":  # numpy draws twice as fast as torch on the CPU
            negatives = torch.from_numpy(noise.sample(rng, shape).astype(np.int64))
        else:
            negatives = noise.sample_torch(shape, noise_generator)
        per_block = block_size // group_size
        blocks = [(centers[i:i + block_size], contexts[i:i + block_size],
                   negatives[i // group_size:i // group_size + per_block]) for i in range(0, pairs, block_size)]
        # One step of the loop: BLOCKS_PER_WORKER blocks for each worker, so that the workers
        # wait for each other (and the loop's bookkeeping runs) once per step, not once per block.
        per_step = workers * BLOCKS_PER_WORKER
        return [blocks[i:i + per_step] for i in range(0, len(blocks), per_step)]

    # The next epoch is drawn by a background thread while this one trains (numpy and PyTorch
    # release the GIL in their loops); the draws still happen one epoch after another, in order.
    drawer = ThreadPoolExecutor(1)
    next_epoch = drawer.submit(prepare_epoch)
    if compile:  # compile now, while the first epoch is drawn: a step with rate 0 changes nothing
        no_ids = torch.zeros(block_size, dtype=torch.long, device=device)
        no_noise = torch.zeros((block_size // group_size, num_noise_words), dtype=torch.long, device=device)
        block_step(center, context, no_ids, no_ids, no_noise, torch.zeros((), device=device))

    def epoch_blocks(epoch: int):
        nonlocal next_epoch
        steps = next_epoch.result()
        if state["pairs_total"] is None:  # the schedule's length, from the first epoch's size
            state["pairs_total"] = sum(len(b[0]) for step in steps for b in step) * num_epochs
        if epoch + 1 < num_epochs:
            next_epoch = drawer.submit(prepare_epoch)
        return steps

    def train_blocks(worker: int, blocks, rate: float) -> torch.Tensor:
        loss = torch.zeros((), device=device)
        rate_tensor = torch.full((), rate, device=device)  # a fill, not a copy from the host: no wait
        for centers, contexts, negatives in blocks[worker::workers]:
            full = len(centers) == block_size  # compiled and recorded steps are specialised to full blocks
            loss += (block_step(center, context, centers, contexts, negatives, rate_tensor) if full
                     else sgns_block_step(center, context, centers, contexts, negatives, rate))
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
    caller_threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)  # one thread per worker: the parallelism comes from the workers
    try:
        history = fit(step, epoch_blocks, num_epochs, device, lr, callback, on_epoch_end=epoch_end)
    finally:
        torch.set_num_threads(caller_threads)
        next_epoch.cancel()
        drawer.shutdown(wait=True)
        if pool is not None:
            pool.shutdown()
    return model, history
