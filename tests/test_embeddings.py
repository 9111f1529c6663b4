from pathlib import Path

import numpy as np
import pytest

from d2lmini import Embeddings, Vocab

WORDS = ["king", "queen", "man", "woman", "apple"]
VECTORS = np.array([
    [0.9, 0.8, 0.1],   # king: royal, male
    [0.9, 0.1, 0.8],   # queen: royal, female
    [0.1, 0.9, 0.1],   # man
    [0.1, 0.1, 0.9],   # woman
    [-0.5, 0.0, 0.0],  # apple
])


def test_most_similar_single_word_by_cosine():
    emb = Embeddings(WORDS, VECTORS)
    unit = VECTORS / np.linalg.norm(VECTORS, axis=1, keepdims=True)
    result = emb.most_similar("king", topn=4)
    expected = sorted(((w, float(unit[0] @ unit[i])) for i, w in enumerate(WORDS) if i), key=lambda p: -p[1])
    assert [w for w, _ in result] == [w for w, _ in expected]
    assert [s for _, s in result] == pytest.approx([s for _, s in expected], rel=1e-6)


def test_most_similar_analogy_excludes_query_words():
    emb = Embeddings(WORDS, VECTORS)
    assert emb.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"


def test_similarity_and_lookup():
    emb = Embeddings(WORDS, VECTORS)
    assert emb.similarity("king", "king") == pytest.approx(1.0)
    assert np.allclose(emb["apple"], VECTORS[4])
    assert "apple" in emb and "pear" not in emb and len(emb) == 5


def test_unknown_word_names_it_and_suggests_spellings():
    emb = Embeddings(WORDS, VECTORS)
    with pytest.raises(KeyError, match=r"'quen' is not in the vocabulary \(5 words\); did you mean 'queen'"):
        emb.most_similar("quen")


@pytest.mark.parametrize("topn, error", [(0, ValueError), (-1, ValueError), (5, ValueError), (2.5, TypeError)])
def test_bad_topn(topn, error):
    with pytest.raises(error, match=r"topn must be an integer"):
        Embeddings(WORDS, VECTORS).most_similar("king", topn=topn)


def test_empty_query_and_bad_shapes():
    emb = Embeddings(WORDS, VECTORS)
    with pytest.raises(ValueError, match="at least one"):
        emb.most_similar([])
    with pytest.raises(ValueError, match="shape"):
        Embeddings(WORDS, VECTORS[:3])


def test_from_vocab_drops_unk():
    vocab = Vocab([["b", "a", "b"]])
    emb = Embeddings.from_vocab(vocab, np.eye(3))
    assert emb.words == ["b", "a"] and np.allclose(emb["a"], [0, 0, 1])


def test_nan_vectors_and_mismatched_vocabularies_are_refused():
    with pytest.raises(ValueError, match="NaN or infinite.*smaller learning rate"):
        Embeddings(["a", "b"], [[1.0, float("nan")], [0.0, 1.0]])
    vocab = Vocab([["a", "b", "c"]])
    with pytest.raises(ValueError, match="vectors has 2 rows but the vocabulary has 4 tokens"):
        Embeddings.from_vocab(vocab, np.zeros((2, 3)))
    with pytest.raises(TypeError, match="every word must be a string"):
        Embeddings([1, 2], np.zeros((2, 3)))


def test_queries_never_return_their_own_words():
    emb = Embeddings(["a", "b", "c"], [[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
    with pytest.raises(ValueError, match=r"topn must be an integer in \[1, 1\], got 2"):
        emb.most_similar(["a", "b"], topn=2)
    assert [w for w, _ in emb.most_similar(["a", "b"], topn=1)] == ["c"]
    with pytest.raises(TypeError, match="got the string"):
        emb.doesnt_match("abc")


def test_the_readme_example_runs_and_gensim_reads_its_vectors(tmp_path, monkeypatch):
    """The README's Python example, as written, on a small text file in a fresh folder."""
    import re

    gensim_models = pytest.importorskip("gensim.models")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    example = re.search(r"## Vectors for your own text, in Python\n\n```python\n(.*?)```", readme, re.S).group(1)
    assert len(example.strip().splitlines()) <= 10
    rng = np.random.default_rng(0)
    words = ["money", "bank", "cash", "river", "water", "stream", "loan", "fish", "boat", "price"]
    lines = [" ".join(rng.choice(words, size=8)) for _ in range(300)]
    (tmp_path / "my_text.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exec(compile(example.replace("num_epochs=5", "num_epochs=1"), "README.md", "exec"), {})
    vectors = gensim_models.KeyedVectors.load_word2vec_format("vectors.txt")
    assert set(vectors.index_to_key) == set(words)
