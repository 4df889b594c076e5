"""Loss curve summary of a run: mean unweighted loss per task over consecutive step windows
(python -m neuroverse3d.log_summary runs/NAME [--windows 5])."""
from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List


def summarise(lines: List[Dict], windows: int) -> str:
    if not lines:
        return "no steps logged"
    last = lines[-1]["step"]
    size = max(1, -(-last // windows))
    tasks = sorted({l["task"] for l in lines})
    rows = ["| steps | s/step | " + " | ".join(tasks) + " |", "|---|---|" + "---|" * len(tasks)]
    for w in range(windows):
        chunk = [l for l in lines if w * size < l["step"] <= (w + 1) * size]
        if not chunk:
            continue
        per: Dict[str, List[float]] = defaultdict(list)
        for l in chunk:
            per[l["task"]].append(l["loss_unweighted"])
        secs = sum(l["seconds"] for l in chunk) / len(chunk)
        cells = [f"{sum(per[t]) / len(per[t]):.4f} ({len(per[t])})" if per[t] else "-" for t in tasks]
        rows.append(f"| {chunk[0]['step']}-{chunk[-1]['step']} | {secs:.1f} | " + " | ".join(cells) + " |")
    hours = lines[-1].get("elapsed_s", 0) / 3600
    return f"{last} steps, {hours:.2f} h elapsed; mean unweighted loss (count) per task and step window\n\n" + "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("run_dir", type=Path)
    p.add_argument("--windows", type=int, default=5)
    a = p.parse_args(argv)
    lines = [json.loads(l) for l in (a.run_dir / "log.jsonl").read_text().splitlines() if l.strip()]
    print(summarise(lines, a.windows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
