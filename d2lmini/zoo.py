"""Models shared between chapters, cached on disk under a key derived from their configuration.

A chapter that teaches a model trains it with ``retrain=True`` (so the reader
always sees it train) and leaves the result in the cache; a later chapter
asks for the same configuration and gets the cached result, or trains it when
there is none (a fresh Colab session).

**The key** hashes the kind of model, the configuration with every field
normalised to its declared type (``x_max=100`` and ``x_max=100.0`` are the
same configuration), and a fingerprint of the source code that trains that
kind: change the code and the old entries are simply not found again.

**An entry** lives in ``<cache dir>/models/<kind>-<key>/`` (:func:`cached_path`):
a pointer file ``CURRENT`` names the folder of the complete entry, which holds
``model.pt`` (a state dict), ``vocab.json``, ``info.json`` (configuration and
training summary) and ``manifest.json`` (size and SHA-256 of each file). An
entry is written under a temporary name, then made current by replacing the
pointer atomically, so a reader sees the old whole entry or the new one, never
half of one; any number of processes may train and write the same key at once.
Every load verifies the manifest: a missing, truncated or altered entry is
reported (a warning naming the folder) and trained again, never loaded.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import importlib
import inspect
import json
import os
import sys
import textwrap
import types
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import _files, datasets, family
from ._checks import Boolean, Choice, Integer, Optional, Positive, Real, fields, rules
from .batching import load_data_ptb_glove
from .datasets import cache_dir, load_fourgrams
from .embeddings import Embeddings
from .fast_skipgram import train_skipgram_fast
from .huffman import huffman_tree
from .models import CBOW, FastText, GloVe, HierarchicalSoftmax, NGramLM, SkipGram, rng_scope
from .skipgram_data import load_data_ptb
from .subwords import subword_table
from .training import History, as_device, finish_curve, train_glove, train_lm, train_skipgram
from .vocab import Vocab

__all__ = ["Word2VecConfig", "FastWord2VecConfig", "FamilyConfig", "GloVeConfig", "NGramLMConfig", "Trained",
           "cached_path", "code_fingerprint", "cached_model", "word2vec_ptb", "word2vec_fast_ptb",
           "word2vec_family_ptb", "glove_ptb", "neural_lm"]


FAMILY_MODELS = ("cbow", "hierarchical_softmax", "fasttext")


@dataclass(frozen=True)
@fields(
    embed_size=Integer(1), batch_size=Integer(1), max_window_size=Integer(1), num_noise_words=Integer(1),
    lr=Positive(), num_epochs=Integer(1), resample=Boolean(), min_freq=Integer(0), seed=Integer(0),
)
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
@fields(
    embed_size=Integer(1), max_window_size=Integer(1), num_noise_words=Integer(1), num_epochs=Integer(1),
    lr=Positive(), t=Positive(), group_size=Integer(1), block_size=Integer("group_size"), min_freq=Integer(0),
    seed=Integer(0),
)
class FastWord2VecConfig:
    """Skip-gram on PTB trained by :func:`~d2lmini.fast_skipgram.train_skipgram_fast`.

    The defaults are the fast-word2vec chapter's, with gensim's data settings
    (``min_count=10``, window 5, 5 noise words, subsampling 1e-4). The zoo
    trains with one worker and without ``torch.compile``, so that the entry
    is reproducible.
    """

    embed_size: int = 100
    max_window_size: int = 5
    num_noise_words: int = 5
    num_epochs: int = 10
    lr: float = 0.05
    t: float = 1e-4
    group_size: int = 8
    block_size: int = 1024
    min_freq: int = 10
    seed: int = 0


@dataclass(frozen=True)
@fields(
    model=Choice(FAMILY_MODELS), embed_size=Integer(1), max_window_size=Integer(1), num_noise_words=Integer(1),
    num_epochs=Integer(1), lr=Positive(), t=Positive(), batch_size=Integer(1), buckets=Integer(1), min_n=Integer(1),
    max_n=Integer("min_n"), min_freq=Integer(0), seed=Integer(0),
)
class FamilyConfig:
    """A member of the word2vec family on PTB, trained by :mod:`d2lmini.family`.

    ``model`` is ``"cbow"``, ``"hierarchical_softmax"`` (skip-gram) or
    ``"fasttext"`` (skip-gram with subwords). The defaults are the family
    chapter's, with the fast skip-gram's data settings (``min_freq=10``,
    window 5, 5 noise words, subsampling 1e-4). ``num_noise_words`` is
    unused by hierarchical softmax; ``buckets``, ``min_n`` and ``max_n`` by
    all but fastText.
    """

    model: str = "cbow"
    embed_size: int = 100
    max_window_size: int = 5
    num_noise_words: int = 5
    num_epochs: int = 5
    lr: float = 0.05
    t: float = 1e-4
    batch_size: int = 256
    buckets: int = 200_000
    min_n: int = 3
    max_n: int = 6
    min_freq: int = 10
    seed: int = 0


@dataclass(frozen=True)
@fields(
    embed_size=Integer(1), window_size=Integer(1), batch_size=Integer(1), lr=Positive(), num_epochs=Integer(1),
    x_max=Positive(), alpha=Positive(), min_freq=Integer(0), seed=Integer(0),
)
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
@fields(
    embed_size=Integer(1), hidden_size=Integer(1), activation=Choice(("sigmoid", "tanh", "relu")),
    dropout=Real(0.0, 0.99), init_std=Optional(Positive()), num_epochs=Integer(1), batch_size=Integer(1),
    optimizer=Choice(("sgd", "adam", "adamw")), lr=Positive(), momentum=Real(0.0, 1.0),
    schedule=Choice(("constant", "cosine")), validate_every=Integer(1),
    early_stopping=Choice(("none", "strict", "patience")), patience=Integer(1), seed=Integer(0),
    data_seed=Integer(0),
)
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
    seed: int = 0  # the initialisation and the order of the batches
    data_seed: int = 0  # the split of the 4-grams into train, valid and test (load_fourgrams)


@dataclass
class Trained:
    """What a zoo function returns: the model, its vocabulary and word vectors, a training summary."""

    model: torch.nn.Module
    vocab: Vocab
    embeddings: Embeddings
    info: dict
    from_cache: bool = False
    history: History | None = field(default=None, repr=False)  # when trained in this call


_CONFIGS = {"word2vec": Word2VecConfig, "word2vec_fast": FastWord2VecConfig, "word2vec_family": FamilyConfig,
            "glove": GloVeConfig,
            "neural_lm": NGramLMConfig}


def _package_module(name: str) -> types.ModuleType | None:
    """The package's module (other than the zoo) that the zoo's global ``name`` is, or was imported from."""
    value = globals().get(name)
    module_name = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", "")
    if module_name == __name__ or not module_name.startswith(f"{__package__}."):
        return None  # the zoo's own code stores and loads; it does not decide what is learned
    return sys.modules.get(module_name)


def _imported_modules(module: types.ModuleType) -> set[types.ModuleType]:
    """The package's modules that ``module`` imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = [alias.name for alias in node.names] if node.module is None else [node.module]
            # import them: a module imported inside a function may not be loaded yet
            found.update(importlib.import_module(f"{__package__}.{name}") for name in names
                         if Path(__file__).with_name(f"{name}.py").is_file())
    return found


