import math

import numpy as np
import pytest
import torch

import d2lmini
from d2lmini import GloVe, glove_weight


def test_glove_weight_by_hand():
    x = torch.tensor([0.5, 1.0, 2.0, 3.0])
    expected = [(0.5 / 2) ** 0.75, (1 / 2) ** 0.75, 1.0, 1.0]
    assert glove_weight(x, x_max=2, alpha=0.75).tolist() == pytest.approx(expected)
    assert glove_weight(torch.tensor([10.0]), x_max=100, alpha=1.0).item() == pytest.approx(0.1)


def test_glove_loss_by_hand():
    model = GloVe(vocab_size=3, embed_size=2, x_max=4, alpha=0.5)
    with torch.no_grad():
        model.center.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, 2.0], [0.0, 1.0]]))
        model.context.weight.copy_(torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, 0.0]]))
        model.center_bias.weight.copy_(torch.tensor([[0.1], [0.2], [0.3]]))
        model.context_bias.weight.copy_(torch.tensor([[-0.1], [0.0], [0.5]]))
    center, context, count = torch.tensor([0, 1]), torch.tensor([2, 1]), torch.tensor([2.0, 8.0])
    # pair (0, 2): v.u = 2, b = 0.1, c = 0.5, x = 2: h = (2/4)^0.5, error = 2.6 - log 2
    # pair (1, 1): v.u = 2.5, b = 0.2, c = 0.0, x = 8: h = 1 (capped), error = 2.7 - log 8
    expected = [math.sqrt(0.5) * (2.6 - math.log(2)) ** 2, (2.7 - math.log(8)) ** 2]
    assert model(center, context, count).tolist() == pytest.approx(expected, rel=1e-6)


def test_glove_shapes_and_word_vectors():
    model = GloVe(20, 4)
    ones = torch.ones(2, dtype=torch.long)
    assert model(ones, ones, torch.ones(2)).shape == (2,)
    vectors = model.word_vectors()
    assert vectors.shape == (20, 4)
    assert torch.equal(vectors, model.center.weight.detach() + model.context.weight.detach())


@pytest.mark.parametrize("kwargs, message", [
    ({"x_max": 0}, "x_max must be a number > 0, got 0"),
    ({"x_max": -5.0}, "x_max must be a number > 0"),
    ({"alpha": 0}, "alpha must be a number > 0, got 0"),
    ({"alpha": -0.75}, "alpha must be a number > 0"),
])
def test_glove_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GloVe(10, 4, **kwargs)
    with pytest.raises(ValueError, match=message):
        glove_weight(torch.ones(1), **kwargs)


def test_glove_bad_sizes():
    with pytest.raises(ValueError, match="embed_size must be an integer >= 1, got 0"):
        GloVe(10, 0)
    with pytest.raises(ValueError, match="vocab_size"):
        GloVe(-1, 3)


def test_skipgram_forward_shape():
    net = d2lmini.SkipGram(20, 4)
    out = net(torch.ones((2, 1), dtype=torch.long), torch.ones((2, 4), dtype=torch.long))
    assert out.shape == (2, 1, 4)
    v, u = net.center.weight[1], net.context.weight[1]
    assert out[0, 0, 0].item() == pytest.approx((v @ u).item(), rel=1e-6)


def test_masked_loss_example_of_d2l():
    pred = torch.tensor([[1.1, -2.2, 3.3, -4.4]] * 2)
    label = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    loss = d2lmini.sigmoid_bce_loss(pred, label, mask)
    assert loss.tolist() == pytest.approx([0.9352, 1.8462], abs=1e-4)

    def nll(x):  # -log sigmoid(x), by hand
        return -math.log(1 / (1 + math.exp(-x)))

    assert loss[0].item() == pytest.approx((nll(1.1) + nll(2.2) + nll(-3.3) + nll(4.4)) / 4, rel=1e-5)
    assert loss[1].item() == pytest.approx((nll(-1.1) + nll(-2.2)) / 2, rel=1e-5)
    assert d2lmini.sigmoid_bce_loss(pred[:1], label[:1]).item() == pytest.approx(loss[0].item())


def test_skipgram_bad_sizes():
    with pytest.raises(ValueError, match="embed_size must be an integer >= 1"):
        d2lmini.SkipGram(10, 0)


def test_numpy_integers_are_integers_and_floats_are_not():
    import numpy as np

    assert d2lmini.SkipGram(np.int64(50), np.int32(8)).vocab_size == 50
    assert d2lmini.GloVe(np.int64(10), 4, x_max=np.float32(2.0)).x_max == 2.0
    with pytest.raises(TypeError, match="vocab_size must be an integer, got 50.0"):
        d2lmini.SkipGram(50.0, 8)
    with pytest.raises(TypeError, match="embed_size must be an integer, got True"):
        d2lmini.NGramLM(250, embed_size=True)


