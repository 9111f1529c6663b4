"""Benchmark: the reference co-occurrence loop against the vectorised counter.

PTB train, ``min_freq=5``, window 10, both timed in this one process. Prints
``key=value`` lines; the last one is ``speedup=<ratio>`` (best time of the
reference / best time of the vectorised counter). Peak memory of the
vectorised counter is measured with ``tracemalloc`` in a separate call (tracing
slows Python code, so it is not on while timing).

    python benchmarks/cooccurrence.py [--window 10] [--min-freq 5] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
import tracemalloc

import numpy as np

import d2lmini


def best_of(repeats: int, fn):
    """Run ``fn`` ``repeats`` times; return (all times, last result)."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return times, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=int, default=10)
    parser.add_argument("--min-freq", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5, help="runs of the vectorised counter")
    parser.add_argument("--reference-repeats", type=int, default=2)
    args = parser.parse_args()

    sentences = d2lmini.read_ptb("train")
    vocab = d2lmini.Vocab(sentences, min_freq=args.min_freq)
    corpus = vocab.encode(sentences)
    n = len(vocab)
    print(f"corpus=ptb.train tokens={sum(map(len, corpus))} vocab={n} window={args.window}")
    print(f"cpus={os.cpu_count()}")

    fast_times, matrix = best_of(args.repeats, lambda: d2lmini.cooccurrence(corpus, args.window, n))
    ref_times, triples = best_of(args.reference_repeats, lambda: d2lmini.cooccurrence_reference(corpus, args.window))

    rows, cols, vals = (np.array(column) for column in zip(*triples))
    rel = np.abs(np.asarray(matrix[rows, cols]).ravel() - vals) / vals
    equal = matrix.nnz == len(triples) and rel.max() < 1e-12
    print(f"nonzero={matrix.nnz} reference_nonzero={len(triples)} "
          f"max_relative_difference={rel.max():.2e} equal={equal}")
    if not equal:
        raise SystemExit("the vectorised counter disagrees with the reference")
    del triples, rows, cols, vals, rel

    tracemalloc.start()
    d2lmini.cooccurrence(corpus, args.window, n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    print(f"reference_seconds={min(ref_times):.3f} runs={','.join(f'{t:.2f}' for t in ref_times)}")
    print(f"vectorised_seconds={min(fast_times):.3f} first_call_seconds={fast_times[0]:.3f} "
          f"runs={','.join(f'{t:.2f}' for t in fast_times)}")
    print(f"vectorised_peak_mib={peak / 2**20:.0f}")
    print(f"process_max_rss_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    print(f"first_call_speedup={min(ref_times) / fast_times[0]:.1f}")
    print(f"speedup={min(ref_times) / min(fast_times):.1f}")


if __name__ == "__main__":
    main()
