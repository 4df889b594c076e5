"""Real held-out data: the Colin27 single-subject T1 with the AAL atlas (Debian `mricron-data`).

Fetch once (no root needed for the extraction):
    apt-get download mricron-data && dpkg -x mricron-data_*.deb runs/cache/mricron
The default folder is runs/cache/mricron/usr/share/mricron/templates (override with NV3D_COLIN27_DIR).

AAL was drawn on this very subject, so its parcels follow Colin27's anatomy; they are not FreeSurfer's definitions
(e.g. AAL's hippocampus and cortex boundaries differ from aseg's), which caps any aseg-trained model's Dice here.
The lateral ventricle has no AAL label and is not scored.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from .data import NATIVE_DIR, fit_to_grid

# The app bundles the same three files under other names (resources/sample, see its README); they are used
# when no extracted package is found, so the held-out Colin27 check needs no download.
SAMPLE_DIR = NATIVE_DIR.parent / "resources" / "sample"
SAMPLE_NAMES = {"ch2.nii.gz": "colin27_t1.nii.gz", "ch2bet.nii.gz": "colin27_t1_brain.nii.gz", "aal.nii.gz": "colin27_aal.nii.gz"}
DEFAULT_DIR = Path(os.environ.get("NV3D_COLIN27_DIR",
                                  NATIVE_DIR / "runs" / "cache" / "mricron" / "usr" / "share" / "mricron" / "templates"))


def _file(folder: Path, name: str) -> Path:
    p = Path(folder) / name
    if p.exists() or Path(folder) != DEFAULT_DIR:
        return p
    return SAMPLE_DIR / SAMPLE_NAMES[name]


# AAL region numbers, both hemispheres merged.
AAL_STRUCTURES: Dict[str, List[int]] = {
    "hippocampus": [37, 38],
    "amygdala": [41, 42],
    "putamen": [73, 74],
    "thalamus": [77, 78],
    # AAL cortical parcels 1-90 without the hippocampus, amygdala and the basal ganglia/thalamus parcels.
    "cortex": [r for r in range(1, 91) if r not in (37, 38, 41, 42, 71, 72, 73, 74, 75, 76, 77, 78)],
}

# Stored orientation of the training label maps (../shared/data/README.md): the network's kernels are not
# orientation-invariant, so real scans are brought to the same voxel-axis order before the fit.
TRAINING_AXCODES = ("L", "I", "A")


def _load_lia(path: Path) -> np.ndarray:
    import nibabel as nib
    img = nib.load(str(path))
    ornt = nib.orientations.ornt_transform(nib.orientations.io_orientation(img.affine),
                                           nib.orientations.axcodes2ornt(TRAINING_AXCODES))
    return nib.orientations.apply_orientation(np.asarray(img.dataobj), ornt)


def available(folder: Path = DEFAULT_DIR) -> bool:
    return all(_file(folder, f).exists() for f in ("ch2.nii.gz", "ch2bet.nii.gz", "aal.nii.gz"))


def load_colin27(grid: int, folder: Path = DEFAULT_DIR):
    """Returns (T1 image [1, 1, G, G, G] in [0, 1], AAL labels [G, G, G]) fitted like the training maps: the brain
    box comes from the skull-stripped T1, intensities are normalised on the 2nd-98th percentiles (paper §4.1)."""
    folder = Path(folder)
    t1 = _load_lia(_file(folder, "ch2.nii.gz")).astype(np.float32)
    bet = _load_lia(_file(folder, "ch2bet.nii.gz")) > 0
    aal = _load_lia(_file(folder, "aal.nii.gz")).astype(np.int16)
    t1g = fit_to_grid(t1, grid, brain=bet)
    aalg = fit_to_grid(aal, grid, brain=bet)
    lo, hi = np.percentile(t1g, [2, 98])
    t1g = np.clip((t1g - lo) / max(hi - lo, 1e-8), 0, 1)
    return torch.from_numpy(t1g.astype(np.float32))[None, None], torch.from_numpy(aalg.astype(np.int64))


def t1_like_means(g: torch.Generator, max_label: int = 1024) -> torch.Tensor:
    """Per-label means of a T1-weighted look (white matter bright, grey matter mid, CSF dark) for rendering
    context images that resemble the Colin27 target."""
    means = 0.2 + 0.6 * torch.rand(max_label, generator=g)  # extra-cerebral tissues: arbitrary, fixed per seed
    table = {0: 0.0, 2: 0.85, 41: 0.85, 3: 0.5, 42: 0.5, 4: 0.1, 43: 0.1, 5: 0.1, 44: 0.1, 14: 0.1, 15: 0.1,
             24: 0.12, 7: 0.8, 46: 0.8, 8: 0.55, 47: 0.55, 10: 0.7, 49: 0.7, 11: 0.55, 50: 0.55, 12: 0.6, 51: 0.6,
             13: 0.72, 52: 0.72, 16: 0.72, 17: 0.5, 53: 0.5, 18: 0.52, 54: 0.52, 26: 0.55, 58: 0.55, 28: 0.7,
             60: 0.7}
    for k, v in table.items():
        means[k] = v
    return means
