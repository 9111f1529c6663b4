"""Benchmark: word2vec (skip-gram, negative sampling) on PTB, d2l's pipeline against d2lmini's.

Both run end to end in this one process, at d2l's configuration: min_freq 10,
embedding 100, batch 512 centers, window 5, 5 noise words, Adam lr 0.002,
5 epochs, Xavier init.

* reference: d2l's "Pretraining word2vec" pipeline as published: Python loops
  for subsampling, windows and negative sampling, drawn once; padded batches
  collated by ``batchify`` in a DataLoader (d2l's 4 workers, capped at the CPU
  count); ``nn.Embedding`` + ``bmm``; the masked loss;
* ours: ``load_data_ptb`` (vectorised, padding-free) and ``train_skipgram``,
  once with one draw before training (d2l's configuration, compared with the
  reference) and once drawn afresh every epoch (the book's default).

Prints the wall times (data preparation included), the losses (mean over all
epochs, as d2l prints, and the last epoch alone), and last
``speedup=<ratio>``: reference time / ours at d2l's configuration. With gensim
installed, also times gensim's Word2Vec on the same sentences with the same hyperparameters.

    python benchmarks/word2vec.py [--epochs 5] [--skip-reference]
"""

from __future__ import annotations

import argparse
import os
import random
import time

import torch

import d2lmini
from d2lmini import seed_style as reference_loops

EMBED, BATCH, WINDOW, NOISE, LR = 100, 512, 5, 5, 0.002


def reference(epochs: int) -> dict:
    """d2l's pipeline and training loop, as published (PyTorch edition)."""
    random.seed(0)
    torch.manual_seed(0)
    start = time.perf_counter()
    sentences = d2lmini.read_ptb("train")
    vocab = d2lmini.Vocab(sentences, min_freq=10)
    centers, contexts, negatives = reference_loops.skipgram_reference_data(sentences, vocab, WINDOW, NOISE)
    loader = reference_loops.skipgram_padded_loader(centers, contexts, negatives, BATCH)
    prepare = time.perf_counter() - start
    result = reference_loops.skipgram_padded_training(len(vocab), loader, epochs, lr=LR, embed_size=EMBED)
    return {"seconds": time.perf_counter() - start, "prepare_seconds": prepare,
            "loss_all_epochs": result["loss_all_epochs"], "loss_last_epoch": result["loss_last_epoch"],
            "padding_fraction": result["padding_fraction"], "pairs": sum(map(len, contexts))}


def ours(epochs: int, resample: bool) -> dict:
    torch.manual_seed(0)
    start = time.perf_counter()
    data_iter, vocab = d2lmini.load_data_ptb(BATCH, WINDOW, NOISE, seed=0, resample=resample)
    prepare = time.perf_counter() - start
    net = d2lmini.SkipGram(len(vocab), EMBED)
    history = d2lmini.train_skipgram(net, data_iter, epochs, lr=LR, device="cpu")
    return {"seconds": time.perf_counter() - start, "prepare_seconds": prepare, "loss_all_epochs": history.mean_loss,
            "loss_last_epoch": history.epochs[-1]["loss"], "pairs_per_second": history.examples_per_second}


def gensim_word2vec(epochs: int) -> dict | None:
    try:
        from gensim.models import Word2Vec
    except ImportError:
        return None
    sentences = d2lmini.read_ptb("train")
    start = time.perf_counter()
    Word2Vec(sentences, sg=1, negative=5, window=5, vector_size=100, min_count=10, sample=1e-4,
             epochs=epochs, workers=2, seed=0)
    return {"seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--skip-reference", action="store_true")
    args = parser.parse_args()
    print(f"cpus={os.cpu_count()} torch_threads={torch.get_num_threads()} epochs={args.epochs}")
    mine = ours(args.epochs, resample=False)  # d2l's configuration: one draw before training
    print("ours_one_draw " + " ".join(f"{k}={v:.4g}" for k, v in mine.items()))
    fresh = ours(args.epochs, resample=True)
    print("ours_fresh_draw_each_epoch " + " ".join(f"{k}={v:.4g}" for k, v in fresh.items()))
    peer = gensim_word2vec(args.epochs)
    if peer:
        print(f"gensim seconds={peer['seconds']:.4g}")
        print(f"ours_vs_gensim_time_ratio={mine['seconds'] / peer['seconds']:.2f}")
    if args.skip_reference:
        return
    ref = reference(args.epochs)
    print("reference " + " ".join(f"{k}={v:.4g}" for k, v in ref.items()))
    print(f"loss_difference_all_epochs={mine['loss_all_epochs'] - ref['loss_all_epochs']:+.4f}")
    print(f"loss_difference_last_epoch={mine['loss_last_epoch'] - ref['loss_last_epoch']:+.4f}")
    print(f"speedup_fresh_draw_each_epoch={ref['seconds'] / fresh['seconds']:.1f}")
    print(f"speedup={ref['seconds'] / mine['seconds']:.1f}")


if __name__ == "__main__":
    main()
