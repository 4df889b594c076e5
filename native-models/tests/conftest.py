import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Tests share two cores with other work: one thread keeps them predictable.
torch.set_num_threads(1)

SHARED = ROOT.parent.parent / "shared"
KEYS_TSV = SHARED / "docs" / "neuroverse3d-state-dict-keys.tsv"
LABEL_DIR = SHARED / "data" / "synthseg-label-maps"


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(1234)


def need(path: Path):
    if not path.exists():
        pytest.skip(f"{path} not present (shared folder absent)")
