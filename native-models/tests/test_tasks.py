import torch

from neuroverse3d import tasks as T


def cube(n=16, lo=6, hi=10):
    m = torch.zeros(1, 1, n, n, n)
    m[:, :, lo:hi, lo:hi, lo:hi] = 1
    return m


def test_foreground_mask_and_random_grouping(gen):
    labels = torch.tensor([[[[0, 2, 3], [17, 53, 0]]]]).long()
    m = T.foreground_mask(labels, [17, 53])
    assert m.shape == (1, 1, 1, 2, 3) and m.sum() == 2
    present = list(range(1, 30))
    for _ in range(200):
        vals = T.random_foreground_values(present, gen)
        assert 1 <= len(vals) <= 10 and set(vals) <= set(present) and len(set(vals)) == len(vals)


def test_dilate_and_erode_by_one_voxel():
    m = cube()
    assert T.dilate(m).sum() == 6 ** 3
    assert T.erode(m).sum() == 2 ** 3
    assert torch.equal(T.erode(T.dilate(m)), m)


def test_sobel_edges_lie_on_the_boundary():
    m = cube()
    e = T.sobel_edges(m)
    assert set(e.unique().tolist()) <= {0.0, 1.0}
    assert e.sum() > 0
    assert e[:, :, 7:9, 7:9, 7:9].sum() == 0  # interior has no gradient
    assert e[:, :, 0:3].sum() == 0 and e[:, :, 13:].sum() == 0  # far background neither
    assert torch.equal(T.invert_mask(m), 1 - m)


def test_segmentation_task_augmentations_all_or_none(gen):
    m = cube()
    assert torch.equal(T.augment_segmentation_task(m, gen, p=0.0), m)
    applied = []
    out = T.augment_segmentation_task(m, gen, p=1.0, applied=applied)
    assert applied == ["dilate", "erode", "invert", "sobel"]
    assert torch.equal(out, 1 - T.sobel_edges(T.erode(T.dilate(m))))


def test_legendre_bias_field_is_positive_smooth_and_varies(gen):
    f = T.legendre_bias_field((2, 1, 16, 16, 16), gen)
    assert f.shape == (2, 1, 16, 16, 16) and (f > 0).all()
    assert f.std() > 0.01
    # Low-order polynomial: neighbouring voxels differ far less than the field's range.
    assert (f[:, :, 1:] - f[:, :, :-1]).abs().max() < 0.25 * (f.max() - f.min())
    assert not torch.allclose(f[0], f[1])


def test_gaussian_noise_level(gen):
    img = torch.full((4, 1, 32, 32, 32), 0.5)
    img[:, :, :16] = 0.0
    img[:, :, 16:] = 1.0
    noisy = T.add_gaussian_noise(img, gen)
    assert noisy.min() >= 0 and noisy.max() <= 1
    # Undo the min-max: the contrast 0 -> 1 step gives the scale, the residual std is sigma in [0.15, 0.25].
    for v in noisy:
        scale = v[:, 16:].mean() - v[:, :16].mean()
        sigma = (v[:, :16] / scale).std()
        assert 0.13 < float(sigma) < 0.27


def test_salt_and_pepper_fractions(gen):
    img = torch.full((1, 1, 32, 32, 32), 0.5)
    out = T.add_salt_pepper(img, gen)
    salt = float((out == 1).float().mean())
    pepper = float((out == 0).float().mean())
    assert abs(salt - 0.04 * 0.96) < 0.01 and abs(pepper - 0.04) < 0.01


def test_perlin_noise_is_smooth_and_mask_fraction_in_range(gen):
    n = T.perlin_noise_3d((32, 32, 32), 4, gen)
    assert n.abs().max() <= 1.5
    assert (n[1:] - n[:-1]).abs().max() < 0.3
    # Lattice points are zeros of gradient noise.
    assert n[::8, ::8, ::8].abs().max() < 1e-5
    for _ in range(5):
        m = T.perlin_mask((32, 32, 32), gen)
        assert 0.03 < float(m.mean()) < 0.23


def test_inpainting_sets_holes_to_zero(gen):
    img = torch.rand(2, 1, 32, 32, 32) * 0.9 + 0.1
    out = T.inpainting_input(img, gen)
    holes = out == 0
    assert 0.03 < float(holes.float().mean()) < 0.23
    assert torch.equal(out[~holes], img[~holes])


def test_super_resolution_removes_fine_detail_only():
    blocky = torch.rand(1, 1, 8, 8, 8).repeat_interleave(2, 2).repeat_interleave(2, 3).repeat_interleave(2, 4)
    checker = (torch.arange(16)[:, None, None] + torch.arange(16)[None, :, None] + torch.arange(16)) % 2
    checker = checker.float()[None, None]
    assert torch.allclose(T.super_resolution_input(checker), torch.full_like(checker, 0.5), atol=1e-6)
    assert (T.super_resolution_input(blocky) - blocky).abs().mean() < (blocky - blocky.mean()).abs().mean()


def test_three_central_slices():
    img = torch.rand(1, 1, 16, 16, 16) + 0.1
    out = T.three_slice_input(img)
    kept = out != 0
    assert int(kept.sum()) == 3 * 16 * 16 - 3 * 16 + 1
    assert kept[0, 0, 8].all() and kept[0, 0, :, 8].all() and kept[0, 0, :, :, 8].all()


def test_task_overlay_probabilities(gen):
    img = torch.rand(1, 1, 16, 16, 16)
    assert torch.equal(T.random_task_overlay(img, gen, p=0.0), img)
    applied = []
    T.random_task_overlay(img, gen, p=1.0, applied=applied)
    assert applied == list(T.OVERLAYS)
