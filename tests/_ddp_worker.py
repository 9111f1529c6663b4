"""One process of a data-parallel run, launched by torchrun from tests/test_stream.py.

    torchrun --nproc_per_node=N tests/_ddp_worker.py TOKEN_FOLDER OUT.pt

Trains :func:`d2lmini.stream_skipgram.train_skipgram_stream` on the encoded corpus in
TOKEN_FOLDER with gloo, once with the sparse all-reduce and once with the dense one
(one launch for both: starting torchrun costs seconds); process 0 saves both runs'
tables and statistics to OUT.pt.
"""

import sys

import torch
import torch.distributed as dist

from d2lmini.corpus import TokenFile
from d2lmini.stream_skipgram import train_skipgram_stream

if __name__ == "__main__":
    folder, out = sys.argv[1:3]
    torch.set_num_threads(1)
    dist.init_process_group("gloo")
    runs = {}
    for allreduce in ("sparse", "dense"):
        model, history = train_skipgram_stream(TokenFile.load(folder), embed_size=8, max_window_size=3, num_epochs=2,
                                               lr=0.05, t=1.0, batch_tokens=16, allreduce=allreduce, seed=3)
        runs[allreduce] = {"center": model.center.weight.detach(), "context": model.context.weight.detach(),
                           "history": history, "world": dist.get_world_size()}
    if dist.get_rank() == 0:
        torch.save(runs, out)
    dist.destroy_process_group()
