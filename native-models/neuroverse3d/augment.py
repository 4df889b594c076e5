"""Image augmentation (paper B.2): spatial transforms of label maps and intensity transforms of images.

Spatial transforms act on integer label maps before any image is synthesised (the image is rendered from the
deformed labels), so image and label stay aligned without resampling the image twice.
"""
from __future__ import annotations

import math
from typing import List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .tasks import _coin, _u, minmax


def _sample_labels(labels: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour resampling of an integer map [X, Y, Z] at normalised coordinates grid [1, X, Y, Z, 3]."""
    vol = labels.to(torch.float32)[None, None]
    out = F.grid_sample(vol, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return out[0, 0].round().to(labels.dtype)


def _identity_grid(shape) -> torch.Tensor:
    theta = torch.eye(3, 4).unsqueeze(0)
    return F.affine_grid(theta, [1, 1, *shape], align_corners=False)


def random_affine(labels: torch.Tensor, g: torch.Generator, max_rot_deg: float = 12.0,
                  scale=(0.9, 1.1), max_shift: float = 0.05) -> torch.Tensor:
    angles = [math.radians(float(_u(g, -max_rot_deg, max_rot_deg))) for _ in range(3)]
    rot = torch.eye(3)
    for axis, a in enumerate(angles):
        c, s = math.cos(a), math.sin(a)
        i, j = [k for k in range(3) if k != axis]
        r = torch.eye(3)
        r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
        rot = rot @ r
    rot = rot * _u(g, *scale, (3,))[None, :]
    shift = _u(g, -max_shift * 2, max_shift * 2, (3, 1))
    theta = torch.cat([rot, shift], dim=1).unsqueeze(0)
    grid = F.affine_grid(theta, [1, 1, *labels.shape], align_corners=False)
    return _sample_labels(labels, grid)


def random_elastic(labels: torch.Tensor, g: torch.Generator, control: int = 5, max_disp_vox: float = 3.0) -> torch.Tensor:
    """Smooth random displacement: a coarse control grid of displacements, trilinearly up-sampled."""
    shape = labels.shape
    coarse = torch.randn(1, 3, control, control, control, generator=g)
    disp = F.interpolate(coarse, size=shape, mode="trilinear", align_corners=True)[0].permute(1, 2, 3, 0)
    disp = disp * float(_u(g, 0.3, 1.0)) * max_disp_vox * 2.0 / torch.tensor(shape, dtype=torch.float32)
    grid = _identity_grid(shape) + disp.unsqueeze(0)
    return _sample_labels(labels, grid)


def random_flip(labels: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return labels.flip(int(torch.randint(3, (), generator=g)))


def random_rot90(labels: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    planes = [(0, 1), (0, 2), (1, 2)]
    plane = planes[int(torch.randint(3, (), generator=g))]
    return torch.rot90(labels, int(torch.randint(1, 4, (), generator=g)), plane)


def augment_labels_spatial(labels: torch.Tensor, g: torch.Generator, p: float = 0.05,
                           applied: Optional[List[str]] = None) -> torch.Tensor:
    """Affine, elastic, flip and 90-degree rotation, each independently with p = 0.05 (B.2), for one subject."""
    for name, fn in (("affine", random_affine), ("elastic", random_elastic), ("flip", random_flip),
                     ("rot90", random_rot90)):
        if _coin(g, p):
            labels = fn(labels, g)
            if applied is not None:
                applied.append(name)
    return labels


class GIN(nn.Module):
    """Global Intensity Non-linear augmentation [47]: a randomly initialised shallow conv net maps an image to a new
    contrast; four layers, 10 hidden channels, 1x1x1 outer layers and 1 or 3 (p=1/4) middle kernels."""

    def __init__(self, g: torch.Generator, hidden: int = 10, layers: int = 4):
        super().__init__()
        convs = []
        for i in range(layers):
            cin = 1 if i == 0 else hidden
            cout = 1 if i == layers - 1 else hidden
            k = 1 if i in (0, layers - 1) else (3 if _coin(g, 0.25) else 1)
            conv = nn.Conv3d(cin, cout, k, padding=k // 2)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=g))
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=g))
            convs.append(conv)
        self.convs = nn.ModuleList(convs)
        self.alpha = float(_u(g, 0.7, 1.0))

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        for i, conv in enumerate(self.convs):
            h = conv(h)
            if i < len(self.convs) - 1:
                h = F.leaky_relu(h, 0.2)
        # Blend with the input and match the Frobenius norm so the new contrast keeps the image's energy.
        h = self.alpha * h + (1 - self.alpha) * x
        dims = tuple(range(1, x.dim()))
        h = h * (x.pow(2).sum(dims, keepdim=True).sqrt() / h.pow(2).sum(dims, keepdim=True).sqrt().clamp_min(1e-8))
        return minmax(h)


def augment_intensity(img: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Intensity augmentation of B.2 on [N, 1, X, Y, Z], drawn independently per volume (shift p=0.2, scale p=0.2,
    noise p=0.1, inversion p=0.05). GIN is applied per group by the caller (it defines a modality)."""
    out = []
    for v in img:
        v = v.unsqueeze(0)
        if _coin(g, 0.2):
            v = v + float(_u(g, -0.2, 0.2))
        if _coin(g, 0.2):
            v = v * float(_u(g, 0.9, 1.1))
        if _coin(g, 0.1):
            v = v + float(_u(g, 0.0, 0.05)) * torch.randn(v.shape, generator=g)
        if _coin(g, 0.05):
            v = 1.0 - minmax(v)
        out.append(minmax(v))
    return torch.cat(out)
