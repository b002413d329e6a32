"""Inference-only rewrite of a trained Re-ID model: BatchNorm folded into the preceding convs, FineTrack's K small
mask heads merged into two block-diagonal 1x1 convs, its flow merges kept in NHWC without a concat, and the whole
forward run in channels_last (NHWC).

Why: on the CPU the slim models' narrow convs run 2-3x faster on oneDNN's NHWC kernels than on NCHW (FineTrack's
2-channel flow conv at stride 4 most of all), eval-mode BatchNorm is one extra pass over every feature map, and the
K mask heads are ~6K tiny kernels plus a copy of each channel block. None of this changes the function; only float
rounding moves (folded scales, another summation order), ~1e-7 on the unit-norm embedding, and the result is
deterministic (tests/test_reid_inference.py checks both). Training never sees it: `fuse_for_inference` rewrites a
deep copy, which refuses `train()`, and a BatchNorm2d it cannot fold is an error rather than left in place.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from trackers.reid.finetrack_model import MPMG, FlowAlignedMerge, PartMaskHead, resize_channels_last, warp_by_flow
from trackers.reid.resnet import BasicBlock, Bottleneck


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A conv with bias computing eval-mode `bn(conv(x))` (torch's own folding, `fuse_conv_bn_eval`); only an affine
    BatchNorm2d with running statistics can be folded."""
    if bn.running_mean is None or bn.running_var is None or not bn.affine:
        raise ValueError("only an affine BatchNorm2d with running statistics can be folded")
    return fuse_conv_bn_eval(conv.eval(), bn.eval())


class MergedPartMasks(nn.Module):
    """MPMG's K heads as one network: 1x1 conv (block-diagonal, BN folded) -> ReLU -> 1x1 conv (block-diagonal)
    -> sigmoid, so (B, D, H, W) -> (B, K, H, W) is four kernels instead of ~6K and no channel-block copies (the
    zero off-diagonal blocks cost FLOPs, but one 64-channel 1x1 conv is far cheaper than K tiny ones)."""

    def __init__(self, mpmg: MPMG) -> None:
        super().__init__()
        heads: list[PartMaskHead] = list(mpmg.heads)  # type: ignore[arg-type]
        firsts = [fold_conv_bn(h.body[0], h.body[1]) for h in heads]  # type: ignore[arg-type]
        seconds: list[nn.Conv2d] = [h.body[3] for h in heads]  # type: ignore[misc]
        dim = sum(c.in_channels for c in firsts)
        hidden = sum(c.out_channels for c in firsts)
        like = firsts[0].weight
        self.reduce = nn.Conv2d(dim, hidden, kernel_size=1, bias=True).to(like)
        self.mask = nn.Conv2d(hidden, len(heads), kernel_size=1, bias=True).to(like)
        with torch.no_grad():
            for layer in (self.reduce, self.mask):
                layer.weight.zero_()
            c0 = h0 = 0
            for k, (first, second) in enumerate(zip(firsts, seconds)):
                c1, h1 = c0 + first.in_channels, h0 + first.out_channels
                self.reduce.weight[h0:h1, c0:c1] = first.weight
                self.reduce.bias[h0:h1] = first.bias  # type: ignore[index]
                self.mask.weight[k, h0:h1] = second.weight[0]
                self.mask.bias[k] = second.bias[0]  # type: ignore[index]
                c0, h0 = c1, h1

    def forward(self, fmap: Tensor) -> Tensor:
        return torch.sigmoid_(self.mask(torch.relu_(self.reduce(fmap))))  # in place: no extra large temporaries


