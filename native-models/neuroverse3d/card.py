"""Evaluation card for a model package: python -m neuroverse3d.card --checkpoint ... --eval ... --out card.json

The card is what the app shows next to a model and what `neuroverse model import --evaluation` stores in the
package manifest. It is built only from measured files (the checkpoint's own step/time/hardware record, its run
config and the evaluate.py JSON), so the numbers in the app are the numbers of the evaluation run.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from statistics import mean, pstdev
from typing import Dict, List, Optional, Sequence

from .train import load_checkpoint

TARGET_DICE = 0.75


def _per_size(scores: Dict, name: str, method: str, sizes: Sequence[str]) -> List[Optional[float]]:
    per = scores.get(name, {}).get(method, {})
    return [round(mean(per[s]), 4) if s in per and per[s] else None for s in sizes]


def _seg_block(scores: Dict, structures: Sequence[str], sizes: Sequence[str], note: str) -> Dict:
    last = sizes[-1]
    rows = [{"structure": s, "model": round(mean(scores[s]["model"][last]), 4),
             "baseline": round(mean(scores[s]["context_mean"][last]), 4)} for s in structures]

    def average(method: str) -> List[float]:
        n = len(scores[structures[0]][method][sizes[0]])
        return [round(mean(mean(scores[s][method][L][i] for s in structures) for i in range(n)), 4) for L in sizes]

    return {
        "metric": "Dice", "note": note, "contextSizes": [int(s) for s in sizes],
        "perSize": {s: {"model": _per_size(scores, s, "model", sizes),
                        "baseline": _per_size(scores, s, "context_mean", sizes),
                        "modelStd": [round(pstdev(scores[s]["model"][L]), 4) for L in sizes]} for s in structures},
        "average": {"model": average("model"), "baseline": average("context_mean")},
        # Dice at the largest context size, the row the app shows.
        "table": rows,
        "beatsBaselineOn": [r["structure"] for r in rows if r["model"] > r["baseline"]],
    }


def build_card(ckpt: Dict, run_config: Optional[Dict], eval_json: Dict, gen_json: Optional[Dict],
               history: Optional[str] = None, aligned_json: Optional[Dict] = None) -> Dict:
    scores = eval_json["scores"]
    colin = scores.pop("colin27", None)
    gen_scores = (gen_json or {}).get("scores", {})
    structures = [k for k, v in scores.items() if "context_mean" in v and "identity" not in v]
    gen_tasks = [k for k, v in {**scores, **gen_scores}.items() if "identity" in v]
    all_gen = {**{k: v for k, v in scores.items() if k in gen_tasks}, **gen_scores}
    sizes = sorted(scores[structures[0]]["model"].keys(), key=int)
    args = (run_config or {}).get("args", {})
    seg = _seg_block(scores, structures, sizes, "held-out synthetic targets from label maps 17-20, contexts rendered "
                     "from maps 01-16 in the same random contrast; baseline = voxel-wise mean of the context labels "
                     "thresholded at 0.5, after the same grid fit")
    card: Dict = {
        "evaluatedWith": "native-models/neuroverse3d/evaluate.py",
        "header": eval_json.get("header"),
        "training": {
            "steps": int(ckpt.get("step", 0)),
            "hours": round(float(ckpt.get("elapsed_s", 0.0)) / 3600, 2),
            "hardware": ckpt.get("hardware", "?"),
            "channels": ckpt["config"]["channels"], "grid": ckpt["config"]["grid"],
            "data": "SynthSeg-style Gaussian-mixture images rendered on the fly from label maps 01-16 of "
                    "../shared/data/synthseg-label-maps (no real images in training)"
                    + (f"; {float(args['aligned_fraction']):.0%} of steps on aligned episodes (aligned.py: context labels "
                       "brought onto the target by a label-centroid affine plus a registration-sized residual, "
                       "framed by the structure's box as the app frames aligned runs)"
                       if float(args.get("aligned_fraction") or 0) > 0 else ""),
            # config.json stores flags as str(value): the default (no overrides) is "{}".
            "taskRates": args.get("task_rates") if args.get("task_rates") not in (None, "", "{}") else "Table 3",
            "lr": args.get("lr"), "miniContext": args.get("mini_context"),
            # The run config holds only the flags of the last invocation; earlier phases are described here.
            "history": history,
        },
        "segmentation": seg,
    }
    if aligned_json:
        card["segmentationAligned"] = {
            "note": "held-out synthetic label maps 17-20, aligned episodes as the app runs them (eval_aligned.py); "
                    "model vs majority vote of the same aligned context labels, L = 3",
            "dice": {k: {m: round(v[m], 3) for m in ("model", "vote")} for k, v in aligned_json.items()},
        }
    if colin:
        cs = [k for k in colin]
        card["colin27"] = _seg_block(colin, cs, sizes, "real Colin27 T1 (mricron-data) against AAL atlas labels; "
                                     "contexts are T1-like renderings of maps 01-16")
    if all_gen:
        gsizes = sorted(next(iter(all_gen.values()))["model"].keys(), key=int)
        card["generation"] = {
            "metric": "PSNR dB", "contextSize": int(gsizes[-1]),
            "table": [{"task": t, "model": round(mean(v["model"][gsizes[-1]]), 2),
                       "baseline": round(mean(v["context_mean"][gsizes[-1]]), 2),
                       "identity": round(mean(v["identity"][gsizes[-1]]), 2)} for t, v in all_gen.items()],
        }
    avg_m, avg_b = seg["average"]["model"][-1], seg["average"]["baseline"][-1]
    n_beat = len(seg["beatsBaselineOn"])
    card["summary"] = (
        f"{card['training']['steps']} training steps ({card['training']['hours']} h, {card['training']['hardware']}). "
        f"Held-out Dice at L = {sizes[-1]}: {avg_m:.2f} average over {len(structures)} structures "
        f"(context-mean baseline {avg_b:.2f}; target {TARGET_DICE}); beats the baseline on {n_beat} of "
        f"{len(structures)}.")
    return card


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Build a model package's evaluation card from measured files")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--eval", type=Path, required=True, help="evaluate.py --out folder with segmentation scores")
    p.add_argument("--gen-eval", type=Path, default=None, help="optional separate generation eval folder")
    p.add_argument("--history", default=None, help="how the run went when its phases used different flags")
    p.add_argument("--aligned-eval", type=Path, default=None, help="eval_aligned.py --out JSON")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args(argv)
    ckpt = load_checkpoint(a.checkpoint)
    run_config_path = a.checkpoint.parent / "config.json"
    run_config = json.loads(run_config_path.read_text()) if run_config_path.exists() else None
    gen = json.loads((a.gen_eval / "eval.json").read_text()) if a.gen_eval else None
    aligned = json.loads(a.aligned_eval.read_text()) if a.aligned_eval else None
    card = build_card(ckpt, run_config, json.loads((a.eval / "eval.json").read_text()), gen, a.history, aligned)
    a.out.write_text(json.dumps(card, indent=1) + "\n")
    print(card["summary"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
