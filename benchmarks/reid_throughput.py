"""Re-ID model throughput on this machine, next to the FLOP-bound limit measured in the same run.

Why: the Re-ID model's cost decides whether appearance-based trackers are usable in CPU demos. A crops/s number
alone says little; as a fraction of what the machine's arithmetic allows (the model's FLOPs per crop divided by
the achieved GFLOP/s of a 3x3 conv, and of a large matmul as the absolute peak) it says how much is left on the
table (framework overhead, BN/ReLU memory traffic, small-channel inefficiency).

Run: `python benchmarks/reid_throughput.py` (about a minute on 2 cores). Inference is timed under
`torch.inference_mode()`, for the eval-mode model ("infer") and for the copy bench embeds with ("fused":
`trackers.reid.inference.fuse_for_inference`: BN folded, FineTrack's mask heads merged, NHWC; embeddings within
~1e-7), interleaved in the same run; training is forward + ReID loss (CE + batch-hard triplet) + backward + AdamW
step.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

try:
    from trackers.reid.configs import FineTrackModelConfig, ModelConfig, TrainConfig
    from trackers.reid.inference import fuse_for_inference
except ModuleNotFoundError:  # run as a script from a checkout without the package installed
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from trackers.reid.configs import FineTrackModelConfig, ModelConfig, TrainConfig
    from trackers.reid.inference import fuse_for_inference

NUM_CLASSES = 100


@dataclass
class Case:
    label: str
    config: ModelConfig
    batch: int
    min_time_s: float  # keep timing until this much time has passed (at least one timed run)


def time_it(fn: Callable[[], object], min_time_s: float, warmup: Callable[[], object] | None = None) -> float:
    """Best seconds per call: one warm-up call, then repeat until `min_time_s` has elapsed (at least once).

    The minimum, not the mean: on a shared machine the fastest run is the best estimate of what the
    code costs without interference (the bounds below are measured the same way, so the ratio is fair).
    """
    (warmup or fn)()
    best, start = float("inf"), time.perf_counter()
    while True:
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        best = min(best, t1 - t0)
        if t1 - start >= min_time_s:
            return best


def matmul_gflops(n: int = 1536, min_time_s: float = 1.5) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    with torch.inference_mode():
        sec = time_it(lambda: a @ b, min_time_s)
    return 2 * n**3 / sec / 1e9


def conv3x3_gflops(channels: int = 128, min_time_s: float = 1.5, dtype: torch.dtype = torch.float32) -> float:
    """A mid-network ResNet conv (channels->channels, 32x16 map, batch 32). 128 channels is the ceiling used for
    the bound; 16 channels (the C2 stage of the width-0.25 model) is printed for context. The faster of NCHW and
    channels_last (oneDNN's NHWC kernels are the faster ones on some CPUs); `dtype` bf16 gives the bound of bf16
    arithmetic, where the CPU has it."""
    b, c, h, w = 32, channels, 32, 16
    best = float("inf")
    for fmt in (torch.contiguous_format, torch.channels_last):
        x = torch.randn(b, c, h, w).to(dtype).contiguous(memory_format=fmt)
        weight = torch.randn(c, c, 3, 3).to(dtype).contiguous(memory_format=fmt)
        with torch.inference_mode():
            best = min(best, time_it(lambda: F.conv2d(x, weight, padding=1), min_time_s / 2))
    return 2 * b * c * h * w * c * 9 / best / 1e9


def _batch(cfg: ModelConfig, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A P×K-shaped batch (K=4) so the triplet loss has positives."""
    x = torch.randn(batch, 3, *cfg.input_size)
    y = torch.arange(batch) // 4 % NUM_CLASSES
    return x, y


def flops_per_crop(cfg: ModelConfig) -> tuple[float, float]:
    """(inference, training) FLOPs per crop, counted on a 4-crop batch (training = forward + backward)."""
    model = cfg.build(NUM_CLASSES)
    crit = cfg.make_loss(TrainConfig())
    x, y = _batch(cfg, 4)
    with FlopCounterMode(display=False) as fc, torch.inference_mode():
        model.eval()(x)
    infer = fc.get_total_flops() / 4
    with FlopCounterMode(display=False) as fc:
        crit(model.train()(x), y)["loss"].backward()
    train = fc.get_total_flops() / 4
    return infer, train


def measure(case: Case, channels_last: bool = False) -> tuple[float, float, float]:
    """(inference crops/s, fused inference crops/s, training crops/s); `channels_last` times the unfused eval-mode
    model in NHWC (faster oneDNN kernels for narrow convs, not bit-identical to NCHW; the fused copy is NHWC anyway)."""
    torch.manual_seed(0)
    cfg = case.config
    model = cfg.build(NUM_CLASSES)
    x, y = _batch(cfg, case.batch)
    x_warm, y_warm = _batch(cfg, min(case.batch, 8))

    model.eval()
    fused = fuse_for_inference(model)  # fed NCHW crops as bench feeds it (it converts to NHWC itself)
    if channels_last:
        with torch.no_grad():  # not inference_mode: the converted weights and inputs are trained on below
            nchw = model(x_warm)
            model.to(memory_format=torch.channels_last)
            x, x_warm = (t.contiguous(memory_format=torch.channels_last) for t in (x, x_warm))
            diff = (model(x_warm) - nchw).abs().max().item()
        print(f"{case.label}: channels_last embeddings differ from NCHW by max |d| = {diff:.2e}")

    def infer(inp: torch.Tensor = x) -> None:
        with torch.inference_mode():
            model(inp)

    def infer_fused(inp: torch.Tensor = x) -> None:
        with torch.inference_mode():
            fused(inp)

    # Interleaved halves, so a burst of background load hits both variants alike.
    x_nchw, warm_nchw = x.contiguous(), x_warm.contiguous()
    infer_s = fused_s = float("inf")
    for _ in range(2):
        infer_s = min(infer_s, time_it(infer, case.min_time_s / 2, warmup=lambda: infer(x_warm)))
        fused_s = min(fused_s, time_it(lambda: infer_fused(x_nchw), case.min_time_s / 2,
                                       warmup=lambda: infer_fused(warm_nchw)))

    model.train()
    crit = cfg.make_loss(TrainConfig())
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=3e-4, weight_decay=5e-4)

    def step(inp: torch.Tensor = x, lab: torch.Tensor = y) -> None:
        loss = crit(model(inp), lab)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    if channels_last:
        x, x_warm = x.contiguous(), x_warm.contiguous()
        model.to(memory_format=torch.contiguous_format)
    train_s = time_it(step, case.min_time_s, warmup=lambda: step(x_warm, y_warm))
    return case.batch / infer_s, case.batch / fused_s, case.batch / train_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--skip-large", action="store_true", help="only the default synth config (a few seconds)")
    parser.add_argument("--channels-last", action="store_true",
                        help="time inference in channels_last (not bit-identical to NCHW on the CPU; for comparison)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    finetrack = FineTrackModelConfig(width=0.25, input_size=(128, 64))
    cases = [Case("global w0.25 128x64 (default)", ModelConfig(width=0.25, input_size=(128, 64)), args.batch, 3.0),
             Case("finetrack w0.25 128x64 (default)", finetrack, args.batch, 3.0)]
    if not args.skip_large:
        # ~4 GFLOP/crop: one batch of 64 is ~2 s to infer and ~7 s to train, so only a few timed runs.
        cases.append(Case("resnet18 w1.0 256x128", ModelConfig(width=1.0, input_size=(256, 128)), args.batch, 5.0))

    # Peak rates are measured before and after the models and the best kept, so a burst of load from other
    # processes during one measurement does not deflate the bound.
    mm = matmul_gflops()
    conv = conv3x3_gflops(128)
    conv_narrow = conv3x3_gflops(16, min_time_s=0.5)
    load = os.getloadavg()[0]
    results = []
    for case in cases:
        results.append((case, flops_per_crop(case.config), measure(case, args.channels_last)))
    mm = max(mm, matmul_gflops())
    conv = max(conv, conv3x3_gflops(128))
    conv_narrow = max(conv_narrow, conv3x3_gflops(16, min_time_s=0.5))

    print(f"threads={torch.get_num_threads()}  torch={torch.__version__}  1-min load average at start={load:.2f}")
    print(
        f"achieved: matmul {mm:.1f} GFLOP/s, conv3x3 128ch {conv:.1f} GFLOP/s (bound@conv uses this), "
        f"conv3x3 16ch {conv_narrow:.1f} GFLOP/s  (FLOP = 2 x multiply-add)"
    )
    header = (
        f"{'model':34s} {'mode':6s} {'GFLOP/crop':>10s} {'crops/s':>9s} "
        f"{'bound@conv':>10s} {'ratio':>6s} {'bound@mm':>9s} {'ratio':>6s}"
    )
    print(header)
    print("-" * len(header))
    for case, (f_inf, f_train), (inf_cps, fused_cps, train_cps) in results:
        for mode, flops, cps in (("infer", f_inf, inf_cps), ("fused", f_inf, fused_cps), ("train", f_train, train_cps)):
            b_conv = conv * 1e9 / flops
            b_mm = mm * 1e9 / flops
            print(
                f"{case.label:34s} {mode:6s} {flops / 1e9:10.3f} {cps:9.1f} "
                f"{b_conv:10.1f} {cps / b_conv:6.2f} {b_mm:9.1f} {cps / b_mm:6.2f}"
            )


if __name__ == "__main__":
    main()
