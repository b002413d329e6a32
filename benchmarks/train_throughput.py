"""Re-ID training loop throughput against a bare training step of the same model, data and device, in one run.

Why: the loop (`trackers.reid.train.train`: sampling, upload, augmentation, normalisation, LR schedule, loss
bookkeeping) should cost little on top of the arithmetic. The bare step is forward + loss + backward + AdamW on one
batch that already sits normalised on the device, with the settings the loop uses there (channels_last; `--precision`,
by default `train.precision`'s auto: bf16 autocast on CUDA and on CPUs with bf16 arithmetic, fp32 elsewhere; CUDA:
fused AdamW; CPU: foreach AdamW, as `train()`). Printed: crops/s of each and loop / bare (issue 12 asks for >= 0.8 on
GPU); the loop's rate is that of the epochs after the first (the first also pays one-time costs: kernel selection
for each new batch shape), the first epoch's shown beside it.

On the CPU it also prints each rate as GFLOP/s (forward + backward FLOPs per crop, counted by torch's FlopCounterMode)
and as a fraction of the machine's bound measured in the same run (a 128-channel 3x3 conv in fp32, as
`reid_throughput.py`; issue 29 asks >= 0.5 for both models), and when training in bf16 also of the same conv's bf16
bound (what bf16 arithmetic could reach).

Run: `python benchmarks/train_throughput.py [--device cuda] [--model finetrack] [--paper] [--before DIR]`. Synthetic
uint8 crops (no files), P×K batches. Each rate is the best of `--repeats` measurements (a shared machine is noisy).
`--before DIR` times an older `trackers` (e.g. `git archive 8e35c0f trackers | tar -x -C DIR`) in processes
alternating with this checkout's; `PYTHONPATH=OLD_CHECKOUT python benchmarks/train_throughput.py ...` does it alone
(`model_config` and `training_loss` below also speak the API of 4b22fc8, the commit the H100 profile was taken at).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from contextlib import nullcontext

import numpy as np
import torch

try:
    import trackers.reid  # noqa: F401
except ModuleNotFoundError:  # run as a script from a checkout without the package installed
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
try:
    from trackers.reid.configs import ModelConfig, TrainConfig
except ModuleNotFoundError:  # a `trackers` whose configs still live beside the models (timing older code)
    from trackers.reid.models import ModelConfig
    from trackers.reid.train import TrainConfig
from trackers.reid.preprocess import normalise
from trackers.reid.samplers import PKSampler
from trackers.reid.train import train
from torch.utils.data import Sampler


def model_config(name: str, paper: bool) -> ModelConfig:
    """The slim default (resnet18 layout, width 0.25, 128x64) or the paper's (resnet50, width 1.0, 256x128)."""
    values = {"layout": "resnet50", "width": 1.0, "input_size": (256, 128)} if paper else {}
    if hasattr(ModelConfig, "for_name"):
        return ModelConfig.for_name(name, **values)
    return ModelConfig(name=name, **values)  # older API: one config class, model switches in `extra`


def training_loss(mc: ModelConfig) -> torch.nn.Module:
    """The model's loss with the default training weights."""
    if hasattr(mc, "make_loss"):
        return mc.make_loss(TrainConfig())
    from trackers.reid.finetrack_loss import make_loss  # older API

    return make_loss(mc)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def resolved_precision(setting: str, device: torch.device) -> str:
    """`train.precision` as train() resolves it (older code without the setting: bf16 on CUDA, fp32 on the CPU)."""
    try:
        from trackers.reid.train import training_precision
    except ImportError:
        return "bf16" if device.type == "cuda" else "fp32"
    return training_precision(setting, device)


def train_config(args: argparse.Namespace) -> TrainConfig:
    values = {"epochs": args.epochs, "p": args.p, "k": args.k}
    if "precision" in {f.name for f in dataclasses.fields(TrainConfig)}:
        values["precision"] = args.precision
    return TrainConfig(**values)


def bare_rate(mc: ModelConfig, crops: torch.Tensor, labels: np.ndarray, batch: int, steps: int,
              device: torch.device, precision: str) -> float:
    """Crops/s of forward + loss + backward + AdamW on one fixed, pre-normalised batch on the device."""
    cuda = device.type == "cuda"
    torch.manual_seed(0)
    fmt = torch.channels_last
    model = mc.build(int(labels.max()) + 1).to(device=device, memory_format=fmt).train()
    loss_fn = training_loss(mc)
    # the optimiser `train()` builds: fused on CUDA, foreach on the CPU (written out here: --before imports older code)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=5e-4,
                            **({"fused": True} if cuda else {"foreach": True}))
    x = normalise(crops[:batch].to(device)).contiguous(memory_format=fmt)
    y = torch.as_tensor(labels[:batch], device=device)
    amp = torch.autocast(device.type, dtype=torch.bfloat16) if precision == "bf16" else nullcontext()

    def step() -> None:
        with amp:
            out = model(x)
        loss = loss_fn({k: v.float() for k, v in out.items()}, y)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up (allocations, kernel selection)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return steps * batch / (time.perf_counter() - t0)


