"""Training the rest of the word2vec family on a corpus: CBOW, hierarchical softmax, fastText, the full softmax.

Every trainer here draws its examples afresh each epoch as
:func:`~d2lmini.fast_skipgram.train_skipgram_fast` does (word2vec's
subsampling, a random window per center), cuts them into batches, and
optimises by plain SGD with word2vec's learning rate, falling linearly to
almost 0 over training. The models are :mod:`d2lmini.models`'s, built with
sparse gradients: autograd returns the rows a batch touched, and only those
rows move (:func:`~d2lmini.sparse_sgd.sparse_sgd_update`). The loss of a batch is summed over its
examples, not averaged, so that the rate means what it means in word2vec: the
step of one example.

The word vectors come out of each model's ``word_vectors()``; the histories'
``seconds`` include drawing the examples, so that trainers compare by wall time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ._checks import Calls, Instance, Integer, Optional, Positive, Real, rules
from .embeddings import Embeddings
from .huffman import HuffmanTree, huffman_tree
from .models import CBOW, FastText, HierarchicalSoftmax, SkipGram, rng_scope
from .sparse_sgd import LinearRate, Word2VecDraws, sparse_sgd_update
from .subwords import subword_table
from .training import History, StepResult, as_device, fit
from .vocab import Vocab

__all__ = ["train_cbow", "train_hierarchical_softmax", "train_fasttext", "train_full_softmax",
           "fasttext_embeddings", "skipgram_pair_counts"]


# The rules every trainer here declares (each adds its own)
_COMMON_RULES = dict(
    vocab=Instance(Vocab, "a d2lmini.Vocab"), embed_size=Integer(1), max_window_size=Integer(1), num_epochs=Integer(1),
    lr=Positive(), min_lr_fraction=Real(0.0, 1.0), t=Positive(), batch_size=Integer(1), seed=Integer(0),
    max_batches=Optional(Integer(1)), callback=Calls("callback(progress, metrics)"),
    on_epoch_end=Calls("on_epoch_end(epoch, model, history)"),
)


def _long(array: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.int64)).to(device)


def _train(model: torch.nn.Module, draw_epoch: Callable[[], list], batch_loss: Callable[..., torch.Tensor],
           num_epochs: int, lr: float, min_lr_fraction: float, device: torch.device, max_batches: int | None,
           callback, on_epoch_end) -> History:
    """The loop the trainers share: draw an epoch's batches, sum a batch's loss, sparse SGD, linear decay.

    ``draw_epoch()`` returns the epoch's batches, each a tuple of tensors
    followed by its number of examples; ``batch_loss(*tensors)`` returns the
    loss summed over those examples. The rate falls with the examples done over
    ``num_epochs`` times the first epoch's; ``max_batches`` stops training
    early (to time a costly model).
    """
    rate = LinearRate(lr, min_lr_fraction, num_epochs)

    def batches(epoch: int) -> list:
        drawn = draw_epoch()
        rate.plan(sum(batch[-1] for batch in drawn))
        return drawn

    def step(batch) -> StepResult:
        *tensors, examples = batch
        loss = batch_loss(*tensors)
        loss.backward()
        sparse_sgd_update(model, rate.rate())
        rate.advance(examples)
        return StepResult(loss.detach(), examples, examples)

    after_step = None if max_batches is None else (lambda steps, progress: steps >= max_batches)
    epoch_end = None if on_epoch_end is None else (lambda epoch, history: on_epoch_end(epoch, model, history))
    return fit(step, batches, num_epochs, device, lr, callback, after_step=after_step, on_epoch_end=epoch_end)


def _pairs_per_batch(contexts: np.ndarray, batch_size: int) -> np.ndarray:
    """How many (center, context) pairs each batch of ``batch_size`` windows holds."""
    return np.add.reduceat((contexts >= 0).sum(1), np.arange(0, len(contexts), batch_size))


def _cut(n: int, batch_size: int) -> list[slice]:
    return [slice(i, min(i + batch_size, n)) for i in range(0, n, batch_size)]


@rules(**_COMMON_RULES, num_noise_words=Integer(1))
def train_cbow(
    corpus: Sequence[Sequence[int]], vocab: Vocab, embed_size: int = 100, max_window_size: int = 5,
    num_noise_words: int = 5, num_epochs: int = 5, lr: float = 0.05, min_lr_fraction: float = 1e-4,
    t: float = 1e-4, batch_size: int = 256, seed: int = 0, device: torch.device | str | None = None,
    max_batches: int | None = None, callback=None, on_epoch_end=None,
) -> tuple[CBOW, History]:
    """Train CBOW with negative sampling (word2vec's ``-cbow 1``): the mean of a window predicts its center.

    One example per center that has a context: its window (subsampled and
    drawn as for skip-gram), the center, and ``num_noise_words`` noise words
    drawn by ``count ** 0.75``. The loss of an example is
    ``-log s(h . u_c) - sum_k log s(-h . u_k)`` with ``h`` the mean of the
    window's vectors; as in word2vec, each window row then moves by the
    mean's whole gradient. ``history`` counts examples (centers), and its loss
    is the mean per center. Defaults are word2vec's for CBOW (``lr=0.05``).

    Returns:
        ``(model, history)``; ``model.word_vectors()`` are the context (input) vectors.
    """
    k = num_noise_words
    device, data = as_device(device), Word2VecDraws(corpus, vocab, t, seed=seed)
    with rng_scope(seed):  # the layers' starting values, without reseeding the caller's generator
        model = CBOW(len(vocab), embed_size, sparse=True, full_row_gradient=True).to(device)

    def draw_epoch() -> list:
        centers, contexts = data.windows(max_window_size)
        targets = np.concatenate([centers[:, None], data.negatives((len(centers), k))], axis=1)
        mask = contexts >= 0
        contexts, mask, targets = (_long(np.where(mask, contexts, 0), device), torch.from_numpy(mask).to(device),
                                   _long(targets, device))
        return [(contexts[s], mask[s], targets[s], len(targets[s])) for s in _cut(len(centers), batch_size)]

    labels = torch.zeros(1 + k, device=device)
    labels[0] = 1.0

    def loss(contexts, mask, targets):
        scores = model(contexts, mask, targets)
        return F.binary_cross_entropy_with_logits(scores, labels.expand_as(scores), reduction="sum")

    history = _train(model, draw_epoch, loss, num_epochs, lr, min_lr_fraction, device, max_batches,
                     callback, on_epoch_end)
    return model, history


def _pair_batches(data: Word2VecDraws, max_window_size: int, batch_size: int, device: torch.device) -> list:
    center_ids, context_ids = data.pairs(max_window_size, "pairs")
    centers, contexts = _long(center_ids, device), _long(context_ids, device)
    return [(centers[s], contexts[s], len(centers[s])) for s in _cut(len(centers), batch_size)]


@rules(**_COMMON_RULES)
def train_hierarchical_softmax(
    corpus: Sequence[Sequence[int]], vocab: Vocab, embed_size: int = 100, max_window_size: int = 5,
    num_epochs: int = 5, lr: float = 0.05, min_lr_fraction: float = 1e-4, t: float = 1e-4,
    batch_size: int = 256, seed: int = 0, device: torch.device | str | None = None,
    max_batches: int | None = None, callback=None, on_epoch_end=None, tree: HuffmanTree | None = None,
) -> tuple[HierarchicalSoftmax, History]:
    """Train skip-gram with hierarchical softmax (word2vec's ``-hs 1 -negative 0``) on a Huffman tree of the counts.

    Each (center, context) pair costs one sigmoid per inner node on a path of
    the Huffman tree (:class:`~d2lmini.models.HierarchicalSoftmax`). As in
    word2vec's code, a window's context words predict its center,
    ``-log P(center | context)``, so that the window shares one path (the pairs
    of a window are the same either way round); ``batch_size`` counts
    windows. ``history``'s loss is the mean per pair, a true cross-entropy in nats.
    ``tree``: another binary tree over the vocabulary (default: the Huffman tree
    of ``vocab.counts``, as word2vec).

    Returns:
        ``(model, history)``; ``model.word_vectors()`` are the word (center) vectors.
    """
    device, data = as_device(device), Word2VecDraws(corpus, vocab, t, seed=seed)
    if tree is None:
        tree = huffman_tree(vocab.counts)
    elif not isinstance(tree, HuffmanTree) or tree.vocab_size != len(vocab):
        raise ValueError(f"tree must be a HuffmanTree over the vocabulary's {len(vocab)} words, e.g. "
                         "d2lmini.huffman_tree(counts) with one count per word")
    with rng_scope(seed):
        model = HierarchicalSoftmax(tree, embed_size, sparse=True).to(device)

    def draw_epoch() -> list:
        centers, contexts = data.windows(max_window_size)
        pairs = _pairs_per_batch(contexts, batch_size)
        mask = torch.from_numpy(contexts >= 0).to(device)
        centers, contexts = _long(centers, device), _long(np.maximum(contexts, 0), device)
        return [(centers[s], contexts[s], mask[s], int(n)) for s, n in zip(_cut(len(centers), batch_size), pairs)]

    def loss(centers, contexts, mask):
        return -(model.log_probs(contexts, centers) * mask).sum()

    history = _train(model, draw_epoch, loss, num_epochs, lr, min_lr_fraction, device, max_batches,
                     callback, on_epoch_end)
    return model, history


@rules(**_COMMON_RULES)
def train_full_softmax(
    corpus: Sequence[Sequence[int]], vocab: Vocab, embed_size: int = 100, max_window_size: int = 5,
    num_epochs: int = 1, lr: float = 0.05, min_lr_fraction: float = 1e-4, t: float = 1e-4,
    batch_size: int = 1024, seed: int = 0, device: torch.device | str | None = None,
    max_batches: int | None = None, callback=None, on_epoch_end=None,
) -> tuple[SkipGram, History]:
    """Train skip-gram with its full softmax, ``P(o | c) = exp(v_c . u_o) / sum_w exp(v_c . u_w)``.

    Every pair scores all ``V`` words, and every step moves every context vector
    (a dense gradient): the cost negative sampling and hierarchical softmax avoid.
    ``max_batches`` stops early, to time a few steps. ``history``'s loss is the
    mean cross-entropy per pair, in nats. Starts as word2vec (small uniform
    centers, zero contexts).
    """
    device, data = as_device(device), Word2VecDraws(corpus, vocab, t, seed=seed)
    model = SkipGram.word2vec_start(len(vocab), embed_size, torch.Generator().manual_seed(seed)).to(device)

    def loss(centers, contexts):
        return F.cross_entropy(model.full_softmax_logits(centers), contexts, reduction="sum")

    history = _train(model, lambda: _pair_batches(data, max_window_size, batch_size, device), loss,
                     num_epochs, lr, min_lr_fraction, device, max_batches, callback, on_epoch_end)
    return model, history


@rules(**_COMMON_RULES, num_noise_words=Integer(1))  # the n-gram range and buckets: subword_table's rules
def train_fasttext(
    corpus: Sequence[Sequence[int]], vocab: Vocab, embed_size: int = 100, max_window_size: int = 5,
    num_noise_words: int = 5, num_epochs: int = 5, lr: float = 0.05, min_lr_fraction: float = 1e-4,
    t: float = 1e-4, buckets: int = 200_000, min_n: int = 3, max_n: int = 6, batch_size: int = 256,
    seed: int = 0, device: torch.device | str | None = None, max_batches: int | None = None,
    callback=None, on_epoch_end=None,
) -> tuple[FastText, History]:
    """Train fastText's skip-gram with negative sampling: centers built from their character n-grams.

    A center's vector is the mean of its own row and the rows of its n-grams
    (``min_n`` to ``max_n`` characters of ``<word>``, hashed into ``buckets``
    rows; :func:`~d2lmini.subwords.subword_table`), built once per batch for all
    the center's pairs (fastText looks its n-grams up once per center, but
    recomputes the vector before each pair). ``batch_size`` counts centers. A
    center's pairs share its ``num_noise_words`` noise words, each counted once
    per pair, so the loss stays an unbiased estimate of SGNS's, as with the fast
    skip-gram's groups; they are drawn by ``count ** 0.75`` like the other
    trainers' (fastText draws them per pair, by ``count ** 0.5``). fastText's
    default is 2 million buckets; PTB's 10,000 words have far fewer distinct
    n-grams, so the default here is 200,000 (a 10x smaller table). ``history``
    counts pairs and its loss is the SGNS loss per pair.

    Returns:
        ``(model, history)``; :func:`fasttext_embeddings` gives vectors to any
        words, also to words never seen.
    """
    k = num_noise_words
    device, data = as_device(device), Word2VecDraws(corpus, vocab, t, seed=seed)
    rows, offsets = subword_table(vocab.idx_to_token, buckets, min_n, max_n)
    with rng_scope(seed):
        model = FastText(rows, offsets, buckets, embed_size, sparse=True, full_row_gradient=True).to(device)

    def draw_epoch() -> list:
        centers, contexts = data.windows(max_window_size)
        words = np.concatenate([contexts, data.negatives((len(centers), k))], axis=1)
        weights = np.concatenate([contexts >= 0, np.repeat((contexts >= 0).sum(1, keepdims=True), k, axis=1)],
                                 axis=1)  # a context counts once; a noise word once per context of its center
        centers, words = _long(centers, device), _long(np.maximum(words, 0), device)
        weights = torch.from_numpy(weights.astype(np.float32)).to(device)
        pairs = _pairs_per_batch(contexts, batch_size)
        return [(centers[s], words[s], weights[s], int(n)) for s, n in zip(_cut(len(centers), batch_size), pairs)]

    labels = torch.zeros(2 * max_window_size + k, device=device)
    labels[:2 * max_window_size] = 1.0

    def loss(centers, words, weights):
        scores = model(centers, words)
        terms = F.binary_cross_entropy_with_logits(scores, labels.expand_as(scores), reduction="none")
        return (terms * weights).sum()

    history = _train(model, draw_epoch, loss, num_epochs, lr, min_lr_fraction, device, max_batches,
                     callback, on_epoch_end)
    return model, history


def fasttext_embeddings(model: FastText, vocab: Vocab, words: Sequence[str] = (), min_n: int = 3,
                        max_n: int = 6) -> Embeddings:
    """The vocabulary's vectors and those of ``words``, each the mean of its rows, as :class:`Embeddings`.

    A word of the vocabulary keeps its own row and its n-grams; a word outside
    it (a misspelling, an inflection, a word the corpus replaced by ``<unk>``)
    is the mean of its n-grams' rows alone, as fastText's ``getWordVector``;
    a word without a single n-gram in ``min_n..max_n`` is refused. ``<unk>`` is
    left out. ``min_n`` and ``max_n`` must be those of training.
    """
    if not isinstance(model, FastText):
        raise TypeError(f"model must be a d2lmini FastText model, got {type(model).__name__}")
    if not isinstance(vocab, Vocab) or len(vocab) != model.vocab_size:
        raise ValueError(f"vocab must be the d2lmini.Vocab the model was trained with ({model.vocab_size} words)")
    own_rows, _ = subword_table(vocab.idx_to_token[:1], model.buckets, min_n, max_n, num_words=len(vocab))
    if own_rows.tolist() != model.rows[:int(model.offsets[1])].tolist():
        raise ValueError(f"min_n={min_n}, max_n={max_n} are not the n-gram range the model was trained with")
    if isinstance(words, str):
        raise TypeError(f"words must be a list of strings, got the string {words!r}; pass [{words!r}] for one word")
    words = list(words)
    if not all(isinstance(w, str) for w in words):
        raise TypeError(f"words must be a list of strings, got {words[:5]!r}...")
    known = [w for w in vocab.idx_to_token if w != vocab.unk_token]
    extra = sorted({w for w in words if w not in vocab and w != vocab.unk_token} - {""})
    listed = known + extra
    word_rows = [vocab.lookup(w) for w in known] + [-1] * len(extra)
    rows, offsets = subword_table(listed, model.buckets, min_n, max_n, word_rows=word_rows, num_words=len(vocab))
    if (np.diff(offsets) == 0).any():
        empty = [w for w, n in zip(listed, np.diff(offsets)) if n == 0]
        raise ValueError(f"words {empty[:5]} have no character n-gram between min_n={min_n} and max_n={max_n}")
    device = model.rows.device
    with torch.no_grad():
        vectors = model.embed(torch.from_numpy(rows).to(device),
                              torch.from_numpy(offsets).to(device))
    return Embeddings(listed, vectors.cpu().numpy())


@rules(vocab=Instance(Vocab, "a d2lmini.Vocab"), num_epochs=Integer(1), max_window_size=Integer(1), t=Positive(),
       seed=Integer(0))
def skipgram_pair_counts(corpus: Sequence[Sequence[int]], vocab: Vocab, num_epochs: int = 5,
                         max_window_size: int = 5, t: float = 1e-4, seed: int = 0) -> sp.csr_matrix:
    """How often each (center, context) pair occurs in ``num_epochs`` epochs of skip-gram's draws.

    The pairs are drawn exactly as the trainers here and
    :func:`~d2lmini.fast_skipgram.train_skipgram_fast` draw them
    (:class:`~d2lmini.sparse_sgd.Word2VecDraws`: word2vec's subsampling, a
    random window per center), so these are the counts whose
    shifted PMI (:func:`~d2lmini.cooccurrence.shifted_pmi`) SGNS's optimum is.

    Returns:
        ``(V, V)`` CSR matrix of counts, row = center, column = context.
    """
    data = Word2VecDraws(corpus, vocab, t, seed=seed)
    n = len(vocab)
    counts = sp.csr_matrix((n, n), dtype=np.float64)
    for _ in range(num_epochs):  # one sparse sum per epoch
        centers, contexts = data.pairs(max_window_size, "none")
        counts = counts + sp.csr_matrix((np.ones(len(centers)), (centers, contexts)), shape=(n, n))
    return counts
