"""A model package's weights back as a PyTorch state dict, so a bundled model can be fine-tuned when its training
checkpoint is gone (the package keeps only ONNX graphs).

The app's graph builder (main/engine/model/build-graphs.ts, layers.ts) stores the state-dict tensors as ONNX
initializers under their own names, except two convolutions it splits so the concatenations never materialise:
``combine_conv_context`` into ``context_half`` (channels of the context features, first in the ``torch.cat``)
and ``target_half``, and the 1x1 convolutions after an upsampling into ``up_part`` and ``skip_part``. The bias
travels with the second half in both cases. This module undoes those two splits; everything else is copied.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Tuple

import numpy as np
import torch

from .config import ModelConfig

GRAPHS = ("target_encoder.onnx", "context_branch.onnx", "target_decoder.onnx")
SPLITS: Tuple[Tuple[str, str], ...] = (("context_half", "target_half"), ("up_part", "skip_part"))


def _initializers(package: Path) -> Dict[str, np.ndarray]:
    import onnx
    from onnx import numpy_helper
    out: Dict[str, np.ndarray] = {}
    for name in GRAPHS:
        path = package / name
        if not path.exists():
            raise FileNotFoundError(f"{path}: graph missing from the model package")
        for init in onnx.load(str(path)).graph.initializer:
            out.setdefault(init.name, numpy_helper.to_array(init))
    return out


def config_of_package(package: Path) -> ModelConfig:
    manifest = json.loads((Path(package) / "manifest.json").read_text())
    grid = manifest["grid"]
    if len(set(grid)) != 1:
        raise ValueError(f"{package}: only cubic grids are supported here (got {grid})")
    return ModelConfig(channels=list(manifest["architecture"]["channels"]), grid=int(grid[0]))


def state_dict_from_package(package: Path, expected: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """``expected``: a freshly built model's state dict (names and shapes to fill)."""
    init = _initializers(Path(package))
    out: Dict[str, torch.Tensor] = {}
    for key, ref in expected.items():
        if key in init:
            value = init[key]
        else:
            module, leaf = key.rsplit(".", 1)
            value = None
            for first, second in SPLITS:
                a, b = f"{module}.{first}.weight", f"{module}.{second}.weight"
                if a in init and b in init:
                    value = np.concatenate([init[a], init[b]], axis=1) if leaf == "weight" else init.get(f"{module}.{second}.bias")
                    break
            if value is None:
                raise KeyError(f"{package}: no initializer for {key}")
        t = torch.from_numpy(np.array(value, dtype=np.float32))
        if tuple(t.shape) != tuple(ref.shape):
            raise ValueError(f"{package}: {key} has shape {tuple(t.shape)}, the model expects {tuple(ref.shape)}")
        out[key] = t
    return out
