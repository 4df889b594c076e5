"""Lesion episodes (issue 23 part 2): lesions painted into the SynthSeg-rendered heads, the lesion mask as the label.

A lesion, a tumour or a plaque sits somewhere else in every patient. Anatomy episodes teach the model "where the
examples' label lies"; these teach it "what the examples mark": every pair of one episode shares the lesion *kind*
(how many, how large, how rough, brighter or darker than the tissue around it, with or without an oedema ring and
whether the ring belongs to the label) and the contrast, but each pair gets its lesions at new places.

Lesions are painted into the label map before rendering, as tissues of their own (``CORE``, ``NECROSIS``,
``OEDEMA``), so they get the same Gaussian-mixture texture, partial-volume blur, bias field and gamma as the
anatomy; their mean intensity is set from the contrast's own white/grey matter means (``lesion_means``).
Contrasts are FLAIR-, T2- or T1-like (brain tissues ordered as in those scans) or random; half the heads lose
everything outside a slightly dilated brain (lesion data sets ship skull-stripped scans). The app normalises
each scan by its 2nd/98th percentiles, which clips a large bright tumour: ``_percentile_clip`` does the same here.
Not modelled: mass effect (the anatomy is not pushed aside), contrast enhancement kinetics, more than one channel.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F

from . import tasks as T
from .augment import augment_labels_spatial
from .data import LR_PAIRS, Contrast, Episode, LabelBank, draw_contrast, gaussian_blur, is_brain, render

CORE, NECROSIS, OEDEMA = 900, 901, 902
LESION_LABELS = (CORE, NECROSIS, OEDEMA)
WHITE = (2, 41, 7, 46)
CSF_LIKE = (4, 43, 5, 44, 14, 15, 24)

# Brain tissue means of three clinical contrasts (0 = darkest, 1 = brightest), aseg labels; unlisted brain labels
# keep the random contrast's value.
ORDERED_MEANS: Dict[str, Dict[int, float]] = {
    "t1": {2: 0.80, 7: 0.75, 16: 0.72, 28: 0.70, 10: 0.66, 13: 0.70, 12: 0.60, 11: 0.56, 26: 0.56, 17: 0.50,
           18: 0.52, 3: 0.48, 8: 0.50, 4: 0.15, 5: 0.18, 14: 0.15, 15: 0.15, 24: 0.12, 30: 0.30, 31: 0.45},
    "flair": {2: 0.38, 7: 0.40, 16: 0.42, 28: 0.42, 10: 0.48, 13: 0.42, 12: 0.50, 11: 0.52, 26: 0.52, 17: 0.55,
              18: 0.55, 3: 0.52, 8: 0.50, 4: 0.08, 5: 0.10, 14: 0.08, 15: 0.08, 24: 0.06, 30: 0.20, 31: 0.45},
    "t2": {2: 0.30, 7: 0.32, 16: 0.35, 28: 0.36, 10: 0.40, 13: 0.33, 12: 0.42, 11: 0.45, 26: 0.45, 17: 0.50,
           18: 0.50, 3: 0.50, 8: 0.48, 4: 0.95, 5: 0.92, 14: 0.95, 15: 0.95, 24: 0.90, 30: 0.70, 31: 0.60},
}


@dataclass
class LesionKind:
    """What every pair of one episode shares. Sizes are in grid voxels (≈ 2.5-3 mm at the 64³ brain fit)."""
    family: str                       # "plaques", "mass" or "mixed" (for logs)
    count: Tuple[int, int]            # lesions per pair, inclusive
    radius: Tuple[float, float]       # mean radius of one lesion
    elongation: float                 # max ratio between an ellipsoid's axes
    roughness: float                  # amplitude of the smooth noise added to the shape's distance field
    location: str                     # "white" (centres in white matter) or "brain"
    bright: bool                      # core brighter (True) or darker than the surrounding tissue
    contrast_delta: float             # |core mean - tissue mean| before clamping
    texture: float                    # std of the core's intensities
    necrosis: bool                    # a darker/brighter centre inside large cores (part of the core label)
    oedema: bool                      # a ring around the core
    oedema_width: Tuple[float, float]  # ring width in voxels
    oedema_fraction: float            # ring mean between tissue (0) and core (1)
    label_oedema: bool                # the label is core + ring (whole tumour) rather than the core alone
    empty_target: float               # probability that the target has no lesion at all
    empty_context: float              # probability for each context pair (one pair always keeps its lesions)


def draw_lesion_kind(g: torch.Generator, contrast_name: str) -> LesionKind:
    r = float(torch.rand((), generator=g))
    if r < 0.35:
        family = "plaques"
        hi = int(torch.randint(2, 16, (), generator=g))
        count = (1, hi)
        radius = (float(T._u(g, 0.6, 1.2)), float(T._u(g, 1.5, 3.5)))
        location = "white" if T._coin(g, 0.8) else "brain"
        oedema = T._coin(g, 0.1)
    elif r < 0.75:
        family = "mass"
        count = (1, 1 if T._coin(g, 0.7) else int(torch.randint(2, 4, (), generator=g)))
        radius = (float(T._u(g, 2.5, 6.0)), float(T._u(g, 6.0, 13.0)))
        location = "white" if T._coin(g, 0.5) else "brain"
        oedema = T._coin(g, 0.7)
    else:
        family = "mixed"
        count = (1, int(torch.randint(1, 7, (), generator=g)))
        radius = (float(T._u(g, 0.8, 3.0)), float(T._u(g, 3.0, 8.0)))
        location = "white" if T._coin(g, 0.5) else "brain"
        oedema = T._coin(g, 0.4)
    # FLAIR and T2 show most lesions bright, T1 mostly dark; a random contrast either way.
    p_bright = {"flair": 0.9, "t2": 0.85, "t1": 0.2}.get(contrast_name, 0.5)
    return LesionKind(
        family=family, count=count, radius=radius, elongation=float(T._u(g, 1.0, 2.0)),
        roughness=float(T._u(g, 0.0, 0.6)), location=location, bright=T._coin(g, p_bright),
        contrast_delta=float(T._u(g, 0.08, 0.5)), texture=float(T._u(g, 0.01, 0.08)),
        necrosis=family == "mass" and T._coin(g, 0.35), oedema=oedema,
        oedema_width=(float(T._u(g, 0.7, 2.0)), float(T._u(g, 2.0, 6.0))),
        oedema_fraction=float(T._u(g, 0.3, 0.8)), label_oedema=T._coin(g, 0.75),
        empty_target=0.1, empty_context=0.05)


def ordered_contrast(g: torch.Generator, name: str) -> Contrast:
    """A random contrast with the brain tissues in the order of ``name`` (t1 / flair / t2); others stay random."""
    c = draw_contrast(g)
    spread = float(T._u(g, 0.7, 1.2))
    offset = float(T._u(g, -0.1, 0.1))
    for v, m in ORDERED_MEANS[name].items():
        value = min(1.0, max(0.0, 0.5 + (m - 0.5) * spread + offset + 0.04 * float(torch.randn((), generator=g))))
        c.means[v] = value
        c.stds[v] = 0.015 + 0.03 * float(torch.rand((), generator=g))
        if v in LR_PAIRS:
            c.means[LR_PAIRS[v]] = min(1.0, max(0.0, value + 0.01 * float(torch.randn((), generator=g))))
            c.stds[LR_PAIRS[v]] = c.stds[v]
    return c


def draw_lesion_contrast(g: torch.Generator) -> Tuple[str, Contrast]:
    r = float(torch.rand((), generator=g))
    name = "flair" if r < 0.4 else "t1" if r < 0.6 else "t2" if r < 0.8 else "random"
    return name, (draw_contrast(g) if name == "random" else ordered_contrast(g, name))


def lesion_means(contrast: Contrast, kind: LesionKind, g: torch.Generator) -> Contrast:
    """The contrast with means/stds for the lesion labels, relative to the brain tissue they sit in."""
    wm, gm = float(contrast.means[2]), float(contrast.means[3])
    if kind.bright:
        core = max(wm, gm) + kind.contrast_delta
    else:
        core = min(wm, gm) - kind.contrast_delta
    means, stds = contrast.means.clone(), contrast.stds.clone()
    # No room above (or below) the tissue: squeeze the other tissues' means rather than clamp the lesion onto them.
    if core > 1.0:
        means, wm, gm, core = means / core, wm / core, gm / core, 1.0
    elif core < 0.0:
        means, wm, gm, core = (means - core) / (1 - core), (wm - core) / (1 - core), (gm - core) / (1 - core), 0.0
    tissue = wm if kind.location == "white" else 0.5 * (wm + gm)
    means[CORE] = min(1.0, max(0.0, core))
    means[OEDEMA] = min(1.0, max(0.0, tissue + kind.oedema_fraction * (core - tissue)))
    # A necrotic centre departs from the core the other way round (dark in FLAIR-bright masses, and vice versa).
    means[NECROSIS] = min(1.0, max(0.0, core + (-1 if kind.bright else 1) * float(T._u(g, 0.1, 0.4))))
    stds[CORE] = kind.texture
    stds[OEDEMA] = 0.5 * kind.texture + 0.01
    stds[NECROSIS] = kind.texture
    return Contrast(means, stds, contrast.blur, contrast.gamma)


def _smooth_noise(shape, g: torch.Generator, sigma: float) -> torch.Tensor:
    n = gaussian_blur(torch.randn(1, 1, *shape, generator=g), sigma)[0, 0]
    return n / n.std().clamp_min(1e-6)


def _random_rotation(g: torch.Generator) -> torch.Tensor:
    q, _ = torch.linalg.qr(torch.randn(3, 3, generator=g))
    return q


def paint_lesions(labels: torch.Tensor, kind: LesionKind, g: torch.Generator, empty: bool = False
                  ) -> Tuple[torch.Tensor, torch.Tensor, int]:
    """Lesions of ``kind`` at random places of one label map [X, Y, Z].

    Returns the label map with the lesion tissues painted in (CORE / NECROSIS / OEDEMA replace what was there),
    the binary label mask [X, Y, Z] (core and necrosis, plus the ring when ``kind.label_oedema``) and the number
    of lesions placed. Lesions stay inside the brain and out of the ventricles and CSF."""
    labels = labels.clone()
    brain = is_brain(labels) & ~torch.isin(labels, torch.tensor(CSF_LIKE, dtype=labels.dtype))
    mask = torch.zeros(labels.shape, dtype=torch.bool)
    if empty or not bool(brain.any()):
        return labels, mask, 0
    centres_from = torch.isin(labels, torch.tensor(WHITE, dtype=labels.dtype)) if kind.location == "white" else brain
    if not bool(centres_from.any()):
        centres_from = brain
    candidates = centres_from.nonzero().float()
    shape = labels.shape
    coords = torch.stack(torch.meshgrid(*[torch.arange(s, dtype=torch.float32) for s in shape], indexing="ij"), -1)
    noise_core = _smooth_noise(shape, g, 1.5)
    noise_ring = _smooth_noise(shape, g, 2.0)
    n = int(torch.randint(kind.count[0], kind.count[1] + 1, (), generator=g))
    core_all = torch.zeros(shape, dtype=torch.bool)
    necrosis_all = torch.zeros(shape, dtype=torch.bool)
    ring_all = torch.zeros(shape, dtype=torch.bool)
    for _ in range(n):
        centre = candidates[int(torch.randint(len(candidates), (), generator=g))]
        radius = float(T._u(g, *kind.radius))
        axes = radius * torch.exp(torch.log(torch.tensor(kind.elongation)) * (T._u(g, size=(3,)) - 0.5))
        rot = _random_rotation(g)
        reach = int(axes.max() * (1 + kind.roughness) + kind.oedema_width[1] + 3)
        lo = [max(0, int(centre[a]) - reach) for a in range(3)]
        hi = [min(shape[a], int(centre[a]) + reach + 1) for a in range(3)]
        box = tuple(slice(lo[a], hi[a]) for a in range(3))
        local = (coords[box] - centre) @ rot / axes
        # Distance in radii (1 = the ellipsoid's surface), roughened by smooth noise so shapes are not spheres.
        d = local.norm(dim=-1) + kind.roughness * noise_core[box] * min(1.0, 1.5 / max(radius, 1e-3))
        core = (d < 1.0) & brain[box]
        if not bool(core.any()):  # the centre voxel is always lesion: tiny plaques must not vanish
            c = tuple(int(centre[a]) - lo[a] for a in range(3))
            core[c] = True
        core_all[box] |= core
        if kind.necrosis and radius > 3.0:
            necrosis_all[box] |= (d < float(T._u(g, 0.3, 0.6))) & core
        if kind.oedema:
            width = float(T._u(g, *kind.oedema_width)) / radius
            ring = (d < 1.0 + width * (1 + 0.5 * noise_ring[box])) & brain[box]
            ring_all[box] |= ring
    ring_all &= ~core_all
    labels[ring_all] = OEDEMA
    labels[core_all] = CORE
    labels[necrosis_all] = NECROSIS
    mask = core_all | (ring_all if kind.label_oedema else torch.zeros_like(ring_all))
    return labels, mask, n


def _strip(labels: torch.Tensor) -> torch.Tensor:
    """Everything outside the brain dilated by one voxel becomes background (a skull-stripped scan)."""
    brain = is_brain(labels).float()[None, None]
    keep = F.max_pool3d(brain, 3, stride=1, padding=1)[0, 0] > 0
    return torch.where(keep, labels, torch.zeros_like(labels))


def _percentile_clip(img: torch.Tensor, labels: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """The app maps a scan's 2nd..98th percentile to [0, 1]; over a whole skull-stripped scan (brain 15-20 % of
    the voxels) the upper one is near the brain's 90th percentile, so a large bright lesion saturates. Here: the
    value at a random high quantile of the head (labels > 0) → 1."""
    out = []
    for v, lab in zip(img, labels):
        fg = v[0][lab > 0]
        if fg.numel() > 100 and T._coin(g, 0.6):
            q = float(T._u(g, 0.88, 0.999))
            sample = fg[torch.randint(fg.numel(), (min(fg.numel(), 20000),), generator=g)]
            hi = float(torch.quantile(sample, q))
            # The lower end as the app's 2nd percentile of the whole volume: the air, which stays at 0.
            flat = v.flatten()
            lo = float(torch.quantile(flat[torch.randint(flat.numel(), (20000,), generator=g)], 0.02))
            v = ((v - lo) / max(hi - lo, 1e-3)).clamp(0, 1)
        out.append(v)
    return torch.stack(out)


def _noise(img: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Extra noise per volume (p = 0.2). Not augment_intensity: its inversion (p = 0.05 per volume) would show
    a bright lesion dark in one pair of the episode, which no lesion data set does."""
    out = []
    for v in img:
        if T._coin(g, 0.2):
            v = (v + float(T._u(g, 0.0, 0.05)) * torch.randn(v.shape, generator=g)).clamp(0, 1)
        out.append(v)
    return torch.stack(out)


