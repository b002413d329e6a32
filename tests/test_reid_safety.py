"""Checkpoint safety and integrity: weights_only loading (a pickle payload never runs, through the CLI too), clear
errors for garbage files, ByteTrack-shaped YOLOX checkpoints still load, damaged cache entries are retrained, and
the checkpoint key's code fingerprint ignores comments and docstrings but not code."""

from __future__ import annotations

import os
import pickle
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench.core.config import load_config
from bench.core.errors import BenchError
from bench.appearance.code_fingerprint import CROP_CODE, REID_CODE, code_fingerprint, inference_fingerprint
from bench.appearance.checkpoints import digest_path, ensure_checkpoint, load_checkpoint, train_checkpoint
from bench.data.suites import load_suite

ROOT = Path(__file__).resolve().parents[1]
TINY = ["synth.frames=30", "synth.num_train=1", "synth.num_val=1", "synth.people=8", "run.jobs=1",
        "reid.deepsort.model.width=0.125", "reid.deepsort.model.input_size=[32, 16]",
        "reid.deepsort.train.epochs=1", "reid.deepsort.train.p=4", "reid.deepsort.train.k=2",
        "reid.deepsort.train.frame_stride=3"]


class Payload:
    """Unpickling this runs `touch <marker>`: what a hostile checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def write_evil(path: Path, marker: Path, kind: str) -> None:
    if kind == "pickle":
        path.write_bytes(pickle.dumps({"model_config": Payload(marker)}))
    elif kind == "torch-save":
        torch.save({"model_config": Payload(marker), "state_dict": {}}, path)
    else:
        path.write_bytes(random.Random(0).randbytes(4096))  # fixed garbage: the same failure every run


@pytest.mark.parametrize("kind", ["pickle", "torch-save", "garbage"])
def test_hostile_or_garbage_checkpoint_is_refused_in_process(tmp_path: Path, kind: str) -> None:
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.pt"
    write_evil(path, marker, kind)
    with pytest.raises(BenchError) as err:
        load_checkpoint(path, "cpu")
    assert not marker.exists()
    assert "\n" not in str(err.value) and str(path) in str(err.value)


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    work = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_CONFIG": str(ROOT / "bench.toml"), "COLUMNS": "200"}
    return work, env


@pytest.mark.parametrize("kind", ["pickle", "torch-save", "garbage"])
def test_hostile_checkpoint_through_the_cli_does_not_run(cli_env: tuple[Path, dict[str, str]], kind: str) -> None:
    work, env = cli_env
    marker = work / f"PWNED-{kind}"
    evil = work / f"evil-{kind}.pt"
    write_evil(evil, marker, kind)
    sets = [a for s in TINY + [f"paths.cache={work / 'cache'}", f"paths.results={work / 'results'}"]
            for a in ("--set", s)]
    proc = subprocess.run(
        [sys.executable, "-c", "from bench.cli import main; main()", "run", "--trackers", "deepsort",
         "--reid", f"deepsort={evil}", "--no-report", *sets],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )
    assert not marker.exists(), "the checkpoint's pickle payload ran"
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and str(evil) in lines[0], proc.stderr
    # code-bearing pickles are refused; random bytes fail in whichever decoder torch tries first: both one line
    said = "refusing to load the Re-ID checkpoint" if kind != "garbage" else "the Re-ID checkpoint"
    assert said in lines[0] and "Traceback" not in proc.stderr


def test_bytetrack_shaped_yolox_checkpoint_loads_with_weights_only(tmp_path: Path) -> None:
    from bench.detect.yolox import _load_weights

    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    optim = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model(torch.randn(2, 3, 8, 8)).sum().backward()
    optim.step()  # the optimizer state now holds momentum tensors, as in a training checkpoint
    path = tmp_path / "bytetrack_x_mot17.pth.tar"
    torch.save({"model": model.state_dict(), "optimizer": optim.state_dict(), "start_epoch": 80}, path)
    fresh = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    _load_weights(fresh, path, source=None)  # type: ignore[arg-type]
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), model.state_dict().values()))

    marker = tmp_path / "PWNED"
    for kind in ("pickle", "torch-save", "garbage"):
        write_evil(path, marker, kind)
        with pytest.raises(BenchError, match="refusing|cannot read"):
            _load_weights(fresh, path, source=None)  # type: ignore[arg-type]
    assert not marker.exists()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory):
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("reid-cache")
    cfg = load_config(None, TINY + [f"paths.cache='{root / 'cache'}'", f"paths.results='{root / 'results'}'"])
    return cfg, load_suite("synth", cfg)


class _Collect:
    """A reporter that keeps its messages (progress is ignored)."""

    def __init__(self) -> None:
        from bench.core.progress import SilentReporter

        self.lines: list[str] = []
        self.progress = SilentReporter().progress

    def message(self, text: str) -> None:
        self.lines.append(text)


def test_checkpoint_is_plain_and_a_damaged_cache_entry_is_retrained(tiny) -> None:
    cfg, suite = tiny
    path = train_checkpoint(cfg, "deepsort", suite, 0, "cpu").path
    clean = torch.load(path, weights_only=True)  # configs stored as plain values
    assert isinstance(clean["model_config"], dict) and digest_path(path).is_file()
    assert ensure_checkpoint(cfg, "deepsort", suite, 0, "cpu") == path  # intact: reused

    for damage in ("truncate", "flip", "no-digest"):
        reporter = _Collect()
        if damage == "truncate":
            path.write_bytes(path.read_bytes()[:1000])
        elif damage == "flip":
            blob = bytearray(path.read_bytes())
            blob[len(blob) // 2] ^= 0xFF
            path.write_bytes(bytes(blob))
        else:
            digest_path(path).unlink()
        assert ensure_checkpoint(cfg, "deepsort", suite, 0, "cpu", reporter) == path
        warnings = [line for line in reporter.lines if "warning" in line]
        assert len(warnings) == 1 and "damaged" in warnings[0], damage
        again = torch.load(path, weights_only=True)
        assert all(torch.equal(again["state_dict"][k], v) for k, v in clean["state_dict"].items())  # same seed
        assert digest_path(path).read_text().strip() != ""


def test_code_fingerprint_ignores_comments_and_docstrings(tmp_path: Path) -> None:
    code = tmp_path / "reid"
    shutil.copytree(REID_CODE, code, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(code) == code_fingerprint(REID_CODE)
    losses = code / "losses.py"
    src = losses.read_text()
    assert '    """Batch-hard triplet loss, averaged' in src and "return per_anchor.mean()" in src

    losses.write_text("# a new comment\n" + src.replace("    return per_anchor.mean()",
                                                        "    # why: mean over valid anchors\n"
                                                        "    return per_anchor.mean()  # trailing comment"))
    assert code_fingerprint(code) == code_fingerprint(REID_CODE)
    losses.write_text(src.replace('    """Batch-hard triplet loss, averaged', '    """A reworded docstring, averaged'))
    assert code_fingerprint(code) == code_fingerprint(REID_CODE)
    losses.write_text(src.replace("    return per_anchor.mean()", "    return per_anchor.sum()"))
    assert code_fingerprint(code) != code_fingerprint(REID_CODE)
    losses.write_text(src.replace("margin: float = 0.3", "margin: float = 0.4"))
    assert code_fingerprint(code) != code_fingerprint(REID_CODE)


