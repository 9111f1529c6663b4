"""The fast skip-gram trainer computes SGNS exactly: loss and gradients against autograd and finite
differences, shared noise words unbiased, seeded runs reproducible."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import d2lmini
from d2lmini import gradcheck
from d2lmini.fast_skipgram import train_skipgram_fast
from d2lmini.skipgram_data import AliasSampler
from d2lmini.sparse_sgd import (
    CudaGraphBlockStep,
    _fusable_block_step,
    compiled_block_step,
    sgns_block_gradients,
    sgns_block_step,
)


def tiny_block(dtype=torch.float64, seed=0, groups=3, group_size=4, k=5, vocab=11, dim=6):
    g = torch.Generator().manual_seed(seed)
    center = torch.randn(vocab, dim, generator=g, dtype=dtype) * 0.5
    context = torch.randn(vocab, dim, generator=g, dtype=dtype) * 0.5
    b = groups * group_size
    centers = torch.randint(vocab, (b,), generator=g)
    contexts = torch.randint(vocab, (b,), generator=g)
    negatives = torch.randint(vocab, (groups, k), generator=g)
    return center, context, centers, contexts, negatives


def sgns_objective(center, context, centers, contexts, negatives):
    """SGNS written directly, pair by pair: -log s(v.u) - sum_k log s(-v.n_k), each pair with its group's noise."""
    group_size = len(centers) // len(negatives)
    total = 0.0
    for i in range(len(centers)):
        v, u = center[centers[i]], context[contexts[i]]
        total = total - F.logsigmoid(v @ u)
        for n in negatives[i // group_size]:
            total = total - F.logsigmoid(-(v @ context[n]))
    return total


def test_loss_and_gradients_equal_autograd_of_the_sgns_objective():
    center, context, centers, contexts, negatives = tiny_block()
    loss, grad_v, grad_u, grad_noise = sgns_block_gradients(center, context, centers, contexts, negatives)
    c, o = center.clone().requires_grad_(), context.clone().requires_grad_()
    direct = sgns_objective(c, o, centers, contexts, negatives)
    direct.backward()
    assert loss.item() == pytest.approx(direct.item(), rel=1e-12)
    # Scatter the row gradients back into full tables, as the SGD step does.
    full_c = torch.zeros_like(center).index_add_(0, centers, grad_v)
    full_o = torch.zeros_like(context).index_add_(0, contexts, grad_u)
    full_o.index_add_(0, negatives.reshape(-1), grad_noise.reshape(-1, center.shape[1]))
    assert torch.allclose(full_c, c.grad, atol=1e-12) and torch.allclose(full_o, o.grad, atol=1e-12)


def test_gradients_pass_a_finite_difference_check():
    center, context, centers, contexts, negatives = tiny_block(seed=1)
    _, grad_v, grad_u, grad_noise = sgns_block_gradients(center, context, centers, contexts, negatives)
    grads = {"center": torch.zeros_like(center).index_add_(0, centers, grad_v).numpy(),
             "context": torch.zeros_like(context).index_add_(0, contexts, grad_u)
             .index_add_(0, negatives.reshape(-1), grad_noise.reshape(-1, center.shape[1])).numpy()}
    params = {"center": center.numpy(), "context": context.numpy()}  # shares memory with the tensors

    def loss():
        return sgns_block_gradients(center, context, centers, contexts, negatives)[0].item()

    worst = gradcheck.check_gradient(loss, params, grads, num_checks=30, eps=1e-6)
    assert max(worst.values()) < 1e-6


def test_an_sgd_step_moves_exactly_the_touched_rows_by_minus_lr_times_the_gradient():
    center, context, centers, contexts, negatives = tiny_block(dtype=torch.float32, vocab=40)
    before_c, before_o = center.clone(), context.clone()
    c, o = center.clone().requires_grad_(), context.clone().requires_grad_()
    sgns_objective(c, o, centers, contexts, negatives).backward()
    sgns_block_step(center, context, centers, contexts, negatives, lr=0.1)
    assert torch.allclose(center, before_c - 0.1 * c.grad, atol=1e-6)
    assert torch.allclose(context, before_o - 0.1 * o.grad, atol=1e-6)
    untouched = torch.ones(40, dtype=torch.bool)
    untouched[torch.cat([centers, contexts, negatives.reshape(-1)])] = False
    assert torch.equal(context[untouched], before_o[untouched])


def test_shared_noise_words_give_an_unbiased_estimate_of_the_per_pair_loss():
    torch.manual_seed(0)
    vocab, dim, k, group_size = 30, 4, 5, 8
    center, context = torch.randn(vocab, dim) * 0.7, torch.randn(vocab, dim) * 0.7
    p = np.arange(1, vocab + 1, dtype=np.float64) ** 0.75
    p /= p.sum()
    table = AliasSampler(p)
    centers = torch.randint(vocab, (group_size * 4,))
    contexts = torch.randint(vocab, (group_size * 4,))
    # Expected loss: each pair's K noise words are independent draws from p.
    v = center[centers]
    noise_term = -(F.logsigmoid(-(v @ context.T)) * torch.as_tensor(p, dtype=torch.float32)).sum(1)
    expected = (-F.logsigmoid((v * context[contexts]).sum(1)) + k * noise_term).sum().item()
    g = torch.Generator().manual_seed(1)
    repeats = 100  # each call scores the block 100 times, every copy with its own noise draws
    draws = [sgns_block_gradients(center, context, centers.repeat(repeats), contexts.repeat(repeats),
                                  table.sample_torch((4 * repeats, k), g))[0].item() / repeats for _ in range(40)]
    mean, sem = np.mean(draws), np.std(draws) / np.sqrt(len(draws))
    assert abs(mean - expected) < 4 * sem, (mean, expected, sem)


def test_torch_draws_of_the_alias_sampler_follow_the_distribution():
    p = np.array([0.0, 0.5, 0.25, 0.125, 0.125])
    draws = AliasSampler(p).sample_torch((200_000,), torch.Generator().manual_seed(0))
    freq = np.bincount(draws.numpy(), minlength=5) / len(draws)
    assert draws.dtype == torch.long and freq[0] == 0 and np.abs(freq - p).max() < 0.005


@pytest.mark.parametrize("step", [sgns_block_step, torch.no_grad()(_fusable_block_step)], ids=["eager", "fusable"])
def test_both_arrangements_of_the_step_equal_the_textbook_gradients(step):
    center, context, centers, contexts, negatives = tiny_block(dtype=torch.float64, vocab=40)
    loss, grad_v, grad_u, grad_noise = sgns_block_gradients(center, context, centers, contexts, negatives)
    expected_c = center.clone().index_add_(0, centers, grad_v, alpha=-0.1)
    expected_o = context.clone().index_add_(0, contexts, grad_u, alpha=-0.1)
    expected_o.index_add_(0, negatives.reshape(-1), grad_noise.reshape(-1, center.shape[1]), alpha=-0.1)
    returned = step(center, context, centers, contexts, negatives, torch.tensor(0.1, dtype=torch.float64))
    assert returned.item() == pytest.approx(loss.item(), rel=1e-12)
    assert torch.allclose(center, expected_c, atol=1e-12) and torch.allclose(context, expected_o, atol=1e-12)


def test_the_compiled_step_equals_the_eager_step():
    center, context, centers, contexts, negatives = tiny_block(dtype=torch.float32, vocab=40, groups=16)
    c1, o1, c2, o2 = center.clone(), context.clone(), center.clone(), context.clone()
    loss1 = sgns_block_step(c1, o1, centers, contexts, negatives, 0.1)
    loss2 = compiled_block_step()(c2, o2, centers, contexts, negatives, torch.tensor(0.1))
    assert loss2.item() == pytest.approx(loss1.item(), rel=1e-5)
    assert torch.allclose(c1, c2, atol=1e-6) and torch.allclose(o1, o2, atol=1e-6)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_the_recorded_step_refuses_bad_arguments_before_touching_cuda():
    center, context, *_ = tiny_block(dtype=torch.float32)
    with pytest.raises(ValueError, match="block_size must be a multiple of group_size=4, got 30"):
        CudaGraphBlockStep(center, context, block_size=30, group_size=4, num_noise_words=5)
    with pytest.raises(ValueError, match="a CUDA graph needs both tables on one CUDA device, got cpu"):
        CudaGraphBlockStep(center, context, block_size=32, group_size=4, num_noise_words=5)


@needs_cuda
def test_the_recorded_cuda_step_equals_the_eager_step():
    center, context, *_ = [x.cuda() for x in tiny_block(dtype=torch.float32, vocab=40, groups=16)]
    c1, o1, c2, o2 = center.clone(), context.clone(), center.clone(), context.clone()
    step = CudaGraphBlockStep(c2, o2, block_size=64, group_size=4, num_noise_words=5)
    assert torch.equal(c2, center) and torch.equal(o2, context)  # recording and warming up moved nothing
    for seed, rate in ((1, 0.1), (2, 0.05)):  # each replay reads the new block and rate
        _, _, centers, contexts, negatives = [x.cuda() for x in tiny_block(seed=seed, vocab=40, groups=16)]
        loss1 = sgns_block_step(c1, o1, centers, contexts, negatives, rate)
        loss2 = step(c2, o2, centers, contexts, negatives, torch.full((), rate, device="cuda"))
        assert loss2.item() == pytest.approx(loss1.item(), rel=1e-5)
        assert torch.allclose(c1, c2, atol=1e-6) and torch.allclose(o1, o2, atol=1e-6)


@needs_cuda
def test_a_cuda_run_with_the_recorded_step_trains_as_the_eager_one():
    ids, vocab = corpus()
    kwargs = dict(embed_size=8, num_epochs=3, lr=0.05, t=1.0, block_size=64, group_size=4, seed=3, device="cuda")
    (m1, h1), (m2, h2) = [train_skipgram_fast(ids, vocab, cuda_graph=g, **kwargs) for g in (True, False)]
    assert h1["loss"][-1] < 0.9 * h1["loss"][0]
    assert np.allclose(h1["loss"], h2["loss"], rtol=1e-3)  # same draws; the order of atomic additions differs
    assert torch.allclose(m1.center.weight, m2.center.weight, atol=1e-3)


def corpus():
    sentences = [list("abcdefghij"), list("jihgfedcba"), list("aceg"), list("bdfh")] * 50
    vocab = d2lmini.Vocab(sentences)
    return vocab.encode(sentences), vocab


def test_a_seeded_cpu_run_is_reproducible_and_lowers_the_loss():
    ids, vocab = corpus()
    runs = [train_skipgram_fast(ids, vocab, embed_size=8, num_epochs=4, lr=0.05, t=1.0, block_size=64,
                                group_size=4, seed=3, device="cpu") for _ in range(2)]
    (m1, h1), (m2, h2) = runs
    assert torch.equal(m1.center.weight, m2.center.weight) and torch.equal(m1.context.weight, m2.context.weight)
    assert h1["loss"] == h2["loss"]
    assert h1["loss"][-1] < 0.9 * h1["loss"][0]
    other, _ = train_skipgram_fast(ids, vocab, embed_size=8, num_epochs=1, t=1.0, block_size=64, group_size=4,
                                   seed=4, device="cpu")
    assert not torch.equal(other.center.weight, m1.center.weight)


def test_the_step_runs_on_one_pytorch_thread_per_worker_and_the_callers_setting_is_restored():
    ids, vocab = corpus()
    caller = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        during = []
        train_skipgram_fast(ids, vocab, embed_size=4, num_epochs=1, t=1.0, block_size=32, group_size=4,
                            callback=lambda progress, metrics: during.append(torch.get_num_threads()))
        assert during and set(during) == {1}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(caller)


def test_a_compiled_run_is_reproducible_and_close_to_the_eager_run():
    ids, vocab = corpus()
    kwargs = dict(embed_size=8, num_epochs=3, lr=0.05, t=1.0, block_size=64, group_size=4, seed=3, device="cpu")
    (m1, h1), (m2, h2) = [train_skipgram_fast(ids, vocab, compile=True, **kwargs) for _ in range(2)]
    assert torch.equal(m1.center.weight, m2.center.weight) and h1["loss"] == h2["loss"]
    eager, h3 = train_skipgram_fast(ids, vocab, **kwargs)  # same draws; only the float rounding differs
    assert np.allclose(h1["loss"], h3["loss"], rtol=1e-3)
    assert torch.allclose(m1.center.weight, eager.center.weight, atol=1e-3)


def test_epoch_hook_sees_the_model_after_each_epoch():
    ids, vocab = corpus()
    seen = []
    train_skipgram_fast(ids, vocab, embed_size=4, num_epochs=3, t=1.0, block_size=32, group_size=4,
                        on_epoch_end=lambda epoch, model, history: seen.append((epoch, len(history.epochs))))
    assert seen == [(0, 1), (1, 2), (2, 3)]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"group_size": 0}, ValueError, "group_size must be an integer >= 1"),
    ({"block_size": 2, "group_size": 4}, ValueError, "block_size must be an integer >= 4"),
    ({"lr": -1}, ValueError, "lr must be a number > 0"),
    ({"num_epochs": 1.5}, TypeError, "num_epochs must be an integer"),
    ({"on_epoch_end": "print"}, TypeError, "on_epoch_end must be callable"),
    ({"compile": "yes"}, TypeError, "compile must be True or False"),
])
def test_bad_arguments(kwargs, error, message):
    ids, vocab = corpus()
    with pytest.raises(error, match=message):
        train_skipgram_fast(ids, vocab, **kwargs)


