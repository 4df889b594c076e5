"""Neuroverse3D network (paper §3.1, Fig. 2-3), re-implemented with the official state-dict key layout.

Key names follow ../shared/docs/neuroverse3d-state-dict-keys.tsv without the Lightning ``net.`` prefix, so the
official checkpoint and ours load through the same importer. The layout is generic in the number of stages: with
S stages the context U-Net has S-1 fused encoder blocks (t2c, eq. 4), one context-only bottleneck and S-1
decoder blocks; the target decoder fuses the context means at the bottleneck and at every decoder level (c2t,
eq. 5).
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from .apsp import aggregate_context_means
from .config import ModelConfig


def _gelu(x: torch.Tensor) -> torch.Tensor:
    # The official network uses the exact (erf) GELU; the tanh approximation would change outputs.
    return F.gelu(x)


class PairFold(nn.Module):
    """Holds a layer applied to every context pair; the attribute name ``module`` reproduces the official
    ``.module`` key component. Callers pass already folded ``[B*l, C, ...]`` tensors."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x)


class ResidualUnit(nn.Module):
    """One residual unit with two 3x3x3 convolutions; ``layers.1`` is the parameter-free GELU."""

    def __init__(self, channels: int):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv3d(channels, channels, 3, padding=1),
            nn.GELU(),
            nn.Conv3d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _gelu(x + self.layers(x))


def _down(cin: int, cout: int) -> nn.Conv3d:
    return nn.Conv3d(cin, cout, 4, stride=2, padding=1)


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="trilinear", align_corners=False)


class ContextFusedBlock(nn.Module):
    """Context encoder stage with target-to-context fusion, eq. (4): c' = GELU(Conv(c || t) + c)."""

    def __init__(self, c: int):
        super().__init__()
        self.context_conv = PairFold(ResidualUnit(c))
        self.combine_conv_context = PairFold(nn.Conv3d(2 * c, c, 1))

    def forward(self, x: torch.Tensor, target_feat: torch.Tensor) -> torch.Tensor:
        u = self.context_conv(x)
        return _gelu(u + self.combine_conv_context(torch.cat([u, target_feat], dim=1)))


class ContextOnlyBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.context_conv = PairFold(ResidualUnit(c))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.context_conv(x)


