"""Are trained Re-ID weights identical run to run on one machine, and what do other CPU kernels change?

Why (issue 27, item 6): FineTrack's HOTA was 60.5 on a fresh clone against 59.6 in results/example (DeepSORT 54.6
vs 54.5) with the same commit and seed, while ByteTrack and the evaluation were identical. A `--deterministic` flag
(torch.use_deterministic_algorithms + a fixed thread count) is only worth having if it makes training identical
across runs on one machine where it is not already, at < 30 % extra time.

Each training runs in its own process (as separate `bench` runs do): FineTrack's slim Re-ID model, synthetic uint8
crops, P×K batches, `trackers.reid.train.train` on the CPU. Printed per setting: seconds, and the largest absolute
weight difference to the first run of the default setting (0 = bit-identical). Settings:
- default, twice: run-to-run on this machine;
- deterministic (torch.use_deterministic_algorithms(True)), twice: the same, and its time against default;
- 1 thread instead of `--threads`: what another core count does;
- ATEN_CPU_CAPABILITY=default (no AVX2/AVX-512 kernels): what another CPU's vector kernels do.

Run: `python benchmarks/determinism.py [--crops 512] [--epochs 2] [--threads 2]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT))
    from trackers.reid.configs import ModelConfig, TrainConfig
    from trackers.reid.samplers import PKSampler
    from trackers.reid.train import train

    torch.set_num_threads(args.threads)
    if args.deterministic:
        torch.use_deterministic_algorithms(True)
    mc = ModelConfig.for_name("finetrack")
    gen = torch.Generator().manual_seed(0)
    crops = torch.randint(0, 256, (args.crops, 3, *mc.input_size), generator=gen, dtype=torch.uint8)
    labels = np.arange(args.crops) // 8
    tc = TrainConfig(epochs=args.epochs, p=16, k=4)
    torch.manual_seed(0)
    model = mc.build(int(labels.max()) + 1)
    sampler = PKSampler(labels, tc.p, tc.k, seed=0, batches_per_epoch=max(1, args.crops // (tc.p * tc.k)))
    t0 = time.perf_counter()
    train(model, crops, labels, tc, seed=0, sampler=sampler, loss_fn=mc.make_loss(tc), device="cpu")
    seconds = time.perf_counter() - t0
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, args.out)
    print(f"{seconds:.3f}")


def run(args: argparse.Namespace, out: Path, deterministic: bool = False, threads: int | None = None,
        capability: str | None = None) -> float:
    cmd = [sys.executable, __file__, "--child", "--out", str(out), "--crops", str(args.crops),
           "--epochs", str(args.epochs), "--threads", str(threads or args.threads)]
    if deterministic:
        cmd.append("--deterministic")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
    return float(proc.stdout.strip().splitlines()[-1])


def max_diff(a: Path, b: Path) -> float:
    import torch

    sa, sb = torch.load(a, weights_only=True), torch.load(b, weights_only=True)
    return max((sa[k].double() - sb[k].double()).abs().max().item() if sa[k].numel() else 0.0 for k in sa)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--deterministic", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--crops", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    import torch

    print(f"torch {torch.__version__}, {args.crops} crops, {args.epochs} epochs, {args.threads} threads; "
          f"cpu capability {torch.backends.cpu.get_cpu_capability()}")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        settings = [("default", {}), ("default again", {}), ("deterministic", {"deterministic": True}),
                    ("deterministic again", {"deterministic": True}), ("default, 1 thread", {"threads": 1}),
                    ("default, ATEN_CPU_CAPABILITY=default", {"capability": "default"})]
        times = {}
        for i, (name, kw) in enumerate(settings):
            times[name] = run(args, d / f"{i}.pt", **kw)
            print(f"{name:40s} {times[name]:7.2f} s   max |weight - default's| = {max_diff(d / '0.pt', d / f'{i}.pt'):.3g}",
                  flush=True)
        ratio = (times["deterministic"] + times["deterministic again"]) / (times["default"] + times["default again"])
        print(f"deterministic / default time: {ratio:.2f}")
        print(f"deterministic run vs its repeat: max |diff| = {max_diff(d / '2.pt', d / '3.pt'):.3g}")


if __name__ == "__main__":
    main()
