"""The command line: ``python -m d2lmini train word2vec|glove --corpus PATH --out PATH``.

Like word2vec's ``-train``/``-output`` and gensim's scripts, it reads a text
file (or a folder of them: one sentence per line, tokens separated by
whitespace) and writes vectors in the word2vec text format, which gensim's
``KeyedVectors.load_word2vec_format`` reads. The corpus streams from disk
(:func:`~d2lmini.corpus.encode_files`), so it may be larger than memory.

Under ``torchrun --nproc_per_node=N -m d2lmini train word2vec ...`` the
processes train data-parallel (:mod:`d2lmini.stream_skipgram`): gloo on the
CPU, NCCL with ``--device cuda``; process 0 writes the vectors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

__all__ = ["main", "parse_memory"]

EXAMPLES = """examples:
  python -m d2lmini train word2vec --corpus text.txt --out vectors.txt
  python -m d2lmini train glove --corpus corpus_folder/ --out vectors.txt --memory 2G
  torchrun --nproc_per_node=2 -m d2lmini train word2vec --corpus text.txt --out vectors.txt
"""


def parse_memory(text: str) -> int:
    """``"512M"``, ``"4G"`` or a number of bytes, as bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)[bB]?\s*", str(text))
    if not match:
        raise argparse.ArgumentTypeError(f"--memory must be a size such as 512M or 4G, got {text!r}")
    number, unit = float(match[1]), match[2].lower()
    return int(number * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit])


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m d2lmini",
        description="Train word vectors on your own text and write them in the word2vec text format.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="train")
    train = commands.add_parser("train", help="train word2vec (skip-gram) or GloVe vectors",
                                description="Train word vectors; see `train word2vec -h` and `train glove -h`.")
    models = train.add_subparsers(dest="model", required=True, metavar="{word2vec,glove}")
    word2vec = models.add_parser(
        "word2vec", help="skip-gram with negative sampling (sparse SGD; data-parallel under torchrun)",
        description="Skip-gram with negative sampling, word2vec's sparse SGD with a linearly decaying rate.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    glove = models.add_parser(
        "glove", help="GloVe on co-occurrence counts accumulated under a memory limit",
        description="GloVe (AdaGrad) on co-occurrence counts weighted 1/distance, counted in chunks "
                    "under --memory and spilled to disk when they outgrow it, as Stanford's cooccur does.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = {}
    for sub, window, epochs, lr in ((word2vec, 5, 5, 0.025), (glove, 10, 10, 0.05)):
        io = sub.add_argument_group("input and output")
        io.add_argument("--corpus", required=True, metavar="PATH",
                        help="a text file, or a folder of them: one sentence per line, whitespace between tokens "
                             "(UTF-8; empty lines are skipped)")
        io.add_argument("--out", required=True, metavar="PATH",
                        help="where to write the vectors (word2vec text format)")
        io.add_argument("--min-count", type=_positive_int, default=5, metavar="N",
                        help="drop words seen fewer than N times (default: %(default)s)")
        io.add_argument("--lowercase", action="store_true", help="lower-case the text before counting")
        model = sub.add_argument_group("model and training")
        model.add_argument("--dim", type=_positive_int, default=100, metavar="N",
                           help="vector dimension (default: %(default)s)")
        model.add_argument("--window", type=_positive_int, default=window, metavar="N",
                           help="context words on each side (default: %(default)s)")
        model.add_argument("--epochs", type=_positive_int, default=epochs, metavar="N",
                           help="passes over the corpus (default: %(default)s)")
        model.add_argument("--lr", type=float, default=lr, help="starting learning rate (default: %(default)s)")
        model.add_argument("--device", default="cpu", help="cpu, cuda or mps (default: %(default)s)")
        model.add_argument("--seed", type=int, default=0, help="seed of every random draw (default: %(default)s)")
        model.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                           help="PyTorch threads per process (default: PyTorch's choice)")
        model.add_argument("--quiet", action="store_true", help="no progress bar")
        groups[sub] = model
    word2vec, glove = groups[word2vec], groups[glove]
    word2vec.add_argument("--negative", type=_positive_int, default=5, metavar="N",
                          help="noise words per pair (default: %(default)s)")
    word2vec.add_argument("--sample", type=float, default=1e-3, metavar="T",
                          help="subsampling threshold of frequent words (default: %(default)s)")
    word2vec.add_argument("--batch-tokens", type=_positive_int, default=256, metavar="N",
                          help="corpus tokens per step and process (default: %(default)s)")
    word2vec.add_argument("--allreduce", choices=("sparse", "dense"), default=None,
                          help="under torchrun: sum only the touched rows (gloo) or whole tables "
                               "(default: sparse on the CPU, dense with --device cuda, as NCCL needs)")
    word2vec.add_argument("--stats", metavar="PATH",
                          help="also write what the run did (seconds, words/s, loss, all-reduce time) as JSON")
    glove.add_argument("--memory", type=parse_memory, default=parse_memory("1G"), metavar="SIZE",
                       help="memory for counting co-occurrences, e.g. 512M or 4G (default: 1G)")
    glove.add_argument("--x-max", type=float, default=100.0, help="weighting cutoff (default: %(default)s)")
    glove.add_argument("--batch-size", type=_positive_int, default=65536, metavar="N",
                       help="co-occurrence entries per step (default: %(default)s)")
    return parser


