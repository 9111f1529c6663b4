import pytest
import torch

import d2lmini
from d2lmini.batching import ShuffledBatches, batch_loader


def test_shuffled_batches_cover_every_item_once():
    sampler = ShuffledBatches(10, 4, seed=0)
    batches = list(sampler)
    assert [len(b) for b in batches] == [4, 4, 2] and len(sampler) == 3
    assert sorted(torch.cat(batches).tolist()) == list(range(10))
    assert not torch.equal(torch.cat(list(sampler)), torch.cat(batches))  # reshuffled each epoch


def test_batch_loader_gathers_aligned_tensors():
    a, b = torch.arange(10), torch.arange(10) * 10
    for x, y in batch_loader(a, b, batch_size=3, seed=1):
        assert torch.equal(y, x * 10)


def test_batch_loader_errors():
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        batch_loader(torch.arange(3), batch_size=0)
    with pytest.raises(ValueError, match="same length"):
        batch_loader(torch.arange(3), torch.arange(4), batch_size=2)


def test_ptb_glove_loader_serves_exactly_the_nonzero_entries(ptb_train):
    data_iter, vocab = d2lmini.load_data_ptb_glove(batch_size=500_000, window_size=10)
    assert len(vocab) == 9858
    centers, contexts, counts = (torch.cat(parts) for parts in zip(*data_iter))
    assert len(counts) == 2_904_195
    matrix = d2lmini.cooccurrence(vocab.encode(ptb_train), 10, len(vocab)).tocsr()
    expected = torch.tensor(matrix[centers.numpy().copy(), contexts.numpy().copy()].A1, dtype=torch.float32)
    assert torch.equal(counts, expected)
    assert len(set((centers * len(vocab) + contexts).tolist())) == len(counts)  # each entry once
    assert counts.dtype == torch.float32 and centers.dtype == torch.int64


def test_ptb_glove_loader_bad_arguments():
    with pytest.raises(ValueError, match="window_size must be an integer >= 1"):
        d2lmini.load_data_ptb_glove(batch_size=10, window_size=0)
    with pytest.raises(ValueError, match="batch_size"):
        d2lmini.load_data_ptb_glove(batch_size=0, window_size=2)


def test_unseeded_batches_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    first = torch.cat(list(ShuffledBatches(50, 7, seed=None)))
    assert torch.equal(torch.random.get_rng_state(), state)
    assert sorted(first.tolist()) == list(range(50))


def test_a_generator_can_be_passed_as_seed():
    a = torch.cat(list(ShuffledBatches(20, 5, seed=torch.Generator().manual_seed(3))))
    b = torch.cat(list(ShuffledBatches(20, 5, seed=3)))
    assert torch.equal(a, b)


def test_bad_kinds_of_arguments():
    import numpy as np

    assert len(ShuffledBatches(np.int64(10), np.int32(4))) == 3  # numpy integers are integers
    with pytest.raises(TypeError, match="batch_size must be an integer, got 4.0"):
        ShuffledBatches(10, 4.0)
    with pytest.raises(TypeError, match="torch.Tensor"):
        batch_loader([1, 2, 3], batch_size=2)
