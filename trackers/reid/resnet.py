"""ResNet backbones in plain torch (torchvision is unavailable here), exposing stages C2..C5.

Re-ID needs two things a classification ResNet does not give: the intermediate stages (FineTrack builds an FPN
over C2..C5) and `last_stride=1` (Luo et al. 2019, "Bag of Tricks"): keeping C5 at stride 16 doubles the spatial
resolution of the final map for little cost. Training starts from scratch unless ImageNet weights are given
(`load_torchvision_weights`, torchvision's key layout), so the init matters:
Kaiming for convs and a zero gamma on the last BN of each residual branch, which makes every block start as an
identity and lets a from-scratch network train stably.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

BASE_WIDTHS = (64, 128, 256, 512)


def conv3x3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel_size=1, stride=stride, bias=False)


def scaled_width(base: int, width: float) -> int:
    """`base * width` rounded to a multiple of 8 (SIMD-friendly channel counts), at least 8."""
    return max(8, int(round(base * width / 8.0)) * 8)


class BasicBlock(nn.Module):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut; ResNet-18/34."""

    expansion = 1

    def __init__(self, in_ch: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = conv3x3(in_ch, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, out_ch)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_ch, out_ch, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn2

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3, 1x1 expand (x4); the stride sits on the 3x3 ("ResNet v1.5", as torchvision)."""

    expansion = 4

    def __init__(self, in_ch: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        out_ch = planes * self.expansion
        self.conv1 = conv1x1(in_ch, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, out_ch)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_ch, out_ch, stride)

    @property
    def last_bn(self) -> nn.BatchNorm2d:
        return self.bn3

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class StemMaxPool(nn.MaxPool2d):
    """The stem's 3x3/2 max-pool, run in channels_last on the CPU: torch's NHWC CPU kernel is ~4x faster than the
    NCHW one on these narrow maps (11% of a slim FineTrack forward), and a max is exact, so values, argmax ties and
    gradients are bit-identical (tests/test_reid_train_loop.py checks this). No parameters: state_dicts unchanged."""

    def forward(self, x: Tensor) -> Tensor:
        if x.device.type != "cpu" or x.is_contiguous(memory_format=torch.channels_last):
            return super().forward(x)
        return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()


def _shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_ch == out_ch:
        return None
    return nn.Sequential(conv1x1(in_ch, out_ch, stride), nn.BatchNorm2d(out_ch))


@dataclass(frozen=True)
class Layout:
    block: type[BasicBlock] | type[Bottleneck]
    depths: tuple[int, int, int, int]


LAYOUTS: dict[str, Layout] = {
    "resnet18": Layout(BasicBlock, (2, 2, 2, 2)),
    "resnet34": Layout(BasicBlock, (3, 4, 6, 3)),
    "resnet50": Layout(Bottleneck, (3, 4, 6, 3)),
}


class ResNet(nn.Module):
    """ResNet trunk without the classifier; `forward_stages` returns [C2, C3, C4, C5].

    Strides of C2..C5 are 4, 8, 16 and 16 (`last_stride=1`) or 32 (`last_stride=2`).
    `width` scales every stage (64,128,256,512 x width, rounded to a multiple of 8) so the model fits a CPU budget.
    """

    def __init__(
        self,
        layout: str = "resnet18",
        width: float = 1.0,
        last_stride: int = 1,
        zero_init_residual: bool = True,
    ) -> None:
        super().__init__()
        if layout not in LAYOUTS:
            raise ValueError(f"unknown ResNet layout {layout!r}; known: {sorted(LAYOUTS)}")
        if last_stride not in (1, 2):
            raise ValueError(f"last_stride must be 1 or 2, got {last_stride}")
        if width <= 0:
            raise ValueError(f"width must be positive, got {width}")
        spec = LAYOUTS[layout]
        self.layout = layout
        self.width = width
        self.last_stride = last_stride
        planes = [scaled_width(b, width) for b in BASE_WIDTHS]

        self.stem = nn.Sequential(
            nn.Conv2d(3, planes[0], kernel_size=7, stride=2, padding=3, bias=False),
            nn.BatchNorm2d(planes[0]),
            nn.ReLU(inplace=True),
            StemMaxPool(kernel_size=3, stride=2, padding=1),
        )
        strides = (1, 2, 2, last_stride)
        in_ch = planes[0]
        stages: list[nn.Sequential] = []
        for p, depth, stride in zip(planes, spec.depths, strides):
            blocks: list[nn.Module] = []
            for i in range(depth):
                blocks.append(spec.block(in_ch, p, stride if i == 0 else 1))
                in_ch = p * spec.block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.stage_channels: list[int] = [p * spec.block.expansion for p in planes]
        self.stage_strides: list[int] = [4, 8, 16, 16 * last_stride]
        self._init_weights(zero_init_residual)

    @property
    def out_channels(self) -> int:
        """Channels of C5, i.e. of `forward`'s output."""
        return self.stage_channels[-1]

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    nn.init.zeros_(m.last_bn.weight)

    def forward_stages(self, x: Tensor) -> list[Tensor]:
        """[C2, C3, C4, C5] for an image batch (B, 3, H, W), channels_last on the CPU.

        Why NHWC there: oneDNN's CPU convolutions (forward and backward) are faster in NHWC on these narrow maps,
        so training the slim models is (benchmarks/train_throughput.py); values equal NCHW up to summation order.
        """
        if x.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.stem(x)
        c2 = self.layer1(x)
        c3 = self.layer2(c2)
        c4 = self.layer3(c3)
        c5 = self.layer4(c4)
        return [c2, c3, c4, c5]

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_stages(x)[-1]


# torchvision/timm name the stem `conv1`/`bn1` at the top level; here they are `stem.0`/`stem.1`. Every other
# backbone key (layer1..layer4, downsample.0/1) is spelled the same; `fc.*` is the ImageNet classifier (not loaded).
TORCHVISION_PREFIXES = {"conv1.": "stem.0.", "bn1.": "stem.1."}
TORCHVISION_HEAD = ("fc.",)


@dataclass
class PretrainedReport:
    loaded: list[str] = field(default_factory=list)  # backbone keys taken from the file
    missing: list[str] = field(default_factory=list)  # backbone keys the file lacks: they stay random
    unused: list[str] = field(default_factory=list)  # file keys that are neither backbone nor classifier

    @property
    def total(self) -> int:
        return len(self.loaded) + len(self.missing)


def torchvision_to_backbone_key(key: str) -> str:
    """A torchvision/timm ResNet state-dict key in this module's naming."""
    for tv, ours in TORCHVISION_PREFIXES.items():
        if key.startswith(tv):
            return ours + key[len(tv) :]
    return key


def load_torchvision_weights(backbone: ResNet, state: Mapping[str, Tensor]) -> PretrainedReport:
    """Copy an ImageNet ResNet state dict (torchvision's = timm's key layout) into `backbone`.

    Shapes must match exactly (same layout, width 1.0): a mismatch or a file with no backbone key at all is a
    ValueError naming the keys; the classifier (`fc.*`) is ignored.
    """
    own = backbone.state_dict()
    report = PretrainedReport()
    mapped: dict[str, Tensor] = {}
    bad = []
    for key, value in state.items():
        if key.startswith(TORCHVISION_HEAD):
            continue
        ours = torchvision_to_backbone_key(key.removeprefix("module."))
        if ours not in own:
            report.unused.append(key)
        elif tuple(value.shape) != tuple(own[ours].shape):
            bad.append(f"{key} {tuple(value.shape)} vs {tuple(own[ours].shape)}")
        else:
            mapped[ours] = value
    if bad:
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise ValueError(
            f"{len(bad)} tensor shapes differ ({'; '.join(bad[:3])}{more}); "
            f"pretrained weights need layout {backbone.layout!r} at width 1.0, this backbone has width {backbone.width}"
        )
    if not mapped:
        raise ValueError(
            f"no key matches a {backbone.layout} backbone (expected torchvision names like layer1.0.conv1.weight)"
        )
    backbone.load_state_dict(mapped, strict=False)
    report.loaded = [k for k in own if k in mapped]
    report.missing = [k for k in own if k not in mapped]
    return report


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = [
    "BasicBlock",
    "Bottleneck",
    "LAYOUTS",
    "PretrainedReport",
    "ResNet",
    "count_parameters",
    "load_torchvision_weights",
    "scaled_width",
]
