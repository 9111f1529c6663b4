"""Streaming corpora, chunked co-occurrence counts, the data-parallel trainer and the command line."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import d2lmini
from d2lmini import cli
from d2lmini.cooccurrence import PairCounter, cooccurrence_stream
from d2lmini.corpus import TokenFile, corpus_files, encode_files
from d2lmini.stream_skipgram import AllReduceTally, train_skipgram_stream

REPO = Path(__file__).resolve().parents[1]


def write_corpus(folder: Path, seed: int = 0, sentences: int = 300) -> Path:
    """A small Zipf-like corpus in two files (one with an empty line), one sentence per line."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(60)]
    p = 1.0 / np.arange(1, 61)
    p /= p.sum()
    folder.mkdir(parents=True, exist_ok=True)
    lines = [" ".join(rng.choice(words, size=rng.integers(1, 15), p=p)) for _ in range(sentences)]
    (folder / "a.txt").write_text("\n".join(lines[:100]) + "\n\n   \n", encoding="utf-8")
    (folder / "b.txt").write_text("\n".join(lines[100:]) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def corpus(tmp_path, isolated_cache):
    return write_corpus(tmp_path / "corpus")


def test_encode_files_matches_vocab_and_encode(corpus):
    tokens = encode_files(corpus, min_count=3)
    sentences = [line.split() for f in corpus_files(corpus) for line in f.read_text().splitlines() if line.split()]
    vocab = d2lmini.Vocab(sentences, min_freq=3, unk_token=None)
    assert tokens.vocab.idx_to_token == vocab.idx_to_token  # most frequent first, same tie order
    expected = [[vocab[w] for w in s if w in vocab] for s in sentences]
    expected = [s for s in expected if s]
    assert tokens.num_sentences == len(expected)
    assert [tokens.ids[a:b].tolist() for a, b in zip(tokens.starts[:-1], tokens.starts[1:])] == expected
    assert isinstance(tokens.ids, np.memmap)
    assert encode_files(corpus, min_count=3).folder == tokens.folder  # cached


def test_chunks_and_shards_cover_the_corpus_once(corpus):
    tokens = encode_files(corpus, min_count=1)
    pieces = list(tokens.chunks(37))
    assert np.array_equal(np.concatenate([ids for ids, _ in pieces]), tokens.ids)
    for ids, sentence in pieces:  # whole sentences only
        assert set(np.diff(sentence)) <= {0, 1} and len(ids) == len(sentence)
    bounds = [tokens.shard(k, 3) for k in range(3)]
    assert bounds[0][0] == 0 and bounds[-1][1] == len(tokens)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    assert all(stop in tokens.starts for _, stop in bounds)


@pytest.mark.parametrize("memory", [None, 2**26])
def test_streaming_counts_equal_in_memory_counts(corpus, memory, monkeypatch):
    tokens = encode_files(corpus, min_count=1)
    sentences = [tokens.ids[a:b].tolist() for a, b in zip(tokens.starts[:-1], tokens.starts[1:])]
    expected = d2lmini.cooccurrence(sentences, 4, len(tokens.vocab))
    if memory is not None:  # tiny chunks and runs, so that runs are merged and spilled to disk
        monkeypatch.setattr(PairCounter, "__init__", _small_counter(PairCounter.__init__))
    got = cooccurrence_stream(tokens, 4, memory=memory or 2**30)
    assert got.shape == expected.shape and got.nnz == expected.nnz
    assert np.allclose(got.toarray(), expected.toarray(), rtol=1e-12, atol=0)


def _small_counter(init):
    def small(self, *args, **kwargs):
        init(self, *args, **kwargs)
        self.chunk_tokens, self.run_bytes_limit = 50, 400  # many runs; merged, then spilled
        self.limit = np.minimum(self.limit, 3)  # a table of 3 columns per row: most pairs go to the runs
        self.start = np.concatenate([[0], np.cumsum(self.limit)])
        self.dense = np.zeros(int(self.start[-1]))
    return small


def test_spilled_runs_are_used_and_removed(corpus, monkeypatch, tmp_path):
    tokens = encode_files(corpus, min_count=1)
    monkeypatch.setattr(PairCounter, "__init__", _small_counter(PairCounter.__init__))
    spill = tmp_path / "spill"
    spill.mkdir()
    counter = PairCounter(len(tokens.vocab), 4, "harmonic", 2**26, spill)
    for ids, sentence in tokens.chunks(counter.chunk_tokens):
        counter.add(ids, sentence)
    assert len(counter.spilled) > 1
    sentences = [tokens.ids[a:b].tolist() for a, b in zip(tokens.starts[:-1], tokens.starts[1:])]
    assert np.allclose(counter.matrix().toarray(), d2lmini.cooccurrence(sentences, 4, len(tokens.vocab)).toarray())
    counter.close()
    assert list(spill.iterdir()) == []


def test_bad_corpora_get_clear_errors(tmp_path, isolated_cache):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("a b c\ncaf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1.txt, line 2: byte 0xe9 at column 4 is not UTF-8"):
        encode_files(latin1, min_count=1)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n\n")
    with pytest.raises(ValueError, match="holds no token"):
        encode_files(empty, min_count=1)
    with pytest.raises(ValueError, match="min_count=5"):
        encode_files(_write(tmp_path / "few.txt", "a b\n"), min_count=5)
    one_word = encode_files(_write(tmp_path / "one.txt", "hello\nhello hello\n"), min_count=1)
    with pytest.raises(ValueError, match="at least 2 distinct words"):
        train_skipgram_stream(one_word)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        encode_files(tmp_path / "missing.txt")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no file"):
        encode_files(tmp_path / "nothing")


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_one_word_sentences_train_nothing_but_do_not_hang(tmp_path, isolated_cache):
    tokens = encode_files(_write(tmp_path / "c.txt", "a\nb\na\nb\n"), min_count=1)
    model, history = train_skipgram_stream(tokens, embed_size=4, num_epochs=2)
    assert history.examples == 0 and sum(history["tokens"]) == 2 * len(tokens)


def test_stream_trainer_learns_and_is_reproducible(corpus):
    tokens = encode_files(corpus, min_count=1)
    torch.set_num_threads(1)
    runs = [train_skipgram_stream(tokens, embed_size=8, max_window_size=3, num_epochs=4, lr=0.05, t=1.0,
                                  batch_tokens=16, seed=1, device="cpu") for _ in range(2)]
    (m1, h1), (m2, h2) = runs
    assert torch.equal(m1.center.weight, m2.center.weight) and h1["loss"] == h2["loss"]
    assert h1["loss"][-1] < h1["loss"][0]
    assert sum(h1["tokens"]) == 4 * len(tokens)
    assert h1.examples == sum(h1["examples"]) > 0 and h1.mean_loss == pytest.approx(
        sum(loss * pairs for loss, pairs in zip(h1["loss"], h1["examples"])) / h1.examples)


def test_data_parallel_step_equals_the_fused_step():
    """The arithmetic of a data-parallel step (gradients, then one update) is the fused step's."""
    from d2lmini.sparse_sgd import sgns_block_step
    from d2lmini.stream_skipgram import _data_parallel_step

    g = torch.Generator().manual_seed(0)
    center, context = torch.randn(30, 6, generator=g), torch.randn(30, 6, generator=g)
    c, o = torch.randint(0, 30, (64,), generator=g), torch.randint(0, 30, (64,), generator=g)
    n = torch.randint(0, 30, (8, 5), generator=g)
    fused_center, fused_context = center.clone(), context.clone()
    fused_loss = sgns_block_step(fused_center, fused_context, c, o, n, 0.1)
    loss = _data_parallel_step(center, context, [(c.numpy(), o.numpy(), n.numpy(), 10)], 0.1, 1, "sparse",
                               torch.device("cpu"), AllReduceTally())
    assert torch.allclose(loss.float(), fused_loss.float(), rtol=1e-5)
    assert torch.allclose(center, fused_center, atol=1e-6) and torch.allclose(context, fused_context, atol=1e-6)


def test_two_processes_equal_one_process_with_the_same_global_batch(corpus, tmp_path):
    tokens = encode_files(corpus, min_count=1)
    torch.set_num_threads(1)
    kwargs = dict(embed_size=8, max_window_size=3, num_epochs=2, lr=0.05, t=1.0, batch_tokens=16, seed=3)
    single, history = train_skipgram_stream(tokens, num_shards=2, **kwargs)
    out = tmp_path / "ddp.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1")
    # its own session, so that a timeout kills torchrun's workers too, not only torchrun
    run = subprocess.Popen([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                            str(REPO / "tests" / "_ddp_worker.py"), str(tokens.folder), str(out)],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = run.communicate(timeout=300)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    assert run.returncode == 0, stderr[-3000:]
    runs = torch.load(out, weights_only=False)
    for allreduce, ddp in runs.items():
        assert ddp["world"] == 2
        assert torch.allclose(ddp["center"], single.center.weight, rtol=1e-5, atol=1e-6), allreduce
        assert torch.allclose(ddp["context"], single.context.weight, rtol=1e-5, atol=1e-6), allreduce
        assert np.allclose(ddp["history"]["loss"], history["loss"], rtol=1e-6), allreduce
        assert sum(ddp["history"]["allreduce_seconds"]) > 0
    # the dense all-reduce sends both whole tables at every step; the sparse one only the touched rows
    table_bytes = 2 * len(tokens.vocab) * 8 * 4
    dense, sparse = (sum(runs[name]["history"]["allreduce_bytes"]) for name in ("dense", "sparse"))
    assert dense == sum(runs["dense"]["history"]["steps"]) * table_bytes
    assert 0 < sparse < dense
    different, _ = train_skipgram_stream(tokens, num_shards=1, **kwargs)  # the test can fail: data order matters
    assert not torch.allclose(different.center.weight, single.center.weight, atol=1e-6)


def test_command_line_writes_vectors_gensim_reads(corpus, tmp_path):
    from gensim.models import KeyedVectors

    out = tmp_path / "vectors.txt"
    result = subprocess.run([sys.executable, "-m", "d2lmini", "train", "word2vec", "--corpus", str(corpus),
                             "--out", str(out), "--min-count", "2", "--dim", "12", "--epochs", "2", "--quiet",
                             "--stats", str(tmp_path / "stats.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "words/s" in result.stderr
    report = json.loads((tmp_path / "stats.json").read_text())
    assert report["world_size"] == 1 and report["allreduce"] is None and len(report["loss"]) == 2
    assert report["tokens"] == 2 * len(encode_files(corpus, min_count=2)) and report["words_per_second"] > 0
    vectors = KeyedVectors.load_word2vec_format(str(out))
    tokens = encode_files(corpus, min_count=2)
    assert vectors.index_to_key == tokens.vocab.idx_to_token and vectors.vector_size == 12


def test_command_line_glove_in_process(corpus, tmp_path, capsys):
    out = tmp_path / "glove.txt"
    assert cli.main(["train", "glove", "--corpus", str(corpus), "--out", str(out), "--min-count", "1",
                     "--dim", "6", "--epochs", "2", "--memory", "64M", "--quiet"]) == 0
    assert "peak memory" in capsys.readouterr().err
    assert d2lmini.Embeddings.load_word2vec_format(out).vector_size == 6


def test_command_line_errors(tmp_path, isolated_cache, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe\n")
    assert cli.main(["train", "word2vec", "--corpus", str(bad), "--out", str(tmp_path / "o.txt"), "--quiet"]) == 2
    assert "not UTF-8" in capsys.readouterr().err
    assert not (tmp_path / "o.txt").exists()
    with pytest.raises(SystemExit):
        cli.main(["train", "glove", "--corpus", str(bad), "--out", "o", "--memory", "lots"])
    assert "--memory must be a size" in capsys.readouterr().err
    for option, message in ((["--out", str(tmp_path / "no" / "o.txt")], "does not exist; create it first"),
                            (["--out", "o.txt", "--device", "gpu7"], "--device must be")):
        with pytest.raises(SystemExit):
            cli.main(["train", "word2vec", "--corpus", str(bad), *option])
        assert message in capsys.readouterr().err
    # a diverging run ends with a message, not a traceback
    good = tmp_path / "good.txt"
    good.write_text("a b c d a b c d\n" * 50)
    assert cli.main(["train", "word2vec", "--corpus", str(good), "--out", str(tmp_path / "o.txt"), "--min-count",
                     "1", "--lr", "1e30", "--quiet"]) == 2
    assert "error: training diverged at epoch" in capsys.readouterr().err
    assert cli.parse_memory("1.5G") == int(1.5 * 2**30) and cli.parse_memory("512M") == 512 * 2**20


def test_token_folder_damage_is_detected(corpus):
    tokens = encode_files(corpus, min_count=1)
    np.save(tokens.folder / "starts.npy", tokens.starts[:-1])
    with pytest.raises(ValueError, match="damaged"):
        TokenFile.load(tokens.folder)
    again = encode_files(corpus, min_count=1)  # rebuilt
    assert again.starts[-1] == len(again.ids)
