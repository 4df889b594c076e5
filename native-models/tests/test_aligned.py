"""Aligned training episodes (aligned.py): the centroid affine, the app's framing rule, and what the model sees."""
import nibabel as nib
import numpy as np
import pytest
import torch

from neuroverse3d import aligned as A


def _blobs(shape=(72, 80, 64), shift=(0, 0, 0), scale=1.0):
    """A label map of ten brain labels (boxes) around the centre, moved by `shift` and scaled by `scale`."""
    lab = np.zeros(shape, dtype=np.int16)
    c = np.array(shape) / 2 + np.array(shift)
    for k, v in enumerate([2, 3, 4, 10, 11, 12, 17, 18, 41, 42]):
        off = np.array([(k % 3 - 1) * 12, (k // 3 % 3 - 1) * 12, (k // 9 - 0.5) * 14]) * scale
        lo = np.rint(c + off - 4 * scale).astype(int)
        hi = np.rint(c + off + 4 * scale).astype(int)
        lab[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = v
    return lab


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    d = tmp_path_factory.mktemp("maps")
    for i, (shift, scale) in enumerate([((0, 0, 0), 1.0), ((5, -3, 2), 1.0), ((-2, 4, 1), 1.15)], start=1):
        nib.save(nib.Nifti1Image(_blobs(shift=shift, scale=scale), np.eye(4)), str(d / f"training_seg_{i:02d}.nii.gz"))
    return A.NativeBank([1, 2, 3], label_dir=d, cache_dir=tmp_path_factory.mktemp("cache"))


def test_centroid_affine_recovers_a_shift_and_a_scale(bank):
    m = bank.affine(0, 1)  # target 0 voxel -> context 1 voxel
    assert np.allclose(m[:3, :3], np.eye(3), atol=0.02)
    assert np.allclose(m[:3, 3], [5, -3, 2], atol=0.3)
    s = bank.affine(0, 2)
    assert np.allclose(np.diag(s[:3, :3]), 1.15, atol=0.03)


def test_without_residual_the_aligned_context_labels_fall_on_the_target(bank):
    g = torch.Generator().manual_seed(0)
    ep = A.make_aligned_episode(bank, [1, 0], g, grid=32, values=[17], augment=False)
    assert ep.inputs.shape == (2, 1, 32, 32, 32) and ep.targets.shape == (2, 1, 32, 32, 32)
    # Context label binary (as the app gives it), target soft (partial volume) in [0, 1].
    assert set(torch.unique(ep.targets[0]).tolist()) <= {0.0, 1.0}
    assert 0 <= float(ep.targets[1].min()) and float(ep.targets[1].max()) <= 1
    assert A.vote_dice(ep) > 0.9


def test_the_frame_is_the_structure_box_plus_the_margin_cubed(bank):
    pts = [np.array([[10.0, 20.0, 30.0], [29.0, 30.0, 35.0]])]  # extent 20 x 11 x 6 voxels of 1 mm
    f = A.frame_from_points(pts, np.eye(3), grid=32, margin_mm=10)
    assert f.voxel == pytest.approx((20 + 20) / 32)
    assert np.allclose(f.centre, [19.5, 25.0, 32.5])


def test_a_small_structure_gets_finer_voxels_than_a_large_one(bank):
    g = torch.Generator().manual_seed(1)
    small = A.make_aligned_episode(bank, [1, 2, 0], g, grid=32, values=[17], augment=False)
    large = A.make_aligned_episode(bank, [1, 2, 0], g, grid=32, values=[2, 3, 4, 10, 11, 12, 17, 18, 41, 42], augment=False)
    assert small.info["voxel_mm"] < large.info["voxel_mm"]


def test_the_residual_jitter_moves_context_labels_off_the_target(bank):
    votes = []
    for seed in range(3):
        g = torch.Generator().manual_seed(seed)
        votes.append(A.vote_dice(A.make_aligned_episode(bank, [1, 0], g, grid=32, values=[17], augment=True)))
    assert min(votes) < 0.99  # the registration residual is there
    assert max(votes) > 0.3  # and it is a residual, not a different place
