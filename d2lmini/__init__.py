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
from .vocab import Vocab

__version__ = "0.1.0"
