"""Encoded corpora as arrays: every stage after the vocabulary works on these.

An encoded corpus is a list of sentences, each a sequence of integer ids (what
:meth:`d2lmini.Vocab.encode` returns). :func:`flatten_corpus` lays it out as
one id array plus the sentence of each position, the form in which counting
and sampling become array operations instead of loops over tokens.

A corpus too large for Python lists streams from disk instead:
:func:`encode_files` reads text files (one sentence per line, tokens separated
by whitespace) twice, once to count the vocabulary and once to write the ids of
the kept words into an array on disk, and returns a :class:`TokenFile` whose
ids are memory-mapped. Later stages read it in sentence-aligned chunks
(:meth:`TokenFile.chunks`), so memory holds one chunk, never the corpus.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from . import _checks, _files
from ._checks import Boolean, Integer, rules
from .datasets import cache_dir
from .vocab import Vocab

__all__ = ["flatten_corpus", "corpus_files", "encode_files", "write_token_file", "TokenFile"]

TOKEN_FORMAT = 1  # bump when the layout of a token folder changes


@rules(vocab_size=Integer(1))
def flatten_corpus(corpus: Sequence[Sequence[int]], vocab_size: int) -> tuple[np.ndarray, np.ndarray]:
    """All ids of an encoded corpus in one int64 array, and the sentence each id belongs to.

    Args:
        corpus: sentences as sequences of integer ids in ``[0, vocab_size)``.
        vocab_size: the size of the vocabulary that encoded the corpus.

    Returns:
        ``(ids, sentence)``: two arrays of the corpus's length, int64 and int32.

    Raises:
        TypeError: the corpus holds words or non-integer ids (encode it first).
        ValueError: the corpus is empty, or an id lies outside ``[0, vocab_size)``.
    """
    if isinstance(corpus, (str, bytes)) or not isinstance(corpus, Sequence):
        raise TypeError(f"corpus must be a list of sentences of integer ids, got {type(corpus).__name__}; "
                        "encode the sentences first, e.g. vocab.encode(sentences)")
    try:
        lengths = np.fromiter(map(len, corpus), dtype=np.int64, count=len(corpus))
    except TypeError:
        raise TypeError("corpus must be a list of sentences (sequences of integer ids); "
                        "encode the sentences first, e.g. vocab.encode(sentences)") from None
    if lengths.sum() == 0:
        raise ValueError("corpus is empty: it must hold at least one sentence with one token")
    try:
        flat = np.array(list(chain.from_iterable(corpus)))
    except ValueError:  # ragged: a sentence holds lists
        raise TypeError("corpus must be a list of sentences, each a flat sequence of integer ids") from None
    if flat.dtype.kind in "US":
        raise TypeError("corpus holds words, not ids: encode the sentences first, e.g. vocab.encode(sentences)")
    ids = _checks.id_array("corpus", flat, vocab_size).astype(np.int64, copy=False)
    sentence = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    return ids, sentence


def corpus_files(path: str | os.PathLike) -> list[Path]:
    """The text files of a corpus: ``path`` itself, or every file below the folder ``path``.

    A folder's files are taken in sorted order of their relative paths, at any
    depth; hidden files and folders (names starting with ``.``) are skipped.

    Raises:
        FileNotFoundError: ``path`` does not exist, or the folder holds no file.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"corpus must be a path to a text file or a folder of them, got {type(path).__name__}")
    root = Path(path).expanduser()
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise FileNotFoundError(f"corpus {str(root)!r} does not exist: pass a text file or a folder of text files")
    files = sorted(p for p in root.rglob("*") if p.is_file()
                   and not any(part.startswith(".") for part in p.relative_to(root).parts))
    if not files:
        raise FileNotFoundError(f"corpus folder {str(root)!r} holds no file: put text files in it "
                                "(one sentence per line, tokens separated by whitespace)")
    return files


