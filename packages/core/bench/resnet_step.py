"""PyTorch twin of bench/resnet-step.ts: the same ResNet-18 layout at half width, 128x128, Adam + CE.

Prints one JSON line {framework, threads, imgPerSec, stepMs, cpuMs, loss} (cpuMs: process CPU time per step, all threads). Used only for benchmark
comparisons (Debian python3-torch); the project never needs Python at run time.
Usage: python3 bench/resnet_step.py --steps 6 --batch 32 --size 128 --threads 2
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.down = None
        if stride != 1 or cin != cout:
            self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.down(x) if self.down is not None else x))


class HalfResNet18(nn.Module):
    def __init__(self, classes):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 7, 2, 3, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
        blocks, cin = [], 32
        for stage, w in enumerate([32, 64, 128, 256]):
            for b in range(2):
                blocks.append(Block(cin, w, 2 if stage > 0 and b == 0 else 1))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(256, classes)

    def forward(self, x):
        return self.fc(self.blocks(self.stem(x)).mean(dim=(2, 3)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--classes", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(3407)
    model = HalfResNet18(a.classes).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(a.batch, 3, a.size, a.size)
    y = torch.randint(0, a.classes, (a.batch,))
    times, cpu, loss = [], [], float("nan")
    for step in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        c0 = time.process_time()
        opt.zero_grad(set_to_none=True)
        out = F.cross_entropy(model(x), y)
        out.backward()
        opt.step()
        loss = out.item()
        dt = (time.perf_counter() - t0) * 1000
        if step >= a.warmup:
            times.append(dt)
            cpu.append((time.process_time() - c0) * 1000)
    mean = sum(times) / len(times)
    print(json.dumps({"framework": "pytorch", "version": torch.__version__, "threads": a.threads, "batch": a.batch,
                      "size": a.size, "steps": a.steps, "stepMs": [round(t) for t in times], "cpuMs": [round(t) for t in cpu],
                      "imgPerSec": a.batch * 1000 / mean, "loss": loss}))


if __name__ == "__main__":
    main()
