"""Held-out check on synthetic lesion episodes (lesions.py) rendered from the held-out maps 17-20: the model's Dice
on the target's lesion mask, by lesion family, at context size 3.

    python -m neuroverse3d.eval_lesions --checkpoint runs/lesion64/last.pt [--episodes 24] [--package DIR]

A quick check that a checkpoint moves the right way; the judgement that counts is the real leave-one-out through
the app (scripts/eval/eval-lesions.ts). Targets drawn empty are scored by whether the model predicts nothing.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import torch

from .data import HELDOUT_IDS, LabelBank
from .eval_aligned import dice, load_model
from .lesions import make_lesion_episode


def evaluate(model, episodes: int = 24, seed: int = 4321, context: int = 3) -> dict:
    bank = LabelBank(HELDOUT_IDS, model.config.grid)
    g = torch.Generator().manual_seed(seed)
    by_family = defaultdict(list)
    empty_hits = []
    with torch.no_grad():
        for k in range(episodes):
            subjects = [(k + i) % len(bank) for i in range(context + 1)]
            ep = make_lesion_episode(bank, subjects, g, augment=False)
            pred = model(ep.inputs[-1:], ep.inputs[None, :-1], ep.targets[None, :-1], mini_context=context)
            if float(ep.targets[-1].sum()) == 0:
                empty_hits.append(float((pred[0] > 0.5).sum() == 0))
            else:
                by_family[ep.info["kind"]["family"]].append(dice(pred[0], ep.targets[-1]))
    rows = {f: {"dice": sum(v) / len(v), "n": len(v)} for f, v in sorted(by_family.items())}
    all_d = [d for v in by_family.values() for d in v]
    rows["all"] = {"dice": sum(all_d) / max(1, len(all_d)), "n": len(all_d)}
    rows["empty_targets_left_empty"] = {"fraction": sum(empty_hits) / len(empty_hits) if empty_hits else None,
                                        "n": len(empty_hits)}
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", type=Path)
    p.add_argument("--package", type=Path, help="score a model package's weights instead (package_weights.py)")
    p.add_argument("--episodes", type=int, default=24)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    if (args.checkpoint is None) == (args.package is None):
        p.error("give --checkpoint or --package")
    torch.set_num_threads(args.threads)
    model = load_model(args.checkpoint, args.package)
    print(json.dumps(evaluate(model, args.episodes), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
