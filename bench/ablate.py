"""`bench ablate NAME`: train and run every variant of an ablation for several seeds on the same cached detections.

An ablation is data: `ablations/<name>.toml` with a description, the baseline variant (the full model, what Δ is
measured against) and `[[variant]]` tables whose `set` maps dotted config keys to values. Each (variant, seed) is one
ordinary `bench run` of FineTrack in `results/ablate-<name>-<suite>-<confighash>/<variant>-s<seed>/`; finished runs
are reused, so a killed ablation resumes where it stopped. ByteTrack runs once beside them as the reference.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bench.config import Config, apply_mapping
from bench.errors import BenchError
from bench.fsutil import atomic_path
from bench.runner import run_suite
from bench.suites import Suite

ABLATION_DIR = Path(__file__).resolve().parents[1] / "ablations"
METRICS = ["HOTA", "AssA", "IDF1", "MOTA", "IDs"]
REID = ["mAP", "rank1"]
TRACKER = "finetrack"
REFERENCE = "bytetrack"


@dataclass(frozen=True)
class Variant:
    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ablation:
    name: str
    description: str
    baseline: str
    variants: tuple[Variant, ...]


def ablation_path(name: str, cfg: Config) -> Path:
    """`name` as a file, else `<name>.toml` beside bench.toml's ablations/, else the package's ablations/."""
    as_path = Path(name)
    if as_path.suffix == ".toml":
        return as_path
    for folder in (cfg.base_dir / "ablations", ABLATION_DIR):
        if (folder / f"{name}.toml").is_file():
            return folder / f"{name}.toml"
    known = sorted(p.stem for p in ABLATION_DIR.glob("*.toml"))
    raise BenchError(f"unknown ablation {name!r}", hint=f"known: {', '.join(known)}, or a path to a .toml file")


def load_ablation(name: str, cfg: Config) -> Ablation:
    path = ablation_path(name, cfg)
    if not path.is_file():
        raise BenchError("ablation file not found", path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as e:
        raise BenchError(f"invalid TOML ({e})", path) from None
    unknown = set(data) - {"description", "baseline", "variant"}
    if unknown:
        raise BenchError(
            f"unknown key(s) {', '.join(sorted(unknown))}",
            path,
            hint="an ablation has description, baseline and [[variant]] tables",
        )
    variants = []
    for i, v in enumerate(data.get("variant", [])):
        if set(v) - {"name", "set"} or "name" not in v:
            raise BenchError(f"variant {i + 1}: needs name (and optionally set), got {sorted(v)}", path)
        variant = Variant(v["name"], dict(v.get("set", {})))
        apply_mapping(cfg, variant.overrides, f"{path} variant {variant.name}")  # reject bad keys before training
        variants.append(variant)
    names = [v.name for v in variants]
    if not variants or len(set(names)) != len(names):
        raise BenchError("an ablation needs variants with distinct names", path)
    baseline = data.get("baseline", names[0])
    if baseline not in names:
        raise BenchError(f"baseline {baseline!r} is not one of the variants ({', '.join(names)})", path)
    return Ablation(path.stem, data.get("description", ""), baseline, tuple(variants))


def _row(run_dir: Path, tracker: str) -> dict[str, Any]:
    metrics = pd.read_csv(run_dir / "metrics.csv")
    combined = metrics[(metrics["seq"] == "COMBINED") & (metrics["tracker"] == tracker)].iloc[0]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    row = {m: float(combined[m]) for m in METRICS}
    reid = (manifest.get("reid") or {}).get(tracker)
    if reid:
        row.update({m: float(reid["metrics"][m]) for m in REID})
        row["train_seconds"] = float(reid["train_seconds"])
    return row


def run_ablation(cfg: Config, suite: Suite, ablation: Ablation, seeds: int) -> Path:
    """Run every (variant, seed); write ablation.csv (one row per run) and the summary tables."""
    out = cfg.results_dir / f"ablate-{ablation.name}-{suite.name}-{cfg.hash()[:8]}"
    rows = []
    ref_dir = out / f"{REFERENCE}"
    if not (ref_dir / "manifest.json").is_file():
        run_suite(cfg, suite, [REFERENCE], run_id=str(ref_dir.relative_to(cfg.results_dir)))
    rows.append({"variant": REFERENCE, "seed": 0, **_row(ref_dir, REFERENCE)})
    for seed in range(seeds):
        for variant in ablation.variants:
            vcfg = apply_mapping(cfg, {**variant.overrides, "run.seed": seed}, f"variant {variant.name}")
            run_dir = out / f"{variant.name}-s{seed}"
            if not (run_dir / "manifest.json").is_file():
                run_suite(vcfg, suite, [TRACKER], run_id=str(run_dir.relative_to(cfg.results_dir)))
            rows.append({"variant": variant.name, "seed": seed, **_row(run_dir, TRACKER)})
    table = pd.DataFrame(rows)
    with atomic_path(out / "ablation.csv") as tmp:
        table.to_csv(tmp, index=False)
    with atomic_path(out / "ablation.json") as tmp:
        tmp.write_text(
            json.dumps(
                {
                    "name": ablation.name,
                    "description": ablation.description,
                    "baseline": ablation.baseline,
                    "seeds": seeds,
                    "suite": suite.name,
                    "variants": [v.name for v in ablation.variants],
                    "overrides": {v.name: v.overrides for v in ablation.variants},
                },
                indent=2,
            )
        )
    return out

