"""The benchmark's reference training step in PyTorch, for `npm run bench` to compare against.

Same model as src/model/model.ts at the reference configuration (width 64, 2 pre-norm blocks, 4 heads,
GELU-tanh MLP 256, tied head, learned positions, LayerNorm eps 1e-5), same batch (64 x 64 random
token ids), same loss (mean negative log-likelihood of the next 63 tokens), same Adam (lr 1e-3,
betas 0.9/0.95, eps 1e-8, global grad-norm clip 1.0). Attention is written out (matmul, mask,
softmax, matmul) as in our model, not a fused kernel, which this PyTorch may not have.

usage: python3 scripts/bench_torch.py --vocab V [--threads N] [--repeats R]
Prints one JSON object: {"torch": version, "threads": N, "stepMs": median, "stepsMs": [...]}.
PyTorch is not a dependency of the project: Debian's `apt-get install python3-torch` provides it.
"""
import argparse
import json
import math
import statistics
import sys
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vocab", type=int, required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(json.dumps({"error": f"PyTorch not importable: {e}"}))
        sys.exit(3)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    V, T, C, L, H, F, B = a.vocab, 64, 64, 2, 4, 256, 64
    hd = C // H

    def lin(i, o, std=0.02):
        return torch.nn.Parameter(torch.randn(i, o) * std)

    P = {"wte": torch.nn.Parameter(torch.randn(V, C) * 0.02), "wpe": torch.nn.Parameter(torch.randn(T, C) * 0.02)}
    for l in range(L):
        P.update({
            f"h{l}.ln1.g": torch.nn.Parameter(torch.ones(C)), f"h{l}.ln1.b": torch.nn.Parameter(torch.zeros(C)),
            f"h{l}.wqkv": lin(C, 3 * C), f"h{l}.bqkv": torch.nn.Parameter(torch.zeros(3 * C)),
            f"h{l}.wo": lin(C, C), f"h{l}.bo": torch.nn.Parameter(torch.zeros(C)),
            f"h{l}.ln2.g": torch.nn.Parameter(torch.ones(C)), f"h{l}.ln2.b": torch.nn.Parameter(torch.zeros(C)),
            f"h{l}.w1": lin(C, F), f"h{l}.b1": torch.nn.Parameter(torch.zeros(F)),
            f"h{l}.w2": lin(F, C), f"h{l}.b2": torch.nn.Parameter(torch.zeros(C)),
        })
    P.update({"lnf.g": torch.nn.Parameter(torch.ones(C)), "lnf.b": torch.nn.Parameter(torch.zeros(C))})
    mask = torch.triu(torch.full((T - 1, T - 1), -1e9), diagonal=1)
    ln = torch.nn.functional.layer_norm

    def loss_of(ids):
        x, y = ids[:, :-1], ids[:, 1:]
        t = x.shape[1]
        h = P["wte"][x] + P["wpe"][:t]
        for l in range(L):
            p = lambda n: P[f"h{l}.{n}"]
            a = ln(h, (C,), p("ln1.g"), p("ln1.b"), 1e-5)
            q, k, v = (a @ p("wqkv") + p("bqkv")).split(C, dim=-1)
            q, k, v = (z.view(B, t, H, hd).transpose(1, 2) for z in (q, k, v))
            att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
            h = h + ((att @ v).transpose(1, 2).reshape(B, t, C) @ p("wo") + p("bo"))
            m = ln(h, (C,), p("ln2.g"), p("ln2.b"), 1e-5)
            h = h + torch.nn.functional.gelu(m @ p("w1") + p("b1"), approximate="tanh") @ p("w2") + p("b2")
        h = ln(h, (C,), P["lnf.g"], P["lnf.b"], 1e-5)
        logp = torch.log_softmax(h @ P["wte"].T, dim=-1)
        return -logp.gather(-1, y.unsqueeze(-1)).mean()

    opt = torch.optim.Adam(P.values(), lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    ids = torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(1))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_of(ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(P.values(), 1.0)
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        step()
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"torch": torch.__version__, "threads": a.threads, "stepMs": statistics.median(times), "stepsMs": times}))


if __name__ == "__main__":
    main()