def _check_before_work(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse a device that is not there and an output folder that cannot be written, before any work."""
    try:
        device = torch.device(args.device)
    except RuntimeError:
        parser.error(f"--device must be cpu, cuda, cuda:N or mps, got {args.device!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: this PyTorch sees no CUDA GPU; use --device cpu")
    if device.type == "mps" and not torch.backends.mps.is_available():
        parser.error(f"--device {args.device}: Apple's MPS is not available here; use --device cpu")
    for option in ("--out", "--stats"):
        path = getattr(args, option[2:], None)
        if path is None:
            continue
        folder = Path(path).expanduser().absolute().parent
        if not folder.is_dir():
            parser.error(f"{option} {path}: the folder {folder} does not exist; create it first")
        if not os.access(folder, os.W_OK):
            parser.error(f"{option} {path}: the folder {folder} is not writable")


def _bar(total: int | None, desc: str, quiet: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="word", unit_scale=True, disable=quiet, file=sys.stderr,
                dynamic_ncols=True)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``argv`` defaults to ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_before_work(parser, args)
    from .corpus import encode_files
    from .embeddings import Embeddings

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = torch.device(args.device)
    if distributed:
        import torch.distributed as dist

        if args.model != "word2vec":
            raise SystemExit("error: only word2vec trains on several processes; run glove without torchrun")
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        rank = dist.get_rank()
    else:
        rank = 0
    if args.threads:
        torch.set_num_threads(args.threads)
    quiet = args.quiet or rank != 0
    say = (lambda text: print(text, file=sys.stderr)) if rank == 0 else (lambda text: None)
    try:
        started = time.perf_counter()
        if rank == 0:  # process 0 encodes the corpus into the cache; the others then read it
            with _bar(None, "reading corpus (two passes)", quiet) as bar:
                tokens = encode_files(args.corpus, args.min_count, args.lowercase, progress=bar.update)
        if distributed:
            dist.barrier()
            if rank != 0:
                tokens = encode_files(args.corpus, args.min_count, args.lowercase)
        say(f"corpus: {len(tokens):,} tokens in {tokens.num_sentences:,} sentences, vocabulary {len(tokens.vocab):,} "
            f"words (min_count {args.min_count}), read in {time.perf_counter() - started:.1f} s")
        if args.model == "word2vec":
            vectors = _word2vec(args, tokens, device, quiet, say, rank)
        else:
            vectors = _glove(args, tokens, device, quiet, say)
        if rank == 0:
            Embeddings(tokens.vocab.idx_to_token, vectors).save_word2vec_format(args.out)
            say(f"wrote {len(tokens.vocab):,} vectors of dimension {vectors.shape[1]} to {args.out}")
    # bad input, an unwritable path or a diverged run: a message, no traceback
    except (ValueError, TypeError, OSError, ArithmeticError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if distributed and dist.is_initialized():
            dist.destroy_process_group()
    return 0


def _word2vec(args, tokens, device, quiet, say, rank):
    from . import _files
    from .stream_skipgram import train_skipgram_stream

    world = int(os.environ.get("WORLD_SIZE", "1"))
    allreduce = args.allreduce or ("dense" if device.type == "cuda" else "sparse")
    with _bar(len(tokens) * args.epochs, "training", quiet) as bar:
        # process 0 sees its own share; the bar counts the corpus, so scale by the processes
        model, history = train_skipgram_stream(
            tokens, embed_size=args.dim, max_window_size=args.window, num_noise_words=args.negative,
            num_epochs=args.epochs, lr=args.lr, t=args.sample, batch_tokens=args.batch_tokens, allreduce=allreduce,
            seed=args.seed, device=device, progress=lambda n: bar.update(n * world))
    report = _stream_report(history, world)
    say(f"trained {args.epochs} epochs in {history.seconds:.1f} s on {world} process(es): "
        f"{report['words_per_second']:,.0f} words/s, loss per pair {report['loss'][0]:.3f} -> {report['loss'][-1]:.3f}"
        + (f", {report['allreduce_seconds']:.1f} s in all-reduce" if world > 1 else ""))
    if args.stats and rank == 0:
        report |= {"threads": torch.get_num_threads(), "allreduce": allreduce if world > 1 else None,
                   "batch_tokens": args.batch_tokens}
        _files.write_text(Path(args.stats).expanduser(), json.dumps(report, indent=1) + "\n")
    return model.center.weight.detach().cpu().numpy()


def _stream_report(history, world: int) -> dict:
    """The ``--stats`` report of a word2vec run: per-epoch loss and seconds, totals over all processes."""
    tokens = sum(history["tokens"])
    return {"loss": history["loss"], "seconds": history["seconds"], "tokens": tokens, "pairs": history.examples,
            "world_size": world, "steps": sum(history["steps"]),
            "allreduce_seconds": sum(history["allreduce_seconds"]), "allreduce_bytes": sum(history["allreduce_bytes"]),
            "words_per_second": tokens / max(history.seconds, 1e-12)}


def _glove(args, tokens, device, quiet, say):
    import numpy as np

    from .batching import batch_loader
    from .cooccurrence import cooccurrence_stream
    from .models import GloVe
    from .training import train_glove

    started = time.perf_counter()
    with _bar(len(tokens), "counting co-occurrences", quiet) as bar:
        counts = cooccurrence_stream(tokens, args.window, memory=args.memory, progress=bar.update).tocoo()
    say(f"co-occurrences: {counts.nnz:,} nonzero entries in {time.perf_counter() - started:.1f} s, "
        f"peak memory of the process {_peak_mib():,.0f} MiB (--memory {args.memory / 2**20:,.0f} MiB)")
    loader = batch_loader(torch.from_numpy(counts.row.astype(np.int64)), torch.from_numpy(counts.col.astype(np.int64)),
                          torch.from_numpy(counts.data.astype(np.float32)), batch_size=args.batch_size,
                          seed=args.seed)
    with torch.random.fork_rng():  # seed the model's initialisation without touching the caller's generator
        torch.manual_seed(args.seed)
        model = GloVe(len(tokens.vocab), args.dim, x_max=args.x_max)
    with _bar(counts.nnz * args.epochs, "training", quiet) as bar:
        bar.unit = "pair"
        history = train_glove(model, loader, args.epochs, lr=args.lr, device=device,
                              callback=lambda progress, _: bar.update(int(counts.nnz * progress) - bar.n))
    say(f"trained {args.epochs} epochs in {history.seconds:.1f} s, loss {history['loss'][0]:.4f} -> "
        f"{history['loss'][-1]:.4f}")
    return model.word_vectors().cpu().numpy()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
