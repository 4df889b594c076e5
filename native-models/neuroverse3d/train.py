"""Training loop: python -m neuroverse3d.train --help (README.md has examples).

Resumable (run-dir/last.pt holds model, optimiser, AMP scaler, RNG state, step and elapsed time), bounded by a
wall-clock budget, with per-step JSONL logs and per-task running means on stdout.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict

import torch

from .config import ModelConfig, parse_channels, preset
from .data import TRAIN_IDS, LabelBank, sample_episode
from .losses import TASKS, parse_rate_overrides, soft_dice_loss, task_loss
from .model import Neuroverse3D, count_parameters


def context_size(step: int, fixed_steps: int, g: torch.Generator, fixed: int = 3, max_size: int = 8) -> int:
    """§C.1: context size fixed at 3 for the first part of training, then uniform in 1..8."""
    if step < fixed_steps:
        return fixed
    return int(torch.randint(1, max_size + 1, (), generator=g))


def _task_tag(ep) -> str:
    return ep.task + ("/aligned" if ep.info.get("aligned") else "/lesion" if ep.info.get("lesion") else "")


def save_checkpoint(path: Path, state: Dict) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location="cpu") -> Dict:
    # Our own training checkpoints (optimiser and RNG state included) are full pickles; torch >= 2.6 defaults to
    # weights_only=True, which rejects them. Only load checkpoints you made; distribute weights as safetensors.
    return torch.load(path, map_location=map_location, weights_only=False)


def build_model_from_checkpoint(ckpt: Dict) -> Neuroverse3D:
    model = Neuroverse3D(ModelConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Train Neuroverse3D on SynthSeg-style synthetic tasks")
    p.add_argument("--run-dir", type=Path, required=True, help="outputs: last.pt, log.jsonl, progress.txt")
    p.add_argument("--preset", default="tiny", choices=["tiny", "small", "official"])
    p.add_argument("--channels", type=parse_channels, default=None, help="override, e.g. 8,16,32,64")
    p.add_argument("--grid", type=int, default=None, help="override the preset's grid edge")
    p.add_argument("--budget-minutes", type=float, required=True, help="wall-clock budget of this invocation")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many total steps")
    p.add_argument("--total-steps", type=int, default=120000,
                   help="planned length of the whole schedule (paper: 120K)")
    p.add_argument("--fixed-context-fraction", type=float, default=100 / 120,
                   help="fraction of --total-steps with context size fixed at 3 (paper: 100K of 120K)")
    p.add_argument("--mini-context", type=int, default=3, help="APSP mini-context size l")
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (0 disables)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--amp", choices=["auto", "on", "off"], default="auto", help="mixed precision (CUDA only)")
    p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    p.add_argument("--save-every-minutes", type=float, default=10.0)
    p.add_argument("--log-every", type=int, default=10)
    p.add_argument("--targets-per-group", type=int, default=1,
                   help="how many members of one sampled group serve as target in turn (B.1 uses all L+1)")
    p.add_argument("--task-rates", type=parse_rate_overrides, default={},
                   help="override Table 3 sampling rates, e.g. segmentation=8 (recorded in config.json)")
    p.add_argument("--aligned-fraction", type=float, default=0.0,
                   help="share of steps on aligned segmentation episodes (aligned.py: context labels brought onto "
                        "the target as the app's registration does, framed by the structure); the rest by --task-rates")
    p.add_argument("--lesion-fraction", type=float, default=0.0,
                   help="share of steps on lesion episodes (lesions.py: lesions painted into the rendered heads, the "
                        "lesion mask as the label); taken before --aligned-fraction")
    p.add_argument("--max-context", type=int, default=8,
                   help="largest context size after the fixed phase (paper: 8); lesion runs use 2-4 examples")
    p.add_argument("--dice-weight", type=float, default=0.0,
                   help="adds this times a soft Dice loss to segmentation steps (what the product is judged by)")
    p.add_argument("--init-package", type=Path, default=None,
                   help="start a new run from a model package's weights (package_weights.py)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    use_amp = device.type == "cuda" and args.amp != "off"
    run_dir: Path = args.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    last = run_dir / "last.pt"
    started = time.time()

    if last.exists():
        ckpt = load_checkpoint(last)
        cfg = ModelConfig.from_dict(ckpt["config"])
        print(f"resuming {last} at step {ckpt['step']}", flush=True)
    else:
        ckpt = None
        cfg = preset(args.preset)
        if args.channels:
            cfg.channels = args.channels
        if args.grid:
            cfg.grid = args.grid
    if ckpt is None and args.init_package:
        from .package_weights import config_of_package
        cfg = config_of_package(args.init_package)
    model = Neuroverse3D(cfg).to(device)
    if ckpt is None and args.init_package:
        from .package_weights import state_dict_from_package
        model.load_state_dict(state_dict_from_package(args.init_package, model.state_dict()))
        print(f"initial weights from {args.init_package}", flush=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    scaler = torch.cuda.amp.GradScaler(enabled=use_amp)
    g = torch.Generator().manual_seed(args.seed)
    step, elapsed_before = 0, 0.0
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        for group in opt.param_groups:
            group["lr"] = args.lr
        if use_amp and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        g.set_state(ckpt["generator"])
        step, elapsed_before = int(ckpt["step"]), float(ckpt.get("elapsed_s", 0.0))
    print(f"model {cfg.channels} grid {cfg.grid}: {count_parameters(model):,} parameters on {device}"
          f"{' (AMP)' if use_amp else ''}", flush=True)
    with open(run_dir / "config.json", "w") as f:
        json.dump({"model": cfg.to_dict(), "args": {k: str(v) for k, v in vars(args).items()}}, f, indent=2)

    bank = LabelBank(TRAIN_IDS, cfg.grid)
    native = None
    if args.aligned_fraction > 0:
        from .aligned import NativeBank
        native = NativeBank(TRAIN_IDS)
    fixed_steps = int(args.total_steps * args.fixed_context_fraction)
    deadline = started + args.budget_minutes * 60.0
    last_save = time.time()
    running: Dict[str, list] = defaultdict(list)
    log = open(run_dir / "log.jsonl", "a")
    progress = open(run_dir / "progress.txt", "a")

    def checkpoint():
        save_checkpoint(last, {
            "config": cfg.to_dict(), "model": model.state_dict(), "optimizer": opt.state_dict(),
            "scaler": scaler.state_dict() if use_amp else None, "generator": g.get_state(), "step": step,
            "elapsed_s": elapsed_before + time.time() - started,
            "hardware": torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu",
        })

    stop = {"requested": False}

    def request_stop(signum, frame):
        # SIGTERM/SIGINT end the run after the current step with a checkpoint, so no progress is lost.
        stop["requested"] = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    def keep_going() -> bool:
        return (not stop["requested"] and time.time() < deadline
                and (args.max_steps is None or step < args.max_steps))

    model.train()
    while keep_going():
        L = context_size(step, fixed_steps, g, max_size=args.max_context)
        if args.lesion_fraction > 0 and float(torch.rand((), generator=g)) < args.lesion_fraction:
            from .lesions import sample_lesion_episode
            ep = sample_lesion_episode(bank, L + 1, g)
        elif native is not None and float(torch.rand((), generator=g)) < args.aligned_fraction:
            from .aligned import sample_aligned_episode
            ep = sample_aligned_episode(native, L + 1, g, cfg.grid)
        else:
            ep = sample_episode(bank, L + 1, g, rate_overrides=args.task_rates)
        n_targets = min(args.targets_per_group, L + 1)
        for t in range(n_targets):
            if not keep_going():
                break
            t0 = time.time()
            # Each member of the group serves as target in turn (B.1); the others form the context.
            idx = list(range(L + 1))
            tgt = idx.pop(L - t)
            x = ep.inputs[tgt:tgt + 1].to(device)
            y = ep.targets[tgt:tgt + 1].to(device)
            ci = ep.inputs[idx].unsqueeze(0)
            cl = ep.targets[idx].unsqueeze(0)
            with torch.autocast(device_type=device.type, enabled=use_amp):
                pred = model(x, ci, cl, mini_context=args.mini_context, generator=g)
            loss = task_loss(ep.task, pred.float(), y)
            if args.dice_weight > 0 and TASKS[ep.task].kind == "seg":
                loss = loss + args.dice_weight * soft_dice_loss(pred.float(), y)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if args.clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            scaler.step(opt)
            scaler.update()
            step += 1
            value = float(loss.detach())
            if not math.isfinite(value):
                print(f"non-finite loss at step {step} ({ep.task}); stopping", flush=True)
                return 2
            dt = time.time() - t0
            running[_task_tag(ep)].append(value / TASKS[ep.task].weight)
            log.write(json.dumps({"step": step, "task": _task_tag(ep), "L": L, "loss": value,
                                  "loss_unweighted": value / TASKS[ep.task].weight, "seconds": round(dt, 3),
                                  "elapsed_s": round(elapsed_before + time.time() - started, 1),
                                  "aug": ep.info.get("seg_aug", []) + ep.info.get("overlay", [])}) + "\n")
            if step % args.log_every == 0:
                log.flush()
                means = " ".join(f"{k}={sum(v) / len(v):.4f}" for k, v in sorted(running.items()))
                line = f"step {step} ({elapsed_before + time.time() - started:.0f}s, {dt:.2f}s/step) {means}"
                print(line, flush=True)
                progress.write(line + "\n")
                progress.flush()
                running.clear()
            if time.time() - last_save > args.save_every_minutes * 60:
                checkpoint()
                last_save = time.time()
    checkpoint()
    log.close()
    progress.close()
    print(f"saved {last} at step {step}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
