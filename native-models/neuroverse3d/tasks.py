"""Task synthesis (paper §4.1 "Neuroimaging Tasks", B.1 and B.2 "task augmentation").

Every function works on a group of volumes ``[N, 1, X, Y, Z]`` (context pairs and the target of one episode) in
[0, 1] and draws its randomness from an explicit ``torch.Generator`` so an episode is reproducible from a seed.
Segmentation transforms take the same decision for the whole group, because the context must show the same task
as the target; corruptions of generation tasks are drawn independently per volume, as in the official demo.
"""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F


def _u(g: torch.Generator, lo: float = 0.0, hi: float = 1.0, size=()) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(size, generator=g)


def _coin(g: torch.Generator, p: float) -> bool:
    return bool(torch.rand((), generator=g) < p)


def minmax(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Per-volume min-max to [0, 1] (paper §4.1); an all-constant volume maps to 0."""
    dims = tuple(range(2, x.dim()))
    lo = x.amin(dim=dims, keepdim=True)
    hi = x.amax(dim=dims, keepdim=True)
    return (x - lo) / (hi - lo).clamp_min(eps)


# ---------------------------------------------------------------- segmentation ---------------------------------

def foreground_mask(labels: torch.Tensor, values: Sequence[int]) -> torch.Tensor:
    """Binary mask of the union of label values. labels: integer [N, X, Y, Z] -> float [N, 1, X, Y, Z]."""
    vals = torch.as_tensor(list(values), dtype=labels.dtype, device=labels.device)
    return torch.isin(labels, vals).unsqueeze(1).to(torch.float32)


def random_foreground_values(present: Sequence[int], g: torch.Generator, max_classes: int = 10) -> List[int]:
    """Random foreground grouping (B.2, p=0.5 at the caller): k classes, 1 <= k <= min(10, #classes)."""
    present = list(present)
    k = int(torch.randint(1, min(max_classes, len(present)) + 1, (), generator=g))
    idx = torch.randperm(len(present), generator=g)[:k].tolist()
    return sorted(present[i] for i in idx)


def sobel_edges(mask: torch.Tensor, threshold: float = 0.3) -> torch.Tensor:
    """Sobel-of-label target (B.2): gradient magnitude of the mask, binarised at ``threshold`` x its maximum so the
    target stays a {0, 1} mask like every other segmentation target."""
    d = torch.tensor([-1.0, 0.0, 1.0], dtype=mask.dtype, device=mask.device)
    s = torch.tensor([1.0, 2.0, 1.0], dtype=mask.dtype, device=mask.device)
    mag = torch.zeros_like(mask)
    for axis in range(3):
        k = [s, s, s]
        k[axis] = d
        kernel = torch.einsum("i,j,k->ijk", *k)[None, None]
        mag = mag + F.conv3d(mask, kernel, padding=1) ** 2
    mag = mag.sqrt()
    peak = mag.flatten(1).amax(dim=1).clamp_min(1e-8).view(-1, 1, 1, 1, 1)
    return (mag > threshold * peak).to(mask.dtype)


def invert_mask(mask: torch.Tensor) -> torch.Tensor:
    return 1.0 - mask


def dilate(mask: torch.Tensor) -> torch.Tensor:
    """Dilation by one voxel (26-neighbourhood)."""
    return F.max_pool3d(mask, 3, stride=1, padding=1)


def erode(mask: torch.Tensor) -> torch.Tensor:
    """Erosion by one voxel; the outside of the grid counts as background."""
    return 1.0 - F.max_pool3d(F.pad(1.0 - mask, (1,) * 6, value=1.0), 3, stride=1)


SEG_TASK_AUGMENTATIONS = ("sobel", "invert", "dilate", "erode")


def augment_segmentation_task(mask: torch.Tensor, g: torch.Generator, p: float = 0.05,
                              applied: Optional[List[str]] = None) -> torch.Tensor:
    """B.2 task augmentation for segmentation, each independently with probability p, the same for the whole
    group. Dilation/erosion precede the Sobel filter so that an edge target follows the modified mask."""
    chosen = {name for name in SEG_TASK_AUGMENTATIONS if _coin(g, p)}
    if "dilate" in chosen:
        mask = dilate(mask)
    if "erode" in chosen:
        mask = erode(mask)
    if "sobel" in chosen:
        mask = sobel_edges(mask)
    if "invert" in chosen:
        mask = invert_mask(mask)
    if applied is not None:
        applied.extend(sorted(chosen))
    return mask


# ---------------------------------------------------------------- generation corruptions -----------------------

def _legendre(x: torch.Tensor, order: int) -> List[torch.Tensor]:
    p = [torch.ones_like(x), x]
    for n in range(1, order):
        p.append(((2 * n + 1) * x * p[n] - n * p[n - 1]) / (n + 1))
    return p[: order + 1]


def legendre_bias_field(shape, g: torch.Generator, order: int = 3, strength: float = 0.6) -> torch.Tensor:
    """Multiplicative bias field exp(sum c_ijk P_i(x) P_j(y) P_k(z)), i+j+k <= order, c ~ U(-s, s) (B.1)."""
    n = shape[0]
    axes = [torch.linspace(-1, 1, s) for s in shape[2:]]
    px, py, pz = (_legendre(a, order) for a in axes)
    field = torch.zeros(n, *shape[2:])
    for i in range(order + 1):
        for j in range(order + 1 - i):
            for k in range(order + 1 - i - j):
                if i + j + k == 0:
                    continue
                c = _u(g, -strength, strength, (n, 1, 1, 1)) / (i + j + k)
                field = field + c * (px[i][:, None, None] * py[j][None, :, None] * pz[k][None, None, :])
    return field.exp().unsqueeze(1)


def add_bias_field(img: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    return minmax(img * legendre_bias_field(img.shape, g))


def add_gaussian_noise(img: torch.Tensor, g: torch.Generator, sigma_range=(0.15, 0.25)) -> torch.Tensor:
    """B.1: zero-mean noise, sigma ~ U(0.15, 0.25) per volume; re-scaled to [0, 1] like the official code."""
    sigma = _u(g, *sigma_range, (img.shape[0], 1, 1, 1, 1))
    return minmax(img + sigma * torch.randn(img.shape, generator=g))


def add_salt_pepper(img: torch.Tensor, g: torch.Generator, p: float = 0.04) -> torch.Tensor:
    """B.1: salt (value 1) and pepper (value 0) added separately, each with probability 0.04."""
    out = img.clone()
    out[torch.rand(img.shape, generator=g) < p] = 1.0
    out[torch.rand(img.shape, generator=g) < p] = 0.0
    return out


def perlin_noise_3d(shape, res: int, g: torch.Generator) -> torch.Tensor:
    """Classic 3-D gradient (Perlin) noise on a ``res``^3 lattice with the quintic fade; ``shape`` = (X, Y, Z).
    Values lie roughly in [-1, 1]."""
    grads = torch.randn(res + 1, res + 1, res + 1, 3, generator=g)
    grads = grads / grads.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    coords = [torch.arange(s, dtype=torch.float32) * res / s for s in shape]
    cx, cy, cz = torch.meshgrid(*coords, indexing="ij")
    pos = torch.stack([cx, cy, cz], dim=-1)
    base = pos.floor().long()
    frac = pos - base
    fade = frac ** 3 * (frac * (frac * 6 - 15) + 10)
    out = torch.zeros(shape)
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                corner = torch.tensor([dx, dy, dz])
                gv = grads[base[..., 0] + dx, base[..., 1] + dy, base[..., 2] + dz]
                dot = (gv * (frac - corner)).sum(-1)
                w = torch.ones(shape)
                for a, c in enumerate((dx, dy, dz)):
                    w = w * (fade[..., a] if c else 1 - fade[..., a])
                out = out + w * dot
    return out


def perlin_mask(shape, g: torch.Generator, res_choices=(2, 4, 8), frac_range=(0.05, 0.2)) -> torch.Tensor:
    """Binary occlusion mask from thresholded Perlin noise: blob-shaped holes covering ~5-20 % of the grid."""
    res = res_choices[int(torch.randint(len(res_choices), (), generator=g))]
    noise = perlin_noise_3d(shape, res, g)
    frac = float(_u(g, *frac_range))
    thr = torch.quantile(noise.flatten()[:: max(1, noise.numel() // 100000)], 1.0 - frac)
    return (noise > thr).to(torch.float32)


def inpainting_input(img: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Holes set to 0 (the official demo's convention); the target is the intact image."""
    masks = torch.stack([perlin_mask(img.shape[2:], g) for _ in range(img.shape[0])]).unsqueeze(1)
    return img * (1.0 - masks)


def super_resolution_input(img: torch.Tensor, factor: int = 2) -> torch.Tensor:
    """x2 down-sampling (average pooling), then trilinear up-sampling back to the grid."""
    low = F.avg_pool3d(img, factor)
    return F.interpolate(low, size=img.shape[2:], mode="trilinear", align_corners=False)


def three_slice_input(img: torch.Tensor) -> torch.Tensor:
    """2D-to-3D (B.1): only the three central orthogonal slices are kept."""
    keep = torch.zeros_like(img)
    x, y, z = (s // 2 for s in img.shape[2:])
    keep[:, :, x] = 1
    keep[:, :, :, y] = 1
    keep[:, :, :, :, z] = 1
    return img * keep


OVERLAYS = ("bias", "gaussian_noise", "salt_pepper", "inpainting", "super_resolution")


def corrupt(task: str, img: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    if task == "bias":
        return add_bias_field(img, g)
    if task == "gaussian_noise":
        return add_gaussian_noise(img, g)
    if task == "salt_pepper":
        return add_salt_pepper(img, g)
    if task == "inpainting":
        return inpainting_input(img, g)
    if task == "super_resolution":
        return super_resolution_input(img)
    if task == "2d_to_3d":
        return three_slice_input(img)
    raise KeyError(task)


def random_task_overlay(img: torch.Tensor, g: torch.Generator, p: float = 0.05,
                        applied: Optional[List[str]] = None) -> torch.Tensor:
    """Random task overlapping (B.2): each of five corruptions independently with probability 0.05, the same
    choice for the whole group so that the context shows the combined task."""
    for name in OVERLAYS:
        if _coin(g, p):
            img = corrupt(name, img, g)
            if applied is not None:
                applied.append(name)
    return img
