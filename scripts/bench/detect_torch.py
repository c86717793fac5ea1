#!/usr/bin/python3
"""PyTorch twin of Smallset's detector, for the training-speed benchmark (npm run bench -- detect).

It trains the same network on exactly the batches Smallset made (`smallset dev-bench-detector
--out DIR` writes their inputs and targets): a MobileNetV2 backbone, frozen and run in inference
mode, tapped at strides 4, 8, 16 and 32; the same feature pyramid back to stride 4; the same heads
(class heatmaps, box edge distances, mask coefficients and prototypes) and the same losses (focal,
GIoU, mask BCE inside the box). Only the speed is compared: the backbone's weights are random here
(the timing does not depend on them), and Debian's torch has no torchvision, so MobileNetV2 is
written out below.

Prints one JSON object: images per second over the steps after the warm-up, and the losses.
Usage: detect_torch.py DIR [--threads 2] [--warmup 5] [--repeat 1]
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 4
BOX_UNIT = 16
LOSS_WEIGHTS = {"box": 5.0, "mask": 2.0}


def bn(c):
    # tf.layers' momentum 0.9 is torch's 0.1; Keras MobileNetV2 uses eps 1e-3.
    return nn.BatchNorm2d(c, eps=1e-3, momentum=0.1)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand):
        super().__init__()
        mid = cin * expand
        layers = []
        if expand != 1:
            layers += [nn.Conv2d(cin, mid, 1, bias=False), bn(mid), nn.ReLU6()]
        layers += [
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False),
            bn(mid),
            nn.ReLU6(),
            nn.Conv2d(mid, cout, 1, bias=False),
            bn(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.add = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.add else y


class MobileNetV2Taps(nn.Module):
    """MobileNetV2 (alpha 1.0) up to block_16_project_BN; returns expanded_conv_project_BN,
    block_2_add, block_5_add, block_12_add and block_16_project_BN (strides 2 to 32), as the Keras
    model Smallset loads does."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), bn(32), nn.ReLU6())
        cfg = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
        blocks, cin = [], 32
        for t, c, n, s in cfg:
            for i in range(n):
                blocks.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
                cin = c
        self.blocks = nn.ModuleList(blocks)
        # Indices in this list of Keras' expanded_conv, block_1 ... block_16: block_k is blocks[k].
        self.taps = {0, 2, 5, 12, 16}

    def forward(self, x):
        x = self.stem(x)
        out = []
        for k, b in enumerate(self.blocks):
            x = b(x)
            if k in self.taps:
                out.append(x)
        return out


def cbr(cin, cout):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 1, 1, bias=False), bn(cout), nn.ReLU())


class Head(nn.Module):
    def __init__(self, classes, prototypes, fpn=64, head=48, protos=32):
        super().__init__()
        chans = [16, 24, 32, 96, 320]
        self.top = nn.Conv2d(chans[4], fpn, 1)
        self.laterals = nn.ModuleList([nn.Conv2d(c, fpn, 1) for c in chans[3:0:-1]])
        self.smooth = nn.ModuleList([cbr(fpn, fpn) for _ in range(3)])
        self.heat_tower = cbr(fpn, head)
        self.box_tower = cbr(fpn, head)
        self.heat = nn.Conv2d(head, classes, 1)
        self.box = nn.Conv2d(head, 4, 1)
        nn.init.normal_(self.heat.weight, std=0.01)
        nn.init.constant_(self.heat.bias, -math.log((1 - 0.1) / 0.1))
        nn.init.normal_(self.box.weight, std=0.01)
        nn.init.constant_(self.box.bias, 1.0)
        self.prototypes = prototypes
        if prototypes:
            self.coef = nn.Conv2d(head, prototypes, 1)
            nn.init.normal_(self.coef.weight, std=0.01)
            nn.init.zeros_(self.coef.bias)
            self.proto_tower = cbr(fpn, protos)
            self.proto_coarse = nn.Conv2d(protos, prototypes, 1)
            self.proto_fine = nn.Conv2d(chans[0], prototypes, 1, bias=False)

    def forward(self, feats):
        c1, c2, c3, c4, c5 = feats
        p = self.top(c5)
        for lat, smooth, c in zip(self.laterals, self.smooth, (c4, c3, c2)):
            p = smooth(F.interpolate(p, scale_factor=2, mode="nearest") + lat(c))
        ht, bt = self.heat_tower(p), self.box_tower(p)
        out = [self.heat(ht), self.box(bt)]
        if self.prototypes:
            # Prototypes at stride 2: made at stride 4, upsampled, plus a 1x1 of the stride-2 features.
            coarse = self.proto_coarse(self.proto_tower(p))
            q = F.interpolate(coarse, scale_factor=2, mode="nearest") + self.proto_fine(c1)
            out += [torch.tanh(self.coef(bt)), F.relu(q)]
        return out


def heatmap_loss(logits, heat, weight, objects):
    p = torch.sigmoid(logits)
    pos = (heat >= 1 - 1e-4).float()
    log_p = -F.softplus(-logits)
    log_not_p = -F.softplus(logits)
    pos_loss = log_p * (1 - p) ** 2 * pos
    neg_loss = log_not_p * p**2 * (1 - heat) ** 4 * (1 - pos) * weight
    return -(pos_loss.sum() + neg_loss.sum()) / max(1, objects)


