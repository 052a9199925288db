"""A PyTorch DDP training script for the `command` job kind (docs/your-own-code.md).

Runs as every member of the gang: torch.distributed reads RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT from the
environment the worker sets. It reports its loss with `@ops` lines on stdout, checkpoints to OPS_CHECKPOINT_DIR
(rank 0 writes, atomically) and, when the gang is restarted after a member died, resumes from the newest
checkpoint. Only the standard library and torch are needed.

Settings (environment): STEPS (default 60), CHECKPOINT_EVERY (10), STEP_SECONDS (a pause per step, default 0,
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


def report(**fields):
    """One report line: a metric, progress or an artifact (see docs/your-own-code.md)."""
    print("@ops " + json.dumps(fields), flush=True)


def save(path, state):
    """Write to a temporary file, then rename: a member killed mid-write leaves the previous checkpoint whole."""
    temporary = path + ".tmp"
    torch.save(state, temporary)
    os.replace(temporary, path)


def main():
    steps = int(os.environ.get("STEPS", "60"))
    every = int(os.environ.get("CHECKPOINT_EVERY", "10"))
    pause = float(os.environ.get("STEP_SECONDS", "0"))
    dist.init_process_group("gloo")  # env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    rank, world = dist.get_rank(), dist.get_world_size()

    torch.manual_seed(0)  # the same initial weights on every rank
    model = DistributedDataParallel(nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    path = os.path.join(checkpoint_dir, "checkpoint.pt")
    start = 0
    if os.path.exists(path):
        state = torch.load(path)
        model.module.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        start = state["step"]
        print(f"rank {rank}: resumed from step {start} (restart {restart})", flush=True)
        if rank == 0:
            report(metric="resumed_from_step", step=restart, value=start)

    # Synthetic regression data, a different stream per rank and step (so a resumed run sees what it would have).
    target = torch.linspace(-1, 1, 8)
    for step in range(start, steps):
        generator = torch.Generator().manual_seed(1000 * step + rank)
        x = torch.randn(64, 8, generator=generator)
        y = x @ target + 0.05 * torch.randn(64, generator=generator)
        loss = ((model(x).squeeze(1) - y) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()  # DDP averages the gradients over the gang here
        optimizer.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        mean /= world
        if rank == 0:
            report(metric="loss", step=step + 1, value=mean.item())
            report(progress=(step + 1) / steps, step=step + 1, totalSteps=steps)
            if (step + 1) % every == 0 or step + 1 == steps:
                save(path, {"model": model.module.state_dict(), "optimizer": optimizer.state_dict(), "step": step + 1})
                with open(os.path.join(checkpoint_dir, "checkpoint.step"), "w") as f:
                    f.write(str(step + 1))
        if pause:
            time.sleep(pause)

    if rank == 0:
        report(artifact=path, name="checkpoint-final", kind="checkpoint", metadata={"step": steps})
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
