"""PyTorch CPU reference for EngineBench: the same GPT (pre-LN, tanh GELU, tied head), AdamW with decay
on matrices, global-norm clipping, fp32, trained on random tokens. A straightforward nanoGPT-style model
(scaled_dot_product_attention with is_causal=True). Not a test dependency: EngineBench runs it when
`import torch` works.

    python3 Benchmarks/EngineBench/torch_reference.py --steps 5 --threads 2
"""
import argparse
import resource
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.fc_proj = nn.Linear(4 * width, width)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.fc_proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, vocab, context, layers, heads, width):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, idx, targets):
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T))
        for block in self.blocks:
            x = block(x)
        logits = self.ln_f(x) @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.shape[-1]), targets.reshape(-1))


def main():
    parser = argparse.ArgumentParser()
    for name, default in [("steps", 5), ("threads", 2), ("layers", 6), ("heads", 8), ("width", 512),
                          ("context", 256), ("vocab", 32000), ("batch", 8)]:
        parser.add_argument("--" + name, type=int, default=default)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    model = GPT(args.vocab, args.context, args.layers, args.heads, args.width)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=3e-4, betas=(0.9, 0.95), eps=1e-8)

    def step():
        data = torch.randint(0, args.vocab, (args.batch, args.context + 1))
        optimizer.zero_grad(set_to_none=True)
        loss = model(data[:, :-1], data[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    step()  # warm-up
    times = []
    cpu_start = time.process_time()
    for _ in range(args.steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    cpu = (time.process_time() - cpu_start) / args.steps
    median = sorted(times)[len(times) // 2]
    tokens = args.batch * args.context
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"torch {torch.__version__} reference: {median * 1000:.1f} ms/step (median of {len(times)}, "
          f"mean {sum(times) / len(times) * 1000:.1f}, best {min(times) * 1000:.1f})   {tokens / median:.0f} tokens/s   "
          f"threads {torch.get_num_threads()}   CPU time {cpu:.2f} s/step   max RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