class FusedFlowMerge(nn.Module):
    """FlowAlignedMerge for inference in NHWC: the flow conv split into its `up` and `fine` halves (no 2·dim-channel
    concat, a large temporary), and the warped map added to `fine` (NHWC) rather than `fine` to it: grid_sample
    returns NCHW, which would send every later conv to the slow NCHW kernels, and the sum taking fine's layout saves
    the copy back (half the time of a FineTrack embedding's copies, the same values). Mirrors
    `FlowAlignedMerge.forward` (tests/test_reid_inference.py compares the two with a non-zero flow)."""

    def __init__(self, merge: FlowAlignedMerge) -> None:
        super().__init__()
        if merge.flow is None:
            raise ValueError("only a flow-aligned merge warps")
        dim = merge.flow.in_channels // 2
        self.flow_up = nn.Conv2d(dim, 2, kernel_size=3, padding=1, bias=True).to(merge.flow.weight)
        self.flow_fine = nn.Conv2d(dim, 2, kernel_size=3, padding=1, bias=False).to(merge.flow.weight)
        with torch.no_grad():
            self.flow_up.weight.copy_(merge.flow.weight[:, :dim])
            self.flow_up.bias.copy_(merge.flow.bias)  # type: ignore[arg-type]
            self.flow_fine.weight.copy_(merge.flow.weight[:, dim:])

    def forward(self, coarse: Tensor, fine: Tensor) -> Tensor:
        up = coarse if coarse.shape[-2:] == fine.shape[-2:] else resize_channels_last(coarse, fine.shape[-2:])
        flow = self.flow_up(up).add_(self.flow_fine(fine))
        return fine + warp_by_flow(up, flow)  # fine first: the sum comes out NHWC, like fine


def _replace(root: nn.Module, name: str, new: nn.Module) -> None:
    parent, _, attr = name.rpartition(".")
    setattr(root.get_submodule(parent) if parent else root, attr, new)


def _fold_sequential(seq: nn.Sequential) -> None:
    mods = list(seq)
    for i, (a, b) in enumerate(zip(mods, mods[1:])):
        if isinstance(a, nn.Conv2d) and isinstance(b, nn.BatchNorm2d):
            seq[i], seq[i + 1] = fold_conv_bn(a, b), nn.Identity()


def _fold_block(block: BasicBlock | Bottleneck) -> None:
    for n in (1, 2, 3):
        conv, bn = getattr(block, f"conv{n}", None), getattr(block, f"bn{n}", None)
        if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
            setattr(block, f"conv{n}", fold_conv_bn(conv, bn))
            setattr(block, f"bn{n}", nn.Identity())


class FusedInference(nn.Module):
    """An eval-only model produced by `fuse_for_inference`: inputs go to the rewritten copy in channels_last;
    `train()` is refused."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    @property
    def embedding_dim(self) -> int:
        return int(self.model.embedding_dim)  # type: ignore[arg-type]

    def train(self, mode: bool = True) -> FusedInference:
        if mode:
            raise RuntimeError("a model fused for inference cannot train; train the original model")
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x.contiguous(memory_format=torch.channels_last))


def fuse_for_inference(model: nn.Module) -> FusedInference:
    """An eval-mode NHWC copy of `model`, every Conv2d+BatchNorm2d pair folded, MPMG merged (see module doc).

    ValueError if a BatchNorm2d is left that does not directly follow a conv in a Sequential or a ResNet block.
    """
    fused = copy.deepcopy(model).eval()
    with torch.no_grad():
        for name, module in list(fused.named_modules()):
            if isinstance(module, MPMG):
                _replace(fused, name, MergedPartMasks(module))
            elif isinstance(module, FlowAlignedMerge) and module.flow is not None:
                _replace(fused, name, FusedFlowMerge(module))
        for module in fused.modules():
            if isinstance(module, nn.Sequential):
                _fold_sequential(module)
            elif isinstance(module, (BasicBlock, Bottleneck)):
                _fold_block(module)
    left = [name for name, m in fused.named_modules() if isinstance(m, nn.BatchNorm2d)]
    if left:
        raise ValueError(f"cannot fold BatchNorm2d without a preceding conv: {', '.join(left)}")
    fused.requires_grad_(False)
    return FusedInference(fused.to(memory_format=torch.channels_last)).eval()


__all__ = ["FusedFlowMerge", "FusedInference", "MergedPartMasks", "fold_conv_bn", "fuse_for_inference"]