def giou_loss(raw, centres, target, weight):
    d = F.relu(raw) * BOX_UNIT
    l, t, r, b = d.unbind(1)
    cx, cy = centres
    px0, py0, px1, py1 = cx - l, cy - t, cx + r, cy + b
    gx0, gy0, gx1, gy1 = target.unbind(1)
    eps = 1e-6
    area_p = (px1 - px0) * (py1 - py0)
    area_g = (gx1 - gx0) * (gy1 - gy0)
    iw = F.relu(torch.minimum(px1, gx1) - torch.maximum(px0, gx0))
    ih = F.relu(torch.minimum(py1, gy1) - torch.maximum(py0, gy0))
    inter = iw * ih
    union = area_p + area_g - inter + eps
    enclose = (torch.maximum(px1, gx1) - torch.minimum(px0, gx0)) * (torch.maximum(py1, gy1) - torch.minimum(py0, gy0)) + eps
    giou = inter / union - (enclose - union) / enclose
    w = weight[:, 0]
    return ((1 - giou) * w).sum() / (w.sum() + eps)


def mask_loss(coef, protos, sample, cell, target, weight):
    B, K, H, W = coef.shape
    c = coef.permute(0, 2, 3, 1).reshape(B * H * W, K)[sample * H * W + cell]
    p = protos.permute(0, 2, 3, 1).reshape(B, -1, K)[sample]
    logits = torch.bmm(p, c.unsqueeze(2)).squeeze(2)
    bce = F.relu(logits) - logits * target + F.softplus(-logits.abs())
    return (bce * weight).sum() / len(sample)


def load_batches(d, m):
    B, H, W, C = m["batch"], m["height"], m["width"], m["classes"]
    h, w = H // STRIDE, W // STRIDE
    out = []
    for s in range(m["steps"]):
        meta = json.load(open(os.path.join(d, f"batch-{s}.json")))
        n = meta["count"]
        raw = open(os.path.join(d, f"batch-{s}.bin"), "rb").read()
        at = 0

        def take(count, dtype=np.float32):
            nonlocal at
            a = np.frombuffer(raw, dtype=dtype, count=count, offset=at)
            at += count * 4
            return a

        x = torch.from_numpy(take(n * H * W * 3).reshape(n, H, W, 3).copy()).permute(0, 3, 1, 2).contiguous()
        heat = torch.from_numpy(take(n * h * w * C).reshape(n, h, w, C).copy()).permute(0, 3, 1, 2).contiguous()
        heat_w = torch.from_numpy(take(n * h * w).reshape(n, h, w, 1).copy()).permute(0, 3, 1, 2).contiguous()
        box = torch.from_numpy(take(n * h * w * 4).reshape(n, h, w, 4).copy()).permute(0, 3, 1, 2).contiguous()
        box_w = torch.from_numpy(take(n * h * w).reshape(n, h, w, 1).copy()).permute(0, 3, 1, 2).contiguous()
        masks = None
        M = meta["maskCells"]
        if m["prototypes"] and M:
            sample = torch.from_numpy(take(M, np.int32).astype(np.int64))
            cell = torch.from_numpy(take(M, np.int32).astype(np.int64))
            # The mask targets are at the prototypes' stride 2: four times the grid's cells.
            target = torch.from_numpy(take(M * h * w * 4).reshape(M, h * w * 4).copy())
            weight = torch.from_numpy(take(M * h * w * 4).reshape(M, h * w * 4).copy())
            masks = (sample, cell, target, weight)
        out.append((x, heat, heat_w, box, box_w, meta["objects"], masks))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    m = json.load(open(os.path.join(a.dir, "manifest.json")))
    batches = load_batches(a.dir, m)
    h, w = m["height"] // STRIDE, m["width"] // STRIDE
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    centres = ((xs.float() + 0.5) * STRIDE, (ys.float() + 0.5) * STRIDE)
    backbone = MobileNetV2Taps().eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    head = Head(m["classes"], m["prototypes"])
    opt = torch.optim.Adam(head.parameters(), lr=m["learningRate"])
    times, losses = [], []
    for _ in range(a.repeat):
        for x, heat, heat_w, box, box_w, objects, masks in batches:
            t0 = time.perf_counter()
            with torch.no_grad():
                feats = backbone(x)
            out = head(feats)
            loss = heatmap_loss(out[0], heat, heat_w, objects) + LOSS_WEIGHTS["box"] * giou_loss(out[1], centres, box, box_w)
            if masks is not None:
                loss = loss + LOSS_WEIGHTS["mask"] * mask_loss(out[2], out[3], *masks)
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
            losses.append(float(loss))
    timed = sorted(times[a.warmup :])
    step = timed[len(timed) // 2]
    print(
        json.dumps(
            {
                "framework": f"torch {torch.__version__}",
                "threads": a.threads,
                "steps": len(times),
                "batch": m["batch"],
                "canvas": [m["width"], m["height"]],
                "step_ms": step * 1000,
                "train_images_per_s": m["batch"] / step,
                "loss_first": losses[0],
                "loss_last": losses[-1],
            }
        )
    )


if __name__ == "__main__":
    main()
