import pytest
import torch

from neuroverse3d import colin27 as C
from neuroverse3d.data import LabelBank, STRUCTURES
from neuroverse3d.evaluate import dice
from conftest import LABEL_DIR, need


@pytest.fixture(scope="module")
def colin():
    if not C.available():
        pytest.skip("Colin27 not extracted (see neuroverse3d/colin27.py for the two commands)")
    return C.load_colin27(32)


def test_colin27_fits_the_grid_like_the_training_maps(colin):
    x, aal = colin
    assert x.shape == (1, 1, 32, 32, 32) and aal.shape == (32, 32, 32)
    assert float(x.min()) >= 0 and float(x.max()) <= 1
    for vals in C.AAL_STRUCTURES.values():
        assert int(torch.isin(aal, torch.tensor(vals)).sum()) > 0


def test_colin27_is_in_the_training_orientation(colin):
    # After reorientation to LIA and the same fit, AAL's thalamus overlaps aseg's thalamus of training subjects.
    need(LABEL_DIR)
    _, aal = colin
    bank = LabelBank([2, 3, 4], 32)
    thal = torch.isin(aal, torch.tensor(C.AAL_STRUCTURES["thalamus"]))
    overlaps = [dice(thal, torch.isin(bank[i], torch.tensor(STRUCTURES["thalamus"]))) for i in range(3)]
    assert min(overlaps) > 0.3
