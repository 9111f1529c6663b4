"""Training loops: one skeleton (device, timing, history, progress, divergence guard) and three steps.

:func:`fit` runs the epochs of any model: it moves each batch's work to the
device, times every epoch (synchronising accelerators), accumulates the loss,
reports progress through an optional ``callback(progress, metrics)``
(``progress`` in epochs, e.g. 2.5; ``metrics`` a dict of floats, so that a
chapter can draw a live curve with :class:`d2lmini.plotting.LiveCurve` while
this module stays free of plotting), and stops with :class:`DivergedError`
naming the epoch and step when the loss stops being finite.

:func:`train_glove`, :func:`train_skipgram` and :func:`train_lm` only say
what one step is. Every loop returns a :class:`History` with one row per
epoch. Nothing here changes process-wide settings:
:func:`reuse_freed_memory` is an explicit opt-in.
"""

from __future__ import annotations

import copy
import ctypes
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from . import _checks
from ._checks import Calls, Choice, Integer, Positive, Real, rules
from .models import rng_scope, sigmoid_bce_loss

__all__ = ["default_device", "as_device", "reuse_freed_memory", "make_adam", "History", "DivergedError", "exploded",
           "diverged_error", "fit",
           "train_glove", "train_skipgram", "evaluate_lm", "train_lm"]

Callback = Callable[[float, dict[str, float]], None]


def default_device() -> torch.device:
    """The fastest device available: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def as_device(device: torch.device | str | None) -> torch.device:
    """``device`` as a ``torch.device``; ``None`` means :func:`default_device`."""
    if device is None:
        return default_device()
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu', 'cuda', 'mps' or a torch.device, got {device!r} ({err})") from None


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


@rules(threshold_bytes=Integer(1, 2**31 - 1))
def reuse_freed_memory(threshold_bytes: int = 1 << 30) -> bool:
    """Opt in: let glibc keep and reuse large freed blocks instead of returning them to the OS.

    By default glibc serves every allocation above 32 MiB with a fresh ``mmap``
    and unmaps it on free, so a training step that creates tensors of tens of
    megabytes page-faults through all of them again at every batch. Raising the
    mmap and trim thresholds makes later batches reuse the memory of earlier
    ones (measured here: 15-40% faster GloVe epochs at batch 65,536). This
    changes a setting of the whole process, so no training loop calls it: call
    it yourself. Does nothing, and returns ``False``, on systems without glibc.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, threshold_bytes) and libc.mallopt(_M_TRIM_THRESHOLD, threshold_bytes))


@dataclass
class History:
    """What a training run measured.

    ``epochs`` has one row per epoch (completed or, when training stopped
    early, begun): ``epoch``, ``loss`` (mean over that epoch's examples),
    ``seconds``, ``examples`` and whatever the loop adds (e.g. ``centers``).
    ``checks`` has one row per validation check (:func:`train_lm` only).
    ``stopped_early`` says whether a stopping rule ended training before its
    last epoch. Totals run over all epochs.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    checks: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    examples: int = 0
    loss_sum: float = 0.0  # summed over every loss term of every epoch
    loss_count: int = 0
    stopped_early: bool = False

    @property
    def mean_loss(self) -> float:
        """Mean loss over all epochs, each loss term weighted alike (what d2l prints as 'loss')."""
        return self.loss_sum / self.loss_count if self.loss_count else float("nan")

    @property
    def examples_per_second(self) -> float:
        """True throughput: all examples of all epochs over the time of all epochs."""
        return self.examples / self.seconds if self.seconds else float("nan")

    def __getitem__(self, key: str) -> list[float]:
        return [row[key] for row in self.epochs]

    def add_epoch(self, row: dict[str, float], loss_sum: float, loss_count: int) -> None:
        """Append an epoch's row (with ``seconds`` and ``examples``) and add it to the totals."""
        self.epochs.append(row)
        self.seconds += row["seconds"]
        self.examples += row["examples"]
        self.loss_sum += loss_sum
        self.loss_count += loss_count


class DivergedError(FloatingPointError):
    """The training loss became NaN or infinite, or exploded (see :data:`EXPLODED`)."""


EXPLODED = 1000.0  # a step loss over this many times max(first step's loss, 1) means the run diverged


