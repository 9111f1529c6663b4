import json

import torch

from d2lmini import zoo


def test_cache_key_depends_on_every_field(isolated_cache):
    base = zoo.cached_path("word2vec", zoo.Word2VecConfig())
    assert base == zoo.cached_path("word2vec", zoo.Word2VecConfig())
    assert base != zoo.cached_path("word2vec", zoo.Word2VecConfig(num_epochs=6))
    assert base != zoo.cached_path("glove", zoo.Word2VecConfig())
    assert base.parent == isolated_cache / "models"


def test_neural_lm_is_trained_once_then_loaded(isolated_cache):
    config = zoo.NGramLMConfig(num_epochs=1, validate_every=10**9, hidden_size=8, embed_size=4)
    first = zoo.neural_lm(config, device="cpu")
    assert not first.from_cache and first.model is not None
    folder = zoo.cached_path("neural_lm", config)
    assert json.loads((folder / "info.json").read_text())["config"]["hidden_size"] == 8
    second = zoo.neural_lm(config)
    assert second.from_cache
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a.cpu(), b)
    assert [p.name for p in folder.parent.iterdir()] == [folder.name]  # no temporary folder left
