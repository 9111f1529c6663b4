"""d2lmini: the helper package of the book *Word Embeddings from Scratch*.

One module per stage of the road every chapter walks:

    download -> corpus -> vocabulary -> samples -> batches -> model -> training -> embeddings -> evaluation
    datasets    corpus    vocab        skipgram_data / cooccurrence  models  training  embeddings   evaluation
                                       batching                               sparse_sgd
                                                                              fast_skipgram, family

``seed_style`` keeps the seed-faithful references the fast versions are
measured against; ``zoo`` caches trained models shared between chapters.
"""

from . import evaluation, gradcheck, numpy_glove, numpy_lm, seed_style, zoo
from .batching import batch_loader, load_data_ptb_glove
from .cooccurrence import cooccurrence, log_cooccurrence_fourgrams, ppmi
from .corpus import flatten_corpus
from .datasets import (
    DATA_HUB,
    DataError,
    DownloadError,
    FourGrams,
    HashMismatchError,
    RemoteFile,
    extract,
    fetch,
    load_fourgrams,
    read_ptb,
    read_sentences,
)
from .embeddings import Embeddings
from .family import fasttext_embeddings, train_cbow, train_fasttext, train_full_softmax, train_hierarchical_softmax
from .fast_skipgram import train_skipgram_fast
from .huffman import huffman_tree
from .kneser_ney import KneserNeyLM
from .lm_queries import find_occurrences, predict_next_word, seen_in_training
from .models import CBOW, FastText, GloVe, HierarchicalSoftmax, NGramLM, SkipGram, glove_weight, sigmoid_bce_loss
from .seed_style import cooccurrence_reference
from .skipgram_data import SkipGramData, load_data_ptb
from .training import DivergedError, History, default_device, evaluate_lm, train_glove, train_lm, train_skipgram
from .vocab import Vocab

__version__ = "0.1.0"

# The package's layers, lowest first: a module imports only from its own layer or lower ones, never in a
# cycle, and no private name (_name) of another module; the private helpers serve every layer.
# tests/test_layers.py checks the imports against this list; the appendix page "How d2lmini is built"
# draws it.
LAYERS = (
    ("private helpers", ("_checks", "_files")),
    ("reading the data", ("vocab", "datasets", "corpus")),
    ("training examples", ("cooccurrence", "batching", "skipgram_data", "huffman", "subwords")),
    ("models", ("models", "numpy_glove", "numpy_lm", "gradcheck", "kneser_ney")),
    ("scoring and keeping vectors", ("evaluation", "embeddings")),
    ("training", ("training", "sparse_sgd", "fast_skipgram", "stream_skipgram", "family")),
    ("for chapters and users", ("seed_style", "zoo", "peers", "lm_queries", "plotting", "machine", "cli")),
)

__all__ = [
    "LAYERS",
    "CBOW",
    "DATA_HUB",
    "DataError",
    "DivergedError",
    "DownloadError",
    "Embeddings",
    "FastText",
    "FourGrams",
    "GloVe",
    "HashMismatchError",
    "HierarchicalSoftmax",
    "History",
    "KneserNeyLM",
    "NGramLM",
    "RemoteFile",
    "SkipGram",
    "SkipGramData",
    "Vocab",
    "batch_loader",
    "cooccurrence",
    "cooccurrence_reference",
    "default_device",
    "evaluate_lm",
    "evaluation",
    "extract",
    "fasttext_embeddings",
    "fetch",
    "find_occurrences",
    "flatten_corpus",
    "glove_weight",
    "gradcheck",
    "huffman_tree",
    "load_data_ptb",
    "load_data_ptb_glove",
    "load_fourgrams",
    "log_cooccurrence_fourgrams",
    "numpy_glove",
    "numpy_lm",
    "ppmi",
    "predict_next_word",
    "read_ptb",
    "read_sentences",
    "seed_style",
    "seen_in_training",
    "sigmoid_bce_loss",
    "train_cbow",
    "train_fasttext",
    "train_full_softmax",
    "train_glove",
    "train_hierarchical_softmax",
    "train_lm",
    "train_skipgram",
    "train_skipgram_fast",
    "zoo",
]
