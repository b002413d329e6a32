"""Can a shorter Re-ID training schedule keep val mAP? (issue 29: a cheaper schedule at the same quality)

For seeds 0..N-1 on the default synth suite, one tracker's Re-ID model (`reid.<tracker>`, bench.toml's settings) is
trained with the configured schedule and with each `--variant EPOCHS:LR` (the same settings otherwise), by
`train_checkpoint` as `bench run` trains it. Printed per seed: each schedule's val mAP and training seconds; then
per schedule the mean ± SD over seeds, the paired mAP difference against the configured schedule in seed SDs of the
configured schedule's mAP, and the time ratio. A schedule is as good only where its difference is well inside one
seed SD; a higher learning rate that gains mAP at the configured epochs says the configured schedule has not
stopped learning, i.e. there is no "free" cut.

A checkpoint already in the cache for the same key (code, suite, settings, seed) is reused, as `bench run` would,
and its recorded val mAP and training seconds are printed: the mAP is the same as a retraining's, the seconds are
those of the machine and load it was trained under. Training seconds exclude decoding the crops (done once before
the first training); the time ratio follows the epochs.

Run: `PYTHONPATH=. python benchmarks/reid_schedule.py --tracker finetrack --seeds 3 --variant 8:0.002
--variant 12:0.002` from the repository root (FineTrack: about 2 minutes a training of 12 epochs on 2 idle cores;
the checkpoints land in the cache like `bench train`'s).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from reid_early_stop import mean_sd, paired_in_seed_sds  # a sibling script


def schedule(text: str) -> tuple[int, float]:
    """`EPOCHS:LR`, e.g. `8:0.002`."""
    try:
        epochs, lr = text.split(":")
        out = int(epochs), float(lr)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected EPOCHS:LR such as 8:0.002, got {text!r}") from None
    if out[0] < 1 or not out[1] > 0:
        raise argparse.ArgumentTypeError(f"epochs must be >= 1 and lr > 0, got {text!r}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracker", default="finetrack", help="whose reid section: finetrack | deepsort")
    parser.add_argument("--seeds", type=int, default=3, help="train with seeds 0..N-1 (default 3)")
    parser.add_argument("--variant", type=schedule, action="append", required=True, help="EPOCHS:LR (repeatable)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")

    sys.path.insert(0, str(ROOT))
    from bench.appearance.checkpoints import ensure_checkpoint
    from bench.appearance.identity_crops import reused_gt_crops
    from bench.appearance.torch_files import load_weights_only
    from bench.core.config import apply_overrides, load_config
    from bench.core.device import resolve_device
    from bench.data.suites import load_suite

    configured = load_config(None, [])
    section = configured.reid.section(args.tracker)
    tc = section.train
    names = [f"{tc.epochs}:{tc.lr:g} (configured)"] + [f"{e}:{lr:g}" for e, lr in args.variant]
    configs = [configured] + [apply_overrides(configured, [f"reid.{args.tracker}.train.epochs={e}",
                                                           f"reid.{args.tracker}.train.lr={lr}"])
                              for e, lr in args.variant]
    device = resolve_device(args.device)
    suite = load_suite("synth", configured)
    reused_gt_crops(suite.split("train"), tuple(section.model.input_size), tc.min_visibility, tc.frame_stride)
    print(f"{args.tracker} ({section.model.name}) on {suite.name}, device {device}; schedules EPOCHS:LR "
          f"{', '.join(names)}", flush=True)
    rows: list[list[tuple[float, float]]] = [[] for _ in configs]  # per schedule: (mAP, seconds) per seed
    for seed in range(args.seeds):
        for i, cfg in enumerate(configs):
            payload = load_weights_only(ensure_checkpoint(cfg, args.tracker, suite, seed, device), "checkpoint")
            rows[i].append((payload["metrics"]["mAP"], payload["train_seconds"]))
        print(f"seed {seed}: " + " | ".join(f"{n} mAP {r[-1][0]:.4f} in {r[-1][1]:.0f} s" for n, r in zip(names, rows)),
              flush=True)
    base_maps = [m for m, _ in rows[0]]
    _, seed_sd, _ = paired_in_seed_sds(base_maps, base_maps)  # the configured schedule against itself: its SD
    print(f"seed SD of the configured schedule's mAP: {seed_sd:.4f}")
    for name, sched in zip(names, rows):
        maps, secs = [m for m, _ in sched], [s for _, s in sched]
        diffs, _, in_sds = paired_in_seed_sds(maps, base_maps)
        print(f"{name}: mAP {mean_sd(maps)}, seconds {mean_sd(secs, 0)}; difference {mean_sd(diffs)} "
              f"({in_sds:+.2f} seed SDs), time {sum(secs) / sum(s for _, s in rows[0]):.2f}x")


if __name__ == "__main__":
    main()
