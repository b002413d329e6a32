"""Does bf16 Re-ID training keep val mAP, and how much faster is it? (issue 29, item 1: `train.precision`)

For seeds 0..N-1 on the default synth suite, each appearance tracker's Re-ID model (bench.toml's settings) is
trained twice per seed, with `train.precision = "fp32"` and `"bf16"`, by `train_checkpoint` as `bench run` trains
it. Printed per seed: val mAP and training seconds of each; then mean ± SD over seeds, the paired mAP difference
(bf16 - fp32) in seed SDs of fp32's mAP, and the time ratio. bf16 only pays where the CPU computes it (AVX512-BF16
or AMX; `train.precision = "auto"` picks it there): elsewhere it is emulated and slower than fp32, and the script
says which case this machine is.

Training seconds include decoding the train crops for the first training only (they are reused afterwards), so
seed 0's first row is not comparable: the ratio is over seeds 1.. when there are several. The two trainings of a seed
run back to back, so machine load drifts over both; run it on an idle machine.

Run: `PYTHONPATH=. python benchmarks/reid_precision.py --seeds 3 [--trackers finetrack,deepsort]` from the
repository root (about 5 minutes a seed for both models on a 2-core Zen 4; the checkpoints land in the cache like
`bench train`'s).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reid_early_stop import mean_sd, paired_in_seed_sds  # benchmarks/ is on the path when run as a script

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = ("fp32", "bf16")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="train with seeds 0..N-1 (default 3)")
    parser.add_argument("--trackers", default="finetrack,deepsort", help="appearance trackers whose models to train")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")

    sys.path.insert(0, str(ROOT))
    import torch

    from bench.appearance.checkpoints import train_checkpoint
    from bench.core.config import apply_overrides, load_config
    from bench.data.suites import load_suite
    from trackers.reid.train import cpu_computes_bf16, training_precision

    base = load_config(None, [])
    suite = load_suite("synth", base)
    native = cpu_computes_bf16() if args.device == "cpu" else True
    print(f"suite {suite.name}, device {args.device}, {torch.get_num_threads()} threads; bf16 arithmetic on this "
          f"device: {native} (train.precision = auto trains in {training_precision('auto', args.device)})", flush=True)
    for tracker in args.trackers.split(","):
        rows: dict[str, list[tuple[float, float]]] = {p: [] for p in PRECISIONS}
        for seed in range(args.seeds):
            for precision in PRECISIONS:
                cfg = apply_overrides(base, [f"reid.{tracker}.train.precision={precision}"])
                out = train_checkpoint(cfg, tracker, suite, seed, args.device)
                rows[precision].append((out.metrics["mAP"], out.seconds))
            (m32, s32), (m16, s16) = rows["fp32"][-1], rows["bf16"][-1]
            print(f"{tracker} seed {seed}: fp32 mAP {m32:.4f} in {s32:.0f} s | bf16 mAP {m16:.4f} in {s16:.0f} s",
                  flush=True)
        for precision in PRECISIONS:
            maps, secs = (list(col) for col in zip(*rows[precision]))
            print(f"{tracker} {precision}: mAP {mean_sd(maps)}, seconds {mean_sd(secs, 0)}")
        diffs, seed_sd, in_sds = paired_in_seed_sds([b[0] for b in rows["bf16"]], [f[0] for f in rows["fp32"]])
        timed = slice(1, None) if args.seeds > 1 else slice(None)  # seed 0's fp32 run also decoded the crops
        ratio = sum(b[1] for b in rows["bf16"][timed]) / sum(f[1] for f in rows["fp32"][timed])
        print(f"{tracker}: mAP difference (bf16 - fp32) {mean_sd(diffs)} over seeds; seed SD of fp32's mAP "
              f"{seed_sd:.4f}, so the mean difference is {in_sds:+.2f} seed SDs; training time bf16 / fp32 "
              f"{ratio:.2f}", flush=True)


if __name__ == "__main__":
    main()
