"""Cross-check against the independent forward in fixtures/make_engine_fixtures.py (written by the engine side
from the architecture doc without importing this package): same keys, same outputs in float64."""
import importlib.util
from pathlib import Path

import pytest
import torch

from neuroverse3d import ModelConfig, Neuroverse3D

FIXTURE_SCRIPT = Path(__file__).resolve().parents[1] / "fixtures" / "make_engine_fixtures.py"


def _reference_module():
    if not FIXTURE_SCRIPT.exists():
        pytest.skip("fixtures/make_engine_fixtures.py not present")
    spec = importlib.util.spec_from_file_location("engine_fixtures", FIXTURE_SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if not hasattr(mod, "Neuroverse3D") or not hasattr(mod, "randomise"):
        pytest.skip("fixture script no longer exposes Neuroverse3D/randomise")
    return mod


def test_matches_the_engine_fixture_forward():
    fx = _reference_module()
    channels = [4, 8, 16, 32]
    ref = fx.Neuroverse3D(channels).double()
    fx.randomise(ref, torch.Generator().manual_seed(0))
    mine = Neuroverse3D(ModelConfig(channels=channels, grid=32)).double().eval()
    assert list(ref.state_dict()) == list(mine.state_dict())
    mine.load_state_dict(ref.state_dict())
    x = torch.rand(1, 1, 32, 32, 32, dtype=torch.float64)
    ci = torch.rand(5, 1, 32, 32, 32, dtype=torch.float64)
    cl = (torch.rand(5, 1, 32, 32, 32) > 0.5).double()
    with torch.no_grad():
        a = ref(x, ci, cl, l=2)
        b = mine(x, ci[None], cl[None], mini_context=2)
    assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(a.abs().max()))