@dataclass
class StepResult:
    """What one training step returns to :func:`fit`."""

    loss_sum: torch.Tensor  # the step's loss terms summed (a 0-d tensor, not yet synchronised)
    loss_count: int  # how many loss terms (the unit of History.loss)
    examples: int  # how many examples, for the throughput
    extra: dict[str, int] = field(default_factory=dict)  # other per-epoch counts (summed)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@rules(num_epochs=Integer(1), lr=Positive(), callback=Calls("callback(progress, metrics)"),
       updates_per_epoch_reported=Integer(1), after_step=Calls("after_step(global_step, progress) -> stop"),
       on_epoch_end=Calls("on_epoch_end(epoch, history)"))
def fit(
    step: Callable[[object], StepResult],
    batches: Callable[[int], Iterable],
    num_epochs: int,
    device: torch.device,
    lr: float,
    callback: Callback | None = None,
    updates_per_epoch_reported: int = 10,
    after_step: Callable[[int, float], bool] | None = None,
    on_epoch_end: Callable[[int, History], None] | None = None,
) -> History:
    """The loop skeleton every trainer shares.

    Args:
        step: does one optimisation step on a batch and returns a :class:`StepResult`.
        batches: ``batches(epoch)`` returns the iterable of that epoch's batches.
        num_epochs: how many epochs.
        device: where the work runs (timing synchronises it).
        lr: the learning rate, named in the error when the loss diverges.
        callback: called with ``(progress, {"loss": mean loss per term since the last call})``
            ``updates_per_epoch_reported`` times per epoch: a smoothed per-batch loss that
            does not restart at each epoch. Its time (a live curve's redraw) is not counted
            in the epoch's seconds.
        after_step: ``after_step(global_step, progress) -> stop``, e.g. validation; its time is
            not counted in the epoch's seconds either (on an accelerator, work still queued
            when it starts may be counted as its time).
        on_epoch_end: ``on_epoch_end(epoch, history)`` after each epoch, outside the timed part.

    Raises:
        DivergedError: the loss became non-finite; names the epoch and the step.
    """
    history = History()
    watch = _DivergenceWatch(device, lr)
    steps_done = 0
    for epoch in range(num_epochs):
        _sync(device)
        start = time.perf_counter()  # the epoch's time includes drawing its batches
        run = _Epoch(epoch, batches(epoch), updates_per_epoch_reported, device)
        for batch in run.batches:
            run.add(step(batch), watch)
            steps_done += 1
            if run.at_report_point():
                watch.check(epoch, run.num_batches)
                run.report(callback)
            if after_step is not None and run.ask(after_step, steps_done):
                break
        _sync(device)
        seconds = time.perf_counter() - start - run.outside
        watch.check(epoch, run.num_batches)
        history.add_epoch(run.row(seconds), run.loss_total, run.count)
        if callback is not None and not run.report_at:
            callback(float(epoch + 1), {"loss": history.epochs[-1]["loss"]})
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if run.stop:
            history.stopped_early = epoch + 1 < num_epochs or run.done < run.num_batches
            break
    finish_curve(callback)
    return history


class _DivergenceWatch:
    """Notes the first diverging step on the device, without a synchronisation per step.

    A step diverges when its loss per term is NaN, infinite, or over EXPLODED
    times the first step's (or EXPLODED, if larger: a tiny first loss, as
    GloVe's on rare pairs, must not make ordinary noise look like divergence).
    """

    def __init__(self, device: torch.device, lr: float) -> None:
        self.lr = lr
        self.bad_step = torch.full((), -1, dtype=torch.long, device=device)
        self.global_step = torch.zeros((), dtype=torch.long, device=device)
        self.first_loss: torch.Tensor | None = None

    def see(self, mean: torch.Tensor) -> None:
        """Note a step's mean loss per term."""
        if self.first_loss is None:
            self.first_loss = torch.clamp(mean.abs(), min=1.0)
        healthy = torch.isfinite(mean) & (mean.abs() <= EXPLODED * self.first_loss)
        self.bad_step = torch.where(healthy | (self.bad_step >= 0), self.bad_step, self.global_step)
        self.global_step += 1

    def check(self, epoch: int, num_batches: int) -> None:
        """Raise :class:`DivergedError` if a step so far diverged (waits for the device)."""
        first = int(self.bad_step.item())
        if first >= 0:
            raise diverged_error(self.lr, epoch, f", step {first + 1} (steps count from the start of training, "
                                                 f"{num_batches} per epoch)")