def test_an_inference_only_edit_re_embeds_without_retraining(tmp_path: Path) -> None:
    """trackers/reid/inference.py is used for embedding only: editing it changes the embeddings' key, not the
    checkpoints' (a training-code edit changes the checkpoints' key, which the embeddings' key includes)."""
    code = tmp_path / "reid"
    shutil.copytree(REID_CODE, code, ignore=shutil.ignore_patterns("__pycache__"))
    inference = code / "inference.py"
    src = inference.read_text()
    assert "torch.relu_(" in src
    inference.write_text(src.replace("torch.relu_(", "torch.relu("))
    assert code_fingerprint(code) == code_fingerprint(REID_CODE)
    assert inference_fingerprint(code) != inference_fingerprint(REID_CODE)


def test_a_crop_code_edit_retrains_and_re_embeds(tmp_path: Path) -> None:
    """bench/appearance/crops.py cuts every crop a model trains on and embeds, identity_crops.py picks the training
    crops: a change of either (not of a comment) is a new checkpoint key, and of crops.py a new embedding key."""
    code = tmp_path / "appearance"
    shutil.copytree(CROP_CODE, code, ignore=shutil.ignore_patterns("__pycache__"))
    assert code_fingerprint(crop_code=code) == code_fingerprint()
    crops, picks = code / "crops.py", code / "identity_crops.py"
    src, picks_src = crops.read_text(), picks.read_text()
    assert 'mode="bilinear", align_corners=False, antialias=True' in src and "(gt[:, 8] >= min_visibility)" in picks_src
    crops.write_text("# a new comment\n" + src)
    assert (code_fingerprint(crop_code=code), inference_fingerprint(crop_code=code)) == (
        code_fingerprint(), inference_fingerprint())
    crops.write_text(src.replace("antialias=True", "antialias=False"))
    assert code_fingerprint(crop_code=code) != code_fingerprint()
    assert inference_fingerprint(crop_code=code) != inference_fingerprint()
    crops.write_text(src)
    picks.write_text(picks_src.replace("(gt[:, 8] >= min_visibility)", "(gt[:, 8] > min_visibility)"))
    assert code_fingerprint(crop_code=code) != code_fingerprint()
    assert inference_fingerprint(crop_code=code) == inference_fingerprint()
