"""Training episodes that look like the app's aligned segmentation runs (issue 11).

At inference the app registers every context pair to the target (affine by default for the model), resamples
its image and label onto the target's voxel grid, and frames target and pairs alike by the box of the chosen
structure in the warped context labels plus a margin (``main/pipeline/run.ts``, manifest ``alignedFrame``).
The model's job is then to correct roughly placed context labels from what the target image shows.

Here the same picture is made from label maps alone, at their native 1 mm:
- context → target affine: least squares between the centroids of the labels both maps share (exact and cheap,
  and it leaves the real inter-subject differences an affine registration leaves), plus a small random affine
  and elastic residual (what an intensity registration adds on top);
- the frame: union of the structure's boxes in the warped context labels, plus ``FRAME_MARGIN_MM``, an isotropic
  cube of ``grid`` voxels centred on it (``fitToGrid`` in main/engine/processing/grid-fit.ts), with a shared random
  rotation of target and pairs (heads are not square to their voxel axes);
- images rendered from the sampled labels at twice the grid and averaged down (partial volume, as a 1 mm scan
  resampled to the grid), with a T1-like contrast half the time (the scans users bring are mostly T1);
- the target's mask is the averaged-down fraction (soft edges), the context labels are binary as the app gives them.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import tasks as T
from .augment import augment_intensity
from .data import (DEFAULT_CACHE_DIR, DEFAULT_LABEL_DIR, EVAL_STRUCTURES, STRUCTURES, Contrast, Episode,
                   draw_contrast, gaussian_blur, is_brain, load_label_map)

FRAME_MARGIN_MM = 10.0
SUPERSAMPLE = 2
# Residual misalignment after an affine registration, on top of the centroid affine (see docs in README).
JITTER_ROT_DEG = 1.5
JITTER_SCALE = 0.015
JITTER_SHIFT_MM = 1.0
JITTER_ELASTIC_MM = 1.0
TARGET_ROT_DEG = 10.0

# T1-weighted tissue means (white matter brightest, CSF darkest) for the brain labels of aseg.
T1_MEANS = {
    2: 0.80, 7: 0.75, 16: 0.72, 28: 0.70, 10: 0.66, 13: 0.70, 12: 0.60, 11: 0.56, 26: 0.56, 17: 0.50, 18: 0.52,
    3: 0.48, 8: 0.50, 4: 0.15, 5: 0.18, 14: 0.15, 15: 0.15, 24: 0.12, 30: 0.30, 31: 0.45, 77: 0.60, 85: 0.55,
}


class NativeBank:
    """Label maps at their stored 1 mm resolution (float32 for grid_sample) with label centroids and counts."""

    def __init__(self, ids: Sequence[int], label_dir: Path = DEFAULT_LABEL_DIR, cache_dir: Path = DEFAULT_CACHE_DIR):
        self.ids = list(ids)
        cdir = Path(cache_dir) / "native"
        cdir.mkdir(parents=True, exist_ok=True)
        self.maps: List[torch.Tensor] = []
        self._points: Dict[tuple, np.ndarray] = {}
        self.centroids: List[Dict[int, np.ndarray]] = []
        self.counts: List[Dict[int, int]] = []
        for i in self.ids:
            cached = cdir / f"training_seg_{i:02d}.npy"
            if cached.exists():
                arr = np.load(cached)
            else:
                arr = load_label_map(Path(label_dir) / f"training_seg_{i:02d}.nii.gz")
                tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npy")
                np.save(tmp, arr)
                os.replace(tmp, cached)
            flat = arr.ravel().astype(np.int64)
            n = np.bincount(flat)
            coords = np.indices(arr.shape, dtype=np.float32).reshape(3, -1)
            cents = np.stack([np.bincount(flat, weights=c, minlength=len(n)) for c in coords], 1)
            vals = [v for v in np.nonzero(n)[0] if v != 0]
            self.counts.append({int(v): int(n[v]) for v in vals})
            self.centroids.append({int(v): cents[v] / n[v] for v in vals})
            self.maps.append(torch.from_numpy(arr.astype(np.float32))[None, None])

    def __len__(self) -> int:
        return len(self.maps)

    @property
    def shape(self):
        return self.maps[0].shape[2:]

    def affine(self, target: int, context: int) -> np.ndarray:
        """4x4 map from the target's voxel coordinates to the context's, fitted to the brain labels' centroids."""
        ct, cc = self.centroids[target], self.centroids[context]
        vals = [v for v in ct if v in cc and 0 < v < 100 and v != 24 and min(self.counts[target][v], self.counts[context][v]) >= 50]
        src = np.stack([ct[v] for v in vals])
        dst = np.stack([cc[v] for v in vals])
        w = np.sqrt([min(self.counts[target][v], self.counts[context][v]) for v in vals])[:, None]
        X = np.concatenate([src, np.ones((len(vals), 1))], 1)
        sol, *_ = np.linalg.lstsq(X * w, dst * w, rcond=None)
        m = np.eye(4)
        m[:3, :] = sol.T
        return m


