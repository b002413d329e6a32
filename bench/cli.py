"""The `bench` command line (Typer). User errors print one line and exit 2; bugs keep their traceback."""

from __future__ import annotations

import functools
import signal
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from bench.core.errors import BenchError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Benchmark and ablation harness for MOT.")
cache_app = typer.Typer(no_args_is_help=True, help="Show and drop cached detections, embeddings and tracks.")
data_app = typer.Typer(no_args_is_help=True, help="Datasets: generate and preview the synthetic suite.")
app.add_typer(cache_app, name="cache")
app.add_typer(data_app, name="data")
# Names are data: nothing printed is read as Rich markup ("[final]" in a path stays), except where a call asks for
# markup=True and escapes the user's text (rich.markup.escape).
console = Console(markup=False)
err = Console(stderr=True, markup=False)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", "-c", help="bench.toml to use (default: ./bench.toml)")]
SetOpt = Annotated[
    Optional[list[str]], typer.Option("--set", help="override a config key, e.g. trackers.bytetrack.track_thresh=0.5")
]
BackendOpt = Annotated[Optional[str], typer.Option(help="loky (this machine) | dask (a Dask cluster); run.backend")]
ParamsOpt = Annotated[
    Optional[list[Path]], typer.Option("--params", help="tracker parameters from a TOML file (bench tune's best.toml)")
]
SchedulerOpt = Annotated[
    Optional[str], typer.Option(help="address of a running dask.distributed scheduler (default: a LocalCluster)")
]


def _config(config: Path | None, overrides: list[str] | None, **flags: object):
    """bench.toml, then the user's `--set KEY=VALUE` (TOML values), then the command's own flags as a mapping."""
    from bench.core.config import apply_mapping, load_config

    cfg = load_config(config, list(overrides or []))
    mapping = {k: v for k, v in flags.items() if v is not None}
    return apply_mapping(cfg, mapping, "command line") if mapping else cfg


BenchmarkOpt = Annotated[
    Optional[str], typer.Option(help="whose evaluation protocol scores the results: auto | MOT15 | MOT16 | MOT17 | "
                                     "MOT20 | DanceTrack | none (no preprocessing); suite.benchmark in bench.toml")
]


def _benchmark(config: Path | None, benchmark: str | None) -> tuple[object, str]:
    """(config, where its benchmark was set): `--benchmark` is `suite.benchmark` given on the command line."""
    from bench.data.benchmarks import canonical

    cfg = _config(config, None, **{"suite.benchmark": canonical(benchmark) if benchmark else None})
    return cfg, "--benchmark" if benchmark else "suite.benchmark"


def _load_suite(cfg):
    """The suite `run.suite` names, after one line (stdout) saying which benchmark's protocol scores it and why."""
    from bench.data.suites import load_suite

    suite = load_suite(cfg.run.suite, cfg)
    console.print(f"{suite.name}: {suite.benchmark_reason}", soft_wrap=True, highlight=False)
    return suite


def _preflight(cfg) -> None:
    """Fail before any work when the results or cache folder cannot be written (read-only mount, full disk), the
    Dask scheduler given does not answer, or a Re-ID checkpoint given is missing, unsafe or for another model (not
    after minutes spent generating the suite and detecting)."""
    from bench.core.backends import Backend, check_scheduler
    from bench.core.fsutil import ensure_writable
    from bench.core.trackers_registry import appearance_trackers

    ensure_writable(cfg.results_dir, "paths.results")
    ensure_writable(cfg.cache_dir, "paths.cache")
    check_scheduler(Backend(cfg.run.backend, cfg.run.jobs, cfg.run.scheduler))
    given = [t for t in cfg.run.trackers if t in appearance_trackers() and cfg.reid.section(t).checkpoint]
    if given:
        from bench.appearance.checkpoints import check_fits

        for t in given:
            check_fits(cfg.resolve(cfg.reid.section(t).checkpoint), cfg.reid.section(t), t)


