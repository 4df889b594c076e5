"""Held-out evaluation in the style of the paper's Tables 4-5 (python -m neuroverse3d.evaluate --help).

Targets are synthetic images rendered from the held-out label maps 17-20; context pairs are rendered, with the same
random contrast (one "dataset" per repeat), from the training label maps 01-16, which play the role of the paper's
meta-context set (their anatomy was seen in training, their rendered images were not). Contexts are nested across
sizes (the first L of eight), so differences between sizes are not due to different context draws.

Baselines use the same grid fit: "context mean" thresholds the voxel-wise mean of the L context labels at 0.5 (for
generation tasks it is the mean of the context outputs); "identity" returns the corrupted input unchanged.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Sequence

import torch

from .data import EVAL_STRUCTURES, HELDOUT_IDS, STRUCTURES, TRAIN_IDS, LabelBank, make_episode
from .losses import GENERATION_TASKS
from .train import build_model_from_checkpoint, load_checkpoint


def dice(pred: torch.Tensor, gt: torch.Tensor) -> float:
    """Dice of two binary masks; both empty counts as 1."""
    p, g = pred.bool(), gt.bool()
    denom = int(p.sum()) + int(g.sum())
    return 1.0 if denom == 0 else 2.0 * int((p & g).sum()) / denom


def psnr(pred: torch.Tensor, gt: torch.Tensor, data_range: float = 1.0) -> float:
    mse = float(((pred.clamp(0, 1) - gt) ** 2).mean())
    return float("inf") if mse == 0 else 10.0 * math.log10(data_range ** 2 / mse)


class _Bank:
    """Training and held-out maps in one index space for make_episode."""

    def __init__(self, *banks: LabelBank):
        self.maps = [m for b in banks for m in b.maps]

    def __len__(self):
        return len(self.maps)

    def __getitem__(self, k):
        return self.maps[k]


def evaluate(model, grid: int, sizes: Sequence[int] = (1, 2, 4, 8), repeats: int = 2,
             targets: Sequence[int] = HELDOUT_IDS, structures: Sequence[str] = EVAL_STRUCTURES,
             gen_tasks: Sequence[str] = GENERATION_TASKS, mini_context: int = 8, seed: int = 1234,
             progress=print) -> Dict:
    train_bank = LabelBank(TRAIN_IDS, grid)
    held_bank = LabelBank(targets, grid)
    bank = _Bank(train_bank, held_bank)
    n_train = len(train_bank)
    max_l = max(sizes)
    scores: Dict[str, Dict[str, Dict[int, List[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    model.eval()
    t_start = time.time()
    for r in range(repeats):
        for ti in range(len(held_bank)):
            ctx_ids = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed + 97 * r))[:max_l].tolist()
            subjects = ctx_ids + [n_train + ti]
            jobs = [("segmentation", s) for s in structures] + [(t, t) for t in gen_tasks]
            for task, name in jobs:
                # Same seed for every structure of one (repeat, target): identical images, only the label differs.
                key = 0 if task == "segmentation" else 1 + list(gen_tasks).index(task)
                g = torch.Generator().manual_seed(seed + 1000 * r + 10 * ti + 100000 * key)
                ep = make_episode(bank, subjects, task, g, seg_values=STRUCTURES.get(name), augment=False)
                x, y = ep.inputs[-1:], ep.targets[-1:]
                for L in sizes:
                    ci = ep.inputs[:L].unsqueeze(0)
                    cl = ep.targets[:L].unsqueeze(0)
                    with torch.no_grad():
                        pred = model(x, ci, cl, mini_context=mini_context, order=None,
                                     generator=torch.Generator().manual_seed(0))
                    mean_ctx = ep.targets[:L].mean(0, keepdim=True)
                    if task == "segmentation":
                        scores[name]["model"][L].append(dice(pred > 0.5, y > 0.5))
                        scores[name]["context_mean"][L].append(dice(mean_ctx > 0.5, y > 0.5))
                    else:
                        scores[name]["model"][L].append(psnr(pred, y))
                        scores[name]["context_mean"][L].append(psnr(mean_ctx, y))
                        scores[name]["identity"][L].append(psnr(x, y))
            progress(f"repeat {r + 1}/{repeats} target {ti + 1}/{len(held_bank)} done ({time.time() - t_start:.0f}s)")
    return {name: {method: {L: v for L, v in per_l.items()} for method, per_l in d.items()}
            for name, d in scores.items()}


def evaluate_colin27(model, grid: int, sizes: Sequence[int] = (1, 2, 4, 8), repeats: int = 2,
                     mini_context: int = 8, seed: int = 4321, folder=None, progress=print) -> Dict:
    """Real T1 target (Colin27, AAL labels as ground truth); contexts are T1-like renderings of training maps 01-16
    with their aseg labels, so the model has to transfer the structure definition shown by the context."""
    from .colin27 import AAL_STRUCTURES, DEFAULT_DIR, load_colin27, t1_like_means
    from .data import MAX_LABEL, Contrast, render
    from .tasks import foreground_mask

    x, aal = load_colin27(grid, folder or DEFAULT_DIR)
    bank = LabelBank(TRAIN_IDS, grid)
    max_l = max(sizes)
    scores: Dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    model.eval()
    for r in range(repeats):
        g = torch.Generator().manual_seed(seed + r)
        ctx_ids = torch.randperm(len(bank), generator=g)[:max_l].tolist()
        labels = torch.stack([bank[i] for i in ctx_ids])
        contrast = Contrast(t1_like_means(g), torch.full((MAX_LABEL,), 0.02), blur=0.6, gamma=1.0)
        ctx_img = render(labels, contrast, g)
        for name, aal_values in AAL_STRUCTURES.items():
            y = torch.isin(aal, torch.tensor(aal_values))[None, None]
            ctx_lab = foreground_mask(labels, STRUCTURES[name])
            for L in sizes:
                with torch.no_grad():
                    pred = model(x, ctx_img[:L].unsqueeze(0), ctx_lab[:L].unsqueeze(0), mini_context=mini_context,
                                 generator=torch.Generator().manual_seed(0))
                scores[name]["model"][L].append(dice(pred > 0.5, y))
                scores[name]["context_mean"][L].append(dice(ctx_lab[:L].mean(0, keepdim=True) > 0.5, y))
        progress(f"colin27 repeat {r + 1}/{repeats} done")
    return {name: {m: dict(per_l) for m, per_l in d.items()} for name, d in scores.items()}


def _fmt(values: List[float]) -> str:
    t = torch.tensor(values, dtype=torch.float64)
    return f"{float(t.mean()):.3f} ± {float(t.std(unbiased=False)):.3f}"


def format_table(scores: Dict, sizes: Sequence[int], structures: Sequence[str], gen_tasks: Sequence[str],
                 title: str = "Segmentation, Dice (held-out targets 17-20, mean ± std over repeats x targets)") -> str:
    lines: List[str] = []
    head = "| {} | method | " + " | ".join(f"L={L}" for L in sizes) + " |"
    sep = "|---|---|" + "---|" * len(sizes)
    if structures:
        lines += [title, "", head.format("structure"), sep]
    for s in structures:
        for method in ("model", "context_mean"):
            lines.append(f"| {s} | {method} | " + " | ".join(_fmt(scores[s][method][L]) for L in sizes) + " |")
    if structures:
        avg = {m: {L: [sum(scores[s][m][L][i] for s in structures) / len(structures)
                       for i in range(len(scores[structures[0]][m][L]))] for L in sizes}
               for m in ("model", "context_mean")}
        for method in ("model", "context_mean"):
            lines.append(f"| **average ({len(structures)})** | {method} | "
                         + " | ".join(_fmt(avg[method][L]) for L in sizes) + " |")
    if not gen_tasks:
        return "\n".join(lines)
    lines += ["", "Generation, PSNR dB (held-out targets 17-20)", "", head.format("task"), sep]
    for t in gen_tasks:
        for method in ("model", "context_mean", "identity"):
            lines.append(f"| {t} | {method} | " + " | ".join(_fmt(scores[t][method][L]) for L in sizes) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Evaluate a checkpoint on held-out synthetic data")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--sizes", default="1,2,4,8")
    p.add_argument("--repeats", type=int, default=2, help="random context sets / contrasts per target (paper: 10)")
    p.add_argument("--mini-context", type=int, default=8, help="APSP mini-context size at inference")
    p.add_argument("--no-generation", action="store_true")
    p.add_argument("--no-segmentation", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--colin27", action="store_true", help="also score the real Colin27 T1 against AAL (see colin27.py)")
    p.add_argument("--out", type=Path, default=None, help="write scores JSON and table markdown here")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    ckpt = load_checkpoint(a.checkpoint)
    model = build_model_from_checkpoint(ckpt)
    sizes = [int(s) for s in a.sizes.split(",")]
    gen = [] if a.no_generation else GENERATION_TASKS
    structures = [] if a.no_segmentation else EVAL_STRUCTURES
    scores = evaluate(model, _grid_of(ckpt), sizes=sizes, repeats=a.repeats, gen_tasks=gen, structures=structures,
                      mini_context=a.mini_context)
    table = format_table(scores, sizes, structures, gen)
    header = (f"checkpoint {a.checkpoint} (step {ckpt.get('step')}, {float(ckpt.get('elapsed_s', 0)) / 3600:.2f} h "
              f"on {ckpt.get('hardware', '?')}, channels {ckpt['config']['channels']}, grid {ckpt['config']['grid']}),"
              f" repeats {a.repeats}")
    if a.colin27:
        from .colin27 import AAL_STRUCTURES
        colin = evaluate_colin27(model, _grid_of(ckpt), sizes=sizes, repeats=a.repeats, mini_context=a.mini_context)
        scores["colin27"] = colin
        table += "\n\n" + format_table(colin, sizes, list(AAL_STRUCTURES), [],
                                        title="Colin27 real T1 vs AAL labels, Dice (contexts: T1-like renderings of "
                                              "maps 01-16; mean ± std over repeats)")
    print(header + "\n\n" + table)
    if a.out:
        a.out.mkdir(parents=True, exist_ok=True)
        (a.out / "eval.md").write_text(header + "\n\n" + table + "\n")
        (a.out / "eval.json").write_text(json.dumps({"header": header, "scores": scores}, indent=1))
    return 0


def _grid_of(ckpt: Dict) -> int:
    return int(ckpt["config"]["grid"])


if __name__ == "__main__":
    sys.exit(main())
