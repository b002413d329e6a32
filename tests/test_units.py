"""Units of work are content-keyed, and library code reports progress only through the reporter it is given."""

from __future__ import annotations

from contextlib import contextmanager

from bench.commands.ablate import AblationUnit, Variant, ablation_units, Ablation
from bench.core.config import load_config
from bench.commands.run import run_suite
from bench.data.suites import load_suite
from tests.test_runner import TINY


def test_ablation_unit_key_follows_its_inputs(tmp_path):
    cfg = load_config(None, TINY + [f"paths.cache='{tmp_path / 'c'}'"])
    suite = load_suite("synth", cfg)
    stripes = {"reid.finetrack.model.parts": "stripes"}
    a = AblationUnit("stripes", stripes, 0, "finetrack")
    assert a.key(cfg, suite) == AblationUnit("other-name", dict(stripes), 0, "finetrack").key(cfg, suite)
    keys = {a.key(cfg, suite), AblationUnit("stripes", stripes, 1, "finetrack").key(cfg, suite),
            AblationUnit("full", {}, 0, "finetrack").key(cfg, suite), AblationUnit("b", {}, 0, "bytetrack").key(cfg, suite)}
    assert len(keys) == 4
    assert a.config(cfg).reid.finetrack.model.parts == "stripes" and a.config(cfg).run.seed == 0
    units = ablation_units(Ablation("x", "", "full", (Variant("full"), Variant("stripes", stripes))), seeds=2)
    assert [(u.variant, u.seed, u.tracker) for u in units] == [
        ("bytetrack", None, "bytetrack"), ("full", 0, "finetrack"), ("stripes", 0, "finetrack"),
        ("full", 1, "finetrack"), ("stripes", 1, "finetrack")]


class Recorder:
    def __init__(self):
        self.events = []

    def message(self, text):
        self.events.append(("message", text))

    @contextmanager
    def progress(self, description, total):
        self.events.append(("progress", total))
        rec = self

        class Task:
            def advance(self, n=1):
                rec.events.append(("advance", n))

        yield Task()


def test_run_reports_progress_through_the_given_reporter(tmp_path, capsys):
    cfg = load_config(None, TINY + [f"paths.cache='{tmp_path / 'c'}'", f"paths.results='{tmp_path / 'r'}'"])
    suite = load_suite("synth", cfg)
    capsys.readouterr()
    rec = Recorder()
    result = run_suite(cfg, suite, ["bytetrack"], run_id="rep", reporter=rec)
    n = len(suite.split("val"))
    crosscheck_line = ("message", "cross-check: py-motmetrics agrees with TrackEval on IDF1, IDs, FP, FN and MOTA for "
                       f"all {n} (tracker, sequence) pairs — per sequence in {result.run_dir / 'crosscheck.csv'}")
    assert rec.events == [("progress", n)] + [("advance", 1)] * n + [crosscheck_line]  # one line per run
    assert result.run_id == "rep" and result.run_dir == cfg.results_dir / "rep"
    run_suite(cfg, suite, ["bytetrack"], run_id="silent")  # default: SilentReporter
    assert capsys.readouterr().err == ""
