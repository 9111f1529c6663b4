"""Benchmark: GloVe epochs on PTB, seed-style pipeline against d2lmini's.

Both train ``d2lmini.GloVe`` (embedding 100, x_max 100, alpha 0.75, AdaGrad)
on every nonzero entry of the PTB co-occurrence matrix (window 10,
``min_freq=5``), in this one process:

* seed-style, as in d2l's "Pretraining GloVe": the counts as a Python list of
  ``(center, context, count)`` tuples, a ``DataLoader`` that collates batches of
  1,024 of them, learning rate 0.1;
* ours: ``load_data_ptb_glove`` (tensor batches of 65,536 gathered at once),
  ``train_glove`` (which also lets glibc reuse freed memory), learning rate 0.15.

Prints the loss of every epoch for both, the entries/second of each, and last
``speedup=<ratio>`` (ours / seed-style entries per second).

    python benchmarks/glove.py [--epochs 1]
"""

from __future__ import annotations

import argparse
import os

import torch

import d2lmini
from d2lmini import seed_style
from d2lmini.training import reuse_freed_memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} torch_threads={torch.get_num_threads()} epochs={args.epochs}")

    reuse_freed_memory()  # opt in: glibc reuses freed blocks (see its docstring)
    torch.manual_seed(0)
    data_iter, vocab = d2lmini.load_data_ptb_glove(65536, 10)
    model = d2lmini.GloVe(len(vocab), 100, x_max=100, alpha=0.75)
    history = d2lmini.train_glove(model, data_iter, args.epochs, lr=0.15, device="cpu")
    ours = history.examples_per_second
    print(f"ours_losses={','.join(f'{x:.4f}' for x in history['loss'])}")
    print(f"ours_entries_per_second={ours:.0f}")

    torch.manual_seed(0)
    sentences = d2lmini.read_ptb("train")
    corpus = vocab.encode(sentences)
    triples = d2lmini.cooccurrence_reference(corpus, 10)
    losses, seconds = seed_style.glove_seed_style(len(vocab), triples, args.epochs, lr=0.1)
    reference_rate = len(triples) * args.epochs / seconds
    print(f"seed_style_losses={','.join(f'{x:.4f}' for x in losses)}")
    print(f"seed_style_entries_per_second={reference_rate:.0f}")
    print(f"entries={len(triples)}")
    print(f"speedup={ours / reference_rate:.1f}")


if __name__ == "__main__":
    main()