def exploded(mean_loss: float, first_loss: float) -> bool:
    """The divergence rule of every trainer: a loss NaN, infinite, or over EXPLODED times ``max(|first|, 1)``."""
    return not math.isfinite(mean_loss) or abs(mean_loss) > EXPLODED * max(abs(first_loss), 1.0)


def diverged_error(lr: float, epoch: int, where: str = "") -> DivergedError:
    """The error every trainer raises when its loss diverges in ``epoch`` (counted from 0)."""
    return DivergedError(
        f"training diverged at epoch {epoch + 1}{where}: the loss became NaN, infinite or over {EXPLODED:g} "
        f"times its first value with lr={lr:g}. Retrain with a smaller learning rate, e.g. lr={lr / 10:g}; "
        "if that does not help, look for invalid values in the data."
    )


class _Epoch:
    """One epoch's running sums, its report points, and the time spent outside training."""

    def __init__(self, epoch: int, batches: Iterable, reports: int, device: torch.device) -> None:
        self.epoch, self.batches = epoch, batches
        self.num_batches = len(batches) if hasattr(batches, "__len__") else 0
        # Report points that split the epoch into windows of equal size, to within one batch
        # (a fixed stride would leave a short, noisy last window).
        self.report_at = ({round(self.num_batches * k / reports) for k in range(1, reports + 1)} - {0}
                          if self.num_batches else set())
        self.loss_sum = torch.zeros((), device=device)
        self.count = self.examples = self.done = 0
        self.extra: dict[str, int] = {}
        self.reported_sum, self.reported_count = 0.0, 0  # the loss reported last time, to report what follows
        self.outside = 0.0  # seconds spent in the callback and after_step, not training
        self.stop = False
        self.loss_total = 0.0  # the epoch's summed loss, once read from the device

    @property
    def progress(self) -> float:
        """Epochs done, e.g. 2.5."""
        return self.epoch + self.done / self.num_batches if self.num_batches else float(self.epoch + 1)

    def add(self, result: StepResult, watch: _DivergenceWatch) -> None:
        loss = result.loss_sum.detach()
        watch.see(loss / max(result.loss_count, 1))
        self.loss_sum += loss
        self.count += result.loss_count
        self.examples += result.examples
        for key, value in result.extra.items():
            self.extra[key] = self.extra.get(key, 0) + value
        self.done += 1

    def at_report_point(self) -> bool:
        return self.done in self.report_at

    def report(self, callback: Callback | None) -> None:
        """Call ``callback`` with the mean loss since the last report, off the epoch's clock."""
        if callback is None:
            return
        total = self.loss_sum.item()  # waits for the device: what follows is not training
        paused = time.perf_counter()
        callback(self.progress, {"loss": (total - self.reported_sum) / max(self.count - self.reported_count, 1)})
        self.reported_sum, self.reported_count = total, self.count
        self.outside += time.perf_counter() - paused

    def ask(self, after_step: Callable[[int, float], bool], steps_done: int) -> bool:
        """Run ``after_step`` off the epoch's clock; whether it asks to stop."""
        paused = time.perf_counter()
        self.stop = bool(after_step(steps_done, self.progress))
        self.outside += time.perf_counter() - paused
        return self.stop

    def row(self, seconds: float) -> dict[str, float]:
        """The epoch's row of :class:`History` (waits for the device)."""
        if self.count == 0:
            raise ValueError(f"epoch {self.epoch + 1} had no batches: the data holds no training examples")
        self.loss_total = self.loss_sum.item()
        return {"epoch": self.epoch + 1, "loss": self.loss_total / self.count, "seconds": seconds,
                "examples": self.examples, **self.extra}


def finish_curve(callback: Callback | None) -> None:
    """Tell a callback that training ended, if it wants to know (a live curve then drops its progress text)."""
    close = getattr(callback, "close", None)
    if callable(close):
        close()


def _check_model_vocab(model: torch.nn.Module, vocab_size: int | None) -> None:
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    size = getattr(model, "vocab_size", None)
    if vocab_size is not None and size is not None and size != vocab_size:
        raise ValueError(f"the model has {size} words but the data's vocabulary has {vocab_size}: "
                         "build the model with len(vocab) of the vocabulary that encoded the data")


