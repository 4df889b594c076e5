import torch

from neuroverse3d import augment as A


def labels16():
    lab = torch.zeros(16, 16, 16, dtype=torch.long)
    lab[4:12, 4:12, 4:12] = 3
    lab[6:10, 6:10, 6:10] = 17
    lab[2:4, :, :] = 502
    return lab


def test_flip_and_rot90_preserve_label_volumes(gen):
    lab = labels16()
    for fn in (A.random_flip, A.random_rot90):
        out = fn(lab, gen)
        for v in (0, 3, 17, 502):
            assert int((out == v).sum()) == int((lab == v).sum())


def test_affine_and_elastic_keep_the_label_set_and_move_voxels(gen):
    lab = labels16()
    for fn in (A.random_affine, A.random_elastic):
        out = fn(lab, gen)
        assert out.shape == lab.shape and out.dtype == lab.dtype
        assert set(out.unique().tolist()) <= {0, 3, 17, 502}
        assert (out == 17).sum() > 0
    moved = sum(int((A.random_affine(lab, gen) != lab).sum()) for _ in range(3))
    assert moved > 0


def test_spatial_augmentation_probabilities(gen):
    lab = labels16()
    assert torch.equal(A.augment_labels_spatial(lab, gen, p=0.0), lab)
    applied = []
    A.augment_labels_spatial(lab, gen, p=1.0, applied=applied)
    assert applied == ["affine", "elastic", "flip", "rot90"]


def test_gin_gives_a_new_contrast_in_unit_range(gen):
    x = torch.rand(3, 1, 16, 16, 16)
    y = A.GIN(gen)(x)
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1 + 1e-6
    assert not torch.allclose(y, x, atol=1e-2)


def test_intensity_augmentation_stays_in_unit_range(gen):
    x = torch.rand(6, 1, 8, 8, 8)
    y = A.augment_intensity(x, gen)
    assert y.shape == x.shape and float(y.min()) >= 0 and float(y.max()) <= 1 + 1e-6
