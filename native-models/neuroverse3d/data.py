"""SynthSeg-style data: real label maps fitted into the training grid once, images of random contrast rendered on
the fly from a Gaussian mixture per label (paper §4.1 "synthetic brain data with random modalities" [9], B.2
"Synthetic Data"), and episodes (context pairs + target) for every task of Table 3."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from . import tasks as T
from .augment import GIN, augment_intensity, augment_labels_spatial
from .losses import TASKS, sample_task

PACKAGE_DIR = Path(__file__).resolve().parent
NATIVE_DIR = PACKAGE_DIR.parent
DEFAULT_LABEL_DIR = Path(os.environ.get("NV3D_LABEL_DIR",
                                        NATIVE_DIR.parent.parent / "shared" / "data" / "synthseg-label-maps"))
DEFAULT_CACHE_DIR = NATIVE_DIR / "runs" / "cache"

TRAIN_IDS = list(range(1, 17))
HELDOUT_IDS = list(range(17, 21))

# FreeSurfer aseg left/right pairs: one tissue class each, so both hemispheres get similar intensities.
LR_PAIRS = {2: 41, 3: 42, 4: 43, 5: 44, 7: 46, 8: 47, 10: 49, 11: 50, 12: 51, 13: 52, 17: 53, 18: 54,
            26: 58, 28: 60, 30: 62}

# Structures with both hemispheres merged; the first six are the evaluation structures of issue 4 / Table 4.
STRUCTURES: Dict[str, List[int]] = {
    "cortex": [3, 42],
    "hippocampus": [17, 53],
    "thalamus": [10, 49],
    "lateral_ventricle": [4, 43],
    "putamen": [12, 51],
    "amygdala": [18, 54],
    "white_matter": [2, 41],
    "inf_lateral_ventricle": [5, 44],
    "cerebellum_white_matter": [7, 46],
    "cerebellum_cortex": [8, 47],
    "caudate": [11, 50],
    "pallidum": [13, 52],
    "accumbens": [26, 58],
    "ventral_dc": [28, 60],
    "third_ventricle": [14],
    "fourth_ventricle": [15],
    "brain_stem": [16],
    "csf": [24],
}
EVAL_STRUCTURES = ["cortex", "hippocampus", "thalamus", "lateral_ventricle", "putamen", "amygdala"]


def is_brain(labels):
    """Brain vs extra-cerebral: aseg labels below 100 are brain; skull, scalp, eyes are 136-164 and 502-530.
    Label 24 (CSF) is left out: in these maps it fills the whole intracranial and spinal space down to the neck, so
    it would make the "brain" box as large as the head and the skull-stripping target nearly the whole head."""
    return (labels > 0) & (labels < 100) & (labels != 24)


def load_label_map(path: Path) -> np.ndarray:
    import nibabel as nib
    # Some files are stored as float32; labels are integers, so round before casting.
    return np.rint(np.asarray(nib.load(str(path)).dataobj, dtype=np.float32)).astype(np.int16)


def fit_to_grid(labels: np.ndarray, grid: int, margin_vox: int = 10, brain: Optional[np.ndarray] = None) -> np.ndarray:
    """Isotropic fit of the brain's bounding box (plus a margin that keeps some skull for skull stripping) into a
    grid^3 cube, nearest-neighbour. The axes stay in the stored voxel order (no reorientation). The same fit is
    used for evaluation, baseline included. ``brain`` gives the mask for the box when ``labels`` is not a label map
    (e.g. an intensity image)."""
    idx = np.argwhere(is_brain(labels) if brain is None else brain)
    lo, hi = idx.min(0), idx.max(0) + 1
    centre = (lo + hi) / 2.0
    side = float((hi - lo).max() + 2 * margin_vox)
    coords = centre[:, None] - side / 2.0 + (np.arange(grid)[None, :] + 0.5) * side / grid - 0.5
    src = np.rint(coords).astype(np.int64)
    padded = np.pad(labels, 1)
    src = np.clip(src + 1, 0, np.array(padded.shape)[:, None] - 1)
    return padded[np.ix_(src[0], src[1], src[2])]


class LabelBank:
    """Label maps resampled once to the grid and cached as .npy under runs/cache/grid<G>/."""

    def __init__(self, ids: Sequence[int], grid: int, label_dir: Path = DEFAULT_LABEL_DIR,
                 cache_dir: Path = DEFAULT_CACHE_DIR):
        self.ids = list(ids)
        self.grid = grid
        cdir = Path(cache_dir) / f"grid{grid}"
        cdir.mkdir(parents=True, exist_ok=True)
        maps = []
        for i in self.ids:
            cached = cdir / f"training_seg_{i:02d}.npy"
            if cached.exists():
                arr = np.load(cached)
            else:
                src = Path(label_dir) / f"training_seg_{i:02d}.nii.gz"
                if not src.exists():
                    raise FileNotFoundError(f"label map {src} not found (set NV3D_LABEL_DIR)")
                arr = fit_to_grid(load_label_map(src), grid)
                tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npy")
                np.save(tmp, arr)
                os.replace(tmp, cached)  # atomic: concurrent runs never read a half-written cache file
            maps.append(torch.from_numpy(arr.astype(np.int64)))
        self.maps = maps

    def __len__(self) -> int:
        return len(self.maps)

    def __getitem__(self, k: int) -> torch.Tensor:
        return self.maps[k]


# ---------------------------------------------------------------- contrast synthesis ----------------------------

MAX_LABEL = 1024


def _tissue_of(value: int) -> int:
    for a, b in LR_PAIRS.items():
        if value == b:
            return a
    return value


@dataclass
class Contrast:
    """A random "modality": per-label means and spreads of the Gaussian mixture plus rendering parameters."""
    means: torch.Tensor      # [MAX_LABEL]
    stds: torch.Tensor       # [MAX_LABEL]
    blur: float
    gamma: float


def draw_contrast(g: torch.Generator) -> Contrast:
    tissue_mean = torch.rand(MAX_LABEL, generator=g)
    tissue_std = 0.06 * torch.rand(MAX_LABEL, generator=g)
    hemi_jitter = 0.02 * torch.randn(MAX_LABEL, generator=g)
    tissues = torch.tensor([_tissue_of(v) for v in range(MAX_LABEL)])
    means = (tissue_mean[tissues] + hemi_jitter).clamp(0, 1)
    stds = tissue_std[tissues]
    if T._coin(g, 0.8):  # air is usually dark in MR, keep some random backgrounds for diversity
        means[0] = 0.1 * float(torch.rand((), generator=g))
        stds[0] = 0.01 * float(torch.rand((), generator=g))
    return Contrast(means, stds, blur=float(T._u(g, 0.3, 1.0)), gamma=float(torch.exp(0.25 * torch.randn((), generator=g))))


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    if sigma <= 0:
        return x
    r = max(1, int(round(2.5 * sigma)))
    t = torch.arange(-r, r + 1, dtype=x.dtype)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = k / k.sum()
    for axis in range(3):
        shape = [1, 1, 1, 1, 1]
        shape[2 + axis] = k.numel()
        pad = [0] * 6
        pad[2 * (2 - axis)] = pad[2 * (2 - axis) + 1] = r
        x = F.conv3d(F.pad(x, pad, mode="replicate"), k.view(shape))
    return x


def render(labels: torch.Tensor, contrast: Contrast, g: torch.Generator, subject_jitter: float = 0.03) -> torch.Tensor:
    """Image [N, 1, X, Y, Z] in [0, 1] from integer labels [N, X, Y, Z]: GMM sample, partial-volume blur, mild bias
    field (SynthSeg's nuisance, not the bias task) and gamma."""
    out = []
    for lab in labels:
        means = (contrast.means + subject_jitter * torch.randn(MAX_LABEL, generator=g)).clamp(0, 1)
        img = means[lab] + contrast.stds[lab] * torch.randn(lab.shape, generator=g)
        img = gaussian_blur(img[None, None], contrast.blur)
        if T._coin(g, 0.5):
            img = img * T.legendre_bias_field(img.shape, g, order=2, strength=0.15)
        img = T.minmax(img).clamp_min(0).pow(contrast.gamma)
        out.append(T.minmax(img))
    return torch.cat(out)


# ---------------------------------------------------------------- episodes --------------------------------------

@dataclass
class Episode:
    task: str
    inputs: torch.Tensor     # [N, 1, X, Y, Z] images given to the model
    targets: torch.Tensor    # [N, 1, X, Y, Z] labels / clean outputs
    labels: torch.Tensor     # [N, X, Y, Z] the (augmented) label maps behind them
    info: Dict = field(default_factory=dict)


def choose_segmentation_values(present: Sequence[int], g: torch.Generator) -> List[int]:
    """Random foreground grouping with p=0.5 (B.2), otherwise one structure: both hemispheres or one of them."""
    present = [int(v) for v in present if v != 0]
    if T._coin(g, 0.5):
        return T.random_foreground_values(present, g)
    groups = [vals for vals in STRUCTURES.values() if any(v in present for v in vals)]
    groups += [[v] for v in present if v >= 100]  # extra-cerebral tissues as single classes
    vals = groups[int(torch.randint(len(groups), (), generator=g))]
    if len(vals) == 2 and T._coin(g, 0.5):
        vals = [vals[int(torch.randint(2, (), generator=g))]]
    return list(vals)


def make_episode(bank: LabelBank, subjects: Sequence[int], task: str, g: torch.Generator,
                 seg_values: Optional[Sequence[int]] = None, augment: bool = True) -> Episode:
    """One group of len(subjects) image/label pairs of the same task and the same "dataset" (contrast)."""
    info: Dict = {"spatial": [], "overlay": [], "seg_aug": []}
    labels = []
    for s in subjects:
        lab = bank[s]
        if augment:
            lab = augment_labels_spatial(lab, g, applied=info["spatial"])
        labels.append(lab)
    labels = torch.stack(labels)
    contrast = draw_contrast(g)
    imgs = render(labels, contrast, g)
    gin = GIN(g) if augment and T._coin(g, 0.05) else None
    if gin is not None:
        imgs = gin(imgs)
        info["gin"] = True
    if augment:
        imgs = augment_intensity(imgs, g)

    if TASKS[task].kind == "seg":
        values = list(seg_values) if seg_values is not None else choose_segmentation_values(
            torch.unique(labels[-1]).tolist(), g)
        info["values"] = values
        masks = T.foreground_mask(labels, values)
        if augment:
            masks = T.augment_segmentation_task(masks, g, applied=info["seg_aug"])
        return Episode(task, imgs, masks, labels, info)

    if task == "modality_transform":
        # Two contrasts of the same anatomy: the registered modality pair of B.1.
        outs = render(labels, draw_contrast(g), g)
        if augment and T._coin(g, 0.05):  # "random modalities" (B.2): GIN on the output side as well
            outs = GIN(g)(outs)
        inputs = imgs
    elif task == "skull_stripping":
        outs = T.minmax(imgs * is_brain(labels).unsqueeze(1).to(imgs.dtype))
        inputs = imgs
    else:
        outs = imgs
        inputs = T.corrupt(task, imgs, g)
    if augment:
        inputs = T.random_task_overlay(inputs, g, applied=info["overlay"])
    return Episode(task, T.minmax(inputs), outs, labels, info)


def sample_episode(bank: LabelBank, n: int, g: torch.Generator, task: Optional[str] = None,
                   rate_overrides: Optional[Dict[str, float]] = None) -> Episode:
    """Task by the Table 3 sampling rates, then n distinct subjects (with repeats only if the bank is smaller)."""
    task = task or sample_task(g, rate_overrides)
    if n <= len(bank):
        subjects = torch.randperm(len(bank), generator=g)[:n].tolist()
    else:
        subjects = torch.randint(len(bank), (n,), generator=g).tolist()
    return make_episode(bank, subjects, task, g)
