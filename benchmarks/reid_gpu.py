"""Re-ID inference on CUDA at the paper's scale (resnet50, width 1.0, 256x128, batch 256), in crops/s.

Why: issue 12 asks FineTrack's inference to run at >= 2x the rate measured on an H100 at 4b22fc8 (3,139 crops/s in
bf16, against 11,551 for the global model). That is a ratio, so both sides are timed here in one run on one card:
`--before DIR` runs this script again in a child process with `PYTHONPATH=DIR` (an older checkout's `trackers`,
e.g. `git archive 4b22fc8 trackers | tar -x -C DIR`) and prints after/before.

Modes, each fed normalised float32 crops that already sit on the GPU, batch after batch from a pool of 4 (so the
input is not served from L2):
- `fp32`: the eval-mode model in NCHW float32 (cuDNN's TF32 convolutions, torch's default); how bench embedded at
  4b22fc8.
- `bf16`: the eval-mode model under bf16 autocast (the H100 profile's 3,139 crops/s row).
- `bf16-cl`: as `bf16`, model and input in channels_last.
- `fused`: what `bench.appearance.embeddings.Embedder` runs on CUDA today: `fuse_for_inference` (BN folded, MPMG's K heads
  merged, NHWC) under bf16 autocast.
- `compiled` (`--compile`): `torch.compile` of `fused`; compile time printed apart.
Timing: CUDA events around `--iters` forwards after 3 warm-ups, median of `--repeats` such runs.
`--check` also prints how far each mode's FineTrack embeddings are from float32 (1 - cosine, worst crop).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path

import torch
import torch.nn.functional as F

from train_throughput import model_config  # the paper's config in today's or 4b22fc8's API (same folder)

NUM_CLASSES = 1000
INPUT_SIZE = model_config("global", paper=True).input_size


def paper_model(name: str) -> torch.nn.Module:
    """The eval-mode model at the paper's scale."""
    torch.manual_seed(0)
    return model_config(name, paper=True).build(NUM_CLASSES).eval()


def fused_available() -> bool:
    try:
        import trackers.reid.inference  # noqa: F401
    except ImportError:
        return False
    return True


def prepare(name: str, mode: str, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """A forward function for `mode` (see the module doc), warmed up."""
    model = paper_model(name).to(device)
    cl = mode in ("bf16-cl", "fused", "compiled")
    if mode in ("fused", "compiled"):
        from trackers.reid.inference import fuse_for_inference

        model = fuse_for_inference(model).to(device)
    if cl:
        model = model.to(memory_format=torch.channels_last)
    if mode == "compiled":
        model = torch.compile(model)
    amp = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if mode != "fp32" else nullcontext

    def forward(x: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode(), amp():
            return model(x.contiguous(memory_format=torch.channels_last) if cl else x).float()

    return forward


def rate(forward: Callable[[torch.Tensor], torch.Tensor], inputs: list[torch.Tensor], iters: int,
         repeats: int) -> float:
    """Median crops/s over `repeats` runs of `iters` forwards (CUDA events), after 3 warm-up forwards."""
    for i in range(3):
        forward(inputs[i % len(inputs)])
    torch.cuda.synchronize()
    times = []
    for _ in range(repeats):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for i in range(iters):
            forward(inputs[i % len(inputs)])
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return iters * len(inputs[0]) / statistics.median(times)


def measure(args: argparse.Namespace) -> dict[str, float]:
    device = torch.device("cuda")
    gen = torch.Generator(device=device).manual_seed(0)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    inputs = [(torch.randint(0, 256, (args.batch, 3, *INPUT_SIZE), generator=gen, device=device).float() / 255
               - mean) / std for _ in range(4)]
    modes = ["fp32", "bf16", "bf16-cl"] + (["fused"] if fused_available() else [])
    out: dict[str, float] = {}
    for name in ("global", "finetrack"):
        names_modes = modes + (["compiled"] if args.compile and name == "finetrack" and "fused" in modes else [])
        ref = None
        for mode in names_modes:
            t0 = time.perf_counter()
            forward = prepare(name, mode, device)
            if mode == "compiled":
                forward(inputs[0])
                torch.cuda.synchronize()
                out[f"{name}/compile_s"] = time.perf_counter() - t0
            out[f"{name}/{mode}"] = rate(forward, inputs, args.iters, args.repeats)
            if args.check:
                emb = F.normalize(forward(inputs[1][:64]), dim=1)
                if ref is None:  # fp32 comes first
                    ref = emb
                out[f"{name}/{mode}/1-cos"] = float((1 - (emb * ref).sum(1)).max())
            del forward
            torch.cuda.empty_cache()
    return out


def profile_fused(args: argparse.Namespace) -> None:
    """The top CUDA kernels of 5 fused FineTrack forwards (where the time goes)."""
    device = torch.device("cuda")
    x = torch.randn(args.batch, 3, *INPUT_SIZE, device=device)
    forward = prepare("finetrack", "fused" if fused_available() else "bf16", device)
    for _ in range(3):
        forward(x)
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(5):
            forward(x)
        torch.cuda.synchronize()
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=60))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", type=Path, help="an older checkout's root: its trackers timed in a child process")
    parser.add_argument("--compile", action="store_true", help="also time torch.compile of the fused FineTrack")
    parser.add_argument("--check", action="store_true", help="embedding error of each mode against fp32")
    parser.add_argument("--profile", action="store_true", help="top CUDA kernels of the fused FineTrack forward")
    parser.add_argument("--json", action="store_true", help=argparse.SUPPRESS)  # child mode: print the dict only
    args = parser.parse_args()
    if not torch.cuda.is_available():
        sys.exit("reid_gpu.py needs CUDA (torch sees no GPU)")
    if args.json:
        print(json.dumps(measure(args)))
        return

    before: dict[str, float] = {}
    if args.before:
        env = {**os.environ, "PYTHONPATH": str(args.before.resolve())}
        cmd = [sys.executable, __file__, "--json", "--batch", str(args.batch), "--iters", str(args.iters),
               "--repeats", str(args.repeats)] + (["--check"] if args.check else [])
        child = subprocess.run(cmd, env=env, cwd="/", capture_output=True, text=True, check=False)
        if child.returncode != 0:
            sys.exit(f"--before run failed:\n{child.stderr[-3000:]}")
        before = json.loads(child.stdout.strip().splitlines()[-1])
    after = measure(args)
    print(f"device={torch.cuda.get_device_name()}  torch={torch.__version__}  batch={args.batch}  "
          f"iters={args.iters}  repeats={args.repeats}  crops/s (median)")
    for key in sorted(set(after) | set(before)):
        a, b = after.get(key), before.get(key)
        ratio = f"{a / b:6.2f}x" if a is not None and b and not key.endswith(("-cos", "_s")) else ""
        fmt = (lambda v: "-" if v is None else (f"{v:.2e}" if key.endswith("-cos") else f"{v:10.1f}"))
        print(f"  {key:28s} before {fmt(b):>10s}   now {fmt(a):>10s}   {ratio}")
    ft_before = before.get("finetrack/bf16")
    ft_now = max((v for k, v in after.items() if k in ("finetrack/fused", "finetrack/compiled")), default=None)
    if ft_before and ft_now:
        print(f"FineTrack: best of today's embedding paths / 4b22fc8-style bf16 = {ft_now / ft_before:.2f}x "
              f"(fused alone {after['finetrack/fused'] / ft_before:.2f}x; issue 12 asks >= 2x)")
    if args.profile:
        profile_fused(args)


if __name__ == "__main__":
    main()