def _lines(files: Sequence[Path], lowercase: bool) -> Iterator[list[str]]:
    """Every non-empty line of ``files`` as its list of tokens.

    Lines are split on whitespace; a line holding none is skipped (it is no
    sentence). Bytes that are not UTF-8 raise an error that names the file,
    the line and the byte, rather than being replaced silently.
    """
    for file in files:
        with open(file, "rb") as f:
            for number, raw in enumerate(f, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as err:
                    raise ValueError(
                        f"{file}, line {number}: byte 0x{raw[err.start]:02x} at column {err.start + 1} is not "
                        "UTF-8; convert the file to UTF-8 first (e.g. iconv -f latin1 -t utf-8)") from None
                tokens = (line.lower() if lowercase else line).split()
                if tokens:
                    yield tokens


@dataclass(frozen=True)
class TokenFile:
    """A corpus encoded on disk: memory-mapped ids, where each sentence starts, and the vocabulary.

    Attributes:
        folder: where the files lie (``ids.npy``, ``starts.npy``, ``vocab.json``).
        vocab: the words kept, most frequent first, with their counts (no ``<unk>``:
            words below ``min_count`` were dropped, as word2vec and gensim drop them).
        ids: ``(N,)`` int32 memory-mapped ids, sentence after sentence.
        starts: ``(S + 1,)`` int64; sentence ``s`` is ``ids[starts[s]:starts[s + 1]]``.
    """

    folder: Path
    vocab: Vocab
    ids: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def num_sentences(self) -> int:
        return len(self.starts) - 1

    @rules(count=Integer(1))
    def shard(self, index: int, count: int) -> tuple[int, int]:
        """Token range ``[start, stop)`` of shard ``index`` of ``count``: contiguous, sentence-aligned, near-equal."""
        index = _checks.integer("index", index, 0, count - 1)
        cut = np.searchsorted(self.starts, np.arange(count + 1) * len(self) / count, side="left")
        return int(self.starts[min(cut[index], self.num_sentences)]), int(self.starts[min(cut[index + 1],
                                                                                         self.num_sentences)])

    @rules(max_tokens=Integer(1))
    def chunk_bounds(self, max_tokens: int, start: int = 0, stop: int | None = None) -> list[tuple[int, int]]:
        """Token ranges that cut ``[start, stop)`` into whole sentences, at most ``max_tokens`` tokens each
        (more when one sentence is longer). ``start`` and ``stop`` must fall on sentence boundaries
        (e.g. from :meth:`shard`)."""
        stop = len(self) if stop is None else stop
        first, last = np.searchsorted(self.starts, [start, stop])
        if first > self.num_sentences or last > self.num_sentences or self.starts[first] != start \
                or self.starts[last] != stop:
            raise ValueError(f"start={start} and stop={stop} must fall on sentence boundaries")
        bounds, s = [], first
        while s < last:
            # the last sentence that still ends within max_tokens of this chunk's start (at least one)
            e = max(s + 1, int(np.searchsorted(self.starts, self.starts[s] + max_tokens, side="right")) - 1)
            e = min(e, last)
            bounds.append((int(self.starts[s]), int(self.starts[e])))
            s = e
        return bounds

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """The whole sentences of tokens ``[start, stop)`` as ``(ids, sentence)`` arrays like
        :func:`flatten_corpus`'s: a copy in memory, int64 ids and each token's sentence number."""
        first, last = np.searchsorted(self.starts, [start, stop])
        sentence = np.repeat(np.arange(first, last, dtype=np.int64), np.diff(self.starts[first:last + 1]))
        return np.asarray(self.ids[start:stop], dtype=np.int64), sentence

    def chunks(self, max_tokens: int, start: int = 0, stop: int | None = None
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """:meth:`read` of each range of :meth:`chunk_bounds`, one at a time."""
        for lo, hi in self.chunk_bounds(max_tokens, start, stop):
            yield self.read(lo, hi)

    @classmethod
    def load(cls, folder: str | os.PathLike) -> TokenFile:
        """Open a token folder written by :func:`encode_files` or :func:`write_token_file`."""
        folder = Path(folder)
        meta = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        vocab = Vocab.from_tokens(meta["words"], meta["counts"], unk_token=None)
        ids = np.load(folder / "ids.npy", mmap_mode="r")
        starts = np.load(folder / "starts.npy")
        if ids.dtype != np.int32 or starts[-1] != len(ids) or meta.get("tokens") != len(ids):
            raise ValueError(f"token folder {folder} is damaged (its ids and sentence starts disagree); delete it")
        return cls(folder, vocab, ids, starts)


@rules(num_tokens=Integer(1))
def write_token_file(folder: str | os.PathLike, vocab: Vocab, sentences: Iterable[np.ndarray],
                     num_tokens: int) -> TokenFile:
    """Write encoded sentences (id arrays, in any number of pieces) as a :class:`TokenFile` in ``folder``.

    ``num_tokens`` is the total; the ids go straight into a memory-mapped file of
    that size. Everything is written under a temporary name and renamed into
    place, so a killed process leaves no half-written folder behind; when another
    process has written the same folder meanwhile, its copy is kept.
    """
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a d2lmini.Vocab, got {type(vocab).__name__}")
    folder = Path(folder)
    parent = _files.make_folder(folder.parent)
    _files.clean_stale(parent, folder.name)
    tmp = _files.temp_path(parent, folder.name, suffix=".tmp")
    tmp.mkdir()
    try:
        ids = np.lib.format.open_memmap(tmp / "ids.npy", mode="w+", dtype=np.int32, shape=(num_tokens,))
        starts, at = [0], 0
        for sentence in sentences:
            n = len(sentence)
            if at + n > num_tokens:
                raise ValueError(f"the sentences hold more than num_tokens={num_tokens} tokens")
            ids[at:at + n] = sentence
            at += n
            starts.append(at)
        if at != num_tokens:
            raise ValueError(f"the sentences hold {at} tokens, not num_tokens={num_tokens}")
        ids.flush()
        del ids
        np.save(tmp / "starts.npy", np.asarray(starts, dtype=np.int64))
        meta = {"format": TOKEN_FORMAT, "tokens": num_tokens, "words": vocab.idx_to_token,
                "counts": [int(c) for c in vocab.counts]}
        (tmp / "vocab.json").write_text(json.dumps(meta), encoding="utf-8")
        _files.follow_umask(tmp)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "vocab.json").is_file():  # not a finished copy from another process
                raise
    finally:
        _files.remove(tmp)
    return TokenFile.load(folder)


@rules(min_count=Integer(1), lowercase=Boolean())
def encode_files(path: str | os.PathLike, min_count: int = 5, lowercase: bool = False,
                 progress: Callable[[int], None] | None = None) -> TokenFile:
    """Stream a corpus (a text file or a folder of them) into a memory-mapped :class:`TokenFile`.

    Rules, the same as word2vec's and gensim's: a line is a sentence and
    whitespace separates tokens; empty lines are skipped; tokens seen fewer than
    ``min_count`` times are dropped (the vocabulary has no ``<unk>``), and so are
    sentences left empty. Bytes that are not UTF-8 raise an error naming the file
    and line. The result is cached under ``$D2LMINI_CACHE/corpora``, keyed by the
    files' paths, sizes and modification times and by the options, so a second
    call reads nothing but the cache.

    Args:
        progress: called with the number of tokens read, after every 100,000 lines
            of each pass (e.g. a progress bar's ``update``).

    Raises:
        ValueError: the corpus holds no token, no word reaches ``min_count``, or a
            byte is not UTF-8.
    """
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable as progress(tokens), got {progress!r}")
    files = corpus_files(path)
    stamp = [[str(f.resolve()), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    key = hashlib.sha256(json.dumps([TOKEN_FORMAT, stamp, min_count, lowercase]).encode()).hexdigest()[:20]
    folder = cache_dir() / "corpora" / key
    if (folder / "vocab.json").is_file():
        try:
            return TokenFile.load(folder)
        except (ValueError, OSError, KeyError, json.JSONDecodeError):
            _files.remove(folder)  # damaged: written again below
    counts: Counter = Counter()
    for number, words in enumerate(_lines(files, lowercase), 1):
        counts.update(words)
        if progress is not None and number % 100_000 == 0:
            progress(sum(counts.values()))
    if not counts:
        raise ValueError(f"corpus {str(path)!r} holds no token: every line is empty")
    kept = sorted(((w, c) for w, c in counts.items() if c >= min_count), key=lambda wc: -wc[1])
    if not kept:
        raise ValueError(f"no word of corpus {str(path)!r} occurs min_count={min_count} times (the most frequent, "
                         f"{counts.most_common(1)[0][0]!r}, occurs {counts.most_common(1)[0][1]}); "
                         "lower min_count")
    vocab = Vocab.from_tokens([w for w, _ in kept], [c for _, c in kept], unk_token=None)
    index = vocab.token_to_idx

    def sentences() -> Iterator[np.ndarray]:
        read = 0
        for number, words in enumerate(_lines(files, lowercase), 1):
            ids = [i for i in map(index.get, words) if i is not None]
            read += len(words)
            if progress is not None and number % 100_000 == 0:
                progress(read)
            if ids:
                yield np.array(ids, dtype=np.int32)

    return write_token_file(folder, vocab, sentences(), sum(c for _, c in kept))
