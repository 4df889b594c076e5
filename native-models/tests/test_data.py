import numpy as np
import pytest
import torch

from conftest import LABEL_DIR, need
from neuroverse3d import data as D
from neuroverse3d.losses import TASKS


def test_fit_to_grid_centres_brain_isotropically():
    lab = np.zeros((60, 40, 50), dtype=np.int16)
    lab[10:50, 10:30, 10:40] = 3     # brain box 40 x 20 x 30
    lab[5:10, 10:30, 10:40] = 502    # skull slab just outside the brain
    out = D.fit_to_grid(lab, 16, margin_vox=0)
    assert out.shape == (16, 16, 16)
    # Longest side (40) spans the grid; the others are scaled by the same factor (isotropic).
    assert (out[:, 8, 8] == 3).all()
    assert 6 <= int((out[8, :, 8] == 3).sum()) <= 10
    assert 10 <= int((out[8, 8, :] == 3).sum()) <= 14


@pytest.fixture(scope="module")
def bank():
    need(LABEL_DIR)
    return D.LabelBank([1, 2, 3, 4, 5], 32)


def test_label_bank_resamples_real_maps(bank):
    m = bank[0]
    assert m.shape == (32, 32, 32)
    vals = set(torch.unique(m).tolist())
    assert {0, 2, 3, 41, 42, 17}.issubset(vals)
    assert any(v >= 100 for v in vals)  # some extra-cerebral tissue stays in the margin


def test_episode_is_reproducible_from_seed(bank):
    a = D.sample_episode(bank, 4, torch.Generator().manual_seed(7))
    b = D.sample_episode(bank, 4, torch.Generator().manual_seed(7))
    assert a.task == b.task and torch.equal(a.inputs, b.inputs) and torch.equal(a.targets, b.targets)


@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_builds_a_consistent_group(bank, task, gen):
    ep = D.make_episode(bank, [0, 1, 2, 3], task, gen)
    assert ep.inputs.shape == ep.targets.shape == (4, 1, 32, 32, 32)
    assert float(ep.inputs.min()) >= 0 and float(ep.inputs.max()) <= 1 + 1e-6
    if task == "segmentation":
        assert set(ep.targets.unique().tolist()) <= {0.0, 1.0}
    else:
        assert float(ep.targets.min()) >= 0 and float(ep.targets.max()) <= 1 + 1e-6


def test_segmentation_target_is_the_requested_structure(bank, gen):
    ep = D.make_episode(bank, [0, 1], "segmentation", gen, seg_values=[17, 53], augment=False)
    assert torch.equal(ep.targets[:, 0] > 0.5, torch.isin(ep.labels, torch.tensor([17, 53])))


def test_skull_stripping_target_is_zero_outside_brain(bank, gen):
    ep = D.make_episode(bank, [0, 1], "skull_stripping", gen, augment=False)
    outside = ~D.is_brain(ep.labels).unsqueeze(1)
    assert float(ep.targets[outside].abs().max()) == 0.0
    assert float(ep.inputs[outside].max()) > 0.05  # the input still shows extra-cerebral tissue


def test_modality_transform_pairs_share_anatomy_but_not_contrast(bank, gen):
    ep = D.make_episode(bank, [0, 1], "modality_transform", gen, augment=False)
    assert not torch.allclose(ep.inputs, ep.targets, atol=0.05)
    # Same label map behind both: the per-label mean of each image is nearly constant within a label.
    lab = ep.labels[0]
    for img in (ep.inputs[0, 0], ep.targets[0, 0]):
        within = torch.stack([img[lab == v].std() for v in (2, 3, 41, 42)])
        assert float(within.max()) < float(img.std())


def test_random_contrasts_differ(gen):
    a, b = D.draw_contrast(gen), D.draw_contrast(gen)
    assert not torch.allclose(a.means, b.means)
    # Left/right twins share a tissue mean up to a small jitter.
    assert abs(float(a.means[17] - a.means[53])) < 0.15