def _rotation(g: torch.Generator, max_deg: float) -> np.ndarray:
    r = np.eye(3)
    for axis in range(3):
        a = math.radians(float(T._u(g, -max_deg, max_deg)))
        i, j = [k for k in range(3) if k != axis]
        m = np.eye(3)
        m[i, i], m[i, j], m[j, i], m[j, j] = math.cos(a), -math.sin(a), math.sin(a), math.cos(a)
        r = r @ m
    return r


def residual_jitter(g: torch.Generator, centre: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """A small random affine about ``centre`` (4x4, target voxel → target voxel)."""
    a = _rotation(g, JITTER_ROT_DEG * scale) * (1 + JITTER_SCALE * scale * (2 * T._u(g, size=(3,)).numpy() - 1))[None, :]
    t = JITTER_SHIFT_MM * scale * (2 * T._u(g, size=(3,)).numpy() - 1)
    m = np.eye(4)
    m[:3, :3] = a
    m[:3, 3] = centre - a @ centre + t
    return m


def _elastic(g: torch.Generator, shape, amplitude_mm: float, control: int = 4) -> torch.Tensor:
    """Smooth displacement [*shape, 3] in mm from a coarse random grid."""
    coarse = torch.randn(1, 3, control, control, control, generator=g) * amplitude_mm / 2
    return F.interpolate(coarse, size=tuple(shape), mode="trilinear", align_corners=True)[0].permute(1, 2, 3, 0)


def _sample(volume: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Nearest-neighbour values of ``volume`` [1,1,X,Y,Z] at voxel coordinates ``points`` [...,3]; 0 outside."""
    size = torch.tensor(volume.shape[2:], dtype=torch.float32)
    norm = (points / (size - 1)) * 2 - 1  # align_corners=True: -1 and 1 are the centres of the corner voxels
    grid = norm.flip(-1).reshape(1, *points.shape[:3], 3)  # grid_sample wants (z, y, x) order for (D, H, W) = (X, Y, Z)
    return F.grid_sample(volume, grid, mode="nearest", padding_mode="zeros", align_corners=True)[0, 0]


def _structure_points(bank: NativeBank, s: int, values: Sequence[int], per_value: int = 1500) -> np.ndarray:
    """Up to ``per_value`` voxel coordinates of each value (enough for a box), cached per subject and value."""
    out = []
    for v in values:
        key = (s, int(v))
        if key not in bank._points:
            idx = (bank.maps[s][0, 0] == v).nonzero().numpy().astype(np.float64)
            if len(idx) > per_value:
                idx = np.concatenate([idx[np.linspace(0, len(idx) - 1, per_value).astype(np.int64)],
                                      idx.min(0, keepdims=True), idx.max(0, keepdims=True)])
            bank._points[key] = idx
        out.append(bank._points[key])
    return np.concatenate(out, 0) if out else np.zeros((0, 3))


def t1_contrast(g: torch.Generator) -> Contrast:
    """A random contrast with the brain tissues ordered as in a T1-weighted scan (extra-cerebral ones stay random)."""
    c = draw_contrast(g)
    spread = float(T._u(g, 0.7, 1.2))
    offset = float(T._u(g, -0.1, 0.1))
    from .data import LR_PAIRS
    for v, m in T1_MEANS.items():
        value = min(1.0, max(0.0, 0.5 + (m - 0.5) * spread + offset + 0.04 * float(torch.randn((), generator=g))))
        c.means[v] = value
        if v in LR_PAIRS:
            c.means[LR_PAIRS[v]] = min(1.0, max(0.0, value + 0.01 * float(torch.randn((), generator=g))))
        c.stds[v] = 0.015 + 0.03 * float(torch.rand((), generator=g))
    return c


def _render_fine(lab: torch.Tensor, contrast: Contrast, g: torch.Generator, blur: float) -> torch.Tensor:
    """Image at the supersampled grid from labels [X, Y, Z] (GMM, blur, mild bias, gamma); not normalised."""
    idx = lab.long().clamp(0, contrast.means.numel() - 1)
    means = (contrast.means + 0.03 * torch.randn(contrast.means.shape, generator=g)).clamp(0, 1)
    img = means[idx] + contrast.stds[idx] * torch.randn(idx.shape, generator=g)
    img = gaussian_blur(img[None, None], blur)
    if T._coin(g, 0.5):
        img = img * T.legendre_bias_field(img.shape, g, order=2, strength=0.15)
    return img.clamp_min(0).pow(contrast.gamma)


def choose_structure(present_t: Sequence[int], g: torch.Generator) -> List[int]:
    """Mostly the named structures users ask for (the evaluation six half the time), sometimes a random group."""
    present = set(int(v) for v in present_t)
    if T._coin(g, 0.5):
        name = EVAL_STRUCTURES[int(torch.randint(len(EVAL_STRUCTURES), (), generator=g))]
        vals = STRUCTURES[name]
    elif T._coin(g, 0.8):
        groups = [v for v in STRUCTURES.values() if any(x in present for x in v)]
        vals = groups[int(torch.randint(len(groups), (), generator=g))]
    else:
        brain = [v for v in present if 0 < v < 100 and v != 24]
        vals = T.random_foreground_values(brain, g, max_classes=4)
    if len(vals) == 2 and T._coin(g, 0.3):
        vals = [vals[int(torch.randint(2, (), generator=g))]]
    vals = [v for v in vals if v in present]
    return vals or [int(sorted(present)[0])]


@dataclass
class Frame:
    centre: np.ndarray    # target voxel coordinates of the cube's centre
    rotation: np.ndarray  # 3x3, grid axes in target voxel axes
    voxel: float          # mm per grid voxel


def frame_from_points(points: List[np.ndarray], rotation: np.ndarray, grid: int, margin_mm: float) -> Frame:
    """The app's rule: the box of all points (target voxel coordinates, 1 mm) in the grid's axes + margin, cubed."""
    allp = np.concatenate(points, 0)
    u = allp @ rotation  # coordinates along the (rotated) grid axes
    lo, hi = u.min(0), u.max(0) + 1
    extent = (hi - lo) + 2 * margin_mm
    voxel = float(extent.max()) / grid
    centre_u = (lo + hi - 1) / 2
    return Frame(centre=rotation @ centre_u, rotation=rotation, voxel=voxel)


def make_aligned_points(frame: Frame, grid: int) -> torch.Tensor:
    """Supersampled target voxel coordinates [G*S]^3 x 3 covering the frame's cube (side = grid * voxel)."""
    n = grid * SUPERSAMPLE
    side = grid * frame.voxel
    q = ((torch.arange(n, dtype=torch.float64) + 0.5) / n - 0.5) * side
    u = torch.stack(torch.meshgrid(q, q, q, indexing="ij"), -1)
    R = torch.from_numpy(frame.rotation)
    return u @ R.T + torch.from_numpy(frame.centre)


def _apply(m: np.ndarray, pts: torch.Tensor) -> torch.Tensor:
    M = torch.from_numpy(m)
    return pts @ M[:3, :3].T + M[:3, 3]


def make_aligned_episode(bank: NativeBank, subjects: Sequence[int], g: torch.Generator, grid: int,
                         values: Optional[Sequence[int]] = None, augment: bool = True,
                         margin_mm: float = FRAME_MARGIN_MM) -> Episode:
    """subjects[-1] is the target, the others its context; everything as the app would give it to the model."""
    tgt, ctx = subjects[-1], list(subjects[:-1])
    if values is None:
        values = choose_structure(bank.counts[tgt].keys(), g)
    values = list(values)
    rotation = _rotation(g, TARGET_ROT_DEG) if augment else np.eye(3)
    # Context → target transforms (target voxel → context voxel), with the registration residual.
    transforms, box_points = [], []
    centre_t = np.mean([bank.centroids[tgt][v] for v in values if v in bank.centroids[tgt]], 0)
    for c in ctx:
        m = bank.affine(tgt, c)
        if augment:
            m = m @ residual_jitter(g, centre_t)
        transforms.append(m)
        pts = _structure_points(bank, c, values)
        if len(pts):
            box_points.append((np.linalg.inv(m) @ np.concatenate([pts, np.ones((len(pts), 1))], 1).T).T[:, :3])
    if not box_points:  # no context has the structure: frame the target's own (the app would refuse such a run)
        box_points = [_structure_points(bank, tgt, values)]
    frame = frame_from_points(box_points, rotation, grid, margin_mm)
    pts = make_aligned_points(frame, grid).to(torch.float32)

    contrast = t1_contrast(g) if T._coin(g, 0.5) else draw_contrast(g)
    blur = float(T._u(g, 0.3, 1.0)) / (frame.voxel / SUPERSAMPLE)  # 0.3-1 mm, in fine-grid voxels
    fine_labels = [_sample(bank.maps[tgt], pts)]
    for m in transforms:
        p = _apply(m, pts.double()).float()
        if augment and JITTER_ELASTIC_MM > 0:
            disp = _elastic(g, pts.shape[:3], JITTER_ELASTIC_MM * float(T._u(g, 0.2, 1.0)))
            p = p + disp
        c = ctx[len(fine_labels) - 1]
        fine_labels.append(_sample(bank.maps[c], p))
    # Context first, target last (the Episode convention of data.py).
    fine_labels = fine_labels[1:] + fine_labels[:1]
    imgs, masks, coarse = [], [], []
    for lab in fine_labels:
        img = F.avg_pool3d(_render_fine(lab, contrast, g, blur), SUPERSAMPLE)
        imgs.append(img)
        fine_mask = T.foreground_mask(lab[None], values)
        masks.append(F.avg_pool3d(fine_mask.float().reshape(1, 1, *lab.shape), SUPERSAMPLE))
        coarse.append(lab[::SUPERSAMPLE, ::SUPERSAMPLE, ::SUPERSAMPLE])
    imgs = torch.cat(imgs)
    # Each volume is normalised over the whole scan in the app, not over this box: its range here is not [0, 1].
    imgs = torch.stack([_random_window(v, g) if augment else T.minmax(v) for v in imgs])
    if augment:
        imgs = augment_intensity(imgs, g)
        imgs = torch.stack([_random_window(v, g) for v in imgs])
    masks = torch.cat(masks)
    ctx_masks = (masks[:-1] >= 0.5).float()  # the app's context labels: nearest-neighbour, binary
    targets = torch.cat([ctx_masks, masks[-1:]])
    info = {"values": values, "voxel_mm": round(frame.voxel, 3), "aligned": True}
    return Episode("segmentation", imgs, targets, torch.stack(coarse).long(), info)


def _random_window(v: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """min-max, then a random affine window: a box inside the brain rarely reaches the scan's 2nd/98th percentiles."""
    v = T.minmax(v)
    lo = float(T._u(g, 0.0, 0.15))
    hi = float(T._u(g, 0.8, 1.1))
    return (lo + v * (hi - lo)).clamp(0, 1)


def sample_aligned_episode(bank: NativeBank, n: int, g: torch.Generator, grid: int) -> Episode:
    subjects = torch.randperm(len(bank), generator=g)[:n].tolist() if n <= len(bank) else \
        torch.randint(len(bank), (n,), generator=g).tolist()
    return make_aligned_episode(bank, subjects, g, grid)


def vote_dice(ep: Episode) -> float:
    """Dice of the majority vote of the context labels against the target's mask (the baseline the model must beat)."""
    ctx = ep.targets[:-1]
    vote = (ctx.mean(0) >= 0.5).float()  # ties count as foreground, as main/fusion/vote.ts
    y = (ep.targets[-1] >= 0.5).float()
    return float(2 * (vote * y).sum() / (vote.sum() + y.sum()).clamp_min(1))
