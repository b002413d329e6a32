"""FineTrack Re-ID model (Ren et al., CVPR 2023, "Focus On Details: Online Multi-object Tracking with Diverse
Fine-grained Representation"), adapted to crop-level Re-ID on a from-scratch ResNet.

Why these pieces:
  * FAFPN (Flow Alignment FPN): a plain FPN adds a bilinearly upsampled coarse map to a finer one, which blurs and
    misaligns semantics at object boundaries. FAFPN predicts a 2-channel "semantic flow" from both maps (as in
    SFNet's flow alignment module) and warps the upsampled coarse map along it before the sum. The flow conv starts
    at zero, so at initialisation FAFPN *is* the plain FPN and training only moves away from it if that helps.
  * MPMG (Multi-head Part Mask Generator): the fused map's channels are split into K blocks; each block has its own
    small head that produces a spatial mask in [0, 1] without any part labels. Each part feature is the
    mask-weighted average of the *full* fused map (not only of the block), so every part sees all channels but at
    different places. Part features plus a global feature (average/GeM pooling of the fused map) each get a BNNeck
    and a classifier; a diversity loss (see `finetrack_loss.py`) pushes the part features of one crop apart.
    Pooling the full map rather than the block, and taking the global feature from the fused map rather than from
    C5, are this implementation's choices, not read from the paper's method text.
  * `parts="stripes"` replaces the learned masks by K fixed horizontal stripes (a PCB-style reference);
    `parts="none"` keeps only the global branch, i.e. an FPN + global pooling baseline.

The fused map is the finest FPN level at stride 4 by default (the paper stresses high feature resolution);
`out_stride=8` stops the top-down path at C3 and roughly halves the head's cost.

Contract (same as `trackers.reid.models`): train mode returns a dict with the global pre-BN "features" and global
"logits" (so the existing `ReIDLoss` still works) plus "part_features" (B, K, D), "part_logits" (B, K, C) and
"masks" (B, K, H, W) when parts != "none"; eval mode returns the L2-normalised concatenation of the L2-normalised
post-BN part features and the L2-normalised post-BN global feature, (B, (K+1)·D).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from trackers.reid.configs import PART_MODES, FineTrackModelConfig
from trackers.reid.heads import BNNeck
from trackers.reid.models import make_pooling
from trackers.reid.resnet import ResNet, scaled_width

MASK_EPS = 1e-6


def conv_bn(in_ch: int, out_ch: int, kernel: int, relu: bool) -> nn.Sequential:
    """Conv (no bias, BN follows) + BN [+ ReLU]."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_ch, out_ch, kernel_size=kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_ch),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


def warp_by_flow(x: Tensor, flow: Tensor) -> Tensor:
    """Sample `x` (B, C, H, W) at `pixel + flow`, flow (B, 2, H, W) in pixels of x (channel 0: x/width, 1: y/height).

    Uses align_corners=False throughout: pixel centre i sits at normalised coordinate (2i + 1)/W - 1, and a shift of
    d pixels is 2d/W in normalised units, so zero flow samples exactly at the pixel centres (the identity warp).
    """
    b, _, h, w = x.shape
    ys = (torch.arange(h, dtype=x.dtype, device=x.device) * 2 + 1) / h - 1
    xs = (torch.arange(w, dtype=x.dtype, device=x.device) * 2 + 1) / w - 1
    base_y, base_x = torch.meshgrid(ys, xs, indexing="ij")
    grid_x = base_x.unsqueeze(0) + flow[:, 0] * (2.0 / w)
    grid_y = base_y.unsqueeze(0) + flow[:, 1] * (2.0 / h)
    grid = torch.stack([grid_x, grid_y], dim=-1)  # (B, H, W, 2), (x, y) order as grid_sample expects
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def resize_channels_last(x: Tensor, size: tuple[int, int] | torch.Size) -> Tensor:
    """Bilinear resize (align_corners=False) computed by torch's NHWC kernels, returned in x's memory format.

    Same formula, so the same values and gradients as on NCHW (tests check bit-identity on the CPU), but faster:
    torch's NCHW CUDA kernel runs one thread per output pixel looping over batch × channels (60% of an H100
    FineTrack forward at batch 256), and its NCHW CPU path is about 2x slower than NHWC plus a round trip.
    """
    if x.is_contiguous(memory_format=torch.channels_last):
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    up = F.interpolate(x.contiguous(memory_format=torch.channels_last), size=size, mode="bilinear", align_corners=False)
    return up.contiguous()


