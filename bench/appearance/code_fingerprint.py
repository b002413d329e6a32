"""Fingerprints of the Re-ID code as parsed (AST without docstrings), for cache keys.

The crop code of `bench/appearance/` counts as Re-ID code: it decides what the model is trained on and fed.

Two, because two caches depend on different code: a trained checkpoint on the model, loss, sampler and training
code (everything in `trackers/reid/` except the inference-only rewrite), embeddings additionally on that rewrite
(`trackers/reid/inference.py`, what bench embeds with). A change to either never reuses a stale entry, while editing
comments, docstrings or formatting keeps every cached one, and editing the inference rewrite re-embeds without
retraining.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import trackers.reid
from bench.core.fsutil import stable_hash

REID_CODE = Path(trackers.reid.__file__).parent
INFERENCE_ONLY = "inference.py"  # fuse_for_inference: used for embedding, never in training
# What the model sees, decided outside trackers/reid/: how a box becomes a crop (training and embedding), and which gt
# boxes of the train split are training crops (training only). An edit there must not serve old checkpoints or
# embeddings either.
CROP_CODE = Path(__file__).parent
CUTS_CROPS, PICKS_TRAINING_CROPS = "crops.py", "identity_crops.py"


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


_PARSED: dict[str, str] = {}  # source text → its AST dump: a run asks for the keys once per sequence and model


def _parsed(path: Path) -> str:
    text = path.read_text()
    if text not in _PARSED:
        tree = _without_docstrings(ast.parse(text, filename=str(path)))
        _PARSED[text] = ast.dump(tree, annotate_fields=True, include_attributes=False)
    return _PARSED[text]


def _fingerprint(paths: Iterable[Path]) -> str:
    # by name: the same code in another folder, the same key
    return stable_hash([(path.name, _parsed(path)) for path in sorted(paths, key=lambda p: p.name)])


def code_fingerprint(root: Path = REID_CODE, crop_code: Path = CROP_CODE) -> str:
    """The training side: every module of `root` but the inference-only rewrite, and the crop code."""
    return _fingerprint([*(p for p in root.glob("*.py") if p.name != INFERENCE_ONLY),
                         crop_code / CUTS_CROPS, crop_code / PICKS_TRAINING_CROPS])


def inference_fingerprint(root: Path = REID_CODE, crop_code: Path = CROP_CODE) -> str:
    """The inference-only rewrite that embeddings are computed with, and the code that cuts their crops (a given
    checkpoint, `--reid PATH`, keeps its hash when the crop code changes)."""
    return _fingerprint([root / INFERENCE_ONLY, crop_code / CUTS_CROPS])
