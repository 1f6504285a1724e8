#!/usr/bin/python3
"""PyTorch side of `nx run backbones:bench`: forward img/s (eval, no_grad, 2 threads) of the same
architectures, built from the parity script's reference modules. Prints one JSON object."""
import json
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
from make_parity_fixtures import ResNet_IBN, VisionTransformer  # noqa: E402


def bench(model, batch, size, min_seconds):
    model.eval()
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        model(x)
        n, t0 = 0, time.perf_counter()
        while n < 3 or time.perf_counter() - t0 < min_seconds:
            model(x)
            n += 1
        dt = time.perf_counter() - t0
    return {'img_per_s': n * batch / dt, 'iters': n, 'batch': batch}


def main():
    batch, size, min_seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    torch.set_num_threads(2)
    torch.manual_seed(0)
    rn = ResNet_IBN([3, 4, 6, 3], base=64)
    rn.forward = rn.features
    vit = VisionTransformer(224, 16, 256, 10, 4, 512, nn.GELU)
    out = {'torch': torch.__version__, 'threads': torch.get_num_threads(),
           'resnet50-ibn-a': bench(rn, batch, size, min_seconds),
           'tinyclip-vit-8m-16': bench(vit, batch, size, min_seconds)}
    print(json.dumps(out))


if __name__ == '__main__':
    main()
