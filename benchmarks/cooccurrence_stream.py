"""Benchmark: co-occurrence counts of a corpus on disk, chunk by chunk under a memory limit.

Writes a synthetic corpus of ``--tokens`` tokens (default 50 million) drawn from
PTB's unigram distribution (``min_freq=5``), in sentences whose lengths are
drawn from PTB's, as a memory-mapped token file; then, in a fresh process,
counts its co-occurrences (window 10, weighted 1/d) with
:func:`d2lmini.cooccurrence.cooccurrence_stream`'s two stages under ``--memory`` and
prints the time, the nonzero entries and the process's peak resident memory while
counting and once the returned matrix is built.

    python benchmarks/cooccurrence_stream.py [--tokens 50000000] [--memory 1G] [--window 10]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def write_corpus(folder: str, tokens: int, seed: int) -> None:
    import d2lmini
    from d2lmini.corpus import write_token_file

    sentences = d2lmini.read_ptb("train")
    vocab = d2lmini.Vocab(sentences, min_freq=5, unk_token=None)
    p = vocab.counts / vocab.counts.sum()
    lengths = np.array([len(s) for s in sentences])
    rng = np.random.default_rng(seed)
    sizes = rng.choice(lengths, size=2 * tokens // int(lengths.mean()) + 10)
    sizes = sizes[:np.searchsorted(np.cumsum(sizes), tokens) + 1]
    sizes[-1] -= sizes.sum() - tokens

    def pieces():  # a million sentences' worth at a time, so that writing needs little memory
        for i in range(0, len(sizes), 100_000):
            part = sizes[i:i + 100_000]
            ids = rng.choice(len(p), size=int(part.sum()), p=p).astype(np.int32)
            yield from np.split(ids, np.cumsum(part)[:-1])

    write_token_file(folder, vocab, pieces(), tokens)


def peak() -> float:
    """This process's peak resident memory in MiB: ``VmHWM``, which starts afresh at ``exec`` (``ru_maxrss``
    carries over the parent's peak across ``fork`` and ``exec``)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def count(folder: str, window: int, memory: int) -> None:
    from d2lmini.cooccurrence import PairCounter
    from d2lmini.corpus import TokenFile

    baseline = peak()
    tokens = TokenFile.load(folder)
    start = time.perf_counter()
    # cooccurrence_stream's two stages, timed and measured apart: counting, then the returned matrix
    counter = PairCounter(len(tokens.vocab), window, "harmonic", memory)
    for ids, sentence in tokens.chunks(counter.chunk_tokens):
        counter.add(ids, sentence)
    counted, counting_peak = time.perf_counter() - start, peak()
    matrix = counter.matrix()
    seconds = time.perf_counter() - start
    counter.close()
    print(f"tokens={len(tokens)} vocab={len(tokens.vocab)} window={window} memory_limit_mib={memory / 2**20:.0f}")
    print(f"spilled_runs={len(counter.spilled)} nonzero={matrix.nnz} "
          f"matrix_mib={(matrix.data.nbytes + matrix.indices.nbytes) / 2**20:.0f}")
    print(f"counting_seconds={counted:.1f} seconds={seconds:.1f} tokens_per_second={len(tokens) / seconds:,.0f}")
    print(f"baseline_rss_mib={baseline:.0f} (this process, torch and d2lmini imported)")
    print(f"peak_rss_while_counting_mib={counting_peak:.0f}")
    print(f"peak_rss_mib={peak():.0f} (with the returned matrix built)")


def main() -> None:
    from d2lmini.cli import parse_memory

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=50_000_000)
    parser.add_argument("--memory", type=parse_memory, default=parse_memory("1G"))
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", metavar="FOLDER", help=argparse.SUPPRESS)  # the child process's part
    args = parser.parse_args()
    if args.count:
        count(args.count, args.window, args.memory)
        return
    with tempfile.TemporaryDirectory(prefix="d2lmini-bench-") as tmp:
        folder = os.path.join(tmp, "tokens")
        start = time.perf_counter()
        write_corpus(folder, args.tokens, args.seed)
        print(f"wrote the synthetic corpus in {time.perf_counter() - start:.1f} s")
        subprocess.run([sys.executable, __file__, "--count", folder, "--window", str(args.window),
                        "--memory", str(args.memory)], check=True)


if __name__ == "__main__":
    main()