@rules(kind=Choice(tuple(_CONFIGS)))
def training_modules(kind: str) -> list[str]:
    """The package's modules whose code decides what ``kind`` learns, by name.

    The modules the zoo's train function for ``kind`` uses, and every module
    they import in turn (so a change anywhere below a trainer is seen).
    """
    tree = ast.parse(textwrap.dedent(inspect.getsource(_TRAINERS[kind])))
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    todo = [module for module in map(_package_module, used) if module is not None]
    seen = {}
    while todo:
        module = todo.pop()
        if module.__name__ not in seen:
            seen[module.__name__] = module
            todo.extend(_imported_modules(module))
    return sorted(seen)


@rules(kind=Choice(tuple(_CONFIGS)))
def code_fingerprint(kind: str) -> str:
    """SHA-256 (16 hex digits) of the source of the code that trains ``kind``: the zoo's train
    function and the modules of :func:`training_modules`."""
    digest = hashlib.sha256(inspect.getsource(_TRAINERS[kind]).encode())
    for name in training_modules(kind):
        digest.update(inspect.getsource(sys.modules[name]).encode())
    return digest.hexdigest()[:16]


@rules(kind=Choice(tuple(_CONFIGS)))
def cached_path(kind: str, config) -> Path:
    """Folder of the cached entry for a kind of model and its configuration."""
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        raise TypeError(f"config must be a configuration such as {_CONFIGS[kind].__name__}(), got {config!r}")
    payload = json.dumps({"kind": kind, "config": dataclasses.asdict(config), "code": code_fingerprint(kind)},
                         sort_keys=True)
    return cache_dir() / "models" / f"{kind}-{hashlib.sha256(payload.encode()).hexdigest()[:16]}"


