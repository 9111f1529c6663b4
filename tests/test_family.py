"""The word2vec family's trainers and fastText's model: the objectives they compute, the sparse update,
word2vec's full-row gradient, vectors for unseen words, reproducible runs, bad arguments."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import d2lmini
from d2lmini import family, sparse_sgd
from d2lmini.models import FastText
from d2lmini.subwords import subword_table

WORDS = ["where", "here", "there", "hero", "heron", "cat", "cats", "dog", "dogs", "the", "a", "on", "mat"]


def tiny_corpus(seed=0, sentences=300):
    rng = np.random.default_rng(seed)
    text = [[WORDS[i] for i in rng.integers(0, len(WORDS), size=rng.integers(3, 12))] for _ in range(sentences)]
    vocab = d2lmini.Vocab(text)
    return vocab.encode(text), vocab


def tiny_fasttext(full_row_gradient=False, buckets=50):
    rows, offsets = subword_table(WORDS, buckets=buckets, min_n=3, max_n=4)
    torch.manual_seed(0)
    model = FastText(rows, offsets, buckets, embed_size=4, full_row_gradient=full_row_gradient).double()
    with torch.no_grad():
        model.output.weight.normal_()
    return model, rows, offsets


def test_fasttext_center_is_the_mean_of_its_rows_and_passes_gradcheck():
    model, rows, offsets = tiny_fasttext()
    centers, words = torch.tensor([0, 5, 5]), torch.tensor([[1, 2], [3, 4], [0, 12]])
    scores = model(centers, words)
    where = model.input.weight[rows[offsets[0]:offsets[1]]].mean(0)  # "where" and its 3- and 4-grams
    assert scores[0, 1].item() == pytest.approx((model.output.weight[2] @ where).item())
    assert torch.allclose(model.word_vectors()[0], where)

    def through(input_table, output_table):  # the forward pass written with plain indexing
        v = torch.stack([input_table[rows[offsets[c]:offsets[c + 1]]].mean(0) for c in centers.tolist()])
        return (output_table[words] * v.unsqueeze(1)).sum(-1)

    tables = (model.input.weight.detach().clone().requires_grad_(),
              model.output.weight.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(through, tables)
    assert torch.allclose(through(*tables), scores)


def test_full_row_gradient_gives_every_averaged_row_the_means_whole_gradient():
    exact, rows, offsets = tiny_fasttext(full_row_gradient=False)
    word2vec_rule, _, _ = tiny_fasttext(full_row_gradient=True)
    centers, words = torch.tensor([0]), torch.tensor([[3]])
    for model in (exact, word2vec_rule):
        model(centers, words).sum().backward()
    assert torch.allclose(exact(centers, words), word2vec_rule(centers, words))  # same forward value
    n = int(offsets[1] - offsets[0])
    own = rows[0]
    assert torch.allclose(word2vec_rule.input.weight.grad[own], n * exact.input.weight.grad[own])
    cbow, cbow_w2v = d2lmini.CBOW(10, 3).double(), d2lmini.CBOW(10, 3, full_row_gradient=True).double()
    cbow_w2v.load_state_dict(cbow.state_dict())
    contexts, mask, targets = torch.tensor([[1, 2, 0]]), torch.tensor([[1, 1, 0]]), torch.tensor([[4, 5]])
    for model in (cbow, cbow_w2v):
        model(contexts, mask, targets).sum().backward()
    assert torch.allclose(cbow_w2v.context.weight.grad[1], 2 * cbow.context.weight.grad[1])
    assert torch.allclose(cbow_w2v.center.weight.grad, cbow.center.weight.grad)  # the output side is unchanged


def test_hierarchical_softmax_log_probs_share_one_path_per_row():
    model = d2lmini.HierarchicalSoftmax(d2lmini.huffman_tree([9, 4, 4, 2, 1, 1]), embed_size=3).double()
    with torch.no_grad():
        model.inner.weight.normal_()
    inputs, target = torch.tensor([[0, 3, 5], [2, 2, 1]]), torch.tensor([4, 0])
    many = model.log_probs(inputs, target)
    one_by_one = model(inputs.reshape(-1), target.repeat_interleave(3)).view(2, 3)
    assert torch.allclose(many, one_by_one)


def test_sparse_sgd_update_moves_exactly_as_dense_sgd():
    torch.manual_seed(0)
    dense, sparse = d2lmini.CBOW(12, 4), d2lmini.CBOW(12, 4, sparse=True)
    sparse.load_state_dict(dense.state_dict())
    contexts, mask, targets = torch.tensor([[1, 1, 2], [3, 0, 0]]), torch.tensor([[1, 1, 1], [1, 0, 0]]), \
        torch.tensor([[4, 5], [4, 9]])
    for model in (dense, sparse):
        F.logsigmoid(model(contexts, mask, targets)).sum().backward()
    assert sparse.context.weight.grad.is_sparse
    with torch.no_grad():
        expected = {name: p - 0.1 * p.grad for name, p in dense.named_parameters()}
    sparse_sgd.sparse_sgd_update(sparse, 0.1)
    for name, p in sparse.named_parameters():
        assert torch.allclose(p, expected[name], atol=1e-6) and p.grad is None


TRAINERS = [family.train_cbow, family.train_hierarchical_softmax, family.train_fasttext, family.train_full_softmax]


@pytest.mark.parametrize("train", TRAINERS, ids=lambda f: f.__name__)
def test_trainers_learn_and_a_seeded_cpu_run_is_reproducible(train):
    corpus, vocab = tiny_corpus()
    kwargs = dict(embed_size=8, num_epochs=4, batch_size=32, t=1.0, seed=3, device="cpu")  # CUDA adds atomically
    if train is family.train_fasttext:
        kwargs.update(buckets=100)
    model, history = train(corpus, vocab, **kwargs)
    again, _ = train(corpus, vocab, **kwargs)
    assert torch.equal(model.word_vectors(), again.word_vectors())
    assert history["loss"][-1] < history["loss"][0]
    assert np.isfinite(history.mean_loss) and history.examples > 0


def test_max_batches_stops_a_costly_model_early():
    corpus, vocab = tiny_corpus()
    _, history = family.train_full_softmax(corpus, vocab, embed_size=4, batch_size=16, t=1.0, max_batches=3)
    assert history.stopped_early and history.examples <= 3 * 16


def test_fasttext_embeddings_give_unseen_words_the_mean_of_their_ngrams():
    corpus, vocab = tiny_corpus()
    model, _ = family.train_fasttext(corpus, vocab, embed_size=6, num_epochs=1, buckets=100, min_n=3, max_n=4,
                                     t=1.0, batch_size=16, device="cpu")
    vectors = family.fasttext_embeddings(model, vocab, ["heros", "where"], min_n=3, max_n=4)
    assert "heros" in vectors and "<unk>" not in vectors and len(vectors) == len(vocab) - 1 + 1
    rows, offsets = subword_table(["heros"], 100, 3, 4, word_rows=[-1], num_words=len(vocab))
    expected = model.input.weight[torch.from_numpy(rows)].mean(0).detach().numpy()
    assert np.allclose(vectors["heros"], expected, atol=1e-6)  # n-grams only: "heros" has no row of its own
    assert np.allclose(vectors["where"], model.word_vectors()[vocab.lookup("where")].numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="min_n=3, max_n=6 are not the n-gram range the model was trained with"):
        family.fasttext_embeddings(model, vocab, min_n=3, max_n=6)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"min_n": 4, "max_n": 3}, ValueError, r"max_n must be >= min_n, got min_n=4, max_n=3"),
    ({"buckets": 0}, ValueError, r"buckets must be an integer >= 1, got 0"),
    ({"batch_size": 0}, ValueError, r"batch_size must be an integer >= 1, got 0"),
    ({"lr": -1}, ValueError, r"lr must be"),
])
def test_fasttext_refuses_bad_arguments(kwargs, error, message):
    corpus, vocab = tiny_corpus()
    with pytest.raises(error, match=message):
        family.train_fasttext(corpus, vocab, **kwargs)


def test_trainers_refuse_a_non_vocab():
    corpus, vocab = tiny_corpus()
    with pytest.raises(TypeError, match="vocab must be a d2lmini.Vocab, got list"):
        family.train_cbow(corpus, list(vocab.idx_to_token))


def test_hierarchical_softmax_trains_on_a_given_tree_and_refuses_a_wrong_one():
    corpus, vocab = tiny_corpus()
    balanced = d2lmini.huffman_tree(np.ones(len(vocab)))
    model, _ = family.train_hierarchical_softmax(corpus, vocab, embed_size=4, num_epochs=1, t=1.0, batch_size=16,
                                                 tree=balanced)
    assert torch.equal(model.path_nodes.cpu(), torch.as_tensor(balanced.nodes))
    with pytest.raises(ValueError, match="tree must be a HuffmanTree over the vocabulary's"):
        family.train_hierarchical_softmax(corpus, vocab, tree=d2lmini.huffman_tree([1, 2, 3]))


def test_fasttext_embeddings_refuses_a_bare_string():
    corpus, vocab = tiny_corpus()
    model, _ = family.train_fasttext(corpus, vocab, embed_size=4, num_epochs=1, buckets=50, t=1.0, batch_size=16)
    with pytest.raises(TypeError, match=r"words must be a list of strings, got the string 'heros'; pass \['heros'\]"):
        family.fasttext_embeddings(model, vocab, "heros")