def _metrics_table(title: str, df) -> Table:
    table = Table(title=title)
    for col in ["", *df.columns]:
        table.add_column(str(col), justify="right")
    for idx, row in df.iterrows():
        table.add_row(str(idx), *[str(v) for v in row])
    return table


def _sigterm_as_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


class Interrupted(Exception):
    """Ctrl-C/SIGTERM, carried past click's own handler (which would print "Aborted!" and exit 1)."""


def _interruptible(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            raise Interrupted from None

    return wrapper


def _with_params(cfg, files: list[Path] | None):
    """Apply `--params FILE` (best.toml of `bench tune`: [trackers.<name>] tables) after bench.toml and --set."""
    if not files:
        return cfg
    from bench.commands.tune import apply_params

    return apply_params(cfg, files)


def _with_checkpoints(cfg, specs: list[str]):
    """Apply `--reid [TRACKER=]PATH` options as reid.<tracker>.checkpoint overrides."""
    from bench.core.config import apply_mapping
    from bench.core.trackers_registry import appearance_trackers

    appearance = appearance_trackers()
    overrides = {}
    for spec in specs:
        tracker, _, path = spec.rpartition("=")
        targets = [tracker] if tracker else [t for t in cfg.run.trackers if t in appearance]
        for t in targets:
            if t not in appearance:
                raise BenchError(
                    f"--reid {spec}: {t!r} is not an appearance tracker", hint=f"use one of {', '.join(appearance)}"
                )
            overrides[f"reid.{t}.checkpoint"] = str(Path(path).resolve())
    return apply_mapping(cfg, overrides, "--reid")


@app.command()
@_interruptible
def run(
    suite: Annotated[
        Optional[str], typer.Option(help="synth | synth-crowd | mot17-val | path to a MOTChallenge-layout folder")
    ] = None,
    trackers: Annotated[Optional[str], typer.Option(help="comma-separated tracker names")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="parallel tracking jobs")] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed")] = None,
    run_id: Annotated[
        Optional[str], typer.Option(help="name of the result folder (default: timestamp-confighash)")
    ] = None,
    reid: Annotated[
        Optional[list[str]],
        typer.Option(
            help="[TRACKER=]PATH: Re-ID checkpoint for an appearance tracker "
            "(no TRACKER: every appearance tracker); default: train once, reuse"
        ),
    ] = None,
    report: Annotated[bool, typer.Option(help="write report.md/.tex and plots after evaluating")] = True,
    params: ParamsOpt = None,
    tuned: Annotated[
        Optional[int], typer.Option(help="first tune every tracker with N Optuna trials on the train split (equal "
                                         "budget; studies cached), then run with the tuned parameters")
    ] = None,
    backend: BackendOpt = None,
    scheduler: SchedulerOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run the configured trackers on a suite's val sequences, evaluate, and store everything under results/."""
    from bench.core.record import run_folder

    names = trackers.split(",") if trackers else None
    cfg = _config(
        config,
        set_,
        **{"run.suite": suite, "run.device": device, "run.jobs": jobs, "run.seed": seed, "run.trackers": names,
           "run.backend": backend, "run.scheduler": scheduler},
    )
    cfg = _with_checkpoints(cfg, reid or [])
    cfg = _with_params(cfg, params)
    if run_id is not None:
        run_folder(cfg.results_dir, run_id)  # fail before any work
    _preflight(cfg)
    s = _load_suite(cfg)
    from bench.commands.run import run_suite  # after the checks: a refused run loads neither torch nor the plots
    from bench.present.metric_tables import summary_table

    extra = None
    if tuned is not None:
        from bench.commands.tune import tune_all

        cfg, record = tune_all(cfg, s, cfg.run.trackers, tuned, reporter=_reporter())
        extra = {"tuning": record, "notes": [f"Parameters tuned before the run: {tuned} trials per tracker on the "
                                             f"{record['split']} split (see Tuning)."]}
    finish = None
    if report:
        from bench.present.report import write_report

        finish = functools.partial(write_report, primary=cfg.analysis.primary,
                                   holm_primaries=cfg.analysis.holm_primaries, error_strips=cfg.analysis.error_strips)
    result = run_suite(cfg, s, cfg.run.trackers, run_id=run_id, reporter=_reporter(),
                       finish=finish, extra_manifest=extra)  # the report is part of the published folder
    run_dir = result.run_dir
    console.print(_metrics_table(f"{s.name} val — {result.run_id}", summary_table(result.metrics)))
    if report:
        console.print(f"report: {run_dir / 'report.md'}")
    console.print(f"results: {run_dir}")


@app.command("train")
@_interruptible
def train_cmd(
    model: Annotated[str, typer.Option(help="Re-ID model: global (DeepSORT's) or finetrack")] = "global",
    suite: Annotated[Optional[str], typer.Option(help="suite whose train split to train on")] = None,
    epochs: Annotated[Optional[int], typer.Option(help="training epochs")] = None,
    batch_size: Annotated[
        Optional[int], typer.Option(help="batch size = P identities × K crops (K from config)")
    ] = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda")] = None,
    seed: Annotated[Optional[int], typer.Option(help="random seed")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train a Re-ID model on a suite's train split; report val mAP / rank-1; store the checkpoint in the cache."""
    from bench.core.config import apply_mapping
    from bench.core.device import resolve_device
    from bench.core.fsutil import ensure_writable
    from bench.appearance.checkpoints import section_for_model, train_checkpoint

    cfg = _config(config, set_, **{"run.suite": suite, "run.device": device, "run.seed": seed})
    tracker = section_for_model(cfg, model)
    tc = cfg.reid.section(tracker).train
    overrides: dict[str, object] = {f"reid.{tracker}.train.epochs": epochs} if epochs is not None else {}
    if batch_size is not None:
        if batch_size < tc.k or batch_size % tc.k:
            raise BenchError(f"--batch-size {batch_size} must be a multiple of reid.{tracker}.train.k = {tc.k}")
        overrides[f"reid.{tracker}.train.p"] = batch_size // tc.k
    cfg = apply_mapping(cfg, overrides, "command line")
    ensure_writable(cfg.cache_dir, "paths.cache")
    outcome = train_checkpoint(
        cfg, tracker, _load_suite(cfg), cfg.run.seed, resolve_device(cfg.run.device), _reporter()
    )
    m = outcome.metrics
    console.print(
        f"checkpoint: {outcome.path}\ntrain time: {outcome.seconds:.1f} s; val mAP {m['mAP']:.4f}, "
        f"rank-1 {m['rank1']:.4f} ({m['queries']} queries)"
    )


@app.command()
@_interruptible
def ablate(
    name: Annotated[str, typer.Argument(help="ablation: fafpn, mpmg, sgs, div, k, assoc, all, or a .toml path")],
    suite: Annotated[Optional[str], typer.Option(help="suite (default from bench.toml)")] = None,
    seeds: Annotated[int, typer.Option(help="seeds per variant (0..N-1)")] = 3,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="parallel tracking jobs (loky) or LocalCluster workers")] = None,
    params: ParamsOpt = None,
    backend: BackendOpt = None,
    scheduler: SchedulerOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Train and run every variant of an ablation for N seeds; write mean ± std tables with Δ vs the full model."""
    from bench.commands.ablate import load_ablation, run_ablation
    from bench.core.fsutil import file_lock, lock_path
    from bench.present.report import write_ablation_report

    if seeds < 1:
        raise BenchError(f"--seeds must be >= 1, got {seeds}")
    cfg = _config(config, set_, **{"run.suite": suite, "run.device": device, "run.jobs": jobs,
                                   "run.backend": backend, "run.scheduler": scheduler})
    cfg = _with_params(cfg, params)
    ablation = load_ablation(name, cfg)
    _preflight(cfg)
    out = run_ablation(cfg, _load_suite(cfg), ablation, seeds, reporter=_reporter())
    with file_lock(lock_path(out)):  # the same ablation started twice writes its report one after the other
        paths = write_ablation_report(out, primary=cfg.analysis.primary,
                                      holm_primaries=cfg.analysis.holm_primaries)
    console.print(paths[0].read_text())  # ablation.md
    console.print(f"report: {paths[0]}")


@app.command()
@_interruptible
def track(
    det_files: Annotated[
        list[Path], typer.Argument(help="MOTChallenge det files; the sequence name is the folder above det/")
    ],
    out: Annotated[Path, typer.Option(help="output folder for <SEQ>.txt results")],
    tracker: Annotated[str, typer.Option(help="tracker name")] = "bytetrack",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run a tracker over det files and write MOTChallenge result files (no evaluation)."""
    from bench.track.jobs import track_det_files

    cfg = _config(config, set_)
    def warn(text: str) -> None:
        err.print(text, highlight=False, soft_wrap=True)

    for done in track_det_files(cfg, tracker, det_files, out, warn=warn):
        console.print(f"{done.seq}: {done.length} frames, {done.tracks} tracks, {done.fps:.0f} fps → {done.path}")


@app.command("tune")
@_interruptible
def tune_cmd(
    tracker: Annotated[str, typer.Argument(help="tracker to tune, e.g. bytetrack")],
    suite: Annotated[Optional[str], typer.Option(help="suite whose train split to tune on")] = None,
    trials: Annotated[Optional[int], typer.Option(help="completed trials the study should have (tune.trials)")] = None,
    jobs: Annotated[Optional[int], typer.Option(help="trials run in parallel")] = None,
    split: Annotated[
        Optional[str], typer.Option(help="train (every train sequence) | tune (last tune.holdout train sequences, "
                                         "Re-ID trained on the rest); never val or test")
    ] = None,
    seed: Annotated[Optional[int], typer.Option(help="sampler seed (run.seed)")] = None,
    device: Annotated[Optional[str], typer.Option(help="auto | cpu | cuda (Re-ID embedding)")] = None,
    backend: BackendOpt = None,
    scheduler: SchedulerOpt = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Optuna search over a tracker's parameters on cached detections/embeddings of the train split; writes
    results/tune/<suite>-<tracker>-<key>/ with best.toml (for --params), the study (resumable), plots, tune.md."""
    from bench.commands.tune import check_split, tune
    from bench.core.record import study_params
    from bench.present.tuning import describe, params_table

    if split is not None:
        check_split(split)
    cfg = _config(config, set_, **{"run.suite": suite, "run.device": device, "run.jobs": jobs, "run.seed": seed,
                                   "run.backend": backend, "run.scheduler": scheduler, "tune.split": split})
    result = tune(cfg, _load_suite(cfg), tracker, trials, reporter=_reporter())
    console.print(describe(result))
    console.print(params_table([result]).to_string(index=False))
    console.print(f"best parameters: {study_params(result.folder)}  (bench run --params FILE)")
    console.print(f"report: {result.folder / 'tune.md'}")


@app.command("compare")
@_interruptible
def compare_cmd(
    folders: Annotated[
        list[str], typer.Argument(help="[NAME=]DIR per tracker: DIR/<SEQ>.txt or DIR/data/<SEQ>.txt (TrackEval's "
                                       "layout), MOTChallenge results frame,id,x,y,w,h,score[,-1,-1,-1]")
    ],
    gt: Annotated[Path, typer.Option(help="ground-truth root: <SEQ>/gt/gt.txt (and <SEQ>/seqinfo.ini)")],
    seqs: Annotated[
        Optional[str], typer.Option(help="comma-separated sequences (default: every gt sequence a folder has results "
                                         "for; each folder needs them all)")
    ] = None,
    benchmark: BenchmarkOpt = None,
    run_id: Annotated[Optional[str], typer.Option(help="name of the result folder under results/")] = None,
    report: Annotated[bool, typer.Option(help="write report.md/.tex and plots")] = True,
    config: ConfigOpt = None,
) -> None:
    """The `bench run` analysis for any trackers' result folders: metrics, paired Δ intervals and verdicts,
    occlusion bins, re-link rates, plots and LaTeX, in results/<run-id>/."""
    from bench.commands.compare import compare_folders, parse_entries
    from bench.present.report import summary_table, write_report

    cfg, source = _benchmark(config, benchmark)
    entries = parse_entries(folders)
    names = [s.strip() for s in seqs.split(",") if s.strip()] if seqs is not None else None
    result = compare_folders(entries, gt, cfg.results_dir, names, cfg.suite.benchmark, run_id, _reporter(),
                             benchmark_source=source)
    console.print(result.manifest.suite.benchmark_reason, soft_wrap=True, highlight=False)
    console.print(_metrics_table(f"compare — {result.run_id}", summary_table(result.metrics)))
    if report:
        paths = write_report(result.run_dir, primary=cfg.analysis.primary,
                             holm_primaries=cfg.analysis.holm_primaries, error_strips=cfg.analysis.error_strips)
        console.print(f"report: {paths[0]}")
    console.print(f"results: {result.run_dir}")


@app.command("eval")
@_interruptible
def eval_(
    results_dir: Annotated[Path, typer.Argument(help="folder with <SEQ>.txt tracker results")],
    gt: Annotated[Path, typer.Option(help="ground-truth root: <SEQ>/gt/gt.txt (and seqinfo.ini)")],
    benchmark: BenchmarkOpt = None,
    seqs: Annotated[
        Optional[str], typer.Option(help="comma-separated subset to score (default: every gt sequence, all required)")
    ] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="also write the metrics as JSON")] = None,
    config: ConfigOpt = None,
) -> None:
    """Score any MOTChallenge-layout results against any MOTChallenge-layout ground truth."""
    from bench.core.progress import Alert
    from bench.evaluate.crosscheck import summary_line as crosscheck_summary
    from bench.evaluate.score import evaluate, result_to_json
    from bench.core.fsutil import atomic_write_json
    from bench.present.metric_tables import display_table

    class _ErrReporter:
        def message(self, text: str) -> None:
            err.print(text, style="red" if isinstance(text, Alert) else None, highlight=False, soft_wrap=True)

    if json_path is not None and json_path.is_dir():  # before scoring, not after it
        raise BenchError("--json names a folder; it takes a file", json_path,
                         hint=f"e.g. --json {json_path / 'metrics.json'}")
    cfg, source = _benchmark(config, benchmark)
    names = [s.strip() for s in seqs.split(",") if s.strip()] if seqs is not None else None
    reporter = _ErrReporter()
    result = evaluate(results_dir, gt, seqs=names, benchmark=cfg.suite.benchmark, tracker_name=results_dir.name,
                      reporter=reporter, benchmark_source=source)
    console.print(result.benchmark_reason, soft_wrap=True, highlight=False)
    cols = ["HOTA", "DetA", "AssA", "MOTA", "IDF1", "IDs", "FP", "FN"]
    console.print(_metrics_table(f"{results_dir.name} ({result.benchmark})", display_table(result.metrics[cols])))
    console.print(f"COMBINED covers {len(result.sequences)} sequences: {', '.join(result.sequences)}")
    text, ok = crosscheck_summary(result.crosscheck, f"per sequence in {json_path} (crosscheck)" if json_path
                                  else "per sequence with --json FILE (its crosscheck section)")
    reporter.message(text if ok else Alert(text))
    if json_path:
        atomic_write_json(json_path, result_to_json(result))
        console.print(f"json: {json_path}")


@app.command()
def report(
    run_dir: Annotated[Optional[Path], typer.Argument(help="result folder (default: the latest run)")] = None,
    published: Annotated[
        bool, typer.Option(help="add the papers' published test-set results, clearly labelled")
    ] = True,
    pdf: Annotated[bool, typer.Option(help="also compile a standalone PDF with pdflatex (must be on PATH)")] = False,
    strips: Annotated[Optional[int], typer.Option(
        min=0, help="strips of the top N fixed and N caused ID switches per tracker pair (default: "
                    "analysis.error_strips)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write report.md, report.tex, report.html and plots for a stored run or ablation (default: the latest run)."""
    import shutil

    from bench.present.report import write_ablation_report, write_report
    from bench.core.record import is_ablation, latest_run

    if pdf and shutil.which("pdflatex") is None:
        raise BenchError(
            "--pdf needs pdflatex on PATH",
            hint="apt-get install texlive-latex-base texlive-latex-recommended, or leave out --pdf",
        )
    cfg = _config(config, None)
    if run_dir is None:
        run_dir = latest_run(cfg.results_dir)
        if run_dir is None:
            raise BenchError("no runs found", cfg.results_dir, hint="run `bench run` first")
    if is_ablation(run_dir):
        paths = write_ablation_report(run_dir, published=published, pdf=pdf, primary=cfg.analysis.primary,
                                      holm_primaries=cfg.analysis.holm_primaries)
    else:
        paths = write_report(run_dir, published=published, pdf=pdf, primary=cfg.analysis.primary,
                             holm_primaries=cfg.analysis.holm_primaries,
                             error_strips=cfg.analysis.error_strips if strips is None else strips)
    for p in paths:
        console.print(str(p))


@app.command()
def inspect(
    run_dir: Annotated[Path, typer.Argument(help="a run folder (bench run or bench compare)")],
    a: Annotated[str, typer.Option("--a", help="tracker A: what it fixes and causes")],
    b: Annotated[str, typer.Option("--b", help="tracker B: the one A is held against")],
    seq: Annotated[Optional[list[str]], typer.Option("--seq", help="only this sequence (repeatable)")] = None,
    top: Annotated[Optional[int], typer.Option(min=0, help="strips of the top N fixed and N caused switches "
                                                           "(default: analysis.error_strips)")] = None,
    pictures: Annotated[bool, typer.Option(help="draw strips and identity timelines")] = True,
    config: ConfigOpt = None,
) -> None:
    """The ID switches A fixes and causes against B: counts per visibility and gap bin, the top events, pictures."""
    from bench.commands.inspect import inspect_pair

    cfg = _config(config, None)
    pe = inspect_pair(run_dir, a, b, list(seq or []), cfg.analysis.error_strips if top is None else top, pictures)
    for title, df in ((f"ID switches {a} fixes / causes vs {b}, by visibility", pe.by_vis),
                      (f"by frames since the last match", pe.by_gap)):
        console.print(_metrics_table(title, df.set_index(df.columns[0])))
    d = pe.diff
    frags = d[d["kind"] == "frag"]["status"].value_counts()
    console.print(f"fragmentations: fixed {int(frags.get('fixed', 0))}, caused {int(frags.get('caused', 0))}, "
                  f"both {int(frags.get('both', 0))}", highlight=False)
    for i, p in pe.strips.items():
        e = d.loc[i]
        console.print(f"{e['status']:>6}  {e['seq']} gt {int(e['gt_id'])} frame {int(e['frame'])} "
                      f"(gap {int(e['gap'])}): {p}", highlight=False, soft_wrap=True)
    if pe.no_images:
        console.print(f"no strips for {', '.join(pe.no_images)}: no images", highlight=False)
    if pe.over_budget:
        console.print(f"{pe.over_budget} strips not drawn: the strips reached their size limit; lower --top",
                      highlight=False)
    for s, p in pe.barcodes.items():
        console.print(f"timeline {s}: {p}", highlight=False, soft_wrap=True)
    console.print(f"events: {run_dir / pe.folder / 'diff.csv'}", highlight=False, soft_wrap=True)


@app.command()
def plan(
    folder: Annotated[Path, typer.Argument(help="a run or ablation folder: the pilot")],
    delta: Annotated[float, typer.Option(help="the Δ of the primary metric to detect (points)")] = 1.0,
    power: Annotated[float, typer.Option(help="the power wanted")] = 0.8,
    seqs: Annotated[Optional[int], typer.Option(help="a design to assess: sequences (default: the pilot's)")] = None,
    seeds: Annotated[Optional[int], typer.Option(help="a design to assess: seeds (default: the pilot's)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Sequences × seeds needed to detect Δ per question (these models; the method, retrained), from a pilot run."""
    from bench.commands.plan import plan_folder

    if not delta > 0:
        raise BenchError(f"--delta must be > 0, got {delta}")
    if not 0.05 < power < 1:
        raise BenchError(f"--power must be in (0.05, 1), got {power}")
    if (seqs is None) != (seeds is None) or (seqs is not None and (seqs < 1 or seeds < 1)):
        raise BenchError("--seqs and --seeds go together, each >= 1")
    cfg = _config(config, None)
    table, text = plan_folder(folder, cfg.analysis.primary, delta, power,
                              (seqs, seeds) if seqs is not None else None)
    console.print(text)
    typer.echo(table.to_markdown(index=False, disable_numparse=True))


@cache_app.command("ls")
def cache_ls(config: ConfigOpt = None) -> None:
    """List cache entries."""
    from bench.core.cache import ArrayCache

    cfg = _config(config, None)
    entries = ArrayCache(cfg.cache_dir).entries()
    table = Table(title=f"cache: {cfg.cache_dir}")
    for col in ("kind", "sequence", "source", "key", "rows", "KiB", "created"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            e.kind,
            e.meta.get("label", ""),
            str(e.meta["key"].get("source", "")),
            e.key,
            str(e.meta.get("rows", "")),
            f"{e.size / 1024:.1f}",
            e.meta.get("created", ""),
        )
    console.print(table)
    console.print(f"{len(entries)} entries")


@cache_app.command("clear")
def cache_clear(
    kind: Annotated[Optional[str], typer.Option(help="detections | embeddings | tracks (default: all)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Drop cache entries (the synthetic dataset itself is kept)."""
    from bench.core.cache import KINDS, ArrayCache

    if kind is not None and kind not in KINDS:
        raise BenchError(f"unknown cache kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    cfg = _config(config, None)
    n = ArrayCache(cfg.cache_dir).clear(kind)
    console.print(f"removed {n} entries")


@data_app.command("synth")
def data_synth(
    preview: Annotated[bool, typer.Option(help="write a few annotated frames as PNG")] = False,
    out: Annotated[Optional[Path], typer.Option(help="preview folder (default: results/synth-preview)")] = None,
    suite: Annotated[str, typer.Option(help="synth | synth-crowd")] = "synth",
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Generate the synthetic suite (if needed) and show where it is; --preview writes annotated PNG frames."""
    from bench.data.suites import SYNTH_SUITES, load_suite
    from bench.data.synth.generate import preview as write_preview

    if suite not in SYNTH_SUITES:
        raise BenchError(f"unknown synthetic suite {suite!r}", hint=f"use one of {', '.join(SYNTH_SUITES)}")
    cfg = _config(config, set_)
    s = load_suite(suite, cfg)
    for seq in s.sequences:
        console.print(
            f"{seq.split:5s} {seq.name}: {seq.info.length} frames {seq.info.width}x{seq.info.height} → {seq.path}"
        )
    if preview:
        out_dir = out or cfg.results_dir / f"{suite}-preview"
        for seq in s.sequences:
            for p in write_preview(seq.path, out_dir / seq.name):
                console.print(str(p))


def _reporter():
    from bench.core.progress import RichReporter

    return RichReporter()


def main() -> None:
    """Exit 2 on user errors; on Ctrl-C or SIGTERM a run stops its workers, removes its temp folder, exits 130."""
    signal.signal(signal.SIGTERM, _sigterm_as_interrupt)
    try:
        app()
    except BenchError as e:
        err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as e:  # a full or read-only disk hit outside bench's atomic writers (e.g. a report's plots)
        from bench.core.fsutil import storage_error

        problem = storage_error(e, Path(e.filename).parent if e.filename else Path.cwd())
        if problem is None:
            raise
        err.print(f"[bold red]error:[/] {escape(str(problem))}", markup=True, highlight=False, soft_wrap=True)
        sys.exit(2)
    except Interrupted:
        err.print("interrupted", highlight=False)
        sys.exit(130)


if __name__ == "__main__":
    main()
