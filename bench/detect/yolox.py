"""YOLOX detections (ByteTrack's detector) as a `DetectionSource`: frames in, (frame, x1, y1, x2, y2, score) out.

Why its own pre/post-processing: the boxes must land exactly in the original image's pixel coordinates and the
cache key must capture everything that changes them, so this module does the letterbox, the confidence filter and
the NMS itself and uses `yolox` only for the model definition (`get_exp(...).get_model()`).

Pre-processing matches the two conventions YOLOX checkpoints were trained with:
- `legacy_normalise=True` (ByteTrack's MOT models, e.g. `bytetrack_x_mot17.pth.tar`, and YOLOX < 0.1.1): RGB,
  divided by 255, normalised with ImageNet mean/std; the 114 padding is normalised along with the image
  (ByteTrack's `yolox/data/data_augment.py::preproc(image, input_size, mean, std)`).
- `legacy_normalise=False` (YOLOX >= 0.1.1 checkpoints, `ValTransform(legacy=False)`): BGR, 0..255, no normalisation.
Either way the image is resized by r = min(H_in / h, W_in / w) with bilinear interpolation (cv2.INTER_LINEAR, as
both do) into the top-left corner of an input-size canvas filled with 114, and boxes are divided by r afterwards.

`yolox` 0.3.0 imports torchvision only for NMS; see `bench.detect.nms` for the stand-in used where torchvision does not work.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from bench.core.config import YOLOXConfig
from bench.appearance.crops import read_frame
from bench.core.device import resolve_device
from bench.core.errors import BenchError
from bench.core.fsutil import sha256_file
from bench.detect.nms import install_torchvision_stand_in, nms
from bench.appearance.torch_files import load_weights_only
from trackers.reid import preprocess as reid_preprocess

if TYPE_CHECKING:
    from bench.data.suites import Sequence

PAD_VALUE = 114
IMAGENET_MEAN = np.array(reid_preprocess.IMAGENET_MEAN, dtype=np.float32)  # RGB, ByteTrack's legacy normalisation
IMAGENET_STD = np.array(reid_preprocess.IMAGENET_STD, dtype=np.float32)
EXP_NAMES = ("yolox-nano", "yolox-tiny", "yolox-s", "yolox-m", "yolox-l", "yolox-x", "yolov3")

INSTALL_HINT = "run `make install` (it installs the 'yolox' extra and then yolox==0.3.0 without its pinned deps)"
WEIGHTS_HINT = (
    "download the weights yourself (none can be downloaded automatically), e.g. ByteTrack's bytetrack_x_mot17.pth.tar "
    "from the model zoo in https://github.com/ifzhang/ByteTrack (README), put it under e.g. weights/ and set "
    "checkpoint = \"weights/bytetrack_x_mot17.pth.tar\" in the detections.yolox section of bench.toml"
)


@dataclass(frozen=True)
class YOLOXSource(YOLOXConfig):
    """A YOLOX person detector run over every frame of a sequence: the `[detections.yolox]` settings (checked
    there, see `YOLOXConfig`) on a device."""

    name: ClassVar[str] = "yolox"

    device: str = "cpu"  # "cpu", "cuda" or "cuda:N"
    allow_random_init: bool = False  # checkpoint "" = random init, only with this (tests)

    def __post_init__(self) -> None:
        try:
            super().__post_init__()
        except ValueError as e:
            raise BenchError(f"yolox {e}") from None
        if not (self.device == "cpu" or self.device == "cuda" or self.device.startswith("cuda:")):
            raise BenchError(f"yolox device must be 'cpu' or 'cuda', got {self.device!r}")
        if not self.checkpoint and not self.allow_random_init:
            raise BenchError("the yolox detection source needs a checkpoint", hint=WEIGHTS_HINT)

    # ---- identity (cache key) -------------------------------------------------------------------------------

    def params(self) -> dict[str, Any]:
        """Everything that changes the output, including the checkpoint's and exp file's content hashes."""
        p = asdict(self)
        p.pop("allow_random_init")  # only gates checkpoint=""; it does not change any output
        p["input_size"] = list(self.resolved_input_size())
        p["checkpoint_sha256"] = file_sha256(self.checkpoint_path()) if self.checkpoint else "random-init-seed-0"
        exp_file = _exp_file(self.exp)
        if exp_file is not None:
            p["exp_sha256"] = file_sha256(exp_file)
        p["fp16"] = self.fp16 and self.device.startswith("cuda")
        return p

    def checkpoint_path(self) -> Path:
        path = Path(self.checkpoint).expanduser()
        if not path.is_file():
            raise BenchError("YOLOX checkpoint not found", path, hint=WEIGHTS_HINT)
        return path

    def resolved_input_size(self) -> tuple[int, int]:
        if self.input_size is not None:
            return self.input_size
        h, w = load_exp(self.exp).test_size
        return int(h), int(w)

    # ---- inference ------------------------------------------------------------------------------------------

    def detect(self, seq: Sequence) -> np.ndarray:
        """(N, 6) float64 rows frame, x1, y1, x2, y2, score for frames 1..length, in original image pixels."""
        model, device, dtype = self._model()
        size = self.resolved_input_size()
        rows: list[np.ndarray] = []
        for frames, batch, ratios, shapes in self._batches(seq, size):
            x = torch.from_numpy(batch).to(device=device, dtype=dtype)
            with torch.inference_mode():
                out = model(x).float()
            for frame, pred, r, (h, w) in zip(frames, out, ratios, shapes):
                dets = self.postprocess(pred, r, w, h)
                rows.append(np.column_stack([np.full(len(dets), frame, dtype=np.float64), dets]))
        return np.concatenate(rows) if rows else np.zeros((0, 6))

    def postprocess(self, pred: torch.Tensor, ratio: float, width: int, height: int) -> np.ndarray:
        """One image's decoded head output (A, 5 + C: cx, cy, w, h, obj, cls...) → (n, 5) x1, y1, x2, y2, score in
        image pixels: confidence filter, NMS in input coordinates (as YOLOX), then /ratio, clip, drop empty boxes."""
        scores = pred[:, 4] * pred[:, 5 + self.class_index]
        keep = scores >= self.conf_thresh
        pred, scores = pred[keep], scores[keep]
        boxes = torch.stack([pred[:, 0] - pred[:, 2] / 2, pred[:, 1] - pred[:, 3] / 2,
                             pred[:, 0] + pred[:, 2] / 2, pred[:, 1] + pred[:, 3] / 2], dim=1)
        order = nms(boxes, scores, self.nms_thresh)
        boxes = from_input_coords(boxes[order].cpu().double().numpy(), ratio, width, height)
        scores_np = scores[order].cpu().double().numpy()
        ok = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])  # boxes wholly in the padding clip to nothing
        return np.column_stack([boxes[ok], scores_np[ok]])

    def _model(self) -> tuple[torch.nn.Module, torch.device, torch.dtype]:
        """The built model, kept on this instance across sequences (YOLOX-X takes seconds to build and load);
        rebuilt if the checkpoint or exp file changed in between."""
        exp_file = _exp_file(self.exp)
        key = (file_sha256(self.checkpoint_path()) if self.checkpoint else "",
               file_sha256(exp_file) if exp_file is not None else "")
        cached = self.__dict__.get("_model_cache")
        if cached is None or cached[0] != key:
            cached = (key, self._build_model())
            object.__setattr__(self, "_model_cache", cached)  # not a field: no effect on eq, hash or params
        return cached[1]

    def __getstate__(self) -> dict[str, Any]:
        """Pickle (e.g. to worker processes) without the built model."""
        return {k: v for k, v in self.__dict__.items() if k != "_model_cache"}

    def _build_model(self) -> tuple[torch.nn.Module, torch.device, torch.dtype]:
        device = torch.device(resolve_device(self.device))
        exp = load_exp(self.exp)
        exp.num_classes = self.num_classes
        # no_grad: fusing conv+BN outside it leaves non-leaf weights (and a warning on every .to()).
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(0)  # random init (tests) must be reproducible: its output is cached like any other
            model = exp.get_model()
            if self.checkpoint:
                _load_weights(model, self.checkpoint_path(), self)
            model.eval().requires_grad_(False)
            if self.fuse:
                from yolox.utils import fuse_model

                model = fuse_model(model)
        dtype = torch.float16 if (self.fp16 and device.type == "cuda") else torch.float32
        return model.to(device=device, dtype=dtype), device, dtype

    def _batches(self, seq: Sequence, size: tuple[int, int]
                 ) -> Iterator[tuple[list[int], np.ndarray, list[float], list[tuple[int, int]]]]:
        """Letterboxed batches; the next batch is decoded in threads while the model runs on the current one."""
        frames = list(range(1, seq.info.length + 1))
        chunks = [frames[i:i + self.batch_size] for i in range(0, len(frames), self.batch_size)]
        prep = lambda f: prepare_image(read_frame(seq.image_path(f)), size, self.legacy_normalise)  # noqa: E731
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            pending: list[Future] = [pool.submit(prep, f) for f in chunks[0]] if chunks else []
            for i, chunk in enumerate(chunks):
                done = [fut.result() for fut in pending]
                pending = [pool.submit(prep, f) for f in chunks[i + 1]] if i + 1 < len(chunks) else []
                yield (chunk, np.stack([d[0] for d in done]), [d[1] for d in done], [d[2] for d in done])


# ---- pre-processing and coordinates -------------------------------------------------------------------------


def letterbox_ratio(image_hw: tuple[int, int], input_size: tuple[int, int]) -> float:
    """The resize factor r = min(H_in / h, W_in / w): the whole image fits, aspect ratio kept."""
    return min(input_size[0] / image_hw[0], input_size[1] / image_hw[1])


def prepare_image(rgb: np.ndarray, input_size: tuple[int, int], legacy_normalise: bool
                  ) -> tuple[np.ndarray, float, tuple[int, int]]:
    """RGB uint8 image → ((3, H_in, W_in) float32 network input, r, (h, w) of the original)."""
    import cv2

    h, w = rgb.shape[:2]
    r = letterbox_ratio((h, w), input_size)
    new_w, new_h = int(w * r), int(h * r)  # truncation, as YOLOX and ByteTrack
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((input_size[0], input_size[1], 3), PAD_VALUE, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    if legacy_normalise:
        x = (canvas.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    else:
        x = canvas[:, :, ::-1].astype(np.float32)  # the model expects BGR, as cv2.imread gives
    return np.ascontiguousarray(x.transpose(2, 0, 1)), r, (h, w)


def to_input_coords(boxes: np.ndarray, ratio: float) -> np.ndarray:
    """x1y1x2y2 image pixels → letterboxed input pixels (the image sits in the top-left corner, scaled by r)."""
    return np.asarray(boxes, dtype=np.float64) * ratio


def from_input_coords(boxes: np.ndarray, ratio: float, width: int, height: int) -> np.ndarray:
    """x1y1x2y2 letterboxed input pixels → image pixels, clipped to [0, width] x [0, height]."""
    out = np.asarray(boxes, dtype=np.float64) / ratio
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


# ---- yolox, exps, weights -----------------------------------------------------------------------------------


def import_yolox() -> Any:
    """Import `yolox.exp` (after registering the torchvision stand-in if needed), or say how to install it."""
    install_torchvision_stand_in()
    try:
        return importlib.import_module("yolox.exp")
    except ImportError as e:
        missing = f" (missing module {e.name!r})" if getattr(e, "name", None) else f" ({e})"
        raise BenchError(f"the yolox detection source needs the yolox package, which does not import{missing}",
                         hint=INSTALL_HINT) from None


def _exp_file(exp: str) -> Path | None:
    """The exp file path when `exp` names one (ends in .py or exists as a file), else None (a yolox exp name)."""
    path = Path(exp).expanduser()
    if exp.endswith(".py") or path.is_file():
        if not path.is_file():
            raise BenchError("YOLOX exp file not found", path,
                             hint=f"give an exp file defining class Exp (e.g. ByteTrack's exps/example/mot/"
                                  f"yolox_x_mix_det.py) or one of {', '.join(EXP_NAMES)}")
        return path
    return None


def load_exp(exp: str) -> Any:
    """A fresh yolox `Exp` from a name ("yolox-x") or an exp file (loaded under a unique module name, so two exp
    files with the same file name never shadow each other)."""
    yolox_exp = import_yolox()
    path = _exp_file(exp)
    if path is None:
        if exp not in EXP_NAMES:
            raise BenchError(f"unknown YOLOX exp {exp!r}", hint=f"use one of {', '.join(EXP_NAMES)} or an exp file path")
        return yolox_exp.get_exp(exp_name=exp)
    module_name = "bench_yolox_exp_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    # run from its source text, not imported by file: an import reads and writes __pycache__/ beside the user's file
    # (outside results/ and the cache), and a .pyc keyed by the file's mtime in whole seconds and its size went on
    # serving the old Exp after an edit of the same length within that second (exp_sha256 in the key had changed)
    spec = importlib.util.spec_from_loader(module_name, loader=None, origin=str(path))
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[module_name] = module
    try:
        exec(compile(path.read_bytes(), str(path), "exec"), module.__dict__)
    except ImportError as e:
        del sys.modules[module_name]
        raise BenchError(f"the exp file does not import ({e})", path, hint=INSTALL_HINT) from None
    except SyntaxError as e:
        del sys.modules[module_name]
        raise BenchError(f"the exp file is not valid Python (line {e.lineno}: {e.msg})", path,
                         hint="give an exp file defining class Exp") from None
    if not hasattr(module, "Exp"):
        raise BenchError("the exp file defines no class Exp", path)
    return module.Exp()


def _load_weights(model: torch.nn.Module, path: Path, source: YOLOXSource) -> None:
    """Load a YOLOX/ByteTrack checkpoint (the state dict, or a dict holding it under "model", as ByteTrack's
    `.pth.tar` with `model`, `optimizer`, `start_epoch`) strictly, with `weights_only=True` (tensors and plain values
    only, never code): a checkpoint that does not fit the exp/num_classes is an error, never half-random weights."""
    ckpt = load_weights_only(path, "the checkpoint")
    state = ckpt["model"] if isinstance(ckpt, dict) and "model" in ckpt else ckpt
    if not isinstance(state, dict):
        raise BenchError("the checkpoint holds no state dict (expected a dict, or a dict with key 'model')", path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        detail = str(e).splitlines()
        raise BenchError(
            f"the checkpoint does not fit exp {source.exp!r} with num_classes={source.num_classes} "
            f"({'; '.join(line.strip() for line in detail[1:4])})", path,
            hint="check exp (e.g. yolox-x for bytetrack_x_*) and num_classes (1 for ByteTrack, 80 for COCO)",
        ) from None


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file's content, memoised by (resolved path, mtime, size): checkpoints are hundreds of MB."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _SHA_CACHE:
        _SHA_CACHE[key] = sha256_file(path)
    return _SHA_CACHE[key]


# ---- configuration ------------------------------------------------------------------------------------------


def yolox_source_from_config(section: YOLOXConfig, device: str) -> YOLOXSource:
    """The source for a checked `[detections.yolox]` section on `device` ("cpu", "cuda", "cuda:N" or "auto")."""
    if not section.checkpoint:
        raise BenchError("detections.yolox.checkpoint is not set", hint=WEIGHTS_HINT)
    settings = {f.name: getattr(section, f.name) for f in fields(YOLOXConfig)}
    return YOLOXSource(device=resolve_device(device), **settings)


__all__ = ["YOLOXSource", "yolox_source_from_config", "prepare_image", "letterbox_ratio", "to_input_coords",
           "from_input_coords", "load_exp", "import_yolox", "file_sha256"]