def make_lesion_episode(bank: LabelBank, subjects: Sequence[int], g: torch.Generator, augment: bool = True,
                        kind: Optional[LesionKind] = None, skull: Optional[bool] = None) -> Episode:
    """One episode: len(subjects) heads of one contrast with lesions of one kind; the last one is the target."""
    contrast_name, contrast = draw_lesion_contrast(g)
    kind = kind or draw_lesion_kind(g, contrast_name)
    contrast = lesion_means(contrast, kind, g)
    # Air is dark in every lesion data set (the random contrasts' bright backgrounds are for the anatomy tasks).
    contrast.means[0] = 0.1 * float(torch.rand((), generator=g))
    contrast.stds[0] = 0.01 * float(torch.rand((), generator=g))
    skull = T._coin(g, 0.5) if skull is None else skull
    n = len(subjects)
    # Which pairs are empty: the target sometimes, a context pair rarely, never every context pair.
    empty = [T._coin(g, kind.empty_context) for _ in range(n - 1)] + [T._coin(g, kind.empty_target)]
    if n > 1 and all(empty[:-1]):
        empty[int(torch.randint(n - 1, (), generator=g))] = False
    info: Dict = {"spatial": [], "lesion": True, "kind": asdict(kind), "contrast": contrast_name, "skull": skull,
                  "counts": []}
    labels, masks = [], []
    for s, e in zip(subjects, empty):
        lab = bank[s]
        if augment:
            lab = augment_labels_spatial(lab, g, applied=info["spatial"])
        if not skull:
            lab = _strip(lab)
        lab, mask, count = paint_lesions(lab, kind, g, empty=e)
        info["counts"].append(count)
        labels.append(lab)
        masks.append(mask)
    labels = torch.stack(labels)
    imgs = render(labels, contrast, g)
    if augment:
        imgs = _percentile_clip(imgs, labels, g)
        imgs = _noise(imgs, g)
    targets = torch.stack(masks).unsqueeze(1).float()
    return Episode("segmentation", imgs, targets, labels, info)


def sample_lesion_episode(bank: LabelBank, n: int, g: torch.Generator) -> Episode:
    subjects = torch.randperm(len(bank), generator=g)[:n].tolist() if n <= len(bank) else \
        torch.randint(len(bank), (n,), generator=g).tolist()
    return make_lesion_episode(bank, subjects, g)