def flow_conv(x: Tensor, conv: nn.Conv2d) -> Tensor:
    """`conv(x)` for the flow's 3x3 conv with 2 output channels, as one 1x1 conv to 2·9 channels (one per output
    channel and tap) whose shifted taps `F.fold` sums into place.

    Why: the CPU's conv kernels handle a 3x3 conv with 2 output channels badly; as a 1x1 conv with 18 outputs it ran
    forward + backward in 45-57 ms instead of 66-88 ms (batch 64, 128 channels at 32x16, one thread, loaded
    machine). fold adds column (c, i, j) of position p at p + (i, j) - 1, i.e. it applies the kernel transposed, so
    the taps are flipped first. Same function and parameters as the conv (tests compare values and gradients),
    other summation order.
    """
    if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.stride != (1, 1) or conv.groups != 1:
        raise ValueError("flow_conv computes a 3x3, padding-1, stride-1 ungrouped conv")
    if x.device.type != "cpu":
        return conv(x)
    b, _, h, w = x.shape
    out = conv.out_channels
    taps = conv.weight.flip(2, 3).permute(0, 2, 3, 1).reshape(out * 9, -1, 1, 1)  # (out·3·3, C, 1, 1)
    cols = F.conv2d(x, taps).reshape(b, out * 9, h * w)
    y = F.fold(cols, output_size=(h, w), kernel_size=3, padding=1)
    return y if conv.bias is None else y + conv.bias.view(1, -1, 1, 1)


class FlowAlignedMerge(nn.Module):
    """One coarse→fine FPN merge: bilinear upsample, [predict semantic flow and warp], add.

    With `align=False` this is the plain FPN merge. The flow conv is zero-initialised, so an aligned merge starts
    out equal to the plain one (up to float rounding in grid_sample).
    """

    def __init__(self, dim: int, align: bool) -> None:
        super().__init__()
        self.align = align
        self.flow: nn.Conv2d | None = None
        if align:
            self.flow = nn.Conv2d(2 * dim, 2, kernel_size=3, padding=1, bias=True)
            nn.init.zeros_(self.flow.weight)
            nn.init.zeros_(self.flow.bias)

    def forward(self, coarse: Tensor, fine: Tensor) -> Tensor:
        # With last_stride 1, C5 already has C4's size: bilinear resizing to the same size (align_corners=False) is
        # exactly the identity (a copy), so it is skipped.
        if coarse.shape[-2:] == fine.shape[-2:]:
            up = coarse
        else:
            up = resize_channels_last(coarse, fine.shape[-2:])
        if self.flow is not None:
            # up in fine's dtype: under bf16 autocast the flow conv reads bf16 anyway, so the concatenation is made
            # in bf16 (the same values) instead of in fp32 and then cast, 128 channels each way, forward and backward
            up = warp_by_flow(up, flow_conv(torch.cat([up.to(fine.dtype), fine], dim=1), self.flow))
        # fine first: the sum takes fine's layout (NHWC in training), not grid_sample's NCHW, which cost a layout
        # round trip in the next resize and NCHW convs after it (3-5% of a bf16 training step on 2 cores, the same
        # weights there; in fp32 oneDNN then rounds the convs after it differently)
        return fine + up


class FAFPN(nn.Module):
    """Top-down FPN over [C2, C3, C4, C5] (or [C3, C4, C5] for out_stride 8) returning one fused map.

    Lateral 1x1 conv+BN per level to `dim` channels, merges from the coarsest level down, then a 3x3 conv+BN+ReLU
    smoothing of the finest merged map.
    """

    def __init__(self, in_channels: list[int], dim: int, fafpn: bool, out_stride: int = 4) -> None:
        super().__init__()
        if out_stride not in (4, 8):
            raise ValueError(f"out_stride must be 4 or 8, got {out_stride}")
        self.first_level = 0 if out_stride == 4 else 1
        used = in_channels[self.first_level :]
        self.laterals = nn.ModuleList(conv_bn(c, dim, 1, relu=False) for c in used)
        self.merges = nn.ModuleList(FlowAlignedMerge(dim, fafpn) for _ in range(len(used) - 1))
        self.smooth = conv_bn(dim, dim, 3, relu=True)
        self.out_channels = dim

    def forward(self, stages: list[Tensor]) -> Tensor:
        feats = [lat(c) for lat, c in zip(self.laterals, stages[self.first_level :])]
        top = feats[-1]
        # merges[i] fuses into level i; walk from the second-coarsest level to the finest.
        for i in range(len(feats) - 2, -1, -1):
            top = self.merges[i](top, feats[i])
        return self.smooth(top)


