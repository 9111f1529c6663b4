"""The seed-faithful references are faithful: d2l's choices, kept as d2l made them."""

import random
from collections import Counter

import d2lmini
from d2lmini import seed_style


def test_d2l_subsample_returns_the_counts_from_before_subsampling():
    sentences = [["the"] * 50 + ["cat", "sat", "<unk>"]] * 20
    vocab = d2lmini.Vocab(sentences)
    random.seed(0)
    subsampled, counter = seed_style.subsample_reference(sentences, vocab, t=1e-2)
    assert counter == Counter({"the": 1000, "cat": 20, "sat": 20})  # <unk> dropped, nothing subsampled yet
    assert sum(line.count("the") for line in subsampled) < 1000  # "the" was subsampled afterwards


def test_reference_data_draws_noise_from_the_counts_before_subsampling(monkeypatch):
    seen = {}

    def spy(all_contexts, vocab, counter, num_noise_words):
        seen["counter"] = counter
        return [[1] * len(c) * num_noise_words for c in all_contexts]

    monkeypatch.setattr(seed_style, "negatives_reference", spy)
    sentences = [["a"] * 40 + ["b", "c"]] * 10
    vocab = d2lmini.Vocab(sentences)
    random.seed(1)
    seed_style.skipgram_reference_data(sentences, vocab, 2, 1)
    assert seen["counter"]["a"] == 400  # before subsampling, as d2l's get_negatives receives it
