"""The bundled model scored through the app, not through PyTorch: python -m neuroverse3d.app_eval --help

evaluate.py scores a checkpoint in the training pipeline (PyTorch, arrays already reoriented and framed). The
app instead gets native NIfTI files and does its own normalisation, reorientation and grid fit in TypeScript
before running the ONNX graphs. This script feeds the real Colin27 T1 (RAS, 181x217x181, with skull) to the app's
CLI (`neuroverse run`) with context pairs rendered at native resolution from training label maps 01-16 (LIA,
T1-like contrast, saved as NIfTI with their aseg labels), and scores each mask against the AAL atlas in Colin27's
own grid. If these numbers fall far below evaluate.py's Colin27 table, the app's pre-processing does not match
training.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

from .colin27 import AAL_STRUCTURES, SAMPLE_DIR, t1_like_means
from .data import DEFAULT_LABEL_DIR, MAX_LABEL, STRUCTURES, TRAIN_IDS, Contrast, is_brain, load_label_map, render

ROOT = Path(__file__).resolve().parents[2]


def crop_to_head(labels: np.ndarray, affine: np.ndarray, margin: int = 12):
    """The label map's brain box plus a margin (keeps skull/scalp labels near it): 256^3 maps are mostly air,
    and rendering them whole would cost four times the memory for nothing."""
    idx = np.argwhere(is_brain(labels))
    lo = np.maximum(idx.min(0) - margin, 0)
    hi = np.minimum(idx.max(0) + 1 + margin, labels.shape)
    crop = labels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    shifted = affine.copy()
    shifted[:3, 3] = affine[:3, :3] @ lo + affine[:3, 3]
    return crop, shifted


def write_contexts(folder: Path, ids: List[int], seed: int) -> List[Dict]:
    import nibabel as nib
    g = torch.Generator().manual_seed(seed)
    contrast = Contrast(t1_like_means(g, MAX_LABEL), torch.full((MAX_LABEL,), 0.02), blur=0.6, gamma=1.0)
    pairs = []
    for i in ids:
        src = nib.load(str(DEFAULT_LABEL_DIR / f"training_seg_{i:02d}.nii.gz"))
        labels, affine = crop_to_head(load_label_map(DEFAULT_LABEL_DIR / f"training_seg_{i:02d}.nii.gz"), src.affine)
        img = render(torch.from_numpy(labels.astype(np.int64))[None], contrast, g)[0, 0].numpy()
        ip, lp = folder / f"ctx{i:02d}_t1.nii.gz", folder / f"ctx{i:02d}_aseg.nii.gz"
        nib.save(nib.Nifti1Image(img.astype(np.float32), affine), str(ip))
        nib.save(nib.Nifti1Image(labels.astype(np.int16), affine), str(lp))
        pairs.append({"image": str(ip), "label": str(lp)})
    return pairs


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = a.sum() + b.sum()
    return float(2 * np.logical_and(a, b).sum() / s) if s else 1.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Score a model package through the app's CLI on Colin27 vs AAL")
    p.add_argument("--model", type=Path, default=ROOT / "resources" / "models" / "default")
    p.add_argument("--sizes", default="1,4,8")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--seed", type=int, default=4321)
    p.add_argument("--target", type=Path, default=SAMPLE_DIR / "colin27_t1.nii.gz",
                   help="Colin27 T1 as target (default: with skull; colin27_t1_brain.nii.gz is skull-stripped)")
    p.add_argument("--out", type=Path, default=None, help="write app_eval.json and app_eval.md here")
    a = p.parse_args(argv)
    import nibabel as nib
    target = a.target
    aal = np.rint(np.asarray(nib.load(str(SAMPLE_DIR / "colin27_aal.nii.gz")).dataobj)).astype(np.int16)
    sizes = [int(s) for s in a.sizes.split(",")]
    scores: Dict[str, Dict[int, List[float]]] = {s: {L: [] for L in sizes} for s in AAL_STRUCTURES}
    seconds: List[float] = []
    with tempfile.TemporaryDirectory(prefix="nv3d-app-eval-") as tmp:
        work = Path(tmp)
        for r in range(a.repeats):
            g = torch.Generator().manual_seed(a.seed + r)
            ids = [TRAIN_IDS[k] for k in torch.randperm(len(TRAIN_IDS), generator=g)[:max(sizes)].tolist()]
            pairs = write_contexts(work, ids, a.seed + r)
            for name, aal_values in AAL_STRUCTURES.items():
                truth = np.isin(aal, aal_values)
                for L in sizes:
                    out = work / f"{name}_L{L}_r{r}.nii.gz"
                    cmd = ["node", str(ROOT / "bin" / "neuroverse.js"), "run", "--model", str(a.model), "--target",
                           str(target), "--out", str(out), "--device", "cpu", "--json"]
                    for pr in pairs[:L]:
                        cmd += ["--context", f"{pr['image']},{pr['label']}"]
                    for v in STRUCTURES[name]:
                        cmd += ["--label", str(v)]
                    t0 = time.time()
                    res = subprocess.run(cmd, capture_output=True, text=True)
                    if res.returncode != 0:
                        print(res.stdout + res.stderr, file=sys.stderr)
                        return res.returncode
                    seconds.append(time.time() - t0)
                    mask = np.asarray(nib.load(str(out)).dataobj) > 0
                    scores[name][L].append(dice(mask, truth))
            print(f"repeat {r + 1}/{a.repeats} done", flush=True)
    lines = [f"{target.name} (RAS, native grid) vs AAL through `neuroverse run` with {a.model.name}; contexts: T1-like "
             f"renderings of maps 01-16 at native resolution (LIA); mean over {a.repeats} repeats", "",
             "| structure | " + " | ".join(f"L={L}" for L in sizes) + " |", "|---|" + "---|" * len(sizes)]
    for name in AAL_STRUCTURES:
        lines.append(f"| {name} | " + " | ".join(f"{np.mean(scores[name][L]):.3f}" for L in sizes) + " |")
    lines.append("| **average** | " + " | ".join(f"{np.mean([np.mean(scores[n][L]) for n in AAL_STRUCTURES]):.3f}"
                                              for L in sizes) + " |")
    lines += ["", f"CLI wall time per run (process start, reading, pre-processing, inference, writing): "
                  f"median {np.median(seconds):.1f} s over {len(seconds)} runs"]
    table = "\n".join(lines)
    print(table)
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "app_eval.md").write_text(table + "\n")
        (a.out / "app_eval.json").write_text(json.dumps({"scores": {n: {str(L): v for L, v in d.items()}
                                                                    for n, d in scores.items()},
                                                         "seconds": seconds}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
