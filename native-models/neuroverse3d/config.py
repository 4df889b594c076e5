"""Architecture configuration shared by training, evaluation and export."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import List, Sequence

# The official checkpoint (70,854,913 parameters) uses five stages with these widths.
OFFICIAL_CHANNELS = (32, 64, 128, 256, 512)


@dataclass
class ModelConfig:
    channels: List[int] = field(default_factory=lambda: list(OFFICIAL_CHANNELS))
    in_channels: int = 1
    out_channels: int = 1
    # Training/inference grid edge (voxels per axis); must be divisible by 2**(stages-1).
    grid: int = 128

    @property
    def stages(self) -> int:
        return len(self.channels)

    def validate(self) -> None:
        if self.stages < 2:
            raise ValueError("need at least two stages")
        if self.grid % (2 ** (self.stages - 1)) != 0:
            raise ValueError(f"grid {self.grid} not divisible by 2**{self.stages - 1}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["stages"] = self.stages
        return d

    @staticmethod
    def from_dict(d: dict) -> "ModelConfig":
        return ModelConfig(
            channels=[int(c) for c in d["channels"]],
            in_channels=int(d.get("in_channels", 1)),
            out_channels=int(d.get("out_channels", 1)),
            grid=int(d.get("grid", 128)),
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def parse_channels(text: str) -> List[int]:
    return [int(t) for t in text.split(",") if t.strip()]


PRESETS = {
    "official": ModelConfig(channels=list(OFFICIAL_CHANNELS), grid=128),
    # Small configurations measured in ../shared/docs/platform-notes.md (CPU training is feasible for these).
    "tiny": ModelConfig(channels=[8, 16, 32, 64], grid=64),
    "small": ModelConfig(channels=[16, 32, 64, 128, 256], grid=64),
}


def preset(name: str) -> ModelConfig:
    c = PRESETS[name]
    return ModelConfig.from_dict(c.to_dict())


def channels_of(cfg: ModelConfig) -> Sequence[int]:
    return tuple(cfg.channels)
