"""Adaptive Parallel-Sequential Processing (paper §3.1, Algorithm 1, eq. 2; proof in A.1)."""
from __future__ import annotations

from typing import Callable, List, Optional, Sequence, Tuple

import torch


class ScaleGradient(torch.autograd.Function):
    """Identity in the forward pass, gradient multiplied by ``factor`` in the backward pass.

    Scaling the kept mini-context's representation by n only in the backward pass keeps the forward output exact
    while making the expected gradient over the random choice of the kept mini-context equal to the full-context
    gradient (eq. 10)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, factor: float) -> torch.Tensor:
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad * ctx.factor, None


def partition(total: int, size: int) -> List[Tuple[int, int]]:
    """Consecutive mini-contexts of ``size`` pairs; the last one may be shorter (n = ceil(L / l))."""
    if total < 1:
        raise ValueError("context must hold at least one pair")
    size = max(1, min(size, total))
    return [(s, min(s + size, total)) for s in range(0, total, size)]


def aggregate_context_means(run_chunk: Callable[[int, int], List[torch.Tensor]], total: int, size: int,
                            order: Optional[Sequence[int]] = None, apsp: bool = True,
                            generator: Optional[torch.Generator] = None) -> List[torch.Tensor]:
    """Pair-count-weighted running mean of the per-mini-context means (Algorithm 1).

    ``order`` is the processing order of the mini-contexts; by default a random permutation (the official code
    shuffles during training and inference alike). The last mini-context in ``order`` is the one that keeps its
    gradient under APSP."""
    chunks = partition(total, size)
    n = len(chunks)
    if order is None:
        order = torch.randperm(n, generator=generator).tolist()
    order = list(order)
    if sorted(order) != list(range(n)):
        raise ValueError(f"order {order} is not a permutation of {n} mini-contexts")
    grad_on = torch.is_grad_enabled()
    means: Optional[List[torch.Tensor]] = None
    seen = 0
    for pos, j in enumerate(order):
        start, end = chunks[j]
        k = end - start
        keep_grad = grad_on and (not apsp or pos == n - 1)
        with torch.set_grad_enabled(keep_grad):
            m = run_chunk(start, end)
        if keep_grad and apsp and n > 1:
            m = [ScaleGradient.apply(t, float(n)) for t in m]
        if means is None:
            means = m
        else:
            a = seen / (seen + k)
            means = [a * acc + (1.0 - a) * cur for acc, cur in zip(means, m)]
        seen += k
    assert means is not None
    return means
