"""d2lmini: the helper package of the book *Word Embeddings from Scratch*.

One module per stage of the road every chapter walks:
download -> corpus -> vocabulary -> samples -> batches -> model -> training
-> embeddings -> evaluation.
"""

from .cooccurrence import cooccurrence, cooccurrence_reference, log_cooccurrence_fourgrams, ppmi
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
from . import evaluation, gradcheck, numpy_glove, numpy_lm
from .embeddings import Embeddings
from . import zoo
from .lm_queries import find_occurrences, predict_next_word
from .models import GloVe, NGramLM, SkipGram, glove_weight, sigmoid_bce_loss
from .sampling import batch_loader, load_data_ptb, load_data_ptb_glove
from .training import History, default_device, evaluate_lm, train_glove, train_lm, train_skipgram
from .vocab import Vocab

__version__ = "0.1.0"

__all__ = [
    "DATA_HUB",
    "DataError",
    "DownloadError",
    "Embeddings",
    "FourGrams",
    "GloVe",
    "HashMismatchError",
    "History",
    "NGramLM",
    "RemoteFile",
    "SkipGram",
    "Vocab",
    "batch_loader",
    "cooccurrence",
    "cooccurrence_reference",
    "default_device",
    "evaluate_lm",
    "evaluation",
    "extract",
    "fetch",
    "find_occurrences",
    "glove_weight",
    "gradcheck",
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
    "sigmoid_bce_loss",
    "train_glove",
    "train_lm",
    "train_skipgram",
    "zoo",
]
