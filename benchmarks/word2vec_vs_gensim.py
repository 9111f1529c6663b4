"""Benchmark: time to quality of d2lmini's fast skip-gram trainer against gensim's Word2Vec, on one machine.

Both train on PTB's training sentences in this one process with the same
hyperparameters (``d2lmini.peers.PTB_SETTINGS``: skip-gram with negative
sampling, ``min_count=10``, window 5, 5 noise words, dimension 100,
subsampling 1e-4), one worker thread per CPU each (torch limited to one
thread per Hogwild worker). gensim runs 5, 10 and 20 epochs; ours runs
``--epochs`` epochs and is scored after every one. Times are cumulative wall
seconds including data preparation (and, with ``--compile``, the
compilation of our block step, which in our runs on a 2-core CPU did not pay
for itself within 10 PTB epochs); scores are Spearman correlations on WordSim-353 and
SimLex-999 over the pairs all models can answer (see ``d2lmini.peers``).

Prints a table, the seconds our trainer spent inside its epochs (without the
vocabulary, the encoding and its setup, e.g. starting CUDA), writes a
time-to-quality figure, prints peak memory, and ends with
``speedup_vs_gensim=<r>``: over gensim's three points, the minimum of gensim's
time divided by the time at which ours first reaches at least that point's
WordSim-353 and SimLex-999 (0 when it never does). ``--gensim-by-epoch``
adds a control: one 20-epoch gensim training, scored after every epoch as
ours is, raced against the same three points (``gensim_self_speedup=<r>``):
against the 20-epoch point it compares one training with itself, against
the others it shows what being scored after every epoch is worth.
``--json PATH`` also writes every figure of the run, with the machine it ran
on, for pages that report a run made elsewhere (the performance appendix's
GPU section).

    python benchmarks/word2vec_vs_gensim.py [--seed 0] [--epochs 10] [--figure PATH] [--device cpu] [--compile]
                                            [--gensim-by-epoch] [--json PATH]   (--help lists the others)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
from pathlib import Path

import torch

import d2lmini
from d2lmini import _files, peers

GENSIM_EPOCHS = (5, 10, 20)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seeds both trainers (default 0)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of our trainer (default 10)")
    parser.add_argument("--figure", default="word2vec_vs_gensim.png", help="where to write the figure")
    parser.add_argument("--device", default="cpu", help="device of our trainer (default cpu)")
    parser.add_argument("--compile", action="store_true",
                        help="run our block step through torch.compile (its compilation is timed too)")
    parser.add_argument("--lr", type=float, help="our starting learning rate (default: the trainer's)")
    parser.add_argument("--group-size", type=int, help="pairs sharing noise words (default: the trainer's)")
    parser.add_argument("--block-size", type=int, help="pairs per SGD block (default: the trainer's)")
    parser.add_argument("--no-cuda-graph", action="store_true", help="on CUDA, launch each block's kernels one by one")
    parser.add_argument("--gensim-by-epoch", action="store_true",
                        help=f"control: also race one {max(GENSIM_EPOCHS)}-epoch gensim training, scored after "
                             "every epoch, against the same gensim points (prints gensim_self_speedup)")
    parser.add_argument("--json", type=Path, help="also write the run's figures to this JSON file")
    args = parser.parse_args()
    if args.json is not None and not args.json.parent.is_dir():
        parser.error(f"--json: folder {str(args.json.parent)!r} does not exist; create it or choose another path")
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # one core per Hogwild worker, as gensim runs one thread per worker
    d2lmini.training.reuse_freed_memory()  # opt in: glibc keeps freed blocks for the next step
    print(f"cpus={os.cpu_count()} torch_threads={torch.get_num_threads()} device={args.device} "
          f"seed={args.seed} epochs={args.epochs} compile={args.compile} cuda_graph={not args.no_cuda_graph}")
    sentences = d2lmini.read_ptb("train")

    options = {"compile": args.compile, "cuda_graph": not args.no_cuda_graph}
    tuned = (("lr", args.lr), ("group_size", args.group_size), ("block_size", args.block_size))
    options.update({k: v for k, v in tuned if v is not None})
    ours = peers.fast_word2vec_by_epoch(sentences, args.epochs, seed=args.seed, device=args.device, **options)
    gensim = [peers.gensim_word2vec(sentences, epochs, seed=args.seed) for epochs in GENSIM_EPOCHS]
    result = peers.race(ours, gensim)
    print(f"common vocabulary: {result.common_words:,} words; pairs scored: "
          f"WordSim-353 {result.coverage['wordsim353_coverage']:.0%}, "
          f"SimLex-999 {result.coverage['simlex999_coverage']:.0%}")
    print(result.table())
    print("ours, seconds inside the trainer's epochs: "
          + ", ".join(f"{p.epochs} epochs {p.training_seconds:.2f}" for p in ours))
    control = None
    if args.gensim_by_epoch:
        # The criterion's own noise: what the race makes of gensim itself, observed as ours is.
        by_epoch = peers.gensim_word2vec_by_epoch(sentences, max(GENSIM_EPOCHS), seed=args.seed)
        control = peers.race(by_epoch, gensim)
        print(control.table())
        print(f"gensim_self_speedup={control.speedup:.2f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    result.plot(axes)
    fig.tight_layout()
    fig.savefig(args.figure, dpi=120)
    print(f"figure={args.figure}")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak_memory_mib={peak_mib:.0f}")
    if args.json is not None:
        record = {
            "command": " ".join(["python", *sys.argv]),
            "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                        "torch": torch.__version__},
            "common_words": result.common_words,
            "points": [{"trainer": p.trainer, "epochs": p.epochs, "seconds": p.seconds,
                        "training_seconds": p.training_seconds, **p.scores} for p in result.gensim + result.ours],
            "ratios": result.ratios,
            "peak_memory_mib": peak_mib,
            "speedup_vs_gensim": result.speedup,
        }
        if control is not None:
            record["gensim_by_epoch"] = {
                "points": [{"epochs": p.epochs, "seconds": p.seconds, **p.scores} for p in control.ours],
                "ratios": control.ratios, "gensim_self_speedup": control.speedup}
        _files.write_text(args.json, json.dumps(record, indent=1) + "\n")
        print(f"json={args.json}")
    print(f"speedup_vs_gensim={result.speedup:.2f}")


if __name__ == "__main__":
    main()
