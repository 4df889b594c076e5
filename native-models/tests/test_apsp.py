"""Eq. (2) / A.1: the expected APSP gradient over the choice of the kept (last) mini-context equals the gradient of
full-context processing. Exact enumeration of the choices, float64, small model."""
import pytest
import torch

from neuroverse3d import ModelConfig, Neuroverse3D
from neuroverse3d.apsp import ScaleGradient, aggregate_context_means, partition
from neuroverse3d.losses import smooth_l3l1


def _setup(L):
    torch.manual_seed(0)
    model = Neuroverse3D(ModelConfig(channels=[2, 4, 8], grid=16)).double()
    x = torch.rand(1, 1, 16, 16, 16, dtype=torch.float64)
    ci = torch.rand(1, L, 1, 16, 16, 16, dtype=torch.float64)
    cl = (torch.rand(1, L, 1, 16, 16, 16) > 0.5).double()
    y = (torch.rand(1, 1, 16, 16, 16) > 0.5).double()
    return model, x, ci, cl, y


def _grads(model, x, ci, cl, y, l, order, apsp):
    model.zero_grad()
    pred = model(x, ci, cl, mini_context=l, order=order, apsp=apsp)
    smooth_l3l1(pred, y).backward()
    return pred.detach(), torch.cat([p.grad.flatten() for p in model.parameters()])


@pytest.mark.parametrize("L,l", [(4, 2), (6, 2), (5, 2)])
def test_expected_apsp_gradient_equals_full_context_gradient(L, l):
    model, x, ci, cl, y = _setup(L)
    n = len(partition(L, l))
    full_pred, full = _grads(model, x, ci, cl, y, l, list(range(n)), apsp=False)
    per_choice = []
    for last in range(n):
        order = [j for j in range(n) if j != last] + [last]
        pred, g = _grads(model, x, ci, cl, y, l, order, apsp=True)
        assert torch.allclose(pred, full_pred, atol=1e-12)  # the forward pass is unchanged
        per_choice.append(g)
    expected = torch.stack(per_choice).mean(0)
    assert torch.allclose(expected, full, rtol=1e-9, atol=1e-12)
    # Not trivial: a single choice differs from the full gradient.
    assert (per_choice[0] - full).abs().max() > 1e-6 * full.abs().max()


def test_without_the_n_scaling_the_expectation_is_biased(monkeypatch):
    L, l = 4, 2
    model, x, ci, cl, y = _setup(L)
    _, full = _grads(model, x, ci, cl, y, l, [0, 1], apsp=False)
    monkeypatch.setattr(ScaleGradient, "apply", staticmethod(lambda t, factor: t))
    per_choice = [_grads(model, x, ci, cl, y, l, order, apsp=True)[1] for order in ([1, 0], [0, 1])]
    expected = torch.stack(per_choice).mean(0)
    assert not torch.allclose(expected, full, rtol=1e-6)


def test_only_the_last_mini_context_keeps_a_graph():
    calls = []

    def run_chunk(s, e):
        calls.append((s, e, torch.is_grad_enabled()))
        w = torch.ones(1, requires_grad=True)
        return [w * float(e - s)]

    out = aggregate_context_means(run_chunk, 7, 3, order=[2, 0, 1])
    assert [(c[0], c[1]) for c in calls] == [(6, 7), (0, 3), (3, 6)]
    assert [c[2] for c in calls] == [False, False, True]
    # pair-count-weighted mean of the chunk values (1, 3, 3) -> (1*1 + 3*3 + 3*3) / 7
    assert torch.allclose(out[0].detach(), torch.tensor([19 / 7]))


def test_scale_gradient_is_identity_forward_and_scales_backward():
    x = torch.randn(5, requires_grad=True)
    y = ScaleGradient.apply(x, 3.0)
    assert torch.equal(y, x)
    y.sum().backward()
    assert torch.allclose(x.grad, torch.full((5,), 3.0))


def test_partition():
    assert partition(5, 2) == [(0, 2), (2, 4), (4, 5)]
    assert partition(3, 8) == [(0, 3)]
