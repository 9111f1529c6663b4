"""The book's models as ``torch.nn.Module``s. They know tensors only: no files, no training loop."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from ._checks import Boolean, Choice, Instance, Integer, Optional, Positive, Real, rules
from .huffman import HuffmanTree

__all__ = ["rng_scope", "glove_weight", "GloVe", "SkipGram", "sigmoid_bce_loss", "NGramLM", "CBOW",
           "HierarchicalSoftmax", "FastText", "mean_with_full_gradient"]


@contextlib.contextmanager
def rng_scope(seed: int | None = None) -> Iterator[None]:
    """Run a block on a copy of torch's global random generators (CPU and CUDA), seeded with ``seed`` if given.

    PyTorch's layers draw from the global generator: ``nn.Embedding`` and
    ``nn.Linear`` when built, dropout when training. Inside this block they
    draw from a copy, so the caller's generators are the same after the block
    as before it, and a trainer that seeds its model does not reseed the
    caller's.
    """
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def mean_with_full_gradient(summed: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """``summed / count``, whose gradient flows to ``summed`` undivided.

    word2vec's CBOW and fastText average rows in the forward pass, then add the
    average's whole gradient to every averaged row (not ``1/count`` of it): a
    larger step for each row than the mean's true gradient gives.
    """
    return summed.detach() / count + (summed - summed.detach())


@rules(x_max=Positive(), alpha=Positive())
def glove_weight(x: torch.Tensor, x_max: float = 100.0, alpha: float = 0.75) -> torch.Tensor:
    """GloVe's weighting function ``h(x) = min((x / x_max) ** alpha, 1)``.

    Rare pairs (small ``x``) get little weight, and no pair gets more than 1,
    so that very frequent pairs do not dominate the loss.
    """
    return torch.clamp((x / x_max) ** alpha, max=1.0)


class GloVe(nn.Module):
    """GloVe: center vectors ``v``, context vectors ``u`` and a bias for each.

    ``forward(center, context, count)`` takes three tensors of shape
    ``(batch,)`` (ids, ids, co-occurrence counts ``x_ij > 0``) and returns the
    per-pair loss, shape ``(batch,)``:

        h(x_ij) * (v_i . u_j + b_i + c_j - log x_ij) ** 2

    After training, ``v + u`` are the word vectors (:meth:`word_vectors`).
    """

    @rules(vocab_size=Integer(1), embed_size=Integer(1), x_max=Positive(), alpha=Positive())
    def __init__(self, vocab_size: int, embed_size: int, x_max: float = 100.0, alpha: float = 0.75) -> None:
        super().__init__()
        self.x_max, self.alpha = x_max, alpha
        self.center = nn.Embedding(vocab_size, embed_size)
        self.context = nn.Embedding(vocab_size, embed_size)
        self.center_bias = nn.Embedding(vocab_size, 1)
        self.context_bias = nn.Embedding(vocab_size, 1)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Small uniform vectors (as in the reference GloVe code) and zero biases."""
        bound = 0.5 / self.center.embedding_dim
        for table in (self.center, self.context):
            nn.init.uniform_(table.weight, -bound, bound)
        for table in (self.center_bias, self.context_bias):
            nn.init.zeros_(table.weight)

    def predict(self, center: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """The model's estimate of ``log x_ij``: ``v_i . u_j + b_i + c_j``, shape ``(batch,)``."""
        # index_select rather than calling the Embedding: its backward is one
        # index_add_, which is faster on the CPU than the embedding backward.
        v = self.center.weight.index_select(0, center)  # (batch, embed)
        u = self.context.weight.index_select(0, context)  # (batch, embed)
        b = self.center_bias.weight.index_select(0, center).squeeze(-1)  # (batch,)
        c = self.context_bias.weight.index_select(0, context).squeeze(-1)  # (batch,)
        return (v * u).sum(-1) + b + c

    def forward(self, center: torch.Tensor, context: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
        error = self.predict(center, context) - torch.log(count)
        return glove_weight(count, self.x_max, self.alpha) * error**2

    @property
    def vocab_size(self) -> int:
        return self.center.num_embeddings

    def word_vectors(self) -> torch.Tensor:
        """``v + u``, shape ``(vocab_size, embed_size)``: the two sets are symmetric roles, so their sum is used."""
        return (self.center.weight + self.context.weight).detach()


class SkipGram(nn.Module):
    """Skip-gram: a center embedding ``v`` and a context embedding ``u`` per word.

    ``forward(center, contexts_negatives)`` takes ids of shape ``(batch, 1)``
    and ``(batch, n)``: each row holds the ``n`` words scored against its
    center. In this book's pair rows that is one context and its noise words;
    in d2l's batches, all of a center's contexts and noise words, padded to
    the longest row. It returns the scores ``v_c . u_o`` of shape
    ``(batch, 1, n)``; ``sigmoid(score)`` is the predicted probability that
    ``o`` occurs in the context of ``c``. Embeddings start Xavier-uniform, as
    in d2l.
    """

    @rules(vocab_size=Integer(1), embed_size=Integer(1))
    def __init__(self, vocab_size: int, embed_size: int) -> None:
        super().__init__()
        self.center = nn.Embedding(vocab_size, embed_size)
        self.context = nn.Embedding(vocab_size, embed_size)
        for table in (self.center, self.context):
            nn.init.xavier_uniform_(table.weight)

    @classmethod
    def word2vec_start(cls, vocab_size: int, embed_size: int, generator: torch.Generator) -> SkipGram:
        """A skip-gram with word2vec's starting values, drawn from ``generator`` alone.

        The centers are uniform in ``[-0.5 / embed_size, 0.5 / embed_size)``, the contexts zero.
        """
        with rng_scope():  # building the layers draws from torch's global generator: draw from a copy
            model = cls(vocab_size, embed_size)
        with torch.no_grad():
            model.center.weight.copy_((torch.rand(model.vocab_size, embed_size, generator=generator) - 0.5)
                                      / embed_size)
            model.context.weight.zero_()
        return model

    def forward(self, center: torch.Tensor, contexts_negatives: torch.Tensor) -> torch.Tensor:
        # index_select: its backward (index_add_) is faster on the CPU than the Embedding's.
        v = self.center.weight.index_select(0, center.reshape(-1)).view(*center.shape, -1)  # (batch, 1, embed)
        u = self.context.weight.index_select(0, contexts_negatives.reshape(-1)).view(
            *contexts_negatives.shape, -1)  # (batch, n, embed)
        # The dot products v . u as multiply-and-sum: d2l's bmm of (1 x embed) by
        # (embed x n) matrices gives the same numbers, through many tiny
        # matrix products instead of one elementwise pass.
        return (u * v).sum(-1).unsqueeze(1)  # (batch, 1, n)

    @property
    def vocab_size(self) -> int:
        return self.center.num_embeddings

    def word_vectors(self) -> torch.Tensor:
        """The center embeddings, used as word vectors (as in d2l and word2vec)."""
        return self.center.weight.detach()

    def full_softmax_logits(self, center: torch.Tensor) -> torch.Tensor:
        """Scores ``v_c . u_o`` of every word ``o``, shape ``(batch, V)``: the logits of the
        skip-gram softmax ``P(o | c)`` that negative sampling replaces."""
        return self.center.weight.index_select(0, center.reshape(-1)) @ self.context.weight.T


class CBOW(nn.Module):
    """Continuous bag of words: the mean of the context vectors scores the center word.

    ``forward(contexts, mask, centers_negatives)`` takes the context ids
    ``(batch, max_contexts)`` with a 0/1 ``mask`` of the same shape (padding 0)
    and the ids ``(batch, 1 + K)`` of each center followed by its noise words;
    it returns the scores ``h . u_o`` of shape ``(batch, 1 + K)``, where ``h`` is
    the mean of the unmasked context vectors. Trained with :func:`sigmoid_bce_loss`
    and labels 1 then K zeros, it is skip-gram's mirror image (word2vec's ``-cbow 1``).
    ``sparse=True`` gives the tables sparse gradients (only the rows a batch
    touches), for the sparse SGD of :mod:`d2lmini.family`;
    ``full_row_gradient=True`` gives every context row the mean's whole
    gradient, word2vec's update (:func:`mean_with_full_gradient`), not the
    mean's true gradient.
    """

    @rules(vocab_size=Integer(1), embed_size=Integer(1), sparse=Boolean(), full_row_gradient=Boolean())
    def __init__(self, vocab_size: int, embed_size: int, sparse: bool = False,
                 full_row_gradient: bool = False) -> None:
        super().__init__()
        self.full_row_gradient = full_row_gradient
        self.context = nn.Embedding(vocab_size, embed_size, sparse=sparse)  # the input vectors
        self.center = nn.Embedding(vocab_size, embed_size, sparse=sparse)  # the output vectors
        for table in (self.center, self.context):
            nn.init.xavier_uniform_(table.weight)

    def forward(self, contexts: torch.Tensor, mask: torch.Tensor, centers_negatives: torch.Tensor) -> torch.Tensor:
        mask = mask.to(self.context.weight.dtype).unsqueeze(-1)  # (batch, max_contexts, 1)
        summed = (self.context(contexts) * mask).sum(1)  # (batch, embed)
        count = mask.sum(1).clamp(min=1.0)
        h = mean_with_full_gradient(summed, count) if self.full_row_gradient else summed / count
        return (self.center(centers_negatives) * h.unsqueeze(1)).sum(-1)  # (batch, 1 + K)

    @property
    def vocab_size(self) -> int:
        return self.context.num_embeddings

    def word_vectors(self) -> torch.Tensor:
        """The context (input) embeddings, used as word vectors (as in word2vec)."""
        return self.context.weight.detach()


class HierarchicalSoftmax(nn.Module):
    """Skip-gram with hierarchical softmax: a vector per word and one per inner node of a Huffman tree.

    ``P(o | c)`` is the product, along the path from the root to ``o``, of
    ``sigmoid(u_n . v_c)`` for branch 0 and ``sigmoid(-u_n . v_c)`` for branch 1
    at each inner node ``n``; since ``sigmoid(x) + sigmoid(-x) = 1`` at every
    node, the probabilities of all words sum to 1. ``forward(center, target)``
    takes ids of shape ``(batch,)`` and returns ``log P(target | center)``,
    shape ``(batch,)``, at the cost of one path (``log2 V`` nodes or so)
    instead of ``V`` scores. As in word2vec, word vectors start small and
    uniform, node vectors at 0. ``sparse=True``: sparse gradients, as :class:`CBOW`.
    """

    @rules(tree=Instance(HuffmanTree, "a HuffmanTree (d2lmini.huffman.huffman_tree(counts))"),
           embed_size=Integer(1), sparse=Boolean())
    def __init__(self, tree: HuffmanTree, embed_size: int, sparse: bool = False) -> None:
        super().__init__()
        vocab_size = tree.vocab_size
        self.register_buffer("path_nodes", torch.as_tensor(tree.nodes, dtype=torch.long))
        self.register_buffer("path_signs", 1.0 - 2.0 * torch.as_tensor(tree.codes, dtype=torch.float32))
        self.register_buffer("path_mask", torch.as_tensor(tree.mask))
        self.center = nn.Embedding(vocab_size, embed_size, sparse=sparse)
        self.inner = nn.Embedding(vocab_size - 1, embed_size, sparse=sparse)
        nn.init.uniform_(self.center.weight, -0.5 / embed_size, 0.5 / embed_size)
        nn.init.zeros_(self.inner.weight)

    def forward(self, center: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return self.log_probs(center.unsqueeze(1), target).squeeze(1)

    def log_probs(self, inputs: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``log P(target_b | inputs_bt)`` for ``inputs`` ``(batch, T)`` and ``target`` ``(batch,)``,
        shape ``(batch, T)``: the ``T`` words of a row share one path, gathered once.

        word2vec's skip-gram walks the path of the window's center for each of
        its context words (whose vectors are the inputs), so that a window costs
        one path; the trainer of :mod:`d2lmini.family` does the same.
        """
        v = self.center(inputs)  # (batch, T, embed)
        nodes = self.path_nodes[target]  # (batch, depth)
        scores = torch.bmm(v, self.inner(nodes).transpose(1, 2))  # (batch, T, depth)
        signs = self.path_signs[target].to(scores.dtype).unsqueeze(1)
        steps = F.logsigmoid(signs * scores) * self.path_mask[target].unsqueeze(1)  # padding adds log 1 = 0
        return steps.sum(-1)

    @property
    def vocab_size(self) -> int:
        return self.center.num_embeddings

    def word_vectors(self) -> torch.Tensor:
        """The word (center) vectors."""
        return self.center.weight.detach()


class FastText(nn.Module):
    """fastText's skip-gram: a center word is the mean of its own vector and its character n-grams' vectors.

    ``rows`` and ``offsets`` are the vocabulary's subword table
    (:func:`~d2lmini.subwords.subword_table`): word ``i`` is made of the rows
    ``rows[offsets[i]:offsets[i + 1]]`` of the input table, which has one row per
    word and ``buckets`` rows shared by the hashed n-grams. As in fastText,
    the rows are averaged (the sum divided by their number, which changes
    no cosine similarity). Contexts and noise words have one output vector
    each, as in skip-gram. Input rows start uniform in ``[-1/d, 1/d]`` and
    output vectors at 0, fastText's initialisation.

    ``forward(centers, words)`` scores ``C`` centers, ``(C,)``, against the
    words of a matrix ``(C, T)`` (contexts, noise words) and returns the scores
    ``v_c . u_w``, ``(C, T)``: each center's vector is built once for all its
    words. ``sparse=True``: sparse gradients; ``full_row_gradient=True``:
    fastText's update, every averaged row receives the mean's whole gradient
    (as :class:`CBOW`).
    """

    @rules(buckets=Integer(1), embed_size=Integer(1), sparse=Boolean(), full_row_gradient=Boolean())
    def __init__(self, rows, offsets, buckets: int, embed_size: int, sparse: bool = False,
                 full_row_gradient: bool = False) -> None:
        super().__init__()
        self.full_row_gradient = full_row_gradient
        rows, offsets = torch.as_tensor(rows, dtype=torch.long), torch.as_tensor(offsets, dtype=torch.long)
        vocab_size = len(offsets) - 1
        if (rows.ndim != 1 or offsets.ndim != 1 or vocab_size < 1 or int(offsets[0]) != 0
                or int(offsets[-1]) != len(rows) or bool((offsets.diff() < 1).any())
                or bool((rows < 0).any()) or bool((rows >= vocab_size + buckets).any())):
            raise ValueError("rows and offsets must be a subword table of the vocabulary "
                             "(d2lmini.subwords.subword_table(words, buckets)), made with the same buckets")
        self.buckets = buckets
        self.register_buffer("rows", rows)
        self.register_buffer("offsets", offsets)
        self.input = nn.EmbeddingBag(vocab_size + buckets, embed_size, mode="sum", sparse=sparse)
        self.output = nn.Embedding(vocab_size, embed_size, sparse=sparse)
        nn.init.uniform_(self.input.weight, -1.0 / embed_size, 1.0 / embed_size)
        nn.init.zeros_(self.output.weight)

    def embed(self, rows: torch.Tensor, offsets: torch.Tensor, words: torch.Tensor | None = None) -> torch.Tensor:
        """The vectors of words given as a subword table (any words, also unseen ones), shape ``(n, d)``:
        each the mean of its rows; ``words`` picks ``n`` of the table's words (default: all)."""
        if words is None:
            starts, lengths = offsets[:-1], offsets.diff()
            summed = self.input(rows, starts)
        else:
            starts, lengths = offsets[words], offsets[words + 1] - offsets[words]
            bag_starts = torch.cumsum(lengths, 0) - lengths
            total = int(lengths.sum())  # one synchronisation per batch
            flat = torch.repeat_interleave(starts - bag_starts, lengths, output_size=total)
            flat += torch.arange(total, device=flat.device)
            summed = self.input(rows[flat], bag_starts)
        count = lengths.to(summed.dtype).unsqueeze(1)
        return mean_with_full_gradient(summed, count) if self.full_row_gradient else summed / count

    def forward(self, centers: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        v = self.embed(self.rows, self.offsets, centers)  # (C, d)
        return (self.output(words) * v.unsqueeze(1)).sum(-1)  # (C, T)

    @property
    def vocab_size(self) -> int:
        return self.output.num_embeddings

    def word_vectors(self) -> torch.Tensor:
        """The vocabulary's word vectors (each the mean of its rows), shape ``(vocab_size, d)``."""
        with torch.no_grad():
            return self.embed(self.rows, self.offsets)


def sigmoid_bce_loss(pred: torch.Tensor, label: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy on logits, averaged over the unmasked entries of each row.

    ``pred``, ``label`` and ``mask`` have shape ``(batch, n)``; padded
    entries (mask 0) count neither in the sum nor in the number averaged over.
    Returns one loss per row, shape ``(batch,)``.
    """
    losses = F.binary_cross_entropy_with_logits(pred, label.to(pred.dtype), reduction="none")
    if mask is None:
        return losses.mean(dim=1)
    mask = mask.to(pred.dtype)
    return (losses * mask).sum(dim=1) / mask.sum(dim=1)


_ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


class NGramLM(nn.Module):
    """A neural n-gram language model (Bengio et al., 2003; the CSC321 assignment).

    ``forward(inputs)`` takes ``(batch, context_len)`` word ids and returns the
    logits of the next word, ``(batch, vocab_size)``: the context words are
    embedded with one shared table, concatenated, passed through a hidden
    layer (``activation``: ``"sigmoid"`` as in the assignment, ``"tanh"`` or
    ``"relu"``) and optional dropout, then projected to the vocabulary.

    Parameter layouts match :mod:`d2lmini.numpy_lm`: ``embed_to_hid.weight``
    is ``(hidden, context_len * embed)`` and ``hid_to_output.weight`` is
    ``(vocab, hidden)``.
    """

    @rules(vocab_size=Integer(1), embed_size=Integer(1), hidden_size=Integer(1), context_len=Integer(1),
           activation=Choice(_ACTIVATIONS), dropout=Real(0.0, 1.0), init_std=Optional(Positive()))
    def __init__(self, vocab_size: int, embed_size: int = 16, hidden_size: int = 128, context_len: int = 3,
                 activation: str = "sigmoid", dropout: float = 0.0, init_std: float | None = 0.01) -> None:
        super().__init__()
        if dropout == 1.0:
            raise ValueError("dropout must be a number in [0, 1), got 1 (every hidden unit would be dropped)")
        self.context_len = context_len
        self.word_embedding = nn.Embedding(vocab_size, embed_size)
        self.embed_to_hid = nn.Linear(context_len * embed_size, hidden_size)
        self.activation = _ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout)
        self.hid_to_output = nn.Linear(hidden_size, vocab_size)
        if init_std is not None:  # the assignment's init; None keeps PyTorch's defaults
            for weight in (self.word_embedding.weight, self.embed_to_hid.weight, self.hid_to_output.weight):
                nn.init.normal_(weight, std=init_std)
            nn.init.zeros_(self.embed_to_hid.bias)
            nn.init.zeros_(self.hid_to_output.bias)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        embedded = self.word_embedding(inputs).flatten(1)  # (batch, context_len * embed)
        hidden = self.dropout(self.activation(self.embed_to_hid(embedded)))
        return self.hid_to_output(hidden)

    @property
    def vocab_size(self) -> int:
        return self.hid_to_output.out_features

    def word_vectors(self) -> torch.Tensor:
        """The embedding table, shape ``(vocab_size, embed_size)``."""
        return self.word_embedding.weight.detach()
