"""Training side of Neuroverse3D (in-context 3D neuroimaging model): architecture, APSP, losses, task and data
synthesis, training, evaluation and export."""
from .config import ModelConfig, preset
from .model import Neuroverse3D, count_parameters

__all__ = ["ModelConfig", "preset", "Neuroverse3D", "count_parameters"]
