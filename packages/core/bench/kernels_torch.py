"""PyTorch twin of bench/native-kernels.ts: times the same conv / grouped conv / matmul shapes on PyTorch's CPU
kernels (Debian python3-torch: oneDNN convolutions, OpenBLAS matmul) and prints one JSON line {label: [ms, ...]}.

Reads the op list as JSON on stdin: [{label, kind, ...}], kind one of conv-fwd / conv-bwd-data / conv-bwd-filter
(n, hw, ci, co, k, s, groups; NCHW, padding (k - 1) // 2 — the output size of tfjs' 'same' here) and matmul (shapes
of a and b, transpose flags). Used only for benchmark comparisons; the project never needs Python at run time.
Usage: python3 bench/kernels_torch.py --threads 2 --rounds 5 < ops.json
"""
import argparse
import json
import sys
import time

import torch
import torch.nn.functional as F


def build(op):
    kind = op["kind"]
    if kind.startswith("conv"):
        n, hw, ci, co, k, s, g = (op[key] for key in ("n", "hw", "ci", "co", "k", "s", "groups"))
        pad = (k - 1) // 2
        x = torch.randn(n, ci, hw, hw)
        w = torch.randn(co, ci // g, k, k)
        o = (hw + 2 * pad - k) // s + 1
        dy = torch.randn(n, co, o, o)
        if kind == "conv-fwd":
            return lambda: F.conv2d(x, w, None, s, pad, 1, g)
        if kind == "conv-bwd-data":
            return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, (s, s), (pad, pad), (1, 1), False, [0], g, (True, False, False))[0]
        return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, (s, s), (pad, pad), (1, 1), False, [0], g, (False, True, False))[1]
    a = torch.randn(*op["a"])
    b = torch.randn(*op["b"])
    ta, tb = op["transposeA"], op["transposeB"]
    return lambda: torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    out = {}
    with torch.no_grad():
        for op in json.load(sys.stdin):
            f = build(op)
            f()  # warm-up (primitive creation)
            times = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                f()
                times.append((time.perf_counter() - t0) * 1000)
            out[op["label"]] = times
    print(json.dumps({"torch": torch.__version__, "threads": args.threads, "times": out}))


if __name__ == "__main__":
    main()
