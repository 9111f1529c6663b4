"""Benchmark: time to quality of d2lmini's fast skip-gram trainer against gensim's Word2Vec, on one CPU.

Both train on PTB's training sentences in this one process with the same
hyperparameters: skip-gram with negative sampling, ``min_count=10``, window 5,
5 noise words, dimension 100, subsampling 1e-4. gensim runs 5, 10 and 20
epochs with one worker thread per CPU; ours runs ``--epochs`` epochs, also
with one Hogwild worker per CPU (torch limited to one thread each), and is
scored after every one. Times are cumulative wall seconds including data
preparation (building the vocabulary and encoding; reading the file is shared
and not counted), excluding scoring. Scores are Spearman correlations on
WordSim-353 and SimLex-999, every model restricted to the words all models
share, so that all are scored on the same pairs.

Prints a table, writes a time-to-quality figure, prints peak memory, and ends
with ``speedup_vs_gensim=<r>``: over gensim's three points, the minimum of
gensim's time divided by the time at which ours first reaches at least that
point's WordSim-353 and SimLex-999 (0 when it never does).

    python benchmarks/word2vec_vs_gensim.py [--seed 0] [--epochs 10] [--figure PATH] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import torch

import d2lmini
from d2lmini import evaluation
from d2lmini.fast_skipgram import train_skipgram_fast

GENSIM_EPOCHS = (5, 10, 20)
SETTINGS = {"min_count": 10, "window": 5, "negative": 5, "dim": 100, "sample": 1e-4}


def gensim_run(sentences, epochs: int, seed: int):
    from gensim.models import Word2Vec

    start = time.perf_counter()
    model = Word2Vec(sentences, sg=1, negative=SETTINGS["negative"], window=SETTINGS["window"],
                     vector_size=SETTINGS["dim"], min_count=SETTINGS["min_count"], sample=SETTINGS["sample"],
                     epochs=epochs, workers=os.cpu_count() or 1, seed=seed)
    seconds = time.perf_counter() - start
    return seconds, d2lmini.Embeddings(model.wv.index_to_key, model.wv.vectors)


def ours_run(sentences, epochs: int, seed: int, device: str, **options):
    """Train once, keeping a copy of the vectors after every epoch; returns (cumulative seconds, vectors)."""
    points, outside = [], [0.0]  # outside: seconds spent in the hook, not training
    start = time.perf_counter()
    vocab = d2lmini.Vocab(sentences, min_freq=SETTINGS["min_count"])
    corpus = vocab.encode(sentences)

    def keep(epoch, model, history):
        now = time.perf_counter()
        points.append((now - start - outside[0], d2lmini.Embeddings.from_model(model, vocab)))
        outside[0] += time.perf_counter() - now

    train_skipgram_fast(corpus, vocab, embed_size=SETTINGS["dim"], max_window_size=SETTINGS["window"],
                        num_noise_words=SETTINGS["negative"], num_epochs=epochs, t=SETTINGS["sample"],
                        workers=os.cpu_count() or 1, seed=seed, device=device, on_epoch_end=keep,
                        **options)
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0, help="seeds both trainers (default 0)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of our trainer (default 10)")
    parser.add_argument("--figure", default="word2vec_vs_gensim.png", help="where to write the figure")
    parser.add_argument("--device", default="cpu", help="device of our trainer (default cpu)")
    parser.add_argument("--eager", action="store_true", help="run our block step without torch.compile")
    parser.add_argument("--lr", type=float, help="our starting learning rate (default: the trainer's)")
    parser.add_argument("--group-size", type=int, help="pairs sharing noise words (default: the trainer's)")
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # one core per Hogwild worker, as gensim runs one thread per worker
    d2lmini.training.reuse_freed_memory()  # opt in: glibc keeps freed blocks for the next step
    print(f"cpus={os.cpu_count()} torch_threads={torch.get_num_threads()} device={args.device} "
          f"seed={args.seed} epochs={args.epochs}")
    sentences = d2lmini.read_ptb("train")

    options = {"compile": not args.eager}
    options.update({k: v for k, v in (("lr", args.lr), ("group_size", args.group_size)) if v is not None})
    ours = ours_run(sentences, args.epochs, args.seed, args.device, **options)
    peers = {epochs: gensim_run(sentences, epochs, args.seed) for epochs in GENSIM_EPOCHS}

    everyone = [vectors for _, vectors in ours] + [vectors for _, vectors in peers.values()]
    restricted = evaluation.common_vocabulary(*everyone)
    scores = [evaluation.similarity_scores(v) for v in restricted]
    ours_scores, peer_scores = scores[:len(ours)], dict(zip(GENSIM_EPOCHS, scores[len(ours):]))
    print(f"common vocabulary: {len(restricted[0]):,} words; pairs scored: "
          f"WordSim-353 {scores[0]['wordsim353_coverage']:.0%}, SimLex-999 {scores[0]['simlex999_coverage']:.0%}")

    print(f"{'trainer':<18} {'epochs':>6} {'seconds':>8} {'WS-353':>7} {'SimLex':>7}")
    for epochs, (seconds, _) in peers.items():
        s = peer_scores[epochs]
        print(f"{'gensim':<18} {epochs:>6} {seconds:>8.2f} {s['wordsim353_spearman']:>7.3f} "
              f"{s['simlex999_spearman']:>7.3f}")
    for epoch, ((seconds, _), s) in enumerate(zip(ours, ours_scores), start=1):
        print(f"{'d2lmini fast':<18} {epoch:>6} {seconds:>8.2f} {s['wordsim353_spearman']:>7.3f} "
              f"{s['simlex999_spearman']:>7.3f}")

    ratios = []
    for epochs, (seconds, _) in peers.items():
        target = peer_scores[epochs]
        reached = [t for (t, _), s in zip(ours, ours_scores)
                   if s["wordsim353_spearman"] >= target["wordsim353_spearman"]
                   and s["simlex999_spearman"] >= target["simlex999_spearman"]]
        ratio = seconds / reached[0] if reached else 0.0
        ratios.append(ratio)
        when = f"{reached[0]:.2f} s" if reached else "never"
        print(f"gensim {epochs:>2} epochs ({seconds:.2f} s): ours reaches both scores at {when}; ratio {ratio:.2f}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, title in zip(axes, ("wordsim353_spearman", "simlex999_spearman"), ("WordSim-353", "SimLex-999")):
        ax.plot([t for t, _ in ours], [s[key] for s in ours_scores], "o-", label="d2lmini fast (per epoch)")
        ax.plot([peers[e][0] for e in GENSIM_EPOCHS], [peer_scores[e][key] for e in GENSIM_EPOCHS], "s--",
                label="gensim (5, 10, 20 epochs)")
        ax.set_xlabel("wall seconds, data preparation included")
        ax.set_ylabel(f"Spearman, {title}")
        ax.legend()
    fig.tight_layout()
    fig.savefig(args.figure, dpi=120)
    print(f"figure={args.figure}")
    print(f"peak_memory_mib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
    print(f"speedup_vs_gensim={min(ratios):.2f}")


if __name__ == "__main__":
    main()
