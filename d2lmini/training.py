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
from .models import rng_scope, sigmoid_bce_loss

__all__ = ["default_device", "as_device", "reuse_freed_memory", "make_adam", "History", "DivergedError", "fit",
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
    threshold_bytes = _checks.integer("threshold_bytes", threshold_bytes, 1, 2**31 - 1)
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
    num_epochs = _checks.integer("num_epochs", num_epochs, 1)
    updates_per_epoch_reported = _checks.integer("updates_per_epoch_reported", updates_per_epoch_reported, 1)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable as callback(progress, metrics), got {callback!r}")
    if on_epoch_end is not None and not callable(on_epoch_end):
        raise TypeError(f"on_epoch_end must be callable as on_epoch_end(epoch, history), got {on_epoch_end!r}")
    history = History()
    # Divergence is tracked on the device, without a synchronisation per step: the first step whose
    # loss per term is NaN, infinite, or over EXPLODED times the first step's (or EXPLODED, if larger:
    # a tiny first loss, as GloVe's on rare pairs, must not make ordinary noise look like divergence).
    bad_step = torch.full((), -1, dtype=torch.long, device=device)
    global_step = torch.zeros((), dtype=torch.long, device=device)
    first_loss: torch.Tensor | None = None

    def check_finite(epoch: int, num_batches: int) -> None:
        first = int(bad_step.item())
        if first >= 0:
            raise DivergedError(
                f"training diverged at epoch {epoch + 1}, step {first + 1} (steps count from the start of "
                f"training, {num_batches} per epoch): the loss became NaN, infinite or over {EXPLODED:g} "
                f"times its first value with lr={lr:g}. Retrain with a smaller learning rate, e.g. "
                f"lr={lr / 10:g}; if that does not help, look for invalid values in the data."
            )

    stop, steps_done = False, 0
    for epoch in range(num_epochs):
        _sync(device)
        start = time.perf_counter()  # the epoch's time includes drawing its batches
        epoch_batches = batches(epoch)
        num_batches = len(epoch_batches) if hasattr(epoch_batches, "__len__") else 0
        # Report points that split the epoch into windows of equal size, to within one batch
        # (a fixed stride would leave a short, noisy last window).
        report_at = {round(num_batches * k / updates_per_epoch_reported) for k in
                     range(1, updates_per_epoch_reported + 1)} - {0} if num_batches else set()
        reports_in_epoch = bool(report_at)
        loss_sum = torch.zeros((), device=device)
        count = examples = 0
        window_start_sum, window_start_count = 0.0, 0  # the loss reported last time, to report what follows
        outside = 0.0  # seconds of this epoch spent in the callback and after_step, not training
        extra: dict[str, int] = {}
        for i, batch in enumerate(epoch_batches):
            result = step(batch)
            loss = result.loss_sum.detach()
            mean = loss / max(result.loss_count, 1)
            if first_loss is None:
                first_loss = torch.clamp(mean.abs(), min=1.0)
            healthy = torch.isfinite(mean) & (mean.abs() <= EXPLODED * first_loss)
            bad_step = torch.where(healthy | (bad_step >= 0), bad_step, global_step)
            global_step += 1
            loss_sum += loss
            count += result.loss_count
            examples += result.examples
            for key, value in result.extra.items():
                extra[key] = extra.get(key, 0) + value
            steps_done += 1
            progress = epoch + (i + 1) / num_batches if num_batches else float(epoch + 1)
            if (i + 1) in report_at:
                check_finite(epoch, num_batches)
                if callback is not None:
                    total = loss_sum.item()  # waits for the device: what follows is not training
                    paused = time.perf_counter()
                    window = (total - window_start_sum) / max(count - window_start_count, 1)
                    callback(progress, {"loss": window})
                    window_start_sum, window_start_count = total, count
                    outside += time.perf_counter() - paused
            if after_step is not None:
                paused = time.perf_counter()
                stop = bool(after_step(steps_done, progress))
                outside += time.perf_counter() - paused
                if stop:
                    break
        _sync(device)
        seconds = time.perf_counter() - start - outside
        check_finite(epoch, num_batches)
        if count == 0:
            raise ValueError(f"epoch {epoch + 1} had no batches: the data holds no training examples")
        epoch_loss = loss_sum.item()
        history.seconds += seconds
        history.examples += examples
        history.loss_sum += epoch_loss
        history.loss_count += count
        history.epochs.append({"epoch": epoch + 1, "loss": epoch_loss / count, "seconds": seconds,
                               "examples": examples, **extra})
        if callback is not None and not reports_in_epoch:
            callback(float(epoch + 1), {"loss": epoch_loss / count})
        if on_epoch_end is not None:
            on_epoch_end(epoch, history)
        if stop:
            history.stopped_early = epoch + 1 < num_epochs or i + 1 < num_batches
            break
    finish_curve(callback)
    return history


def finish_curve(callback: Callback | None) -> None:
    """Tell a callback that training ended, if it wants to know (a live curve then drops its progress text)."""
    close = getattr(callback, "close", None)
    if callable(close):
        close()


def _check_training_args(num_epochs, lr) -> tuple[int, float]:
    return _checks.integer("num_epochs", num_epochs, 1), _checks.positive("lr", lr)


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
    num_epochs, lr = _check_training_args(num_epochs, lr)
    initial_accumulator = _checks.real("initial_accumulator", initial_accumulator, 0.0)
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
    num_epochs, lr = _check_training_args(num_epochs, lr)
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


@torch.no_grad()
def evaluate_lm(model: torch.nn.Module, inputs, targets, batch_size: int = 4096,
                device: torch.device | str | None = None) -> float:
    """Mean cross-entropy (nats per predicted word) of a language model over a whole split."""
    batch_size = _checks.integer("batch_size", batch_size, 1)
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
      validation cross-entropy is higher than at the previous check (the model
      is kept as it is);
    * ``"patience"``: stop after ``patience`` checks without a new best, and
      restore the parameters of the best check.

    ``optimizer`` is ``"sgd"`` (with ``momentum``), ``"adam"`` or ``"adamw"``
    (Adam with decoupled weight decay); ``schedule`` is ``"constant"`` or
    ``"cosine"`` (the learning rate decays to 0 over all steps of ``num_epochs``).
    Batch order comes from a private generator seeded with ``seed``. Dropout
    draws from a copy of torch's global generator as the caller left it
    (:func:`rng_scope`): the caller's generator is unchanged by the call.
    """
    num_epochs, lr = _check_training_args(num_epochs, lr)
    _checks.choice("optimizer", optimizer, OPTIMIZERS)
    _checks.choice("schedule", schedule, ("constant", "cosine"))
    _checks.choice("early_stopping", early_stopping, EARLY_STOPPING)
    batch_size = _checks.integer("batch_size", batch_size, 1)
    validate_every = _checks.integer("validate_every", validate_every, 1)
    patience = _checks.integer("patience", patience, 1)
    momentum = _checks.real("momentum", momentum, 0.0, 1.0)
    weight_decay = _checks.real("weight_decay", weight_decay, 0.0)
    seed = _checks.integer("seed", seed, 0)
    vocab_size = len(data.vocab)
    _check_model_vocab(model, vocab_size)
    context_len = getattr(model, "context_len", None)
    train_inputs, train_targets = _checks.lm_arrays("train", data.train_inputs, data.train_targets, vocab_size,
                                                    context_len)
    validating = validate_every <= num_epochs * math.ceil(len(train_inputs) / batch_size)
    if validating:
        _checks.lm_arrays("valid", data.valid_inputs, data.valid_targets, vocab_size, context_len)
    # Training examples scored at each check as the validation set is (the 4-grams are already shuffled).
    train_sample = (train_inputs[:len(data.valid_targets)], train_targets[:len(data.valid_targets)]) if validating \
        else None
    device = as_device(device)
    model.to(device)
    inputs, targets = torch.as_tensor(train_inputs).to(device), torch.as_tensor(train_targets).to(device)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    elif optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    batches_per_epoch = math.ceil(len(inputs) / batch_size)
    scheduler = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=num_epochs * batches_per_epoch)
                 if schedule == "cosine" else None)
    generator = torch.Generator().manual_seed(seed)
    state = {"best": math.inf, "best_state": None, "since_best": 0, "previous": math.inf,
             "chunk_loss": torch.zeros((), device=device), "chunk_count": 0}

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
        state["chunk_loss"] += summed
        state["chunk_count"] += len(index)
        return StepResult(summed, len(index), len(index))

    def validate(global_step: int, progress: float) -> bool:
        if global_step % validate_every:
            return False
        valid = evaluate_lm(model, data.valid_inputs, data.valid_targets, device=device)
        train = state["chunk_loss"].item() / state["chunk_count"]
        train_now = evaluate_lm(model, *train_sample, device=device)
        history.checks.append({"epoch": progress, "step": global_step, "train": train, "train_sample": train_now,
                               "valid": valid})
        if callback is not None:
            callback(progress, {"train": train_now, "valid": valid})
        state["chunk_loss"], state["chunk_count"] = torch.zeros((), device=device), 0
        stop = early_stopping == "strict" and valid > state["previous"]
        state["previous"] = valid
        if valid < state["best"]:
            state["best"], state["since_best"] = valid, 0
            if early_stopping == "patience":
                state["best_state"] = copy.deepcopy(model.state_dict())
        else:
            state["since_best"] += 1
            stop = stop or (early_stopping == "patience" and state["since_best"] >= patience)
        return stop

    history = History()
    model.train()
    with rng_scope():
        trained = fit(step, epoch_batches, num_epochs, device, lr, None if validating else callback,
                      after_step=validate)
    if validating:
        finish_curve(callback)
    trained.checks = history.checks
    if state["best_state"] is not None:
        model.load_state_dict(state["best_state"])
    return trained
