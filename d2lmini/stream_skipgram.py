"""Skip-gram trained from a corpus on disk, in one process or data-parallel with ``torch.distributed``.

:func:`train_skipgram_stream` is the fast trainer's method (word2vec's sparse
SGD with a linearly decaying rate, noise words shared by groups of pairs) fed
from a :class:`~d2lmini.corpus.TokenFile` chunk by chunk, so memory holds one
chunk of the corpus and its pairs, never the whole.

**Data order.** The corpus is cut into ``num_shards`` contiguous,
sentence-aligned shards, each read in chunks; a chunk's draws (subsampling,
window sizes, noise words) come from a generator seeded by ``(seed, epoch,
shard, chunk)``, and its pairs, in corpus order, are split evenly into
minibatches, one per ``batch_tokens`` tokens of the chunk. Step ``s`` of an
epoch trains on minibatch ``s`` of every shard at once: its gradient is the sum
of theirs. Nothing of this depends on the number of processes.

**Data parallel.** Under ``torchrun`` (``torch.distributed`` initialised),
process ``r`` of ``W`` owns the shards ``r, r + W, ...``; at each step every
process computes the gradient of its own minibatches, the gradients are summed
across processes by an all-reduce, and every process applies the same sum, so
the tables stay identical everywhere. A run on ``W`` processes therefore
follows the same trajectory as a run in one process with
``num_shards = W`` (up to the order of floating-point additions). The
all-reduce is ``"sparse"`` (only the rows a step touched travel; gloo only)
or ``"dense"`` (whole tables; the one NCCL offers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from ._checks import Calls, Choice, Instance, Integer, Optional, Positive, Real, rules
from .corpus import TokenFile
from .models import SkipGram
from .skipgram_data import AliasSampler
from .sparse_sgd import epoch_pairs, linear_rate, sgns_block_gradients, sgns_block_step, subsampling_and_noise
from .training import History, as_device, diverged_error, exploded

__all__ = ["AllReduceTally", "train_skipgram_stream"]

CHUNK_TOKENS = 65_536  # tokens drawn at once: big enough for NumPy to pay, small enough for any memory


@dataclass
class AllReduceTally:
    """Process 0's time in the gradient all-reduces (waiting for the slower process included) and bytes sent.

    Sparse: 8 bytes of row index plus the row's values per touched row; dense:
    both whole tables. Both are 0 in one process. On a GPU, NCCL queues the
    all-reduce, so the seconds are only what the host waited.
    """

    seconds: float = 0.0
    bytes: int = 0


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _Shard:
    """One shard's minibatches of an epoch, drawn chunk by chunk as they are needed."""

    def __init__(self, tokens: TokenFile, shard: int, num_shards: int, batch_tokens: int) -> None:
        self.tokens, self.shard = tokens, shard
        start, stop = tokens.shard(shard, num_shards)
        self.chunks = tokens.chunk_bounds(CHUNK_TOKENS, start, stop)
        self.batches_per_chunk = [-(-(b - a) // batch_tokens) for a, b in self.chunks]

    @property
    def num_batches(self) -> int:
        return sum(self.batches_per_chunk)

    def batches(self, epoch: int, seed: int, keep: np.ndarray, noise: AliasSampler, window: int,
                negative: int, group_size: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, int]]:
        """``(centers, contexts, negatives, tokens)`` of each minibatch, in order."""
        for index, ((a, b), count) in enumerate(zip(self.chunks, self.batches_per_chunk)):
            rng = np.random.default_rng([seed, epoch, self.shard, index])
            ids, sentence = self.tokens.read(a, b)
            try:
                pair_centers, pair_contexts = epoch_pairs(ids, sentence, keep, window, rng, shuffle="none")
            except ValueError:  # no pair in this chunk (e.g. one-word sentences only)
                pair_centers, pair_contexts = np.zeros(0, np.int64), np.zeros(0, np.int64)
            whole = len(pair_centers) - len(pair_centers) % group_size  # whole groups (drops < group_size pairs)
            pair_centers, pair_contexts = pair_centers[:whole].astype(np.int64), pair_contexts[:whole].astype(np.int64)
            groups = whole // group_size
            negatives = noise.sample(rng, (groups, negative)).astype(np.int64)
            group_cuts = (np.arange(count + 1) * groups) // count
            for m in range(count):
                g0, g1 = group_cuts[m], group_cuts[m + 1]
                span = (b - a) * (m + 1) // count - (b - a) * m // count
                yield (pair_centers[g0 * group_size:g1 * group_size], pair_contexts[g0 * group_size:g1 * group_size],
                       negatives[g0:g1], span)


@rules(
    tokens=Instance(TokenFile, "a d2lmini.corpus.TokenFile (from encode_files)"), embed_size=Integer(1),
    max_window_size=Integer(1), num_noise_words=Integer(1), num_epochs=Integer(1), lr=Positive(),
    min_lr_fraction=Real(0.0, 1.0), t=Positive(), group_size=Integer(1), batch_tokens=Integer(1),
    num_shards=Optional(Integer(1)), allreduce=Choice(("sparse", "dense")), seed=Integer(0),
    progress=Calls("progress(tokens_done)"),
)
def train_skipgram_stream(
    tokens: TokenFile,
    embed_size: int = 100,
    max_window_size: int = 5,
    num_noise_words: int = 5,
    num_epochs: int = 5,
    lr: float = 0.05,
    min_lr_fraction: float = 1e-4,
    t: float = 1e-4,
    group_size: int = 8,
    batch_tokens: int = 256,
    num_shards: int | None = None,
    allreduce: str = "sparse",
    seed: int = 0,
    device: torch.device | str | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[SkipGram, History]:
    """Train skip-gram with negative sampling on a corpus on disk (see the module for the data order).

    Args:
        tokens: the encoded corpus (:func:`~d2lmini.corpus.encode_files`).
        max_window_size: the largest window; each center draws its own size in
            ``[1, max_window_size]``.
        num_noise_words: noise words per pair, drawn by ``count ** 0.75`` and shared
            by the ``group_size`` consecutive pairs of a group.
        t: subsampling threshold (word2vec's formula; the command line passes
            word2vec's default, 1e-3).
        batch_tokens: corpus tokens per minibatch and shard (about 5 pairs each
            with the defaults); a step of ``W`` processes trains ``W`` minibatches.
        num_shards: how the data is cut and ordered; default the number of
            processes. Pass the same value to reproduce a run on another number
            of processes (it must be a multiple of it).
        allreduce: ``"sparse"`` or ``"dense"`` (see the module); used only under
            ``torch.distributed``.
        progress: called with the number of corpus tokens this process has
            trained on since the last call (e.g. a progress bar's ``update``).

    Returns:
        ``(model, history)``: a :class:`~d2lmini.models.SkipGram` (identical on
        every process) and a :class:`~d2lmini.training.History` over all
        processes: per epoch, the mean loss per pair, ``seconds``, ``examples``
        (pairs), ``tokens``, ``steps``, and process 0's ``allreduce_seconds`` and
        ``allreduce_bytes`` (:class:`AllReduceTally`). An epoch whose loss
        diverges (:func:`~d2lmini.training.exploded`) raises ``DivergedError``.
    """
    if len(tokens.vocab) < 2:
        raise ValueError(f"the corpus's vocabulary holds {len(tokens.vocab)} word; skip-gram needs at least 2 "
                         "distinct words (lower min_count or use a larger corpus)")
    rank, world = _world()
    num_shards = world if num_shards is None else num_shards
    if num_shards % world:
        raise ValueError(f"num_shards={num_shards} must be a multiple of the number of processes ({world})")
    device = as_device(device)
    if world > 1 and allreduce == "sparse" and dist.get_backend() != "gloo":
        raise ValueError(f"allreduce='sparse' needs the gloo backend, got {dist.get_backend()!r}; "
                         "use allreduce='dense' with NCCL")

    keep, noise = subsampling_and_noise(tokens.vocab.counts, t, unk=None)
    shards = [_Shard(tokens, k, num_shards, batch_tokens) for k in range(num_shards)]
    steps_per_epoch = max(s.num_batches for s in shards)
    plan = _Plan(lr, min_lr_fraction, steps_per_epoch, steps_per_epoch * num_epochs, world, allreduce, device,
                 fused=world == 1 and num_shards == 1)  # one minibatch per step: the fast trainer's fused step
    # word2vec's start, the same on every process
    model = SkipGram.word2vec_start(len(tokens.vocab), embed_size, torch.Generator().manual_seed(seed)).to(device)
    history = History()
    for epoch in range(num_epochs):
        started, tally = time.perf_counter(), AllReduceTally()
        streams = [s.batches(epoch, seed, keep, noise, max_window_size, num_noise_words, group_size)
                   for s in shards[rank::world]]
        tokens_done, pairs, loss = _train_epoch(model, streams, epoch, plan, tally, progress)
        mean = loss / max(pairs, 1)
        if exploded(mean, history.epochs[0]["loss"] if history.epochs else mean):
            raise diverged_error(lr, epoch)
        history.add_epoch({"epoch": epoch + 1, "loss": mean, "seconds": time.perf_counter() - started,
                           "examples": int(pairs), "tokens": int(tokens_done), "steps": steps_per_epoch,
                           "allreduce_seconds": tally.seconds, "allreduce_bytes": tally.bytes}, loss, int(pairs))
    return model, history


@dataclass(frozen=True)
class _Plan:
    """What every step of a run needs to know besides its data."""

    lr: float
    min_lr_fraction: float
    steps_per_epoch: int
    total_steps: int
    world: int
    allreduce: str
    device: torch.device
    fused: bool


def _train_epoch(model: SkipGram, streams: list, epoch: int, plan: _Plan, tally: AllReduceTally,
                 progress: Callable[[int], None] | None) -> tuple[float, float, float]:
    """Train one epoch, step by step; ``(tokens, pairs, summed loss)`` over all processes."""
    center, context = model.center.weight.data, model.context.weight.data
    loss_sum = torch.zeros((), dtype=torch.float64, device=plan.device)
    counts = torch.zeros(2, dtype=torch.float64)  # tokens, pairs of this process
    for step in range(epoch * plan.steps_per_epoch, (epoch + 1) * plan.steps_per_epoch):
        rate = linear_rate(plan.lr, step / plan.total_steps, plan.min_lr_fraction)
        batches = [b for b in (next(stream, None) for stream in streams) if b is not None]
        if plan.fused:
            for c, o, n, _span in batches:
                if len(c):
                    loss_sum += sgns_block_step(center, context, *_on(plan.device, c, o, n), rate)
        else:
            loss_sum += _data_parallel_step(center, context, batches, rate, plan.world, plan.allreduce,
                                            plan.device, tally)
        done = sum(span for *_, span in batches)
        counts += torch.tensor([done, sum(len(c) for c, *_ in batches)], dtype=torch.float64)
        if progress is not None:
            progress(done)
    totals = torch.cat([counts, loss_sum.cpu().reshape(1)])
    if plan.world > 1:
        dist.all_reduce(totals)
    tokens_done, pairs, loss = totals.tolist()
    return tokens_done, pairs, loss


def _on(device: torch.device, *arrays: np.ndarray) -> list[torch.Tensor]:
    return [torch.from_numpy(a).to(device) for a in arrays]


@torch.no_grad()
def _data_parallel_step(center: torch.Tensor, context: torch.Tensor, batches, rate: float, world: int,
                        allreduce: str, device: torch.device, tally: AllReduceTally) -> torch.Tensor:
    """Sum the gradients of this process's minibatches, all-reduce them, and apply the sum."""
    loss = torch.zeros((), dtype=torch.float64, device=device)
    v_rows, v_grads, u_rows, u_grads = [], [], [], []
    for c, o, n, _ in batches:
        if not len(c):
            continue
        c, o, n = _on(device, c, o, n)
        block_loss, g_v, g_u, g_n = sgns_block_gradients(center, context, c, o, n)
        loss += block_loss
        v_rows.append(c)
        v_grads.append(g_v)
        u_rows += [o, n.reshape(-1)]
        u_grads += [g_u, g_n.reshape(-1, center.shape[1])]
    d = center.shape[1]
    no_rows, no_grads = torch.zeros(0, dtype=torch.long, device=device), torch.zeros(0, d, device=device)
    updates = []
    for table, rows, grads in ((center, v_rows, v_grads), (context, u_rows, u_grads)):
        rows = torch.cat(rows) if rows else no_rows
        grads = torch.cat(grads) if grads else no_grads
        if world == 1:
            updates.append((table, rows, grads))
        elif allreduce == "sparse":
            # summed here first: a row's pairs travel as one row (3.5x fewer bytes on PTB)
            summed = torch.sparse_coo_tensor(rows[None], grads, table.shape, check_invariants=False).coalesce()
            tally.bytes += summed._nnz() * (8 + grads.element_size() * d)
            started = time.perf_counter()
            dist.all_reduce(summed)
            tally.seconds += time.perf_counter() - started
            summed = summed.coalesce()
            updates.append((table, summed.indices()[0], summed.values()))
        else:
            summed = torch.zeros_like(table).index_add_(0, rows, grads)
            started = time.perf_counter()
            dist.all_reduce(summed)
            tally.seconds += time.perf_counter() - started
            tally.bytes += summed.numel() * summed.element_size()
            updates.append((table, None, summed))
    for table, rows, grads in updates:  # after both all-reduces: every gradient is of the old tables
        if rows is None:
            table.add_(grads, alpha=-rate)
        else:
            table.index_add_(0, rows, grads, alpha=-rate)
    return loss