def _read_pointer(folder: Path) -> str | None:
    try:
        return json.loads((folder / "CURRENT").read_text())["entry"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return ""  # unreadable: reported by the caller


def _load(folder: Path, build: Callable[[Vocab], torch.nn.Module]) -> Trained | None:
    """The verified entry of ``folder``, or ``None`` (with a warning when it exists but is damaged)."""
    for _ in range(3):  # an entry replaced while we read it: read the new one
        name = _read_pointer(folder)
        if name is None:
            return None
        entry = folder / name if name else folder / "CURRENT"
        try:
            if not name:
                raise ValueError("its pointer file CURRENT is unreadable")
            manifest = json.loads((entry / "manifest.json").read_text())
            problem = _files.manifest_problem(entry, manifest)
            if problem is not None or set(manifest) != {"model.pt", "vocab.json", "info.json"}:
                raise ValueError(problem or "its manifest does not list the entry's files")
            info = json.loads((entry / "info.json").read_text())
            saved = json.loads((entry / "vocab.json").read_text())
            vocab = Vocab.from_tokens(saved["idx_to_token"], saved["counts"], saved["unk_token"])
            model = build(vocab)
            model.load_state_dict(torch.load(entry / "model.pt", map_location="cpu", weights_only=True))
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RuntimeError) as err:
            if _read_pointer(folder) != name:
                continue  # replaced meanwhile
            warnings.warn(f"the cached model in {entry} is damaged ({err}); training it again", stacklevel=3)
            return None
        model.eval()
        return Trained(model, vocab, Embeddings.from_model(model, vocab), info, from_cache=True)
    return None


def _store(folder: Path, model: torch.nn.Module, vocab: Vocab, info: dict) -> None:
    """Write a complete entry under a temporary name, then make it current atomically."""
    _files.make_folder(folder)
    _files.clean_stale(folder, "entry")
    _files.clean_stale(folder, "CURRENT")
    tmp = _files.temp_path(folder, "entry", suffix=".tmp")
    try:
        tmp.mkdir()
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / "model.pt")
        (tmp / "vocab.json").write_text(json.dumps({"idx_to_token": vocab.idx_to_token,
                                                    "counts": vocab.counts.tolist(),
                                                    "unk_token": vocab.unk_token}))
        (tmp / "info.json").write_text(json.dumps(info, indent=1))
        (tmp / "manifest.json").write_text(json.dumps(_files.manifest_of(tmp)))
        _files.follow_umask(tmp)
        with _files.locked(folder / ".lock"):  # writers of the same key take turns to swap
            final = folder / f"v-{uuid.uuid4().hex[:12]}"
            os.rename(tmp, final)
            pointer = _files.temp_path(folder, "CURRENT")
            pointer.write_text(json.dumps({"entry": final.name}))
            _files.follow_umask(pointer)
            os.replace(pointer, folder / "CURRENT")
            for old in folder.glob("v-*"):
                if old != final:
                    _files.remove(old)
    finally:
        _files.remove(tmp)


