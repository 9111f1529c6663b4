"""The model cache: normalised keys with a code fingerprint, verified entries, atomic replacement,
and real processes racing on one key."""

import dataclasses
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from d2lmini import zoo

WORKERS = Path(__file__).with_name("_workers.py")
TINY = zoo.NGramLMConfig(num_epochs=1, batch_size=5000, validate_every=10**9, hidden_size=8, embed_size=4)


def test_key_normalises_each_field_to_its_declared_type(isolated_cache):
    assert zoo.cached_path("glove", zoo.GloVeConfig(x_max=100)) == zoo.cached_path("glove", zoo.GloVeConfig())
    assert zoo.GloVeConfig(x_max=100).x_max == 100.0 and isinstance(zoo.GloVeConfig(x_max=100).x_max, float)
    import numpy as np

    assert type(zoo.Word2VecConfig(num_epochs=np.int64(5)).num_epochs) is int
    base = zoo.cached_path("word2vec", zoo.Word2VecConfig())
    assert base != zoo.cached_path("word2vec", zoo.Word2VecConfig(num_epochs=6))
    assert base != zoo.cached_path("glove", zoo.Word2VecConfig())
    assert base.parent == isolated_cache / "models"


@pytest.mark.parametrize("kwargs, error, message", [
    ({"num_epochs": 2.5}, TypeError, "Word2VecConfig.num_epochs must be an integer"),
    ({"embed_size": -3}, ValueError, "Word2VecConfig.embed_size must be an integer >= 1, got -3"),
    ({"lr": -1.0}, ValueError, "Word2VecConfig.lr must be a number > 0"),
    ({"lr": float("nan")}, ValueError, "Word2VecConfig.lr must be a finite number"),
    ({"resample": 1}, TypeError, "Word2VecConfig.resample must be True or False"),
])
def test_bad_config_values(kwargs, error, message):
    with pytest.raises(error, match=message):
        zoo.Word2VecConfig(**kwargs)


def test_key_includes_a_fingerprint_of_the_training_code(isolated_cache, monkeypatch):
    before = zoo.cached_path("word2vec", zoo.Word2VecConfig())
    assert zoo.code_fingerprint("word2vec") != zoo.code_fingerprint("glove")
    monkeypatch.setattr(zoo, "training_modules", lambda kind: ["d2lmini.cooccurrence"])  # other code
    assert zoo.cached_path("word2vec", zoo.Word2VecConfig()) != before


def test_the_fingerprinted_modules_follow_the_trainers_imports():
    fast = zoo.training_modules("word2vec_fast")
    # the trainer's module, and what it imports in turn, down to the private helpers
    for name in ("fast_skipgram", "sparse_sgd", "skipgram_data", "training", "models", "corpus", "vocab", "datasets",
                 "_checks"):
        assert f"d2lmini.{name}" in fast
    assert "d2lmini.family" not in fast and "d2lmini.zoo" not in fast
    family = zoo.training_modules("word2vec_family")
    assert {"d2lmini.family", "d2lmini.huffman", "d2lmini.subwords", "d2lmini.sparse_sgd"} <= set(family)
    assert "d2lmini.fast_skipgram" not in family
    assert "d2lmini.cooccurrence" in zoo.training_modules("glove")


def test_bad_kind_and_config():
    with pytest.raises(ValueError, match="kind must be one of"):
        zoo.code_fingerprint("bert")
    with pytest.raises(ValueError, match="kind must be one of"):
        zoo.cached_path("bert", zoo.Word2VecConfig())
    with pytest.raises(TypeError, match="config must be a GloVeConfig"):
        zoo.glove_ptb(zoo.Word2VecConfig())


def entry_folder(config=TINY) -> Path:
    folder = zoo.cached_path("neural_lm", config)
    return folder / json.loads((folder / "CURRENT").read_text())["entry"]


