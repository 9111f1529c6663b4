"""No trainer or data loader of d2lmini touches a global random generator.

A reader who seeds torch, NumPy or Python's `random` and then calls the library must
find their generators where they left them: every function here draws from generators
of its own (seeded by its `seed` argument) or from a copy of torch's (rng_scope).
"""

import random
from pathlib import Path

import numpy as np
import pytest
import torch

import d2lmini
from d2lmini import numpy_glove
from d2lmini.corpus import encode_files
from d2lmini.skipgram_data import SkipGramBatch
from d2lmini.stream_skipgram import train_skipgram_stream

WORDS = ["where", "here", "there", "hero", "cat", "cats", "dog", "dogs", "the", "a", "on", "mat"]


def tiny_corpus():
    rng = np.random.default_rng(0)
    text = [[WORDS[i] for i in rng.integers(0, len(WORDS), size=rng.integers(3, 12))] for _ in range(200)]
    vocab = d2lmini.Vocab(text)
    return vocab.encode(text), vocab


def tiny_fourgrams(vocab_size=12, n=300):
    rng = np.random.default_rng(0)
    vocab = d2lmini.Vocab([[f"w{i}" for i in range(vocab_size)]], unk_token=None)
    inputs, targets = rng.integers(0, vocab_size, (n, 3)), rng.integers(0, vocab_size, n)
    return d2lmini.FourGrams(vocab, inputs, targets, inputs[:50], targets[:50], inputs[:50], targets[:50])


def glove_batches():
    centers, contexts = torch.tensor([0, 1, 2, 3, 4, 5]), torch.tensor([1, 2, 3, 4, 5, 0])
    return d2lmini.batch_loader(centers, contexts, torch.full((6,), 3.0), batch_size=2, seed=0)


def skipgram_batches():
    centers = torch.tensor([[0], [1], [2], [3]])
    contexts_negatives = torch.tensor([[1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 0]])
    labels = torch.tensor([[1.0, 0, 0]] * 4)
    return [SkipGramBatch(centers, contexts_negatives, labels, torch.full((4,), 0.5), 2)]


def stream_tokens(folder: Path):
    rng = np.random.default_rng(0)
    lines = [" ".join(rng.choice(WORDS, size=8)) for _ in range(100)]
    folder.mkdir()
    (folder / "a.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return encode_files(folder, min_count=1)


def family(trainer, **kwargs):
    def prepare(tmp_path):
        corpus, vocab = tiny_corpus()
        return lambda: trainer(corpus, vocab, embed_size=4, num_epochs=1, device="cpu", **kwargs)
    return prepare


def prepared_model(trainer, build, data, **kwargs):
    """A trainer of a model the caller builds: the model is built before the states are read."""
    def prepare(tmp_path):
        model, batches = build(), data()
        return lambda: trainer(model, batches, num_epochs=1, device="cpu", **kwargs)
    return prepare


def stream(tmp_path):
    tokens = stream_tokens(tmp_path / "corpus")
    return lambda: train_skipgram_stream(tokens, embed_size=4, num_epochs=1, device="cpu")


def numpy_glove_training(tmp_path):
    W, b = numpy_glove.init_glove(5, 3)
    return lambda: numpy_glove.train_glove_full_batch(W, b, np.log1p(np.arange(25.0).reshape(5, 5)), num_epochs=3)


# Each entry prepares its inputs (which may draw from the global generators, as building
# a torch model does) and returns the call under test.
CALLS = {
    "train_glove": prepared_model(d2lmini.train_glove, lambda: d2lmini.GloVe(6, 4), glove_batches),
    "train_skipgram": prepared_model(d2lmini.train_skipgram, lambda: d2lmini.SkipGram(6, 4), skipgram_batches),
    "train_lm with dropout": prepared_model(d2lmini.train_lm, lambda: d2lmini.NGramLM(12, 4, 8, dropout=0.5),
                                            tiny_fourgrams, validate_every=2),
    "train_skipgram_fast": family(d2lmini.train_skipgram_fast),
    "train_cbow": family(d2lmini.train_cbow),
    "train_hierarchical_softmax": family(d2lmini.train_hierarchical_softmax),
    "train_full_softmax": family(d2lmini.train_full_softmax),
    "train_fasttext": family(d2lmini.train_fasttext, buckets=100),
    "train_skipgram_stream": stream,
    "numpy train_glove_full_batch": numpy_glove_training,
    "batch_loader": lambda tmp_path: lambda: list(glove_batches()),
    "load_data_ptb": lambda tmp_path: lambda: next(iter(d2lmini.load_data_ptb(512, 5, 5)[0])),
    "load_data_ptb_glove": lambda tmp_path: lambda: next(iter(d2lmini.load_data_ptb_glove(512, 10)[0])),
    "load_fourgrams": lambda tmp_path: d2lmini.load_fourgrams,
}


def global_states():
    return torch.random.get_rng_state(), np.random.get_state(), random.getstate()


@pytest.mark.parametrize("name", CALLS)
def test_the_call_leaves_every_global_generator_as_it_was(name, tmp_path):
    torch.manual_seed(1234)
    np.random.seed(1234)
    random.seed(1234)
    call = CALLS[name](tmp_path)
    before = global_states()
    call()
    after = global_states()
    assert torch.equal(after[0], before[0]), f"{name} changed torch's global generator"
    (kind, keys, *rest), (kind_after, keys_after, *rest_after) = before[1], after[1]
    assert (kind, rest) == (kind_after, rest_after) and np.array_equal(keys, keys_after), (
        f"{name} changed NumPy's global generator")
    assert after[2] == before[2], f"{name} changed Python's random module"


def test_a_seeded_family_trainer_still_starts_from_its_seed():
    corpus, vocab = tiny_corpus()
    runs = []
    for caller_seed in (1, 2):  # the caller's generator differs, the trainer's seed does not
        torch.manual_seed(caller_seed)
        model, _ = d2lmini.train_cbow(corpus, vocab, embed_size=4, num_epochs=1, seed=7, device="cpu")
        runs.append(model.word_vectors())
    assert torch.equal(*runs)