def make_sampler(kind: str, labels: np.ndarray, tc: TrainConfig) -> Sampler[list[int]]:
    """`pk`: fixed P×K batches. `sgs`: FineTrack's Shuffle-Group Sampling, as `bench train` uses for FineTrack by
    default: whole groups of consecutive frames, so batch sizes vary up to P×K (a synthetic layout: each identity
    seen in 8 frames, stride 2, from a random start, in one of 4 sequences)."""
    batch = tc.p * tc.k
    if kind == "pk":
        return PKSampler(labels, tc.p, tc.k, seed=0, batches_per_epoch=max(1, len(labels) // batch))
    from trackers.reid.samplers import SGSSampler

    rng = np.random.default_rng(0)
    start = rng.integers(0, 400, size=int(labels.max()) + 1)
    frames = start[labels] + 2 * (np.arange(len(labels)) % 8)
    return SGSSampler(labels % 4, frames, labels, batch, group_frames=8, seed=0)


def loop_rate(mc: ModelConfig, crops: torch.Tensor, labels: np.ndarray, tc: TrainConfig, device: torch.device,
              sampler_kind: str = "pk") -> tuple[float, float]:
    """Crops/s of `train()` (first epoch without its first step, later epochs): batch sizes can vary (SGS), so the
    crops counted are those the sampler hands out."""
    torch.manual_seed(0)
    model = mc.build(int(labels.max()) + 1)
    sampler = make_sampler(sampler_kind, labels, tc)
    sizes = []  # batch sizes, epoch by epoch, as train() will see them
    for epoch in range(tc.epochs):
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        sizes.append([len(b) for b in sampler])
    first_epoch = len(sizes[0])
    marks: dict[int, float] = {}

    def on_step(it: int, total: int, losses: dict[str, float]) -> None:
        if it in (1, first_epoch):
            sync(device)
            marks[it] = time.perf_counter()

    train(model, crops, labels, tc, seed=0, sampler=sampler, loss_fn=training_loss(mc), device=str(device),
          on_step=on_step)
    sync(device)
    end = time.perf_counter()
    first = sum(sizes[0][1:]) / (marks[first_epoch] - marks[1]) if first_epoch > 1 else float("nan")
    later = sum(map(sum, sizes[1:])) / (end - marks[first_epoch]) if tc.epochs > 1 else float("nan")
    return first, later


def measure_rates(args: argparse.Namespace) -> dict[str, float]:
    """Crops/s of the bare step and of train() (best of `args.repeats`) for this process's `trackers`."""
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    mc = model_config(args.model, args.paper)
    gen = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (args.crops, 3, *mc.input_size), generator=gen, dtype=torch.uint8)
    labels = np.arange(args.crops) // 8
    tc = train_config(args)
    batch = tc.p * tc.k
    steps = max(1, (args.crops // batch) * args.epochs - 1)
    bare = first = later = 0.0
    for _ in range(args.repeats):  # interleaved, best of each: load from other processes hits both alike
        bare = max(bare, bare_rate(mc, crops, labels, batch, steps, device,
                                   resolved_precision(args.precision, device)))
        f, lt = loop_rate(mc, crops, labels, tc, device, args.sampler)
        first, later = max(first, f), max(later, lt)
    return {"bare": bare, "first": first, "loop": later if args.epochs > 1 else first}


def train_flops_per_crop(args: argparse.Namespace) -> float:
    """Forward + backward FLOPs per crop of the method (FineTrack's mask heads counted head by head, as the
    method defines them, not the zero blocks of their one-network form), from `reid_throughput.flops_per_crop`."""
    from unittest import mock

    from reid_throughput import flops_per_crop
    from trackers.reid import finetrack_model

    mpmg = finetrack_model.MPMG
    per_head = mock.patch.object(mpmg, "forward", mpmg.per_head) if hasattr(mpmg, "per_head") else nullcontext()
    with per_head:
        return flops_per_crop(model_config(args.model, args.paper))[1]


def child(args: argparse.Namespace, code: str | None) -> dict[str, float]:
    """`measure_rates` in a fresh process whose `trackers` comes from `code` (None: this checkout)."""
    import json
    import os
    import subprocess
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [code or root, os.environ.get("PYTHONPATH")]))}
    argv = [sys.executable, __file__, "--rates-only", "--repeats", "1", "--device", args.device, "--model",
            args.model, "--crops", str(args.crops), "--epochs", str(args.epochs), "--p", str(args.p), "--k",
            str(args.k), "--threads", str(args.threads), "--sampler", args.sampler, "--precision", args.precision]
    argv += ["--paper"] if args.paper else []
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="finetrack", choices=("finetrack", "global"))
    parser.add_argument("--paper", action="store_true", help="resnet50, width 1.0, 256x128 (the issue's GPU config)")
    parser.add_argument("--crops", type=int, default=640, help="synthetic training crops (identities of 8 crops)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--p", type=int, default=16)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sampler", default="pk", choices=("pk", "sgs"),
                        help="pk: fixed P×K batches; sgs: FineTrack's default, batch sizes vary up to P×K")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "bf16"),
                        help="train.precision (auto: bf16 where the device computes it natively)")
    parser.add_argument("--before", metavar="DIR", help="also time the `trackers` of an older checkout (a folder "
                        "holding trackers/), each in its own process, interleaved with this one")
    parser.add_argument("--rates-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rates_only:
        import json

        print(json.dumps(measure_rates(args)))
        return
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    mc = model_config(args.model, args.paper)
    batch = args.p * args.k
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {torch.get_num_threads()} threads"
    precision = resolved_precision(args.precision, device)
    print(f"device={name}  torch={torch.__version__}  model={args.model} {mc.layout} w{mc.width} "
          f"{mc.input_size[0]}x{mc.input_size[1]}  batch={batch}  sampler={args.sampler}  epochs={args.epochs}  "
          f"precision={args.precision} ({precision})")

    bound, bf16_bound = None, None
    if device.type == "cpu":
        from reid_throughput import conv3x3_gflops, matmul_gflops

        bound = (conv3x3_gflops(128), matmul_gflops())
        bf16_bound = conv3x3_gflops(128, dtype=torch.bfloat16) if precision == "bf16" else None
    if args.before:
        runs: dict[str, dict[str, float]] = {}
        for _ in range(args.repeats):  # alternate the two checkouts so load hits both alike
            for label, code in (("before", args.before), ("now", None)):
                r = child(args, code)
                runs[label] = {k: max(v, runs.get(label, {}).get(k, 0.0)) for k, v in r.items()}
    else:
        runs = {"now": measure_rates(args)}
    if bound is not None:
        from reid_throughput import conv3x3_gflops, matmul_gflops

        bound = (max(bound[0], conv3x3_gflops(128)), max(bound[1], matmul_gflops()))
        if bf16_bound is not None:
            bf16_bound = max(bf16_bound, conv3x3_gflops(128, dtype=torch.bfloat16))
    flops = train_flops_per_crop(args)
    for label, r in runs.items():
        line = (f"{label:6s} bare step {r['bare']:8.1f} crops/s   train() loop {r['loop']:8.1f} crops/s "
                f"(first epoch {r['first']:.1f})   loop/bare {r['loop'] / r['bare']:.2f}")
        if bound is not None:
            conv, mm = bound
            line += (f"   {r['bare'] * flops / 1e9:.1f} / {r['loop'] * flops / 1e9:.1f} GFLOP/s (bare/loop): "
                     f"{r['bare'] * flops / 1e9 / conv:.2f} / {r['loop'] * flops / 1e9 / conv:.2f} of the conv bound")
            if bf16_bound is not None:
                line += f" ({r['loop'] * flops / 1e9 / bf16_bound:.2f} of its bf16 bound, loop)"
        print(line)
    if bound is not None:
        bf16 = f", in bf16 {bf16_bound:.1f} GFLOP/s" if bf16_bound is not None else ""
        print(f"bound: conv3x3 128ch {bound[0]:.1f} GFLOP/s{bf16}, matmul {bound[1]:.1f} GFLOP/s (best of before and "
              f"after the models); {flops / 1e9:.3f} GFLOP per crop forward + backward (the method's, heads counted "
              f"apart)")
    if "before" in runs:
        print(f"now / before: bare {runs['now']['bare'] / runs['before']['bare']:.2f}x, "
              f"loop {runs['now']['loop'] / runs['before']['loop']:.2f}x")


if __name__ == "__main__":
    main()