def test_hierarchical_softmax_probabilities_of_all_words_sum_to_one():
    counts = np.random.default_rng(1).zipf(1.5, size=40).clip(max=10**5)
    torch.manual_seed(0)
    model = d2lmini.HierarchicalSoftmax(d2lmini.huffman_tree(counts), embed_size=6).double()
    with torch.no_grad():
        model.inner.weight.normal_(0, 1.0)  # away from the all-zero start, where every word is 2**-depth
        model.center.weight.normal_(0, 1.0)
    for center in (0, 7, 39):
        log_p = model(torch.full((40,), center), torch.arange(40))
        assert torch.exp(log_p).sum().item() == pytest.approx(1.0, abs=1e-12)


def test_hierarchical_softmax_matches_the_product_along_the_path_and_passes_gradcheck():
    tree = d2lmini.huffman_tree([5, 1, 1, 3])
    model = d2lmini.HierarchicalSoftmax(tree, embed_size=3).double()
    with torch.no_grad():
        model.inner.weight.normal_()
    v, u = model.center.weight[2], model.inner.weight
    # word 1's code is 100: branch 1 at the root (node 2), then 0 at node 1, then 0 at node 0
    direct = torch.sigmoid(-(u[2] @ v)) * torch.sigmoid(u[1] @ v) * torch.sigmoid(u[0] @ v)
    assert model(torch.tensor([2]), torch.tensor([1])).exp().item() == pytest.approx(direct.item())
    centers, targets = torch.tensor([0, 2, 3]), torch.tensor([1, 3, 0])
    inputs = (model.center.weight.detach().clone().requires_grad_(), u.detach().clone().requires_grad_())

    def through(center_table, inner_table):  # forward's computation, as a function of both tables
        v = center_table[centers]
        scores = (inner_table[model.path_nodes[targets]] * v.unsqueeze(1)).sum(-1)
        return (torch.nn.functional.logsigmoid(model.path_signs[targets].double() * scores)
                * model.path_mask[targets]).sum(-1)

    assert torch.autograd.gradcheck(through, inputs)
    assert torch.allclose(through(*inputs), model(centers, targets))


def test_cbow_averages_only_the_real_contexts_and_passes_gradcheck():
    torch.manual_seed(0)
    model = d2lmini.CBOW(10, 4).double()
    contexts = torch.tensor([[1, 2, 0], [3, 0, 0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]])
    targets = torch.tensor([[4, 5], [6, 7]])
    scores = model(contexts, mask, targets)
    h0 = model.context.weight[[1, 2]].mean(0)
    assert scores[0, 1].item() == pytest.approx((model.center.weight[5] @ h0).item())
    assert scores[1, 0].item() == pytest.approx((model.center.weight[6] @ model.context.weight[3]).item())

    def loss(context_table, center_table):
        h = (context_table[contexts] * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        return (center_table[targets] * h.unsqueeze(1)).sum(-1)

    tables = (model.context.weight.detach().clone().requires_grad_(),
              model.center.weight.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(loss, tables)
    assert torch.allclose(loss(*tables), scores)


def test_full_softmax_logits_are_the_skipgram_scores_of_every_word():
    torch.manual_seed(0)
    model = d2lmini.SkipGram(12, 5)
    centers = torch.tensor([3, 7])
    logits = model.full_softmax_logits(centers)
    scores = model(centers.unsqueeze(1), torch.arange(12).expand(2, 12))  # (2, 1, 12)
    assert logits.shape == (2, 12) and torch.allclose(logits, scores[:, 0])


def test_new_models_refuse_bad_arguments():
    with pytest.raises(TypeError, match="tree must be a HuffmanTree"):
        d2lmini.HierarchicalSoftmax([1, 2, 3], 4)
    with pytest.raises(ValueError, match="embed_size must be an integer >= 1"):
        d2lmini.CBOW(10, 0)


def test_glove_predict_is_the_estimate_that_forward_weights():
    torch.manual_seed(0)
    model = GloVe(7, 3)
    with torch.no_grad():
        for table in (model.center_bias, model.context_bias):
            table.weight.normal_()
    center, context = torch.tensor([0, 3, 6]), torch.tensor([2, 2, 5])
    count = torch.tensor([1.0, 40.0, 250.0])
    estimate = model.predict(center, context)
    expected = (model.center.weight[center] * model.context.weight[context]).sum(-1)
    expected += model.center_bias.weight[center, 0] + model.context_bias.weight[context, 0]
    torch.testing.assert_close(estimate, expected)
    weighted = glove_weight(count) * (estimate - count.log()) ** 2
    torch.testing.assert_close(model(center, context, count), weighted)
