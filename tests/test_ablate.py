"""`bench ablate` on a tiny synth suite: variants as data, seeds, resumable runs, mean ± std table with Δ."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from bench.ablate import load_ablation, run_ablation
from bench.config import load_config
from bench.errors import BenchError
from bench.report import write_ablation_report
from bench.stats import summarise
from bench.suites import load_suite

TINY = ["synth.frames=30", "synth.num_train=1", "synth.num_val=1", "synth.people=8", "run.jobs=1",
        "reid.finetrack.model.width=0.125", "reid.finetrack.model.input_size=[32, 16]",
        "reid.finetrack.model.k=2", "reid.finetrack.train.epochs=1", "reid.finetrack.train.p=4",
        "reid.finetrack.train.k=2", "reid.finetrack.train.frame_stride=3"]

ABLATION = """
description = "tiny"
baseline = "full"

[[variant]]
name = "full"

[[variant]]
name = "stripes"
set = { "reid.finetrack.model.parts" = "stripes", "trackers.finetrack.association" = "iou" }
"""


def test_every_shipped_ablation_loads_and_validates():
    cfg = load_config(None)
    for name in ("fafpn", "mpmg", "sgs", "div", "k", "assoc", "all"):
        ab = load_ablation(name, cfg)
        assert ab.baseline in [v.name for v in ab.variants]


def test_bad_ablation_files_are_named(tmp_path):
    cfg = load_config(None)
    p = tmp_path / "bad.toml"
    p.write_text('[[variant]]\nname = "a"\nset = { "reid.finetrack.model.nope" = 1 }\n')
    with pytest.raises(BenchError, match="unknown key 'reid.finetrack.model.nope'"):
        load_ablation(str(p), cfg)
    p.write_text('baseline = "zzz"\n[[variant]]\nname = "a"\n')
    with pytest.raises(BenchError, match="baseline 'zzz'"):
        load_ablation(str(p), cfg)
    with pytest.raises(BenchError, match="unknown ablation"):
        load_ablation("nonexistent", cfg)


def test_tiny_ablation_runs_resumes_and_summarises(tmp_path):
    torch.set_num_threads(1)
    cfg = load_config(None, TINY + [f"paths.cache='{tmp_path / 'cache'}'", f"paths.results='{tmp_path / 'results'}'"])
    (tmp_path / "tiny.toml").write_text(ABLATION)
    ablation = load_ablation(str(tmp_path / "tiny.toml"), cfg)
    suite = load_suite("synth", cfg)
    out = run_ablation(cfg, suite, ablation, seeds=2)
    table = pd.read_csv(out / "ablation.csv")
    assert sorted(table["variant"].unique()) == ["bytetrack", "full", "stripes"]
    assert (table["variant"] == "full").sum() == 2 and set(table[table["variant"] == "full"]["seed"]) == {0, 1}
    assert table.loc[table["variant"] == "full", "mAP"].between(0, 1).all()
    manifest = json.loads((out / "stripes-s1" / "manifest.json").read_text())
    assert manifest["config"]["reid"]["finetrack"]["model"]["parts"] == "stripes"
    assert manifest["config"]["trackers"]["finetrack"]["association"] == "iou"
    assert manifest["seed"] == 1
    # resuming: finished runs are reused, not recomputed
    mtime = (out / "full-s0" / "manifest.json").stat().st_mtime
    run_ablation(cfg, suite, ablation, seeds=2)
    assert (out / "full-s0" / "manifest.json").stat().st_mtime == mtime
    summary = summarise(table, "full", ["bytetrack", "full", "stripes"])
    assert summary.loc["full", "seeds"] == 2 and summary.loc["bytetrack", "seeds"] == 1
    assert "±" in summary.loc["stripes", "HOTA"]
    paths = write_ablation_report(out)
    md = (out / "ablation.md").read_text()
    assert "stripes" in md and "stripes vs full" in md and "ΔIDF1" in md and "Published results" in md
    assert (out / "significance.csv").is_file() and (out / "ablation.tex").read_text().isascii()
    assert all(p.exists() for p in paths)


def test_dask_ablation_matches_loky_and_resumes_per_unit(tmp_path):
    """Every (variant, seed) unit trains, tracks and evaluates on a 2-worker LocalCluster with loky's results; a
    unit whose folder is gone is the only one run again."""
    torch.set_num_threads(1)  # Dask workers run torch single-threaded; so does the loky run here
    (tmp_path / "tiny.toml").write_text(ABLATION)
    outs = {}
    for backend in ("loky", "dask"):
        cfg = load_config(None, TINY + [f"paths.cache='{tmp_path / backend / 'cache'}'",
                                        f"paths.results='{tmp_path / backend / 'results'}'",
                                        f"run.backend='{backend}'", "run.jobs=2"])
        outs[backend] = run_ablation(cfg, load_suite("synth", cfg), load_ablation(str(tmp_path / "tiny.toml"), cfg), 1)
    loky, dask = outs["loky"], outs["dask"]
    table = pd.read_csv(dask / "ablation.csv").drop(columns="train_seconds")
    pd.testing.assert_frame_equal(table, pd.read_csv(loky / "ablation.csv").drop(columns="train_seconds"))
    for unit in ("bytetrack", "full-s0", "stripes-s0"):
        for f in (loky / unit).glob("*/*.txt"):
            assert f.read_bytes() == (dask / unit / f.relative_to(loky / unit)).read_bytes()
    import shutil

    shutil.rmtree(dask / "stripes-s0")
    kept = (dask / "full-s0" / "manifest.json").stat().st_mtime
    cfg = load_config(None, TINY + [f"paths.cache='{tmp_path / 'dask' / 'cache'}'",
                                    f"paths.results='{tmp_path / 'dask' / 'results'}'", "run.backend='dask'",
                                    "run.jobs=2"])
    run_ablation(cfg, load_suite("synth", cfg), load_ablation(str(tmp_path / "tiny.toml"), cfg), 1)
    assert (dask / "full-s0" / "manifest.json").stat().st_mtime == kept
    manifest = json.loads((dask / "stripes-s0" / "manifest.json").read_text())
    assert manifest["timings"]["tracks"]["cache_hits"] == 1  # its tracks were cached by the first run
    pd.testing.assert_frame_equal(pd.read_csv(dask / "ablation.csv").drop(columns="train_seconds"), table)
