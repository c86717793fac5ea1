#!/usr/bin/env python3
"""The PyTorch twin of `smallset dev-bench-step`: one seed recipe's training step, timed on seeded
random images of the recipe's input shape, with the same layers, optimizer and batch size.
Prints one JSON line. Run with Debian's interpreter: /usr/bin/python3 (python3-torch).

  /usr/bin/python3 scripts/bench/step_torch.py --model seed-cnn --steps 20 --threads 2
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn


def seed_cnn():
    # seed 002: conv 10@5x5, pool, ReLU, conv 20@5x5, pool, ReLU, fc 50, dropout 0.5, fc 10
    return nn.Sequential(
        nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Conv2d(10, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
        nn.Flatten(), nn.Linear(320, 50), nn.ReLU(), nn.Dropout(0.5), nn.Linear(50, 10),
    )


def seed_cats_dogs():
    # seed 001: 180x180 RGB, conv 32/64/128/256/256 3x3 (valid) with 2x2 pools, dropout 0.5, dense
    layers, c = [], 3
    for i, f in enumerate([32, 64, 128, 256, 256]):
        layers += [nn.Conv2d(c, f, 3), nn.ReLU()]
        if i < 4:
            layers.append(nn.MaxPool2d(2))
        c = f
    return nn.Sequential(*layers, nn.Flatten(), nn.Dropout(0.5), nn.Linear(7 * 7 * 256, 2))


def seed_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))


RECIPES = {
    "seed-cnn": dict(build=seed_cnn, shape=(1, 28, 28), classes=10, batch=64,
                     opt=lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.5)),
    "seed-cats-dogs": dict(build=seed_cats_dogs, shape=(3, 180, 180), classes=2, batch=32,
                           opt=lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7)),
    "seed-mlp": dict(build=seed_mlp, shape=(1, 28, 28), classes=10, batch=20,
                     opt=lambda p: torch.optim.SGD(p, lr=0.1)),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=sorted(RECIPES), default="seed-cnn")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    r = RECIPES[a.model]
    model = r["build"]()
    opt = r["opt"](model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    b = r["batch"]
    # Four batches, cycled, as the Smallset side does.
    xs = torch.randint(0, 256, (4 * b, *r["shape"])).float() / 255
    ys = torch.arange(4 * b) % r["classes"]
    model.train()
    times = []
    for s in range(a.steps):
        x, y = xs[(s % 4) * b:(s % 4 + 1) * b], ys[(s % 4) * b:(s % 4 + 1) * b]
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        loss.item()
        times.append((time.perf_counter() - t0) * 1000)
    step_ms = statistics.median(times[min(a.warmup, len(times) - 1):])
    print(json.dumps({
        "model": a.model, "framework": f"torch {torch.__version__}", "threads": torch.get_num_threads(),
        "batch": b, "steps": a.steps, "step_ms": step_ms, "train_images_per_s": b * 1000 / step_ms,
    }))


if __name__ == "__main__":
    main()
