"""Models shared between chapters, cached on disk under a key derived from their configuration.

A chapter that teaches a model trains it with ``retrain=True`` (so the reader
always sees it train) and leaves the result in the cache; a later chapter
asks for the same configuration and gets the cached result, or trains it when
there is none (a fresh Colab session). The key hashes the model kind, every
field of the configuration, and :data:`CACHE_VERSION`.

Cached results live in ``<cache dir>/models/<kind>-<key>/``: ``info.json``
(configuration and training summary) plus ``vectors.txt`` (word2vec text
format) or ``model.pt`` (a state dict). A result is written to a temporary
folder and renamed into place, so an interrupted run leaves no half-written
entry.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .datasets import cache_dir, load_fourgrams
from .embeddings import Embeddings
from .models import GloVe, NGramLM, SkipGram
from .sampling import load_data_ptb, load_data_ptb_glove
from .training import train_glove, train_lm, train_skipgram

__all__ = ["CACHE_VERSION", "Word2VecConfig", "GloVeConfig", "NGramLMConfig", "Trained",
           "word2vec_ptb", "glove_ptb", "neural_lm", "cached_path"]

CACHE_VERSION = 1  # bump when a change to the training code changes its results


@dataclass(frozen=True)
class Word2VecConfig:
    """Skip-gram on PTB; the defaults are d2l's configuration."""

    embed_size: int = 100
    batch_size: int = 512
    max_window_size: int = 5
    num_noise_words: int = 5
    lr: float = 0.002
    num_epochs: int = 5
    resample: bool = False
    min_freq: int = 10
    seed: int = 0


@dataclass(frozen=True)
class GloVeConfig:
    """GloVe on PTB; the defaults are the GloVe chapter's."""

    embed_size: int = 100
    window_size: int = 10
    batch_size: int = 65536
    lr: float = 0.15
    num_epochs: int = 10
    x_max: float = 100.0
    alpha: float = 0.75
    min_freq: int = 5
    seed: int = 0


@dataclass(frozen=True)
class NGramLMConfig:
    """The neural 4-gram model on the 250-word corpus; the defaults are the assignment's, with patience."""

    embed_size: int = 16
    hidden_size: int = 128
    activation: str = "sigmoid"
    dropout: float = 0.0
    init_std: float | None = 0.01
    num_epochs: int = 12
    batch_size: int = 100
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    schedule: str = "constant"
    validate_every: int = 1000
    early_stopping: str = "patience"
    patience: int = 5
    seed: int = 0


@dataclass
class Trained:
    """What a zoo function returns: the word vectors, a training summary, and the model when kept."""

    embeddings: Embeddings
    info: dict
    model: torch.nn.Module | None = None
    from_cache: bool = False
    history: object = field(default=None, repr=False)  # the History, when trained in this call


def cached_path(kind: str, config) -> Path:
    """Folder of the cached result for a kind of model and its configuration."""
    payload = json.dumps({"kind": kind, "config": dataclasses.asdict(config), "version": CACHE_VERSION},
                         sort_keys=True)
    return cache_dir() / "models" / f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def _store(folder: Path, write) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        write(tmp)
        if folder.exists():  # retrained: replace the old entry
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _summary(config, history) -> dict:
    return {"config": dataclasses.asdict(config), "epochs": history.epochs, "seconds": history.seconds,
            "examples_per_second": history.examples_per_second}


def _vectors_entry(kind: str, config, retrain: bool, train) -> Trained:
    folder = cached_path(kind, config)
    if not retrain and (folder / "info.json").is_file():
        info = json.loads((folder / "info.json").read_text())
        return Trained(Embeddings.load_word2vec_format(folder / "vectors.txt"), info, from_cache=True)
    model, vocab, history = train()
    embeddings = Embeddings.from_model(model, vocab)
    info = _summary(config, history)

    def write(tmp: Path) -> None:
        embeddings.save_word2vec_format(tmp / "vectors.txt")
        (tmp / "info.json").write_text(json.dumps(info, indent=1))

    _store(folder, write)
    return Trained(embeddings, info, model=model, history=history)


def word2vec_ptb(config: Word2VecConfig = Word2VecConfig(), retrain: bool = False, device=None,
                 callback=None) -> Trained:
    """Skip-gram word vectors for PTB: ``load_data_ptb`` -> ``SkipGram`` -> ``train_skipgram``, cached."""

    def train():
        torch.manual_seed(config.seed)
        data_iter, vocab = load_data_ptb(config.batch_size, config.max_window_size, config.num_noise_words,
                                         min_freq=config.min_freq, seed=config.seed, resample=config.resample)
        model = SkipGram(len(vocab), config.embed_size)
        history = train_skipgram(model, data_iter, config.num_epochs, lr=config.lr, device=device,
                                 callback=callback)
        return model, vocab, history

    return _vectors_entry("word2vec", config, retrain, train)


def glove_ptb(config: GloVeConfig = GloVeConfig(), retrain: bool = False, device=None, callback=None) -> Trained:
    """GloVe word vectors (``v + u``) for PTB: ``load_data_ptb_glove`` -> ``GloVe`` -> ``train_glove``, cached."""

    def train():
        torch.manual_seed(config.seed)
        data_iter, vocab = load_data_ptb_glove(config.batch_size, config.window_size, min_freq=config.min_freq,
                                               seed=config.seed)
        model = GloVe(len(vocab), config.embed_size, x_max=config.x_max, alpha=config.alpha)
        history = train_glove(model, data_iter, config.num_epochs, lr=config.lr, device=device, callback=callback)
        return model, vocab, history

    return _vectors_entry("glove", config, retrain, train)


def neural_lm(config: NGramLMConfig = NGramLMConfig(), retrain: bool = False, device=None,
              callback=None) -> Trained:
    """The neural 4-gram model on the 250-word corpus (``load_fourgrams(seed)``), cached as a state dict."""
    data = load_fourgrams(seed=config.seed)
    folder = cached_path("neural_lm", config)

    def build() -> NGramLM:
        return NGramLM(len(data.vocab), config.embed_size, config.hidden_size, activation=config.activation,
                       dropout=config.dropout, init_std=config.init_std)

    if not retrain and (folder / "info.json").is_file():
        model = build()
        model.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
        model.eval()
        info = json.loads((folder / "info.json").read_text())
        return Trained(Embeddings(data.vocab.idx_to_token, model.word_vectors()), info, model=model, from_cache=True)
    torch.manual_seed(config.seed)
    model = build()
    history = train_lm(model, data, config.num_epochs, batch_size=config.batch_size, optimizer=config.optimizer,
                       lr=config.lr, momentum=config.momentum, schedule=config.schedule,
                       validate_every=config.validate_every, early_stopping=config.early_stopping,
                       patience=config.patience, seed=config.seed, device=device, callback=callback)
    model.eval()
    info = _summary(config, history)

    def write(tmp: Path) -> None:
        torch.save({k: v.cpu() for k, v in model.state_dict().items()}, tmp / "model.pt")
        (tmp / "info.json").write_text(json.dumps(info, indent=1))

    _store(folder, write)
    return Trained(Embeddings(data.vocab.idx_to_token, model.word_vectors()), info, model=model, history=history)