class ContextDown(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.context_linear_layer = PairFold(_down(cin, cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.context_linear_layer(x)


class ContextUp(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.upsampling_layer = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False)
        self.context_conv_layer = PairFold(nn.Conv3d(cin + cskip, cout, 1))

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.context_conv_layer(torch.cat([self.upsampling_layer(x), skip], dim=1))


class TargetBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.target_conv = ResidualUnit(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.target_conv(x)


class TargetFusedBlock(nn.Module):
    """Target decoder stage with context-to-target fusion, eq. (5): t' = GELU(Conv(mean_c || t) + t)."""

    def __init__(self, c: int):
        super().__init__()
        self.target_conv = ResidualUnit(c)
        self.combine_conv_target = PairFold(nn.Conv3d(2 * c, c, 1))

    def forward(self, x: torch.Tensor, context_mean: torch.Tensor) -> torch.Tensor:
        h = self.target_conv(x)
        return _gelu(h + self.combine_conv_target(torch.cat([context_mean, h], dim=1)))


class TargetDown(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.target_linear_layer = _down(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.target_linear_layer(x)


class TargetUp(nn.Module):
    def __init__(self, cin: int, cskip: int, cout: int):
        super().__init__()
        self.upsampling_layer = nn.Upsample(scale_factor=2, mode="trilinear", align_corners=False)
        self.target_conv_layer = nn.Conv3d(cin + cskip, cout, 1)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.target_conv_layer(torch.cat([self.upsampling_layer(x), skip], dim=1))


class OutputBlock(nn.Module):
    def __init__(self, c: int, out_channels: int):
        super().__init__()
        self.block = nn.Sequential(ResidualUnit(c), nn.Conv3d(c, out_channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x)


class TargetEncoder(nn.Module):
    def __init__(self, ch: Sequence[int], in_channels: int):
        super().__init__()
        self.target_embedding = nn.Conv3d(in_channels, ch[0], 1)
        self.enc_blocks = nn.ModuleList()
        self.downsample_blocks = nn.ModuleList()
        for r in range(len(ch) - 1):
            self.enc_blocks.append(TargetBlock(ch[r]))
        for r in range(len(ch) - 1):
            self.downsample_blocks.append(TargetDown(ch[r], ch[r + 1]))

    def forward(self, x: torch.Tensor) -> Tuple[List[torch.Tensor], torch.Tensor]:
        """Returns the pre-down-sampling features f_0..f_{S-2} (fine to coarse) and the bottleneck input."""
        h = self.target_embedding(x)
        feats = []
        for block, down in zip(self.enc_blocks, self.downsample_blocks):
            h = block(h)
            feats.append(h)
            h = down(h)
        return feats, h


class ContextUNet(nn.Module):
    def __init__(self, ch: Sequence[int], in_channels: int):
        super().__init__()
        s = len(ch)
        self.context_embedding = PairFold(nn.Conv3d(2 * in_channels, ch[0], 1))
        self.enc_blocks = nn.ModuleList()
        self.downsample_blocks = nn.ModuleList()
        self.dec_blocks = nn.ModuleList()
        self.upsample_blocks = nn.ModuleList()
        for r in range(s - 1):
            self.enc_blocks.append(ContextFusedBlock(ch[r]))
        self.enc_blocks.append(ContextOnlyBlock(ch[s - 1]))
        for r in range(s - 1):
            self.downsample_blocks.append(ContextDown(ch[r], ch[r + 1]))
        for r in reversed(range(s - 1)):
            self.dec_blocks.append(ContextOnlyBlock(ch[r]))
        for r in reversed(range(s - 1)):
            self.upsample_blocks.append(ContextUp(ch[r + 1], ch[r], ch[r]))

    def forward(self, ctx_img: torch.Tensor, ctx_lab: torch.Tensor,
                target_feats: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        """ctx_img, ctx_lab: [B, l, C, X, Y, Z]. Returns the mean over the l pairs of each decoder output,
        coarse to fine (eq. 1), each [B, c, ...]."""
        b, l = ctx_img.shape[:2]
        x = torch.cat([ctx_img, ctx_lab], dim=2)  # [image, label] channel order of the official model
        x = x.reshape(b * l, *x.shape[2:])
        h = self.context_embedding(x)
        skips = []
        for r, (block, down) in enumerate(zip(self.enc_blocks[:-1], self.downsample_blocks)):
            t = target_feats[r]
            t = t.unsqueeze(1).expand(b, l, *t.shape[1:]).reshape(b * l, *t.shape[1:])
            h = block(h, t)
            skips.append(h)
            h = down(h)
        h = self.enc_blocks[-1](h)
        outs = [h]
        for block, up, skip in zip(self.dec_blocks, self.upsample_blocks, reversed(skips)):
            h = block(up(h, skip))
            outs.append(h)
        return [o.reshape(b, l, *o.shape[1:]).mean(dim=1) for o in outs]


class TargetDecoder(nn.Module):
    def __init__(self, ch: Sequence[int], out_channels: int):
        super().__init__()
        s = len(ch)
        self.enc_blocks = nn.ModuleList([TargetFusedBlock(ch[s - 1])])
        self.dec_blocks = nn.ModuleList()
        self.upsample_blocks = nn.ModuleList()
        for r in reversed(range(s - 1)):
            self.dec_blocks.append(TargetFusedBlock(ch[r]))
        for r in reversed(range(s - 1)):
            self.upsample_blocks.append(TargetUp(ch[r + 1], ch[r], ch[r]))
        self.output_block = OutputBlock(ch[0], out_channels)

    def forward(self, bottom: torch.Tensor, target_feats: Sequence[torch.Tensor],
                context_means: Sequence[torch.Tensor]) -> torch.Tensor:
        h = self.enc_blocks[0](bottom, context_means[0])
        for k, (block, up, skip) in enumerate(zip(self.dec_blocks, self.upsample_blocks, reversed(target_feats))):
            h = block(up(h, skip), context_means[k + 1])
        # Raw regression output, no sigmoid: masks are thresholded at 0.5 by the caller (paper §4.1).
        return self.output_block(h)


class Neuroverse3D(nn.Module):
    def __init__(self, config: Optional[ModelConfig] = None):
        super().__init__()
        self.config = config or ModelConfig()
        self.config.validate()
        ch = self.config.channels
        self.context_unet = ContextUNet(ch, self.config.in_channels)
        self.target_encoder = TargetEncoder(ch, self.config.in_channels)
        self.target_decoder = TargetDecoder(ch, self.config.out_channels)

    def forward(self, target_img: torch.Tensor, ctx_img: torch.Tensor, ctx_lab: torch.Tensor,
                mini_context: int = 3, order: Optional[Sequence[int]] = None, apsp: bool = True,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """target_img [B,1,X,Y,Z]; ctx_img, ctx_lab [B,L,1,X,Y,Z] (may stay on the host; moved chunk by chunk).

        With ``apsp`` (default) and gradients enabled, all mini-contexts but the last in ``order`` run without
        gradient and the last one's gradient is scaled by n (paper §3.1, eq. 2). ``apsp=False`` keeps the
        gradient of every mini-context (the "full-context" reference of eq. 8)."""
        feats, bottom = self.target_encoder(target_img)
        device = target_img.device

        def run_chunk(start: int, end: int) -> List[torch.Tensor]:
            return self.context_unet(ctx_img[:, start:end].to(device), ctx_lab[:, start:end].to(device), feats)

        means = aggregate_context_means(run_chunk, ctx_img.shape[1], mini_context, order=order,
                                        apsp=apsp, generator=generator)
        return self.target_decoder(bottom, feats, means)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
