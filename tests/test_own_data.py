"""Issue 11: a user's own dataset in the MOT20 layout (train/ + val/), run end to end through the CLI with Re-ID
models trained on its own train split."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import torch

from bench.core.config import load_config
from bench.data.mot_io import read_gt
from bench.data.suites import load_suite
from tests.test_cli import bench
from trackers.reid.train import computes_bf16

TINY_REID = [
    f"reid.deepsort.{k}"
    for k in ("model.width=0.125", "model.input_size=[32, 16]", "train.epochs=1", "train.p=4", "train.k=2",
              "train.frame_stride=3")
]


def test_mot20_layout_tree_trains_on_its_own_train_split_end_to_end(tmp_path):
    # A MOT20-layout tree built from rendered sequences: train/ (2 sequences) and val/ (1), no synth metadata.
    synth = load_suite("synth", load_config(None, [f"paths.cache='{tmp_path / 'synth-cache'}'", "synth.frames=20",
                                                    "synth.num_train=2", "synth.num_val=1", "synth.people=6"]))
    tree = tmp_path / "MOT20"
    for seq in synth.sequences:
        dst = tree / seq.split / seq.name.replace("SYNTH", "MY")
        shutil.copytree(seq.path, dst)
        (dst / "synth.json").unlink()
    cache, results = tmp_path / "cache", tmp_path / "results"
    sets = [f"paths.cache='{cache}'", f"paths.results='{results}'", "run.jobs=1", "reid.eval_min_frame_gap=3",
            *TINY_REID]
    args = [a for s in sets for a in ("--set", s)]

    out = bench("train", "--model", "global", "--suite", str(tree), "--device", "cpu", *args)
    assert "trained" in out.stdout + out.stderr
    bench("run", "--suite", str(tree), "--trackers", "bytetrack,deepsort", "--device", "cpu", "--run-id", "mine", *args)
    run = results / "mine"
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["suite"]["sequences"] == ["MY-VAL-01"] and manifest["suite"]["root"] == str(tree / "val")
    train_ids = sum(len(set(read_gt(p / "gt" / "gt.txt")[:, 1])) for p in sorted((tree / "train").iterdir()))
    # `bench train` wrote the checkpoint that `bench run` then reused (same train split, config and seed) ...
    (ckpt_path,) = (cache / "reid").glob("global-*.pt")
    assert manifest["reid"]["deepsort"]["path"] == str(ckpt_path)
    # what the run's embeddings were computed in (bf16 where the CPU computes it), and its model's training
    native = "bf16" if computes_bf16("cpu") else "fp32"
    assert (manifest["reid"]["deepsort"]["embedding_precision"], manifest["reid"]["deepsort"]["precision"]) == (
        native, native)
    # ... trained on the tree's own train split: its identities (those visible enough), none of val's.
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
    assert 4 <= ckpt["num_classes"] <= train_ids
    assert ckpt["metrics"]["queries"] > 0  # retrieval measured on val
    metrics = pd.read_csv(run / "metrics.csv")
    assert set(metrics["tracker"]) == {"bytetrack", "deepsort"}
    assert set(metrics["seq"]) == {"MY-VAL-01", "COMBINED"}
    assert (metrics["HOTA"] > 0.2).all()
