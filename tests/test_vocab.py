import numpy as np
import pytest

from d2lmini import Vocab

SENTENCES = [["the", "cat", "sat"], ["the", "dog", "sat", "the"], ["a", "cat"]]


def test_order_counts_and_unk():
    vocab = Vocab(SENTENCES)
    assert vocab.idx_to_token == ["<unk>", "the", "cat", "sat", "dog", "a"]
    assert len(vocab) == 6
    assert vocab["the"] == 1 and vocab["zebra"] == 0
    assert vocab[["cat", "zebra", "a"]] == [2, 0, 5]
    assert vocab.to_tokens([1, 4]) == ["the", "dog"]
    assert vocab.to_tokens(3) == "sat"
    assert vocab.counts.tolist() == [0, 3, 2, 2, 1, 1]


def test_flat_token_list_is_accepted():
    assert Vocab(["b", "a", "b"]).idx_to_token == ["<unk>", "b", "a"]


def test_min_freq_maps_rare_tokens_to_unk_and_counts_them():
    vocab = Vocab(SENTENCES, min_freq=2)
    assert vocab.idx_to_token == ["<unk>", "the", "cat", "sat"]
    assert vocab["dog"] == vocab.unk == 0
    assert vocab.counts.tolist() == [2, 3, 2, 2]  # dog and a fall into <unk>


def test_reserved_tokens_follow_unk():
    vocab = Vocab(SENTENCES, reserved_tokens=["<pad>"])
    assert vocab.idx_to_token[:3] == ["<unk>", "<pad>", "the"]


def test_existing_unk_token_in_corpus_is_not_duplicated():
    vocab = Vocab([["<unk>", "x", "<unk>"]])
    assert vocab.idx_to_token == ["<unk>", "x"]
    assert vocab.counts.tolist() == [2, 1]


def test_strict_lookup_names_the_word_and_close_spellings():
    vocab = Vocab(SENTENCES)
    with pytest.raises(KeyError, match=r"'cta' is not in the vocabulary.*'cat'"):
        vocab.lookup("cta")


def test_closed_vocabulary_raises_for_unknown_words():
    vocab = Vocab(SENTENCES, unk_token=None)
    assert len(vocab) == 5 and vocab["the"] == 0
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        vocab["zebra"]
    with pytest.raises(KeyError):
        vocab.encode([["the", "zebra"]])


def test_encode_and_out_of_range_index():
    vocab = Vocab(SENTENCES, min_freq=2)
    assert vocab.encode([["the", "dog"], ["sat"]]) == [[1, 0], [3]]
    with pytest.raises(IndexError, match="outside the vocabulary"):
        vocab.to_tokens(99)


@pytest.mark.parametrize("min_freq", [-1, 1.5, "2", True])
def test_bad_min_freq(min_freq):
    with pytest.raises((ValueError, TypeError), match="min_freq must be an integer"):
        Vocab(SENTENCES, min_freq=min_freq)


def test_ptb_vocabulary_sizes(ptb_train):
    assert len(Vocab(ptb_train, min_freq=10)) == 6719
    assert len(Vocab(ptb_train, min_freq=5)) == 9858
    vocab = Vocab(ptb_train, min_freq=10)
    assert vocab.counts.sum() == 887_521
    assert np.all(np.diff(vocab.counts[1:]) <= 0)  # sorted by frequency after <unk>


def test_a_string_is_not_a_list_of_tokens():
    with pytest.raises(TypeError, match="got the string 'hello world'; split it first"):
        Vocab("hello world")
    vocab = Vocab([["hello", "world"]])
    with pytest.raises(TypeError, match="split it first"):
        vocab.encode("hello world")
    with pytest.raises(TypeError, match=r"sentences\[0\] is a string 'hello world', not a list of tokens"):
        vocab.encode(["hello world"])
    with pytest.raises(TypeError, match="every token must be a string, got 1 of type int"):
        Vocab([[1, 2, 3]])


def test_rebuilt_from_its_tokens():
    vocab = Vocab([["a", "b", "a"], ["c", "a"]])
    again = Vocab.from_tokens(vocab.idx_to_token, vocab.counts)
    assert again.idx_to_token == vocab.idx_to_token and np.array_equal(again.counts, vocab.counts)
    assert again["zzz"] == 0
    with pytest.raises(ValueError, match="must start with the unknown token"):
        Vocab.from_tokens(["a", "b"])


def test_encoding_ids_is_refused_and_tensors_are_indices():
    import torch

    vocab = Vocab([["a", "b", "a"], ["c", "a", "d"]])
    with pytest.raises(TypeError, match=r"sentences\[0\] holds 1 of type int, not a string token"):
        vocab.encode([[1, 2, 3]])
    assert vocab.to_tokens(torch.tensor(3)) == "c" and vocab.to_tokens(np.array(1)) == "a"
