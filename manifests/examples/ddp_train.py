"""A PyTorch DDP training script for the `command` job kind (docs/your-own-code.md, docs/python.md).

Runs as every member of the gang: torch.distributed reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT from the
environment the worker sets. It trains a small next-token model on the system's data stream read through the
Python SDK (`llmops.data`: this rank's share of the one global order), reports its loss with `llmops.report`
(`@ops` lines on stdout), checkpoints the model, the optimizer and the stream's state to OPS_CHECKPOINT_DIR (rank 0
writes, atomically) and, when the gang is restarted after a member died, resumes from the newest checkpoint: the
same weights and the very next samples. Needs torch and the `llmops` package (with LLMOPS_STREAM_LIBRARY).

Settings (environment): DATA_DIR (a token dataset directory every worker reads, required), STEPS (default 60),
CHECKPOINT_EVERY (10), SEQUENCE_LENGTH (16), BATCH_SIZE (8 per rank), STEP_SECONDS (a pause per step, default 0,
so a test has time to kill a member mid-run).
"""

import json
import os

# Written first (before the slow `import torch`), so whoever watches the gang knows at once that this member runs.
checkpoint_dir = os.environ["OPS_CHECKPOINT_DIR"]
restart = int(os.environ.get("OPS_RESTART_COUNT", "0"))
with open(os.path.join(checkpoint_dir, f"pid-rank{os.environ['RANK']}-restart{restart}"), "w") as f:
    f.write(str(os.getpid()))

import time  # noqa: E402

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

from llmops import report  # noqa: E402
from llmops.data import Stream  # noqa: E402


def save(path, state):
    """Write to a temporary file, then rename: a member killed mid-write leaves the previous checkpoint whole."""
    temporary = path + ".tmp"
    torch.save(state, temporary)
    os.replace(temporary, path)


def main():
    steps = int(os.environ.get("STEPS", "60"))
    every = int(os.environ.get("CHECKPOINT_EVERY", "10"))
    pause = float(os.environ.get("STEP_SECONDS", "0"))
    data = os.environ["DATA_DIR"]
    with open(os.path.join(data, "index.json")) as f:
        vocabulary = json.load(f)["vocabularySize"]
    dist.init_process_group("gloo")  # env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    rank, world = dist.get_rank(), dist.get_world_size()

    torch.manual_seed(0)  # the same initial weights on every rank
    model = DistributedDataParallel(nn.Sequential(nn.Embedding(vocabulary, 32), nn.Linear(32, vocabulary)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    path = os.path.join(checkpoint_dir, "checkpoint.pt")
    start, stream_state = 0, None
    if os.path.exists(path):
        state = torch.load(path)
        model.module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start, stream_state = state["step"], state["stream"]
        print(f"rank {rank}: resumed from step {start} (restart {restart})", flush=True)
        if rank == 0:
            report.metric("resumed_from_step", start, step=restart)

    # This rank's batches of the one global order (rank and world size from RANK / WORLD_SIZE); the state saved
    # with the checkpoint is the same on every rank, so a restarted gang reads on exactly where it stopped.
    stream = Stream(
        [data], sequence_length=int(os.environ.get("SEQUENCE_LENGTH", "16")),
        batch_size=int(os.environ.get("BATCH_SIZE", "8")), seed=1234, state=stream_state)
    for step in range(start, steps):
        batch = stream.next_batch()
        tokens = batch.torch()  # (B, T + 1) int64: inputs tokens[:, :-1], targets tokens[:, 1:]
        logits = model(tokens[:, :-1])
        loss = nn.functional.cross_entropy(logits.reshape(-1, vocabulary), tokens[:, 1:].reshape(-1))
        optimizer.zero_grad()
        loss.backward()  # DDP averages the gradients over the gang here
        optimizer.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        mean /= world
        if rank == 0:
            report.metrics({"loss": mean.item(), "first_sample": batch.positions[0]}, step=step + 1)
            report.progress((step + 1) / steps, step=step + 1, total_steps=steps)
            if (step + 1) % every == 0 or step + 1 == steps:
                save(path, {"model": model.module.state_dict(), "optimizer": optimizer.state_dict(),
                            "step": step + 1, "stream": batch.state_after.to_dict()})
                with open(os.path.join(checkpoint_dir, "checkpoint.step"), "w") as f:
                    f.write(str(step + 1))
        if pause:
            time.sleep(pause)

    stream.close()
    if rank == 0:
        report.artifact(path, name="checkpoint-final", kind="checkpoint", metadata={"step": steps})
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