class PartMaskHead(nn.Module):
    """One MPMG head: channel block -> 1x1 conv -> BN -> ReLU -> 1x1 conv -> sigmoid, a (B, 1, H, W) mask."""

    def __init__(self, in_ch: int) -> None:
        super().__init__()
        hidden = max(8, in_ch)
        self.body = nn.Sequential(
            nn.Conv2d(in_ch, hidden, kernel_size=1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 1, kernel_size=1, bias=True),
        )
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, block: Tensor) -> Tensor:
        return torch.sigmoid(self.body(block))


class MPMG(nn.Module):
    """K parallel mask heads, head k reading the k-th channel block (torch.tensor_split: blocks may differ by one
    channel when `dim` is not a multiple of K).

    The heads hold the parameters (one `PartMaskHead` each, so state_dicts and seeded initialisation are those of K
    separate heads), but the forward runs them as one network: both 1x1 convs as block-diagonal weights
    (`torch.block_diag`, so off-diagonal entries are constant zeros with no gradient) and the K BatchNorms as one
    over the concatenated hidden channels (BatchNorm is per channel, so this is the same function, and each head's
    running statistics are written back). Same maths as `head(block)` per head, up to summation order; it is ~6
    kernels instead of ~6K tiny ones plus K channel-block copies, forward and backward.
    """

    def __init__(self, dim: int, k: int) -> None:
        super().__init__()
        sizes = [len(b) for b in torch.tensor_split(torch.arange(dim), k)]
        self.k = k
        self.heads = nn.ModuleList(PartMaskHead(s) for s in sizes)

    def per_head(self, fmap: Tensor) -> Tensor:
        """The definition, head by head: `forward` computes the same (tests compare values, gradients and running
        statistics; the benchmarks count FLOPs on it, as the off-diagonal zeros of `forward` are not the method's)."""
        blocks = torch.tensor_split(fmap, self.k, dim=1)
        return torch.cat([head(b) for head, b in zip(self.heads, blocks)], dim=1)  # (B, K, H, W)

    def forward(self, fmap: Tensor) -> Tensor:
        bodies = [head.body for head in self.heads]
        reduce = torch.block_diag(*(b[0].weight.flatten(1) for b in bodies))  # (hidden, dim)
        mask = torch.block_diag(*(b[3].weight.flatten(1) for b in bodies))  # (K, hidden)
        hidden = F.conv2d(fmap, reduce[:, :, None, None])
        bns: list[nn.BatchNorm2d] = [b[1] for b in bodies]
        hidden = self._batch_norm(hidden, bns)
        logits = F.conv2d(F.relu(hidden), mask[:, :, None, None], torch.cat([b[3].bias for b in bodies]))
        return torch.sigmoid(logits)  # (B, K, H, W)

    def _batch_norm(self, x: Tensor, bns: list[nn.BatchNorm2d]) -> Tensor:
        """The K heads' BatchNorms applied as one; in training their running statistics move as each would."""
        first = bns[0]
        track = self.training and first.track_running_stats
        mean = torch.cat([bn.running_mean for bn in bns]) if first.running_mean is not None else None
        var = torch.cat([bn.running_var for bn in bns]) if first.running_var is not None else None
        use_batch = self.training or mean is None
        out = F.batch_norm(x, mean, var, torch.cat([bn.weight for bn in bns]), torch.cat([bn.bias for bn in bns]),
                           use_batch, first.momentum if track else 0.0, first.eps)
        if track and mean is not None and var is not None:
            with torch.no_grad():
                for bn, m, v in zip(bns, mean.split([b.num_features for b in bns]),
                                    var.split([b.num_features for b in bns])):
                    bn.running_mean.copy_(m)  # type: ignore[union-attr]
                    bn.running_var.copy_(v)  # type: ignore[union-attr]
                    bn.num_batches_tracked.add_(1)  # type: ignore[union-attr,operator]
        return out


def stripe_masks(k: int, h: int, w: int, like: Tensor) -> Tensor:
    """(1, K, H, W) binary masks of K horizontal stripes covering the rows (boundaries round(i·H/K))."""
    if h < k:
        raise ValueError(f"cannot cut {k} stripes from a feature map {h} rows high")
    bounds = [round(i * h / k) for i in range(k + 1)]
    masks = torch.zeros(1, k, h, w, dtype=like.dtype, device=like.device)
    for i in range(k):
        masks[0, i, bounds[i] : bounds[i + 1]] = 1.0
    return masks


def masked_average(fmap: Tensor, masks: Tensor) -> Tensor:
    """Part features (B, K, D) = sum(mask·F) / (sum(mask) + eps) over space, for fmap (B, D, H, W), masks (B, K, H, W)."""
    num = torch.einsum("bkhw,bdhw->bkd", masks, fmap)
    den = masks.sum(dim=(2, 3)).unsqueeze(-1) + MASK_EPS
    return num / den