def test_trained_once_then_loaded_verified_and_always_with_the_model(isolated_cache):
    state = torch.random.get_rng_state()
    first = zoo.neural_lm(TINY, device="cpu")
    assert torch.equal(torch.random.get_rng_state(), state), "the zoo must not reseed the global RNG"
    assert not first.from_cache and first.model is not None and len(first.vocab) == 250
    entry = entry_folder()
    assert sorted(p.name for p in entry.iterdir()) == ["info.json", "manifest.json", "model.pt", "vocab.json"]
    assert json.loads((entry / "info.json").read_text())["config"]["hidden_size"] == 8
    second = zoo.neural_lm(TINY)
    assert second.from_cache and second.model is not None
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a.cpu(), b.cpu())  # the second load goes to the default device
    assert second.vocab.idx_to_token == first.vocab.idx_to_token
    assert second.embeddings.words == first.embeddings.words
    names = sorted(p.name for p in entry.parent.iterdir())
    assert names == [".lock", "CURRENT", entry.name]  # no temporary folder left


def damage_truncate(entry):
    data = (entry / "model.pt").read_bytes()
    (entry / "model.pt").write_bytes(data[: len(data) // 2])


def damage_alter(entry):
    data = bytearray((entry / "model.pt").read_bytes())
    data[-100] ^= 0xFF  # same size, one byte changed
    (entry / "model.pt").write_bytes(bytes(data))


def damage_delete(entry):
    (entry / "vocab.json").unlink()


def damage_pointer(entry):
    (entry.parent / "CURRENT").write_text("{not json")


@pytest.mark.parametrize("damage", [damage_truncate, damage_alter, damage_delete, damage_pointer])
def test_damaged_entry_is_reported_and_retrained_never_loaded(isolated_cache, damage):
    zoo.neural_lm(TINY, device="cpu")
    entry = entry_folder()
    damage(entry)
    with pytest.warns(UserWarning, match=rf"{entry.parent.name}.*damaged.*training it again"):
        again = zoo.neural_lm(TINY, device="cpu")
    assert not again.from_cache
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert zoo.neural_lm(TINY).from_cache  # the new entry is whole


def run_worker(*args, env):
    return subprocess.Popen([sys.executable, str(WORKERS), *map(str, args)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(process, timeout=120):
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"worker failed:\n{out}\n{err}"
    return out


def test_writers_race_and_a_reader_sees_only_whole_entries(isolated_cache, tmp_path):
    env = {**os.environ, "D2LMINI_CACHE": str(isolated_cache)}
    finish(run_worker("store", 1, 1, env=env))  # an entry to read from the start
    stop = tmp_path / "stop"
    reader = run_worker("read", stop, env=env)
    writers = [run_worker("store", w, 4, env=env) for w in (10, 20, 30)]
    outputs = [finish(w) for w in writers]
    stop.touch()
    read_out = finish(reader)
    assert all("ok stored 4" in out for out in outputs)
    assert int(read_out.split()[-1]) >= 1
    folder = zoo.cached_path("neural_lm", zoo.NGramLMConfig(embed_size=2, hidden_size=3, seed=7))
    versions = [p.name for p in folder.iterdir() if p.name.startswith("v-")]
    assert len(versions) == 1 and json.loads((folder / "CURRENT").read_text())["entry"] == versions[0]
    assert not [p for p in folder.iterdir() if p.name.startswith(".entry.")]  # no leftovers


def test_entries_follow_the_umask(isolated_cache):
    old = os.umask(0o002)  # group-writable: neither mkstemp's 0600 nor a fixed 0644 would match
    try:
        zoo.neural_lm(TINY, device="cpu")
    finally:
        os.umask(old)
    entry = entry_folder()
    assert entry.stat().st_mode & 0o777 == 0o775
    assert (entry / "model.pt").stat().st_mode & 0o777 == 0o664
    assert (entry.parent / "CURRENT").stat().st_mode & 0o777 == 0o664


def test_leftovers_of_a_killed_writer_are_cleaned(isolated_cache):
    zoo.neural_lm(TINY, device="cpu")
    folder = zoo.cached_path("neural_lm", TINY)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    host = __import__("d2lmini._files", fromlist=["_HOST"])._HOST
    leftover = folder / f".entry.{host}.{dead}.abcdef012345.tmp"
    leftover.mkdir()
    (leftover / "model.pt").write_bytes(b"half")
    time.sleep(0.01)
    zoo.neural_lm(TINY, device="cpu", retrain=True)
    assert not leftover.exists()


def test_config_choices_and_device_are_checked_before_any_work(isolated_cache):
    with pytest.raises(ValueError, match=r"NGramLMConfig.activation must be one of \('sigmoid'"):
        zoo.NGramLMConfig(activation="softmax")
    zoo.neural_lm(TINY, device="cpu")
    with pytest.raises(ValueError, match="device must be"):
        zoo.neural_lm(TINY, device="tpu9")  # a cache hit too


@pytest.mark.parametrize("manifest", ["[]", "null", '"x"', "{}", '{"model.pt": 5}'])
def test_malformed_manifest_is_reported_and_retrained(isolated_cache, manifest):
    zoo.neural_lm(TINY, device="cpu")
    (entry_folder() / "manifest.json").write_text(manifest)
    with pytest.warns(UserWarning, match="damaged"):
        assert not zoo.neural_lm(TINY, device="cpu").from_cache


def test_fast_word2vec_configs_are_normalised_and_keyed_apart():
    assert zoo.FastWord2VecConfig(t=1e-4) == zoo.FastWord2VecConfig()
    assert isinstance(zoo.FastWord2VecConfig(lr=1).lr, float)
    base = zoo.cached_path("word2vec_fast", zoo.FastWord2VecConfig())
    assert base != zoo.cached_path("word2vec_fast", zoo.FastWord2VecConfig(group_size=1))
    assert base != zoo.cached_path("word2vec", zoo.FastWord2VecConfig())
    assert zoo.code_fingerprint("word2vec_fast") != zoo.code_fingerprint("word2vec")
    with pytest.raises(ValueError, match="FastWord2VecConfig.t must be a number > 0"):
        zoo.FastWord2VecConfig(t=0)
    with pytest.raises(TypeError, match="config must be a FastWord2VecConfig"):
        zoo.word2vec_fast_ptb(zoo.Word2VecConfig())


def test_the_seed_of_a_neural_lm_changes_its_training_but_not_its_data_split(isolated_cache, monkeypatch):
    splits = []
    load = zoo.load_fourgrams
    monkeypatch.setattr(zoo, "load_fourgrams", lambda seed=0: splits.append(seed) or load(seed=seed))
    one, other = (zoo.neural_lm(dataclasses.replace(TINY, seed=s), device="cpu") for s in (0, 1))
    assert splits == [0, 0]  # the same split for both seeds
    assert not np.array_equal(one.embeddings.vectors, other.embeddings.vectors)
    assert one.info["checks"] == [] and one.info["stopped_early"] is False
    zoo.neural_lm(dataclasses.replace(TINY, seed=1, data_seed=3), device="cpu")
    assert splits == [0, 0, 3]


def test_a_cached_entry_replays_its_per_epoch_losses_to_the_callback(isolated_cache):
    config = dataclasses.replace(TINY, num_epochs=2)
    trained = zoo.neural_lm(config)
    points = []
    again = zoo.neural_lm(config, callback=lambda progress, metrics: points.append((progress, metrics["loss"])))
    assert again.from_cache
    assert points == [(float(row["epoch"]), row["loss"]) for row in trained.info["epochs"]] and len(points) == 2


def test_family_config_checks_the_model_name():
    with pytest.raises(ValueError, match="FamilyConfig.model must be one of"):
        zoo.FamilyConfig(model="glove")
    assert zoo.cached_path("word2vec_family", zoo.FamilyConfig(model="cbow")) != zoo.cached_path(
        "word2vec_family", zoo.FamilyConfig(model="fasttext"))


@pytest.mark.parametrize("model", zoo.FAMILY_MODELS)
def test_family_models_round_trip_through_the_cache(isolated_cache, model):
    config = zoo.FamilyConfig(model=model, num_epochs=1, embed_size=8, buckets=1000)
    trained = zoo.word2vec_family_ptb(config)
    loaded = zoo.word2vec_family_ptb(config)
    assert not trained.from_cache and loaded.from_cache
    assert torch.equal(trained.model.word_vectors(), loaded.model.word_vectors())
    assert np.isfinite(trained.info["epochs"][0]["loss"])
