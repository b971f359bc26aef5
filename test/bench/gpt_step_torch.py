"""The PyTorch twin of test/bench/TinyGpt.ts: the same GPT training step, timed the same way.

    python3 test/bench/gpt_step_torch.py [--threads N] [--steps S]

prints one JSON line: {"seconds": median step seconds, "stepSeconds": [...], "threads", "torch", "loss"}, or
{"seconds": null, "reason": "..."} (exit 0) when torch cannot be imported. One warm-up step, then S timed steps,
as GptStepChild.ts does. Model (STACK.md's GPT: batch 8, seq 256, d_model 256, 4 layers, 8 heads, vocab 512):
token and position embeddings, pre-norm blocks with separate q/k/v projections (no bias), causal softmax
attention with an additive -1e9 mask, output projection with bias, tanh-GELU MLP (4x) with biases, final
LayerNorm, untied head, mean next-token cross-entropy, Adam (lr 6e-4, eps 1e-7 as tf.train.adam).
"""
import argparse
import json
import math
import os
import statistics
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)  # PyTorch single-thread: the reference
    parser.add_argument("--steps", type=int, default=3)  # as GptStepChild.ts
    args = parser.parse_args()
    try:
        import torch
        import torch.nn.functional as F
    except Exception as e:  # ImportError, or a broken install
        print(json.dumps({"seconds": None, "reason": f"{sys.executable} cannot import torch ({type(e).__name__}: {e})"}))
        return

    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    B, T, C, L, H, V = 8, 256, 256, 4, 8, 512
    D = C // H
    std = 0.02  # GPT-2's initialisation
    residual = std / math.sqrt(2 * L)  # GPT-2: residual projections scaled by 1/sqrt(2 * layers)

    def normal(*shape, s=std):
        return (torch.randn(*shape) * s).requires_grad_()

    def ones(n):
        return torch.ones(n, requires_grad=True)

    def zeros(n):
        return torch.zeros(n, requires_grad=True)

    layers = [
        dict(ln1g=ones(C), ln1b=zeros(C), wq=normal(C, C), wk=normal(C, C), wv=normal(C, C), wo=normal(C, C, s=residual),
             bo=zeros(C), ln2g=ones(C), ln2b=zeros(C), w1=normal(C, 4 * C), b1=zeros(4 * C), w2=normal(4 * C, C, s=residual),
             b2=zeros(C))
        for _ in range(L)
    ]
    wte, wpe, lnfg, lnfb, head = normal(V, C), normal(T, C), ones(C), zeros(C), normal(C, V)
    params = [wte, wpe] + [p for l in layers for p in l.values()] + [lnfg, lnfb, head]
    mask = torch.triu(torch.full((T, T), -1e9), diagonal=1)  # 0 on and below the diagonal

    # TinyGpt.batch's xorshift32 token stream (seed 7): the same tokens, so the first loss is comparable
    state, stream = 7, []
    for _ in range(B * T + 1):
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        stream.append(state % V)
    ids = torch.tensor(stream[:-1]).view(B, T)
    targets = torch.tensor(stream[1:])

    def heads(x):  # (B*T, C) -> (B, H, T, D)
        return x.view(B, T, H, D).transpose(1, 2)

    def loss_fn():
        x = (wte[ids] + wpe).view(B * T, C)
        for l in layers:
            h = F.layer_norm(x, (C,), l["ln1g"], l["ln1b"], 1e-5)
            q = heads(h @ l["wq"] * (1 / math.sqrt(D)))
            k = heads(h @ l["wk"])
            v = heads(h @ l["wv"])
            att = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B * T, C)
            x = x + (y @ l["wo"] + l["bo"])
            h2 = F.layer_norm(x, (C,), l["ln2g"], l["ln2b"], 1e-5)
            x = x + (F.gelu(h2 @ l["w1"] + l["b1"], approximate="tanh") @ l["w2"] + l["b2"])
        logits = F.layer_norm(x, (C,), lnfg, lnfb, 1e-5) @ head
        return F.cross_entropy(logits, targets)

    optimizer = torch.optim.Adam(params, lr=6e-4, eps=1e-7)

    def step():
        t0 = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        optimizer.step()
        value = loss.item()
        return time.perf_counter() - t0, value

    step()  # warm-up
    runs = [step() for _ in range(args.steps)]
    seconds = [r[0] for r in runs]
    print(json.dumps({
        "seconds": round(statistics.median(seconds), 3),
        "stepSeconds": [round(s, 3) for s in seconds],
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "blas": "mkl" if torch.backends.mkl.is_available() else "other",
        "loss": round(runs[-1][1], 4),
        "omp": os.environ.get("OMP_NUM_THREADS"),
    }))


if __name__ == "__main__":
    main()
