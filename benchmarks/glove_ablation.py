"""Benchmark: which training setting, if any, explains GloVe's low scores on PTB.

Trains ``d2lmini.zoo.glove_ptb`` with the GloVe chapter's configuration and with
one setting changed at a time (epochs, learning rate, window, ``x_max``,
``alpha``, ``min_freq``), and scores each run's ``v + u``, ``v`` and ``u`` on
WordSim-353 and SimLex-999 with 95% bootstrap intervals, every run on the pairs
that all runs cover. Runs go to a fresh cache unless ``D2LMINI_CACHE`` says
otherwise. The GloVe chapter tests the other suspect, the matrix factorised.

    python benchmarks/glove_ablation.py [--seed 0]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from d2lmini import Embeddings, evaluation, zoo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    base = zoo.GloVeConfig(seed=args.seed)
    variants = {
        "chapter's configuration": base,
        "30 epochs": dataclasses.replace(base, num_epochs=30),
        "lr 0.05": dataclasses.replace(base, lr=0.05),
        "lr 0.5": dataclasses.replace(base, lr=0.5),
        "window 5": dataclasses.replace(base, window_size=5),
        "x_max 10": dataclasses.replace(base, x_max=10.0),
        "alpha 1": dataclasses.replace(base, alpha=1.0),
        "min_freq 10": dataclasses.replace(base, min_freq=10),
    }
    vectors = {}
    for name, config in variants.items():
        start = time.perf_counter()
        trained = zoo.glove_ptb(config)
        model, vocab = trained.model, trained.vocab
        vectors[f"{name}, v + u"] = trained.embeddings
        vectors[f"{name}, v"] = Embeddings.from_vocab(vocab, model.center.weight.detach().cpu().numpy())
        vectors[f"{name}, u"] = Embeddings.from_vocab(vocab, model.context.weight.detach().cpu().numpy())
        loss = trained.info["epochs"][-1]["loss"]
        print(f"trained {name}: {time.perf_counter() - start:.0f} s, final loss {loss:.4f}",
              flush=True)
    restricted = evaluation.common_vocabulary(*vectors.values())
    print(f"\n{'run':<32} {'WordSim-353 [95%]':>24} {'SimLex-999 [95%]':>24}")
    for name, run in zip(vectors, restricted):
        r = evaluation.similarity_scores(run, intervals=True)
        cells = [f"{r[f'{k}_spearman']:.3f} [{r[f'{k}_interval'][0]:.3f}, {r[f'{k}_interval'][1]:.3f}]"
                 for k in ("wordsim353", "simlex999")]
        print(f"{name:<32} {cells[0]:>24} {cells[1]:>24}")


if __name__ == "__main__":
    main()