def cached_model(kind: str, config, build: Callable[[Vocab], torch.nn.Module],
                 train: Callable[[Callable[[Vocab], torch.nn.Module]], tuple[torch.nn.Module, Vocab, History]],
                 retrain: bool = False, device: torch.device | str | None = None, callback=None) -> Trained:
    """The one helper behind every kind: load the verified entry, or build, train and store.

    Args:
        kind: ``"word2vec"``, ``"word2vec_fast"``, ``"word2vec_family"``, ``"glove"`` or ``"neural_lm"``.
        config: the kind's configuration dataclass.
        build: ``build(vocab)`` returns a fresh model for that vocabulary.
        train: ``train(model_builder)`` trains and returns ``(model, vocab, history)``.
        retrain: train even when a valid entry exists (and replace it).
        device: where a model loaded from the cache is put (training puts it there too).
        callback: the training's ``callback(progress, metrics)`` (a live curve): training
            reports to it as it goes; an entry loaded from the cache replays its stored
            per-epoch losses to it, one point per epoch, so the curve is still drawn.

    Training runs under its own seeded RNG (``config.seed``); the caller's
    global RNG state (CPU and every CUDA device) is restored afterwards.
    """
    folder = cached_path(kind, config)
    device = as_device(device)
    if not retrain:
        loaded = _load(folder, build)
        if loaded is not None:
            loaded.model.to(device)
            if callback is not None:
                checks = [row for row in loaded.info.get("checks", []) if "train_sample" in row]
                if checks:  # the curve the training drew: train and valid at each check
                    for row in checks:
                        callback(float(row["epoch"]), {"train": row["train_sample"], "valid": row["valid"]})
                else:
                    for row in loaded.info.get("epochs", []):
                        callback(float(row["epoch"]), {"loss": row["loss"]})
                finish_curve(callback)
            return loaded
    with rng_scope(config.seed):
        model, vocab_, history = train(build)
    model.eval()
    info = {"kind": kind, "config": dataclasses.asdict(config), "code": code_fingerprint(kind),
            "epochs": history.epochs, "checks": history.checks, "seconds": history.seconds,
            "stopped_early": history.stopped_early, "examples_per_second": history.examples_per_second}
    _store(folder, model, vocab_, info)
    return Trained(model, vocab_, Embeddings.from_model(model, vocab_), info, from_cache=False, history=history)


def _check_config(config, kind: str):
    if not isinstance(config, _CONFIGS[kind]):
        raise TypeError(f"config must be a {_CONFIGS[kind].__name__}, got {type(config).__name__}")
    return config


def word2vec_ptb(config: Word2VecConfig = Word2VecConfig(), retrain: bool = False, device=None,
                 callback=None) -> Trained:
    """Skip-gram word vectors for PTB: ``load_data_ptb`` -> ``SkipGram`` -> ``train_skipgram``, cached."""
    config = _check_config(config, "word2vec")

    def build(vocab_: Vocab) -> SkipGram:
        return SkipGram(len(vocab_), config.embed_size)

    def train(build):
        data_iter, vocab_ = load_data_ptb(config.batch_size, config.max_window_size, config.num_noise_words,
                                          min_freq=config.min_freq, seed=config.seed, resample=config.resample)
        model = build(vocab_)
        history = train_skipgram(model, data_iter, config.num_epochs, lr=config.lr, device=device,
                                 callback=callback)
        return model, vocab_, history

    return cached_model("word2vec", config, build, train, retrain, device, callback)


def word2vec_fast_ptb(config: FastWord2VecConfig = FastWord2VecConfig(), retrain: bool = False, device=None,
                      callback=None) -> Trained:
    """Skip-gram word vectors for PTB: ``read_ptb`` -> ``Vocab`` -> ``train_skipgram_fast``, cached."""
    config = _check_config(config, "word2vec_fast")

    def build(vocab_: Vocab) -> SkipGram:
        return SkipGram(len(vocab_), config.embed_size)

    def train(build):
        sentences = datasets.read_ptb("train")
        vocab_ = Vocab(sentences, min_freq=config.min_freq)
        model, history = train_skipgram_fast(
            vocab_.encode(sentences), vocab_, embed_size=config.embed_size, max_window_size=config.max_window_size,
            num_noise_words=config.num_noise_words, num_epochs=config.num_epochs, lr=config.lr, t=config.t,
            group_size=config.group_size, block_size=config.block_size, seed=config.seed, device=device,
            callback=callback)
        return model, vocab_, history

    return cached_model("word2vec_fast", config, build, train, retrain, device, callback)


