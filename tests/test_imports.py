"""Commands that never track load neither torch nor numba, no module of the project imports itself back, and only
bench.core.record names the files of a run folder."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "numba", "seaborn")
# runs the CLI with the given arguments, then prints which heavy modules it loaded (also after a BenchError exit)
PROBE = (
    "import atexit, json, sys\n"
    f"atexit.register(lambda: print(json.dumps([m in sys.modules for m in {HEAVY!r}]), file=sys.stderr))\n"
    "from bench.cli import main\n"
    "sys.argv = ['bench', *sys.argv[1:]]\n"
    "main()\n"
)


def _loaded(args: list[str], cwd: Path, exit_code: int = 0) -> list[bool]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == exit_code, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_loading_the_config_imports_neither_torch_nor_numba():
    code = "import bench.core.config, sys; print('torch' in sys.modules, 'numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("command", ["eval", "compare", "report", "cache ls"])
def test_commands_that_never_track_import_neither(command, tmp_path):
    if command in ("eval", "compare"):  # py-motmetrics' TUD files: a full evaluation with cross-check
        gt_root, results = tmp_path / "gt", tmp_path / "tud"
        results.mkdir()
        for seq in ("TUD-Campus", "TUD-Stadtmitte"):
            (gt_root / seq / "gt").mkdir(parents=True)
            data = ROOT / "tests" / "data" / "motmetrics-tud" / seq
            (gt_root / seq / "gt" / "gt.txt").write_bytes((data / "gt.txt").read_bytes())
            (results / f"{seq}.txt").write_bytes((data / "test.txt").read_bytes())
        args = [command, str(results), "--gt", str(gt_root), "--benchmark", "MOT15"]
    elif command == "report":
        example = ROOT / "results" / "example"
        run = tmp_path / "run"
        run.mkdir()
        for path in [*example.glob("*.csv"), *example.glob("*.json")]:  # the run record: manifest and its tables
            (run / path.name).write_bytes(path.read_bytes())
        args = ["report", str(run), "--no-published"]
    else:
        args = command.split()
    assert _loaded(args, tmp_path)[:2] == [False, False]


def test_a_run_refused_by_its_checks_loads_no_heavy_module(tmp_path):
    """A bad suite is one line and exit 2 within a second: the run stage (torch) and the report (seaborn) are
    imported only once the suite has loaded."""
    seq = tmp_path / "suite" / "SEQ"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("1,1,10,10,20,40,1,1,1\n")
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=SEQ\nseqLength=0\nimWidth=640\nimHeight=480\nframeRate=30\n")
    args = ["run", "--suite", str(tmp_path / "suite"), "--trackers", "bytetrack,finetrack"]
    assert _loaded(args, tmp_path, exit_code=2) == [False, False, False]


def test_a_run_of_motion_trackers_never_loads_torch(tmp_path):
    """Nothing in a ByteTrack run uses a device: `auto` is the CPU without asking torch, and the record says so."""
    from tests.test_faults import make_suite

    make_suite(tmp_path / "suite", n=2, frames=10)
    (tmp_path / "bench.toml").write_text(f"[paths]\ncache = '{tmp_path / 'c'}'\nresults = '{tmp_path / 'r'}'\n")
    args = ["run", "--config", str(tmp_path / "bench.toml"), "--suite", str(tmp_path / "suite"), "--trackers",
            "bytetrack", "--run-id", "motion", "--no-report"]
    torch, _, seaborn = _loaded(args, tmp_path)
    assert not torch and not seaborn  # and no plotting stack for a run without a report
    assert json.loads((tmp_path / "r" / "motion" / "manifest.json").read_text())["device"] == "cpu"


RUN_FILES = ("manifest.json", "metrics.csv", "crosscheck.csv", "significance.csv", "occlusion_visibility.csv",
             "occlusion_relink.csv", "ablation.json", "ablation.csv", "tune.json", "trials.csv", "best.toml",
             "events.csv", "occlusion_significance.csv")


def test_only_the_record_names_run_folder_files():
    """No module but bench/core/record.py names a file of a run, ablation or study folder (a string literal that is
    such a name, or a path ending in one; prose that mentions them is fine)."""
    found = []
    for path in ROOT.glob("bench/**/*.py"):
        if path.relative_to(ROOT).as_posix() == "bench/core/record.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}" for name in RUN_FILES
                          if node.value == name or node.value.endswith("/" + name)]
    assert not found, found


def _module_imports(path: Path) -> set[str]:
    """Project modules `path` imports at module level (imports inside functions run later, not at load)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If):  # `if TYPE_CHECKING:` blocks never run
            continue
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in names if n.split(".")[0] in ("bench", "trackers")}


def test_no_import_circle():
    modules = {}
    for path in [*ROOT.glob("bench/**/*.py"), *ROOT.glob("trackers/**/*.py")]:
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = {m: {n for n in _module_imports(p) if n in modules and n != m} for m, p in modules.items()}
    seen: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(m: str, path: list[str]) -> None:
        seen[m] = 1
        for n in sorted(graph[m]):
            if seen.get(n) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(n):] + [m, n]))
            if n not in seen:
                visit(n, path + [m])
        seen[m] = 2

    for m in sorted(modules):
        if m not in seen:
            visit(m, [])