class FineTrackReID(nn.Module):
    """ResNet -> (FA)FPN fused map -> global pooling + K part features (learned masks / stripes) -> BNNecks.

    fpn_dim defaults to `scaled_width(256, width)` (64 at width 0.25). `embedding_dim`, when given and different
    from fpn_dim, inserts a 1x1 conv+BN+ReLU after the FPN so every branch feature has that many channels; the
    eval embedding then has (K+1)·embedding_dim dims. `pooling` ("avg"/"gem") applies to the global branch; parts
    always use mask-weighted averaging.
    """

    def __init__(
        self,
        num_classes: int,
        layout: str = "resnet18",
        width: float = 0.25,
        last_stride: int = 1,
        input_size: tuple[int, int] = (128, 64),
        fpn_dim: int | None = FineTrackModelConfig.fpn_dim,
        fafpn: bool = FineTrackModelConfig.fafpn,
        parts: str = FineTrackModelConfig.parts,
        k: int = FineTrackModelConfig.k,
        pooling: str = "avg",
        embedding_dim: int | None = None,
        out_stride: int = FineTrackModelConfig.out_stride,
    ) -> None:
        super().__init__()
        if parts not in PART_MODES:
            raise ValueError(f"parts must be one of {PART_MODES}, got {parts!r}")
        if parts != "none" and k < 1:
            raise ValueError(f"k (number of parts) must be >= 1, got {k}")
        self.input_size = tuple(input_size)
        self.parts = parts
        self.fafpn = fafpn
        self.backbone = ResNet(layout=layout, width=width, last_stride=last_stride)
        dim = fpn_dim if fpn_dim is not None else scaled_width(256, width)
        self.fpn = FAFPN(self.backbone.stage_channels, dim, fafpn, out_stride)
        self.reduce: nn.Module | None = None
        if embedding_dim is not None and embedding_dim != dim:
            self.reduce = conv_bn(dim, embedding_dim, 1, relu=True)
            dim = embedding_dim
        self.feat_dim = dim
        self.num_parts = 0 if parts == "none" else k
        if parts == "mpmg" and k > dim:
            raise ValueError(f"k={k} parts cannot split a {dim}-channel map into non-empty blocks")
        self.mpmg = MPMG(dim, k) if parts == "mpmg" else None
        self.pool = make_pooling(pooling)
        self.global_neck = BNNeck(dim, num_classes)
        self.part_necks = nn.ModuleList(BNNeck(dim, num_classes) for _ in range(self.num_parts))

    @property
    def embedding_dim(self) -> int:
        return (self.num_parts + 1) * self.feat_dim

    @property
    def num_classes(self) -> int:
        return self.global_neck.num_classes

    def fused_map(self, x: Tensor) -> Tensor:
        fmap = self.fpn(self.backbone.forward_stages(x))
        return fmap if self.reduce is None else self.reduce(fmap)

    def part_masks(self, fmap: Tensor) -> Tensor | None:
        if self.mpmg is not None:
            return self.mpmg(fmap)
        if self.parts == "stripes":
            b, _, h, w = fmap.shape
            return stripe_masks(self.num_parts, h, w, fmap).expand(b, -1, -1, -1)
        return None

    def forward(self, x: Tensor) -> dict[str, Tensor] | Tensor:
        fmap = self.fused_map(x)
        g = self.pool(fmap)
        g_bn, g_logits = self.global_neck(g)
        masks = self.part_masks(fmap)
        parts = masked_average(fmap, masks) if masks is not None else None
        part_bn: list[Tensor] = []
        part_logits: list[Tensor] = []
        for i, neck in enumerate(self.part_necks):
            bn_i, logits_i = neck(parts[:, i])  # type: ignore[index]
            part_bn.append(bn_i)
            if logits_i is not None:
                part_logits.append(logits_i)
        if self.training:
            if g_logits is None:
                raise RuntimeError("FineTrackReID was built with num_classes=0 (inference only); it cannot train")
            out: dict[str, Tensor] = {"features": g, "logits": g_logits}
            if parts is not None and masks is not None:
                out["part_features"] = parts
                out["part_logits"] = torch.stack(part_logits, dim=1)
                out["masks"] = masks
            return out
        pieces = [F.normalize(p, dim=1) for p in part_bn] + [F.normalize(g_bn, dim=1)]
        return F.normalize(torch.cat(pieces, dim=1), dim=1)


__all__ = [
    "FAFPN",
    "FineTrackReID",
    "FlowAlignedMerge",
    "MPMG",
    "PartMaskHead",
    "flow_conv",
    "masked_average",
    "resize_channels_last",
    "stripe_masks",
    "warp_by_flow",
]