def word2vec_family_ptb(config: FamilyConfig = FamilyConfig(), retrain: bool = False, device=None,
                        callback=None) -> Trained:
    """CBOW, hierarchical-softmax or fastText vectors for PTB: ``read_ptb`` -> ``Vocab`` -> :mod:`d2lmini.family`,
    cached. For fastText, ``embeddings`` holds the vocabulary's words; :func:`~d2lmini.family.fasttext_embeddings`
    gives vectors to other words."""
    config = _check_config(config, "word2vec_family")

    def build(vocab_: Vocab) -> torch.nn.Module:
        if config.model == "cbow":
            return CBOW(len(vocab_), config.embed_size)
        if config.model == "hierarchical_softmax":
            return HierarchicalSoftmax(huffman_tree(vocab_.counts), config.embed_size)
        rows, offsets = subword_table(vocab_.idx_to_token, config.buckets, config.min_n, config.max_n)
        return FastText(rows, offsets, config.buckets, config.embed_size)

    def train(build):
        sentences = datasets.read_ptb("train")
        vocab_ = Vocab(sentences, min_freq=config.min_freq)
        common = dict(embed_size=config.embed_size, max_window_size=config.max_window_size,
                      num_epochs=config.num_epochs, lr=config.lr, t=config.t, batch_size=config.batch_size,
                      seed=config.seed, device=device, callback=callback)
        if config.model == "cbow":
            model, history = family.train_cbow(vocab_.encode(sentences), vocab_,
                                               num_noise_words=config.num_noise_words, **common)
        elif config.model == "hierarchical_softmax":
            model, history = family.train_hierarchical_softmax(vocab_.encode(sentences), vocab_, **common)
        else:
            model, history = family.train_fasttext(vocab_.encode(sentences), vocab_,
                                                   num_noise_words=config.num_noise_words, buckets=config.buckets,
                                                   min_n=config.min_n, max_n=config.max_n, **common)
        return model, vocab_, history

    return cached_model("word2vec_family", config, build, train, retrain, device, callback)


def glove_ptb(config: GloVeConfig = GloVeConfig(), retrain: bool = False, device=None, callback=None) -> Trained:
    """GloVe word vectors (``v + u``) for PTB: ``load_data_ptb_glove`` -> ``GloVe`` -> ``train_glove``, cached."""
    config = _check_config(config, "glove")

    def build(vocab_: Vocab) -> GloVe:
        return GloVe(len(vocab_), config.embed_size, x_max=config.x_max, alpha=config.alpha)

    def train(build):
        data_iter, vocab_ = load_data_ptb_glove(config.batch_size, config.window_size, min_freq=config.min_freq,
                                                seed=config.seed)
        model = build(vocab_)
        history = train_glove(model, data_iter, config.num_epochs, lr=config.lr, device=device, callback=callback)
        return model, vocab_, history

    return cached_model("glove", config, build, train, retrain, device, callback)


def neural_lm(config: NGramLMConfig = NGramLMConfig(), retrain: bool = False, device=None,
              callback=None) -> Trained:
    """The neural 4-gram model on the 250-word corpus (``load_fourgrams(seed)``), cached."""
    config = _check_config(config, "neural_lm")

    def build(vocab_: Vocab) -> NGramLM:
        return NGramLM(len(vocab_), config.embed_size, config.hidden_size, activation=config.activation,
                       dropout=config.dropout, init_std=config.init_std)

    def train(build):
        data = load_fourgrams(seed=config.data_seed)
        model = build(data.vocab)
        history = train_lm(model, data, config.num_epochs, batch_size=config.batch_size,
                           optimizer=config.optimizer, lr=config.lr, momentum=config.momentum,
                           schedule=config.schedule, validate_every=config.validate_every,
                           early_stopping=config.early_stopping, patience=config.patience, seed=config.seed,
                           device=device, callback=callback)
        return model, data.vocab, history

    return cached_model("neural_lm", config, build, train, retrain, device, callback)


_TRAINERS = {"word2vec": word2vec_ptb, "word2vec_fast": word2vec_fast_ptb, "word2vec_family": word2vec_family_ptb,
             "glove": glove_ptb,
             "neural_lm": neural_lm}