def _vocab_of(data_iter) -> int | None:
    for owner in (data_iter, getattr(data_iter, "dataset", None)):
        vocab = getattr(owner, "vocab", None)
        if vocab is not None:
            return len(vocab)
    return None


def make_adam(params, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam with the fused kernel where this torch has one for the device (CPU and CUDA):
    one pass over the parameters instead of a chain of elementwise ops, ~1.6x faster
    skip-gram steps on 2 CPU cores."""
    params = list(params)
    if device.type in ("cpu", "cuda"):
        try:
            return torch.optim.Adam(params, lr=lr, fused=True)
        except (RuntimeError, TypeError):
            pass
    return torch.optim.Adam(params, lr=lr)


_LOOP_RULES = dict(num_epochs=Integer(1), lr=Positive(), callback=Calls("callback(progress, metrics)"),
                   updates_per_epoch_reported=Integer(1))


@rules(**_LOOP_RULES, initial_accumulator=Real(0.0))
def train_glove(
    model: torch.nn.Module,
    data_iter: Iterable,
    num_epochs: int,
    lr: float = 0.1,
    initial_accumulator: float = 0.0,
    device: torch.device | str | None = None,
    callback: Callback | None = None,
    updates_per_epoch_reported: int = 10,
) -> History:
    """Fit a :class:`~d2lmini.models.GloVe` model with AdaGrad.

    The loss of a batch is the mean of the per-pair losses. AdaGrad divides
    each parameter's step by the root of the sum of its squared gradients so
    far; that sum starts at ``initial_accumulator`` (0, as in PyTorch and in
    MXNet, makes the first step of every parameter ``lr`` in size whatever the
    scale of the loss; the GloVe reference code starts at 1).

    Returns a :class:`History`; an epoch's ``loss`` is the mean over its pairs.
    """
    _check_model_vocab(model, _vocab_of(data_iter))
    device = as_device(device)
    model.to(device)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=lr, initial_accumulator_value=initial_accumulator)

    checked = []

    def step(batch) -> StepResult:
        center, context, count = (t.to(device) for t in batch)
        if not checked:  # the first batch tells whether ids and counts fit the model
            size = getattr(model, "vocab_size", None)
            if size is not None and max(int(center.max()), int(context.max())) >= size:
                raise ValueError(f"the data holds word id {max(int(center.max()), int(context.max()))} but the "
                                 f"model has {size} words: build it with len(vocab) of the data's vocabulary")
            if not bool((count > 0).all()):
                raise ValueError("GloVe counts must be > 0 (log x is undefined at 0): pass the nonzero entries")
            checked.append(True)
        loss = model(center, context, count)
        optimizer.zero_grad(set_to_none=True)
        loss.mean().backward()
        optimizer.step()
        return StepResult(loss.detach().sum(), len(count), len(count))

    return fit(step, lambda epoch: data_iter, num_epochs, device, lr, callback, updates_per_epoch_reported)


@rules(**_LOOP_RULES)
def train_skipgram(
    model: torch.nn.Module,
    data_iter: Iterable,
    num_epochs: int,
    lr: float = 0.002,
    device: torch.device | str | None = None,
    callback: Callback | None = None,
    updates_per_epoch_reported: int = 10,
) -> History:
    """Train a :class:`~d2lmini.models.SkipGram` with Adam on :class:`~d2lmini.skipgram_data.SkipGramBatch` es.

    The loss of a center is the mean binary cross-entropy over its context and
    noise words (d2l's normalised loss); each pair row carries the weight
    ``1 / contexts of its center``, so that summing rows gives that mean
    without padding. Each epoch's ``loss`` is the mean over its centers;
    :attr:`History.mean_loss` is the mean over the centers of all epochs.
    Throughput counts (center, context) pairs over the time of all epochs.
    """
    _check_model_vocab(model, _vocab_of(data_iter))
    device = as_device(device)
    model.to(device)
    optimizer = make_adam(model.parameters(), lr, device)

    def step(batch) -> StepResult:
        center = batch.centers.to(device, non_blocking=True)
        contexts_negatives = batch.contexts_negatives.to(device, non_blocking=True)
        labels = batch.labels.to(device, non_blocking=True)
        weights = batch.weights.to(device, non_blocking=True)
        scores = model(center, contexts_negatives).squeeze(1)
        summed = (sigmoid_bce_loss(scores, labels) * weights).sum()  # sum of per-center losses
        optimizer.zero_grad(set_to_none=True)
        (summed / batch.num_centers).backward()
        optimizer.step()
        return StepResult(summed, batch.num_centers, len(weights),
                          {"centers": batch.num_centers, "pairs": len(weights)})

    return fit(step, lambda epoch: data_iter, num_epochs, device, lr, callback, updates_per_epoch_reported)


@rules(batch_size=Integer(1))
@torch.no_grad()
def evaluate_lm(model: torch.nn.Module, inputs, targets, batch_size: int = 4096,
                device: torch.device | str | None = None) -> float:
    """Mean cross-entropy (nats per predicted word) of a language model over a whole split."""
    device = as_device(device) if device is not None else next(model.parameters()).device
    inputs, targets = _checks.lm_arrays("evaluated", inputs, targets, getattr(model, "vocab_size", None),
                                        getattr(model, "context_len", None))
    inputs, targets = torch.as_tensor(inputs), torch.as_tensor(targets)
    was_training = model.training
    model.eval()
    total = 0.0
    for i in range(0, len(inputs), batch_size):
        logits = model(inputs[i:i + batch_size].to(device))
        total += F.cross_entropy(logits, targets[i:i + batch_size].to(device), reduction="sum").item()
    model.train(was_training)
    return total / len(inputs)


EARLY_STOPPING = ("none", "strict", "patience")
OPTIMIZERS = ("sgd", "adam", "adamw")


@rules(num_epochs=Integer(1), batch_size=Integer(1), optimizer=Choice(OPTIMIZERS), lr=Positive(),
       momentum=Real(0.0, 1.0), weight_decay=Real(0.0), schedule=Choice(("constant", "cosine")),
       validate_every=Integer(1), early_stopping=Choice(EARLY_STOPPING), patience=Integer(1), seed=Integer(0),
       callback=Calls("callback(progress, metrics)"))
def train_lm(
    model: torch.nn.Module,
    data,
    num_epochs: int,
    batch_size: int = 100,
    optimizer: str = "sgd",
    lr: float = 0.1,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    schedule: str = "constant",
    validate_every: int = 1000,
    early_stopping: str = "none",
    patience: int = 5,
    seed: int = 0,
    device: torch.device | str | None = None,
    callback: Callback | None = None,
) -> History:
    """Train a next-word model on :class:`~d2lmini.datasets.FourGrams` with mini-batches.

    Every ``validate_every`` batches (counted across epochs) the validation
    cross-entropy is measured and recorded in ``history.checks`` with the mean
    training cross-entropy of the batches since the previous check (``train``).
    When validation happens, ``callback`` is called at each check with
    ``train`` and ``valid`` measured the same way: the current model, in
    evaluation mode, on the validation set and on as many training examples
    (a fixed sample, also recorded as ``train_sample``). Without validation it
    gets the training loss as it goes, as in :func:`fit`. ``early_stopping``:

    * ``"none"``: train all epochs;
    * ``"strict"``: the assignment's rule, stop at the first check whose
      validation cross-entropy is higher than at the previous check;
    * ``"patience"``: stop after ``patience`` checks without a new best, and
      restore the parameters of the best check.

    ``optimizer`` is ``"sgd"`` (with ``momentum``), ``"adam"`` or ``"adamw"``
    (Adam with decoupled weight decay); ``schedule`` is ``"constant"`` or
    ``"cosine"`` (decaying to 0 over all steps). Batch order comes from a
    generator seeded with ``seed``; dropout draws from a copy of torch's global
    generator (:func:`rng_scope`), which the call leaves unchanged.
    """
    vocab_size = len(data.vocab)
    train_inputs, train_targets, validating = _lm_splits(model, data, vocab_size, num_epochs, batch_size,
                                                         validate_every)
    device = as_device(device)
    model.to(device)
    inputs, targets = torch.as_tensor(train_inputs).to(device), torch.as_tensor(train_targets).to(device)
    opt = _optimizer(model, optimizer, lr, momentum, weight_decay)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=num_epochs * math.ceil(len(inputs) / batch_size))
                 if schedule == "cosine" else None)
    generator = torch.Generator().manual_seed(seed)
    checks = _Validation(model, data, device, validate_every, early_stopping, patience,
                         callback if validating else None)

    def epoch_batches(epoch: int) -> list[torch.Tensor]:
        return list(torch.randperm(len(inputs), generator=generator).to(device).split(batch_size))

    def step(index: torch.Tensor) -> StepResult:
        logits = model(inputs[index])
        if logits.shape[-1] != vocab_size:
            raise ValueError(f"the model predicts {logits.shape[-1]} words but the vocabulary has {vocab_size}")
        loss = F.cross_entropy(logits, targets[index])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        summed = loss.detach() * len(index)
        checks.add_training_loss(summed, len(index))
        return StepResult(summed, len(index), len(index))

    model.train()
    with rng_scope():
        history = fit(step, epoch_batches, num_epochs, device, lr, None if validating else callback,
                      after_step=checks if validating else None)
    if validating:
        finish_curve(callback)
    history.checks = checks.rows
    checks.restore_best()
    return history


def _lm_splits(model: torch.nn.Module, data, vocab_size: int, num_epochs: int, batch_size: int,
               validate_every: int) -> tuple:
    """The training split as checked arrays, and whether any check happens (then the validation split is checked)."""
    _check_model_vocab(model, vocab_size)
    context_len = getattr(model, "context_len", None)
    inputs, targets = _checks.lm_arrays("train", data.train_inputs, data.train_targets, vocab_size, context_len)
    validating = validate_every <= num_epochs * math.ceil(len(inputs) / batch_size)
    if validating:
        _checks.lm_arrays("valid", data.valid_inputs, data.valid_targets, vocab_size, context_len)
    return inputs, targets, validating


def _optimizer(model: torch.nn.Module, name: str, lr: float, momentum: float,
               weight_decay: float) -> torch.optim.Optimizer:
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


class _Validation:
    """:func:`train_lm`'s checks: every ``validate_every`` steps, score and decide whether to stop.

    Called as ``after_step(global_step, progress)`` by :func:`fit`. The training
    examples scored at each check are the first of the (already shuffled)
    training 4-grams, as many as the validation set has.
    """

    def __init__(self, model: torch.nn.Module, data, device: torch.device, every: int, early_stopping: str,
                 patience: int, callback: Callback | None) -> None:
        self.model, self.data, self.device, self.every = model, data, device, every
        self.early_stopping, self.patience, self.callback = early_stopping, patience, callback
        n = len(data.valid_targets)
        self.train_sample = (data.train_inputs[:n], data.train_targets[:n])
        self.rows: list[dict[str, float]] = []
        self.best, self.best_state, self.since_best, self.previous = math.inf, None, 0, math.inf
        self.chunk_loss, self.chunk_count = torch.zeros((), device=device), 0

    def add_training_loss(self, summed: torch.Tensor, count: int) -> None:
        """Count a step's training loss toward the next check's ``train``."""
        self.chunk_loss += summed
        self.chunk_count += count

    def __call__(self, global_step: int, progress: float) -> bool:
        if global_step % self.every:
            return False
        valid = evaluate_lm(self.model, self.data.valid_inputs, self.data.valid_targets, device=self.device)
        train = self.chunk_loss.item() / self.chunk_count
        train_now = evaluate_lm(self.model, *self.train_sample, device=self.device)
        self.rows.append({"epoch": progress, "step": global_step, "train": train, "train_sample": train_now,
                          "valid": valid})
        if self.callback is not None:
            self.callback(progress, {"train": train_now, "valid": valid})
        self.chunk_loss, self.chunk_count = torch.zeros((), device=self.device), 0
        return self.should_stop(valid)

    def should_stop(self, valid: float) -> bool:
        """The early-stopping rule, given this check's validation cross-entropy."""
        stop = self.early_stopping == "strict" and valid > self.previous
        self.previous = valid
        if valid < self.best:
            self.best, self.since_best = valid, 0
            if self.early_stopping == "patience":
                self.best_state = copy.deepcopy(self.model.state_dict())
        else:
            self.since_best += 1
            stop = stop or (self.early_stopping == "patience" and self.since_best >= self.patience)
        return stop

    def restore_best(self) -> None:
        """Under ``"patience"``, put back the parameters of the best check."""
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
