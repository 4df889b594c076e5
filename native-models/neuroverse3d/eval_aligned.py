"""Model selection on held-out synthetic label maps (17-20), aligned episodes as the app would run them:
the model's Dice against the majority vote of the same aligned context labels, per evaluation structure.

    python -m neuroverse3d.eval_aligned --checkpoint runs/aligned64/last.pt [--episodes 4] [--package DIR]

Not the judgement that counts (that is real scans through the app's CLI, scripts/eval-freesurfer.ts); a quick
check that a checkpoint moves the right way, without touching the real dev subjects.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from .aligned import NativeBank, make_aligned_episode, vote_dice
from .data import EVAL_STRUCTURES, HELDOUT_IDS, STRUCTURES
from .model import Neuroverse3D


def dice(pred: torch.Tensor, truth: torch.Tensor, threshold: float = 0.5) -> float:
    p = (pred > threshold).float()
    y = (truth >= 0.5).float()
    return float(2 * (p * y).sum() / (p.sum() + y.sum()).clamp_min(1))


def load_model(checkpoint: Path = None, package: Path = None) -> Neuroverse3D:
    if package is not None:
        from .package_weights import config_of_package, state_dict_from_package
        model = Neuroverse3D(config_of_package(package))
        model.load_state_dict(state_dict_from_package(package, model.state_dict()))
    else:
        from .train import build_model_from_checkpoint, load_checkpoint
        model = build_model_from_checkpoint(load_checkpoint(checkpoint))
    return model.eval()


def evaluate(model: Neuroverse3D, episodes: int = 4, seed: int = 1234) -> dict:
    bank = NativeBank(HELDOUT_IDS)
    grid = model.config.grid
    rows = {}
    with torch.no_grad():
        for name in EVAL_STRUCTURES:
            g = torch.Generator().manual_seed(seed)
            m, v = [], []
            for k in range(episodes):
                subjects = [(k + i) % len(bank) for i in range(len(bank))]  # each held-out map the target in turn
                ep = make_aligned_episode(bank, subjects, g, grid, values=STRUCTURES[name], augment=False)
                pred = model(ep.inputs[-1:], ep.inputs[None, :-1], ep.targets[None, :-1], mini_context=len(bank))
                m.append(dice(pred[0], ep.targets[-1]))
                v.append(vote_dice(ep))
            rows[name] = {"model": sum(m) / len(m), "vote": sum(v) / len(v)}
    rows["mean"] = {k: sum(r[k] for r in rows.values()) / len(EVAL_STRUCTURES) for k in ("model", "vote")}
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path)
    p.add_argument("--package", type=Path)
    p.add_argument("--episodes", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=None, help="also write the table as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = evaluate(load_model(args.checkpoint, args.package), args.episodes)
    for name, r in rows.items():
        print(f"{name:20s} model {r['model']:.3f}  vote {r['vote']:.3f}")
    print(json.dumps(rows))
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
