"""Lesion episodes (lesions.py): the label is what was painted, lesions move between pairs, empty targets occur."""
from dataclasses import replace

import nibabel as nib
import numpy as np
import pytest
import torch

from neuroverse3d import lesions as Ls
from neuroverse3d.data import LabelBank


def _head(shape=(48, 52, 44)):
    """A toy head: scalp (label 165) around CSF (24) around cortex (3) around white matter (2/41, left/right)
    with two ventricles (4/43)."""
    c = (np.array(shape) - 1) / 2
    r = np.linalg.norm((np.indices(shape).transpose(1, 2, 3, 0) - c) / (np.array(shape) / 2), axis=-1)
    lab = np.zeros(shape, dtype=np.int16)
    lab[r < 0.95] = 165
    lab[r < 0.9] = 24
    lab[r < 0.7] = 3
    lab[r < 0.55] = 2
    lab[(r < 0.55) & (np.indices(shape)[0] > c[0])] = 41
    lab[(r < 0.2) & (np.indices(shape)[0] <= c[0])] = 4
    lab[(r < 0.2) & (np.indices(shape)[0] > c[0])] = 43
    return lab


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    d = tmp_path_factory.mktemp("maps")
    for i, shape in enumerate([(48, 52, 44), (50, 50, 46)], start=1):
        nib.save(nib.Nifti1Image(_head(shape), np.eye(4)), str(d / f"training_seg_{i:02d}.nii.gz"))
    return LabelBank([1, 2], 32, label_dir=d, cache_dir=tmp_path_factory.mktemp("cache"))


def _kind(**over):
    base = Ls.LesionKind(family="mass", count=(1, 2), radius=(2.0, 4.0), elongation=1.5, roughness=0.3,
                         location="white", bright=True, contrast_delta=0.4, texture=0.02, necrosis=False,
                         oedema=True, oedema_width=(1.0, 2.0), oedema_fraction=0.5, label_oedema=False,
                         empty_target=0.0, empty_context=0.0)
    return replace(base, **over)


def test_the_painted_labels_are_the_lesion_and_stay_in_the_brain(bank, gen):
    lab = bank[0]
    painted, mask, n = Ls.paint_lesions(lab, _kind(), gen)
    changed = painted != lab
    assert n >= 1 and bool(mask.any())
    assert torch.equal(changed, torch.isin(painted, torch.tensor(Ls.LESION_LABELS)))
    # The label is the core (ring excluded for this kind), every core voxel changed, nothing outside the brain.
    assert torch.equal(mask, torch.isin(painted, torch.tensor([Ls.CORE, Ls.NECROSIS])))
    assert not bool((changed & torch.isin(lab, torch.tensor([0, 24, 165, 4, 43]))).any())
    assert bool((painted == Ls.OEDEMA).any())
    whole, mask_w, _ = Ls.paint_lesions(lab, _kind(label_oedema=True), torch.Generator().manual_seed(1))
    assert torch.equal(mask_w, torch.isin(whole, torch.tensor(Ls.LESION_LABELS)))


def test_an_empty_pair_is_left_unchanged(bank, gen):
    painted, mask, n = Ls.paint_lesions(bank[0], _kind(), gen, empty=True)
    assert n == 0 and not bool(mask.any()) and torch.equal(painted, bank[0])


@pytest.mark.parametrize("bright", [True, False])
def test_the_image_changes_where_the_label_is(bank, bright):
    g = torch.Generator().manual_seed(7)
    ep = Ls.make_lesion_episode(bank, [0, 1, 0], g, augment=False, kind=_kind(bright=bright, texture=0.01),
                                skull=False)
    for img, y, lab in zip(ep.inputs[:, 0], ep.targets[:, 0] > 0, ep.labels):
        assert bool(y.any())
        inside = float(img[y].mean())
        wm = float(img[torch.isin(lab, torch.tensor([2, 41]))].mean())
        assert (inside - wm > 0.1) if bright else (wm - inside > 0.1)
        # Skull-stripped: nothing but background outside the brain dilated by one voxel, and the background dark.
        assert not bool((lab == 165).any())
        assert float(img[lab == 0].mean()) < 0.15


def test_lesions_move_between_the_pairs_of_one_episode(bank):
    g = torch.Generator().manual_seed(3)
    # The same head three times without augmentation: only the lesions can differ.
    ep = Ls.make_lesion_episode(bank, [0, 0, 0], g, augment=False, kind=_kind(count=(1, 1)))
    y = ep.targets[:, 0] > 0
    for a in range(3):
        for b in range(a + 1, 3):
            dice = 2 * float((y[a] & y[b]).sum()) / float(y[a].sum() + y[b].sum())
            assert dice < 0.5
    assert torch.equal(torch.isin(ep.labels[0], torch.tensor([Ls.CORE, Ls.NECROSIS])), y[0])  # the ring is not
    assert ep.info["kind"]["family"] == "mass" and len(ep.info["counts"]) == 3


def test_empty_targets_occur_and_a_context_pair_always_shows_the_lesion(bank):
    g = torch.Generator().manual_seed(5)
    ep = Ls.make_lesion_episode(bank, [0, 1, 0], g, kind=_kind(empty_target=1.0, empty_context=1.0))
    sums = ep.targets.flatten(1).sum(1)
    assert float(sums[-1]) == 0
    assert int((sums[:-1] > 0).sum()) == 1


def test_drawn_kinds_cover_plaques_and_masses(gen):
    kinds = [Ls.draw_lesion_kind(gen, "flair") for _ in range(60)]
    assert {k.family for k in kinds} == {"plaques", "mass", "mixed"}
    assert min(k.radius[0] for k in kinds) < 1.2 and max(k.radius[1] for k in kinds) > 8
    assert sum(k.bright for k in kinds) > 40  # FLAIR: mostly bright


def test_a_random_episode_has_the_model_shapes(bank, gen):
    ep = Ls.sample_lesion_episode(bank, 3, gen)
    assert ep.inputs.shape == ep.targets.shape == (3, 1, 32, 32, 32)
    assert float(ep.inputs.min()) >= 0 and float(ep.inputs.max()) <= 1
    assert set(torch.unique(ep.targets).tolist()) <= {0.0, 1.0}


def test_a_lesion_training_run_logs_lesion_steps(tmp_path):
    import json

    from conftest import LABEL_DIR, need
    from neuroverse3d import train as TR
    need(LABEL_DIR)
    assert TR.main(["--run-dir", str(tmp_path), "--channels", "2,4,8", "--grid", "32", "--budget-minutes", "5",
                    "--max-steps", "2", "--log-every", "1", "--lesion-fraction", "1", "--fixed-context-fraction", "0",
                    "--max-context", "2", "--dice-weight", "1"]) == 0
    lines = [json.loads(l) for l in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [l["task"] for l in lines] == ["segmentation/lesion"] * 2
    assert all(1 <= l["L"] <= 2 for l in lines)
