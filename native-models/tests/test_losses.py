import pytest
import torch

from neuroverse3d.losses import (GENERATION_TASKS, TASKS, generation_loss, intensity_differences, parse_rate_overrides,
                                 sample_task,
                                 smooth_l1, smooth_l3l1, task_loss)


def test_smooth_l3l1_matches_eq6_on_both_branches():
    pred = torch.tensor([0.5, -0.5, 2.0, 0.0])
    target = torch.zeros(4)
    per_voxel = torch.tensor([0.125 / 3, 0.125 / 3, 2 - 2 / 3, 0.0])
    assert torch.allclose(smooth_l3l1(pred, target), per_voxel.mean())


def test_smooth_l3l1_is_continuous_with_continuous_slope_at_one():
    d = torch.tensor([1 - 1e-6, 1 + 1e-6], dtype=torch.float64, requires_grad=True)
    vals = torch.stack([smooth_l3l1(v.view(1), torch.zeros(1, dtype=torch.float64)) for v in d])
    assert abs(float(vals[1] - vals[0])) < 1e-5
    vals.sum().backward()
    assert torch.allclose(d.grad, torch.ones(2, dtype=torch.float64), atol=1e-4)


def test_cubic_loss_downweights_small_errors_relative_to_l1():
    small, large = torch.full((10,), 0.1), torch.full((10,), 0.9)
    z = torch.zeros(10)
    ratio_cubic = smooth_l3l1(small, z) / smooth_l3l1(large, z)
    ratio_l1 = 0.1 / 0.9
    assert ratio_cubic < ratio_l1


def test_generation_loss_halves_and_gradient_term():
    t = torch.rand(1, 1, 8, 8, 8)
    assert float(generation_loss(t, t)) == 0.0
    shifted = t + 0.3  # constant offset: intensity term only, neighbour differences unchanged
    assert torch.allclose(generation_loss(shifted, t), 0.5 * smooth_l1(shifted, t))
    flat = torch.full_like(t, float(t.mean()))
    diffs = sum(smooth_l1(a, b) for a, b in zip(intensity_differences(flat), intensity_differences(t))) / 3
    assert torch.allclose(generation_loss(flat, t), 0.5 * smooth_l1(flat, t) + 0.5 * diffs)
    assert float(diffs) > 0


def test_table3_weights_and_rates():
    assert TASKS["segmentation"].weight == 50 and TASKS["segmentation"].rate == 2
    assert TASKS["2d_to_3d"].weight == 0.5
    assert len(GENERATION_TASKS) == 8
    assert all(TASKS[t].rate == 1 and (TASKS[t].weight == 1 or t == "2d_to_3d") for t in GENERATION_TASKS)
    p, t = torch.rand(1, 1, 4, 4, 4), torch.rand(1, 1, 4, 4, 4)
    assert torch.allclose(task_loss("segmentation", p, t), 50 * smooth_l3l1(p, t))
    assert torch.allclose(task_loss("2d_to_3d", p, t), 0.5 * generation_loss(p, t))


def test_task_sampling_follows_rates():
    g = torch.Generator().manual_seed(0)
    draws = [sample_task(g) for _ in range(5000)]
    frac_seg = draws.count("segmentation") / len(draws)
    assert abs(frac_seg - 0.2) < 0.03  # 2 / (2 + 8)
    assert set(draws) == set(TASKS)


def test_rate_overrides_change_the_mix_and_reject_unknown_tasks():
    g = torch.Generator().manual_seed(1)
    overrides = parse_rate_overrides("segmentation=8,2d_to_3d=0")
    assert overrides == {"segmentation": 8.0, "2d_to_3d": 0.0}
    draws = [sample_task(g, overrides) for _ in range(5000)]
    assert abs(draws.count("segmentation") / len(draws) - 8 / 15) < 0.03  # 8 / (8 + 7)
    assert "2d_to_3d" not in draws
    with pytest.raises(ValueError, match="unknown task 'segmentaton'"):
        parse_rate_overrides("segmentaton=3")
