"""Does early stopping of Re-ID training save time without losing val mAP? (issue 29, item 2)

For seeds 0..N-1 on the default synth suite, FineTrack's Re-ID model (`reid.finetrack`, bench.toml's settings) is
trained twice per seed, the configured `epochs` in full and with `train.early_stop = true` (its `stop_*` settings as
configured), by `train_checkpoint` as `bench run` trains it. Printed per seed: val mAP, epochs used and training
seconds of each; then mean and SD over seeds, and the paired mAP difference (early stop - full) against the seed SD
of full training's mAP: a difference well inside one seed SD is not a loss anyone could see in a run.

Training seconds include the held-out evaluations (they are early stopping's cost) but not decoding the crops (done
once before the first training). The two trainings of a seed run back to back, so machine load drifts over both.

Run: `PYTHONPATH=. python benchmarks/reid_early_stop.py --seeds 5 [--device cuda]` from the repository root (about an
hour on a 2-core CPU with 5 seeds; the checkpoints land in the cache like `bench train`'s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRACKER = "finetrack"


def mean_sd(values: list[float], digits: int = 4) -> str:
    """Mean ± SD over seeds (SD nan for one seed)."""
    sd = statistics.stdev(values) if len(values) > 1 else float("nan")
    return f"{statistics.fmean(values):.{digits}f} ± {sd:.{digits}f}"


def paired_in_seed_sds(values: list[float], baseline: list[float]) -> tuple[list[float], float, float]:
    """Per-seed differences values - baseline, the baseline's SD over seeds (nan for one seed), and the mean
    difference in those SDs (nan where the SD is 0 or undefined): a difference well inside one is not one anyone
    could see in a run."""
    diffs = [v - b for v, b in zip(values, baseline)]
    seed_sd = statistics.stdev(baseline) if len(baseline) > 1 else float("nan")
    return diffs, seed_sd, statistics.fmean(diffs) / seed_sd if seed_sd > 0 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="train with seeds 0..N-1 (default 3)")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")

    sys.path.insert(0, str(ROOT))
    from bench.appearance.checkpoints import train_checkpoint
    from bench.appearance.identity_crops import reused_gt_crops
    from bench.core.config import apply_overrides, load_config
    from bench.core.device import resolve_device
    from bench.data.suites import load_suite

    full = load_config(None, [])
    early = apply_overrides(full, [f"reid.{TRACKER}.train.early_stop=true"])
    device = resolve_device(args.device)
    suite = load_suite("synth", full)
    section = full.reid.section(TRACKER)
    tc = section.train
    reused_gt_crops(suite.split("train"), tuple(section.model.input_size), tc.min_visibility, tc.frame_stride)
    print(f"{TRACKER} on {suite.name}, device {device}, {tc.epochs} epochs; early stop: holdout {tc.stop_holdout}, "
          f"min epochs {tc.stop_min_epochs}, patience {tc.stop_patience}, min delta {tc.stop_min_delta}, "
          f"every {tc.stop_every}", flush=True)
    rows: dict[str, list[tuple[float, int, float]]] = {"full": [], "early": []}
    for seed in range(args.seeds):
        for name, cfg in (("full", full), ("early", early)):
            out = train_checkpoint(cfg, TRACKER, suite, seed, device)
            rows[name].append((out.metrics["mAP"], len(out.history), out.seconds))
        (m_f, e_f, s_f), (m_e, e_e, s_e) = rows["full"][-1], rows["early"][-1]
        print(f"seed {seed}: full mAP {m_f:.4f}, {e_f} epochs, {s_f:.0f} s | early stop mAP {m_e:.4f}, {e_e} epochs, "
              f"{s_e:.0f} s", flush=True)
    for name, label in (("full", "full      "), ("early", "early stop")):
        maps, epochs, secs = (list(col) for col in zip(*rows[name]))
        print(f"{label}: mAP {mean_sd(maps)}, epochs {mean_sd(epochs, 1)}, seconds {mean_sd(secs, 0)}")
    diffs, seed_sd, in_sds = paired_in_seed_sds([e[0] for e in rows["early"]], [f[0] for f in rows["full"]])
    time_ratio = sum(e[2] for e in rows["early"]) / sum(f[2] for f in rows["full"])
    print(f"mAP difference (early stop - full): {mean_sd(diffs)} over seeds; seed SD of full training's mAP "
          f"{seed_sd:.4f}, so the mean difference is {in_sds:+.2f} seed SDs; "
          f"training time early / full {time_ratio:.2f}")


if __name__ == "__main__":
    main()