def test_a_diverging_run_stops_with_an_error():
    ids, vocab = corpus()
    with pytest.raises(d2lmini.DivergedError, match="smaller learning rate"):
        train_skipgram_fast(ids, vocab, embed_size=8, num_epochs=3, lr=1e6, t=1.0, block_size=64, group_size=4)


def test_hogwild_workers_train_the_same_objective():
    ids, vocab = corpus()
    model, history = train_skipgram_fast(ids, vocab, embed_size=8, num_epochs=4, lr=0.05, t=1.0, block_size=32,
                                         group_size=4, workers=2, seed=0)
    assert history["loss"][-1] < 0.9 * history["loss"][0]
    assert sum(row["examples"] for row in history.epochs) == history.examples > 0
    assert torch.isfinite(model.center.weight).all()


@pytest.mark.parametrize("shuffle", ["pairs", "centers", "none"])
def test_every_pair_order_trains(shuffle):
    ids, vocab = corpus()
    _, history = train_skipgram_fast(ids, vocab, embed_size=8, num_epochs=3, lr=0.05, t=1.0, block_size=32,
                                     group_size=4, shuffle=shuffle)
    assert history["loss"][-1] < history["loss"][0]
    with pytest.raises(ValueError, match="shuffle must be one of"):
        train_skipgram_fast(ids, vocab, shuffle="random")
