"""`bench ablate` on a tiny synth suite: variants as data, seeds, resumable runs, mean ± std table with Δ."""

from __future__ import annotations

import dataclasses
import json

import pandas as pd
import pytest
import torch

from bench.commands.ablate import AblationRecord, ablation_units, design_message, load_ablation, run_ablation
from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.present.report import write_ablation_report
from bench.core.progress import SilentReporter
from bench.analysis.stats import summarise
from bench.data.suites import load_suite

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
    for name in ("fafpn", "mpmg", "sgs", "div", "k", "assoc", "all", "aa"):
        ab = load_ablation(name, cfg)
        assert ab.baseline in [v.name for v in ab.variants]
        assert (ab.tracker, ab.reference) == ("finetrack", "bytetrack")


def test_aa_variant_trains_on_disjoint_seeds_with_the_same_config():
    cfg = load_config(None)
    units = ablation_units(load_ablation("aa", cfg), seeds=3)
    assert [(u.variant, u.tracker) for u in units[:1]] == [("bytetrack", "bytetrack")]
    a = [u.config(cfg) for u in units if u.variant == "a"]
    copy = [u.config(cfg) for u in units if u.variant == "a-copy"]
    assert [c.run.seed for c in a] == [0, 1, 2] and [c.run.seed for c in copy] == [1000, 1001, 1002]
    for x, y in zip(a, copy):  # identical but for the seed
        dx, dy = x.to_dict(), y.to_dict()
        dx["run"].pop("seed"), dy["run"].pop("seed")
        assert dx == dy


def test_ablation_names_its_tracker_and_reference(tmp_path):
    cfg = load_config(None)
    p = tmp_path / "t.toml"
    p.write_text('tracker = "deepsort"\nreference = "finetrack"\n[[variant]]\nname = "a"\n'
                 '[[variant]]\nname = "b"\nset = { "trackers.deepsort.max_age" = 30 }\n')
    ab = load_ablation(str(p), cfg)
    assert (ab.tracker, ab.reference) == ("deepsort", "finetrack")
    units = ablation_units(ab, seeds=1)
    assert [(u.variant, u.tracker) for u in units] == [("finetrack", "finetrack"), ("a", "deepsort"),
                                                       ("b", "deepsort")]
    for bad, match in (('tracker = "nope"', "tracker = 'nope' is not a known tracker"),
                       ('reference = "finetrack"', "must differ"),
                       ('[[variant]]\nname = "c"\nseed_offset = -1', "seed_offset must be an integer")):
        p.write_text(bad + '\n[[variant]]\nname = "a"\n')
        with pytest.raises(BenchError, match=match):
            load_ablation(str(p), cfg)


def test_record_round_trip_and_the_design_message(tmp_path):
    from .test_report import EIGHT, _write_ablation

    out = tmp_path / "ab"
    _write_ablation(out, tmp_path, seqs=EIGHT)
    record = AblationRecord.load(out)  # an ablation.json written before tracker/reference were recorded
    assert (record.tracker, record.reference, record.seeds) == ("finetrack", "bytetrack", 2)
    assert set(record.runs()) == {("bytetrack", 0), ("full", 0), ("stripes", 0), ("full", 1), ("stripes", 1)}
    assert set(record.values(seeds=1)["seed"]) == {0}
    message = design_message(record, "HOTA")
    assert "8 sequences × 2 seeds" in message and "stripes vs full 0.0" in message
    record.write(record.table())
    again = AblationRecord.load(out)  # now with the breakdowns of its runs pooled over seeds
    assert again == dataclasses.replace(record, breakdowns={"occlusion_visibility": "", "occlusion_relink": ""})
    assert json.loads((out / "ablation.json").read_text())["reference"] == "bytetrack"
    pooled = pd.read_csv(out / "occlusion_visibility.csv")
    assert pooled["tracker"].unique().tolist() == ["bytetrack", "full", "stripes"]
    (out / "stripes-s1" / "metrics.csv").unlink()
    assert record.values() is None and record.values(seeds=1) is not None
    few = tmp_path / "few"
    _write_ablation(few, tmp_path)
    assert "cannot call any HOTA difference" in design_message(AblationRecord.load(few), "HOTA")
    (few / "ablation.json").write_text("{}")
    with pytest.raises(BenchError, match="unreadable ablation record"):
        AblationRecord.load(few)


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
    messages = []

    class Collect(SilentReporter):
        def message(self, text: str) -> None:
            messages.append(text)

    out = run_ablation(cfg, suite, ablation, seeds=2, reporter=Collect())
    design = [i for i, m in enumerate(messages) if m.startswith("design:")]
    assert len(design) == 1 and "cannot call any HOTA difference" in messages[design[0]]  # said once
    trained = [i for i, m in enumerate(messages) if "reid/finetrack-" in m]
    assert len(trained) == 4 and trained[1] < design[0] < trained[2]  # after seed 0's models, before seed 1's
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
