"""Export a training checkpoint to safetensors + an architecture JSON (python -m neuroverse3d.export --help).

Keys are the bare official module names (``context_unet.context_embedding.module.weight``, ...): the official
Lightning checkpoint's ``state_dict`` names (../shared/docs/neuroverse3d-state-dict-keys.tsv) without its ``net.``
prefix, which is what the engine's importer (main/engine/model/state-dict.ts) reduces both forms to. Pass
``--net-prefix`` to write the Lightning names instead. Building the app's model package (manifest +
ONNX graphs) is the engine's job and is not done here.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Optional

import torch

from .config import ModelConfig
from .safetensors_io import save_file
from .train import load_checkpoint

PREFIX = "net."

# Input conventions the model was trained with; an importer must reproduce them.
NORMALISATION = {
    "intensity": "per-volume min-max to [0, 1] of target image, context images and context labels",
    "segmentation_output": "raw regression output; foreground where output > 0.5",
    "grid_fit": "isotropic fit of the brain bounding box (aseg labels 1-99 except CSF 24; for real scans the skull-stripped mask) plus a 10 mm margin into grid^3, nearest neighbour, voxel axes as stored "
                "in the NIfTI (no reorientation); training label maps are LIA",
    "context_input_order": "[image, label] on the channel axis",
}


def to_official_keys(state: Dict[str, torch.Tensor], prefix: str = PREFIX) -> "OrderedDict[str, torch.Tensor]":
    return OrderedDict((prefix + k, v) for k, v in state.items())


def architecture_json(cfg: ModelConfig, extra: Optional[Dict] = None) -> Dict:
    d = {
        "architecture": "neuroverse3d",
        "stages": cfg.stages,
        "channels": cfg.channels,
        "in_channels": cfg.in_channels,
        "out_channels": cfg.out_channels,
        "grid": [cfg.grid] * 3,
        "conv_layers_per_stage": 2,
        "activation": "gelu_erf",
        "upsampling": "trilinear_x2_align_corners_false",
        "normalisation": NORMALISATION,
    }
    if extra:
        d.update(extra)
    return d


def export(checkpoint: Path, out_dir: Path, net_prefix: bool = False, half: bool = False) -> Dict[str, Path]:
    ckpt = load_checkpoint(checkpoint)
    cfg = ModelConfig.from_dict(ckpt["config"])
    state = ckpt["model"]
    if half:
        state = {k: v.half() for k, v in state.items()}
    prefix = PREFIX if net_prefix else ""
    tensors = to_official_keys(state, prefix)
    out_dir.mkdir(parents=True, exist_ok=True)
    weights = out_dir / "neuroverse3d.safetensors"
    meta = {"format": "pt", "architecture": "neuroverse3d", "channels": ",".join(map(str, cfg.channels)),
            "grid": str(cfg.grid), "step": str(ckpt.get("step", "")), "key_prefix": prefix}
    save_file(tensors, weights, metadata=meta)
    arch = architecture_json(cfg, {"key_prefix": prefix, "training_steps": int(ckpt.get("step", 0)),
                                   "training_seconds": round(float(ckpt.get("elapsed_s", 0.0)), 1),
                                   "training_hardware": ckpt.get("hardware", "unknown"),
                                   "dtype": "float16" if half else "float32"})
    arch_path = out_dir / "architecture.json"
    arch_path.write_text(json.dumps(arch, indent=2) + "\n")
    return {"weights": weights, "architecture": arch_path}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Export a checkpoint to safetensors + architecture.json")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--net-prefix", action="store_true", help="Lightning-style net.* keys instead of bare names")
    p.add_argument("--half", action="store_true", help="store weights as float16")
    a = p.parse_args(argv)
    paths = export(a.checkpoint, a.out, net_prefix=a.net_prefix, half=a.half)
    for k, v in paths.items():
        print(f"{k}: {v} ({v.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
