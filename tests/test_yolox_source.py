"""YOLOX detection source: NMS against brute force, letterbox geometry, a random-init yolox-nano end to end on a
tiny generated sequence, the cache keyed on the checkpoint's content, and the user-facing errors."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from bench.core.cache import ArrayCache
from bench.core.config import load_config
from bench.detect.sources import load_detections
from bench.core.errors import BenchError
from bench.data.mot_io import SeqInfo, write_seqinfo
from bench.detect.nms import batched_nms, install_torchvision_stand_in, nms
from bench.data.suites import Sequence
from bench.detect.yolox import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    YOLOXSource,
    from_input_coords,
    letterbox_ratio,
    load_exp,
    prepare_image,
    to_input_coords,
    yolox_source_from_config,
)

torch.set_num_threads(1)

W, H, N_FRAMES = 200, 120, 3
SIZE = (224, 320)


# ---- NMS ---------------------------------------------------------------------------------------------------


def brute_force_nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    """Textbook greedy NMS, one pair at a time."""
    keep: list[int] = []
    for i in sorted(range(len(scores)), key=lambda k: -scores[k]):
        suppressed = False
        for k in keep:
            iw = min(boxes[i, 2], boxes[k, 2]) - max(boxes[i, 0], boxes[k, 0])
            ih = min(boxes[i, 3], boxes[k, 3]) - max(boxes[i, 1], boxes[k, 1])
            inter = max(iw, 0.0) * max(ih, 0.0)
            union = ((boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
                     + (boxes[k, 2] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 1]) - inter)
            if union > 0 and inter / union > thr:
                suppressed = True
                break
        if not suppressed:
            keep.append(i)
    return keep


def random_boxes(rng: np.random.Generator, n: int, extent: float = 100.0) -> tuple[torch.Tensor, torch.Tensor]:
    xy = rng.uniform(0, extent, (n, 2))
    wh = rng.uniform(1, 30, (n, 2))
    return torch.tensor(np.hstack([xy, xy + wh]), dtype=torch.float32), torch.tensor(rng.uniform(size=n), dtype=torch.float32)


@pytest.mark.parametrize("seed", range(6))
def test_nms_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400)) if seed else 1500  # seed 0 spans several internal tiles
    boxes, scores = random_boxes(rng, n)
    thr = float(rng.uniform(0.1, 0.9))
    got = nms(boxes, scores, thr)
    assert got.dtype == torch.int64
    assert got.tolist() == brute_force_nms(boxes.double().numpy(), scores.numpy(), thr)


def test_nms_edge_cases() -> None:
    assert nms(torch.zeros((0, 4)), torch.zeros(0), 0.5).tolist() == []
    b = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 10], [1, 0, 11, 10]], dtype=torch.float32)
    # identical boxes: IoU 1 > thr; the shifted one has IoU 9/11 = 0.818: kept at 0.85, suppressed at 0.8
    assert nms(b, torch.tensor([0.9, 0.8, 0.7]), 0.85).tolist() == [0, 2]
    assert nms(b, torch.tensor([0.9, 0.8, 0.7]), 0.8).tolist() == [0]
    # exactly at the threshold is not suppressed (strictly greater, as torchvision)
    c = torch.tensor([[0, 0, 10, 10], [0, 0, 10, 5]], dtype=torch.float32)
    assert nms(c, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0, 1]


def test_batched_nms_matches_per_class_brute_force() -> None:
    rng = np.random.default_rng(7)
    boxes, scores = random_boxes(rng, 300, extent=60.0)
    idxs = torch.tensor(rng.integers(0, 3, 300))
    got = batched_nms(boxes, scores, idxs, 0.5).tolist()
    expected = []
    for c in range(3):
        members = np.flatnonzero(idxs.numpy() == c)
        expected += [members[k] for k in brute_force_nms(boxes.double().numpy()[members], scores.numpy()[members], 0.5)]
    assert sorted(got) == sorted(expected)
    assert np.all(np.diff(scores.numpy()[got]) <= 0)  # sorted by decreasing score


def test_a_working_torchvision_is_never_replaced(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    working = types.ModuleType("torchvision")
    monkeypatch.setitem(sys.modules, "torchvision", working)  # already imported
    assert install_torchvision_stand_in() is False
    assert sys.modules["torchvision"] is working

    (tmp_path / "torchvision").mkdir()  # importable but not yet imported
    (tmp_path / "torchvision" / "__init__.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torchvision")
    assert install_torchvision_stand_in() is False
    assert getattr(sys.modules["torchvision"], "REAL", False)
    del sys.modules["torchvision"]  # monkeypatch restores the earlier entry, if any


def test_stand_in_registered_when_torchvision_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)  # `import torchvision` now raises ImportError
    monkeypatch.setitem(sys.modules, "torchvision.ops", None)
    assert install_torchvision_stand_in() is True
    import torchvision  # noqa: PLC0415 - the stand-in, registered above
    from torchvision.ops import batched_nms as tv_batched_nms  # noqa: PLC0415

    assert torchvision.ops.nms is nms and tv_batched_nms is batched_nms
    with pytest.raises(AttributeError, match="stand-in"):
        _ = torchvision.transforms
    assert install_torchvision_stand_in() is True  # recognises its own stand-in


# ---- letterbox geometry ----------------------------------------------------------------------------------------


def test_letterbox_round_trip_and_clipping() -> None:
    rng = np.random.default_rng(1)
    r = letterbox_ratio((H, W), SIZE)
    assert r == pytest.approx(min(SIZE[0] / H, SIZE[1] / W))
    xy = rng.uniform(0, [W - 20, H - 20], (50, 2))
    boxes = np.hstack([xy, xy + rng.uniform(1, 20, (50, 2))])
    inp = to_input_coords(boxes, r)
    assert inp.max() <= max(SIZE)  # fits in the input
    np.testing.assert_allclose(from_input_coords(inp, r, W, H), boxes, rtol=0, atol=1e-9)
    outside = np.array([[-10.0, -5.0, W * r + 30, H * r + 30]])
    np.testing.assert_allclose(from_input_coords(outside, r, W, H), [[0, 0, W, H]])


@pytest.mark.parametrize("legacy", [False, True])
def test_prepare_image_puts_pixels_where_the_boxes_map(legacy: bool) -> None:
    rgb = np.zeros((H, W, 3), dtype=np.uint8)
    box = np.array([[60.0, 30.0, 140.0, 90.0]])
    rgb[30:90, 60:140] = (250, 20, 40)  # a red patch
    x, r, (h, w) = prepare_image(rgb, SIZE, legacy_normalise=legacy)
    assert x.shape == (3, *SIZE) and x.dtype == np.float32 and (h, w) == (H, W)
    x1, y1, x2, y2 = to_input_coords(box, r)[0]
    inside = x[:, int(y1) + 2:int(y2) - 2, int(x1) + 2:int(x2) - 2].reshape(3, -1)
    outside = x[:, int(y2) + 2:int(H * r) - 2, :int(W * r) - 2].reshape(3, -1)
    pad = x[:, int(H * r) + 1:, :].reshape(3, -1)
    if legacy:  # RGB, ImageNet-normalised
        expect_in = (np.array([250, 20, 40]) / 255 - IMAGENET_MEAN) / IMAGENET_STD
        expect_pad = (114 / 255 - IMAGENET_MEAN) / IMAGENET_STD
        expect_out = (0 - IMAGENET_MEAN) / IMAGENET_STD
    else:  # BGR, 0..255
        expect_in, expect_pad, expect_out = np.array([40, 20, 250]), np.full(3, 114.0), np.zeros(3)
    np.testing.assert_allclose(inside, np.broadcast_to(expect_in[:, None], inside.shape), atol=1e-4)
    np.testing.assert_allclose(pad, np.broadcast_to(expect_pad[:, None], pad.shape), atol=1e-4)
    np.testing.assert_allclose(outside, np.broadcast_to(expect_out[:, None], outside.shape), atol=1e-4)


# ---- the model end to end ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seq(tmp_path_factory: pytest.TempPathFactory) -> Sequence:
    root = tmp_path_factory.mktemp("yolox") / "SEQ-01"
    (root / "img1").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for f in range(1, N_FRAMES + 1):
        img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        img[20 + 5 * f:100, 40 + 10 * f:80 + 10 * f] = (200, 60, 60)
        Image.fromarray(img).save(root / "img1" / f"{f:06d}.jpg", quality=95)
    info = SeqInfo(name="SEQ-01", length=N_FRAMES, width=W, height=H, fps=30.0)
    write_seqinfo(root, info)
    return Sequence(name="SEQ-01", path=root, split="val", info=info)


def nano(**kw) -> YOLOXSource:
    # conf 0: a random-init head scores ~1e-4 (bias prior 0.01 for both obj and cls), so keep everything to NMS
    base = dict(exp="yolox-nano", input_size=SIZE, conf_thresh=0.0, num_classes=1, batch_size=2,
                allow_random_init=True)
    return YOLOXSource(**{**base, **kw})


@pytest.fixture(scope="module")
def nano_dets(seq: Sequence) -> np.ndarray:
    return nano().detect(seq)


def test_detect_output_contract(nano_dets: np.ndarray) -> None:
    d = nano_dets
    assert d.ndim == 2 and d.shape[1] == 6 and d.dtype == np.float64 and len(d) > 0
    assert set(np.unique(d[:, 0]).astype(int)) == set(range(1, N_FRAMES + 1))  # batch of 2 + remainder of 1
    assert np.all(np.diff(d[:, 0]) >= 0)
    x1, y1, x2, y2, s = d[:, 1], d[:, 2], d[:, 3], d[:, 4], d[:, 5]
    assert np.all(x1 < x2) and np.all(y1 < y2)
    assert x1.min() >= 0 and y1.min() >= 0 and x2.max() <= W and y2.max() <= H
    assert np.all((s >= 0) & (s <= 1))


class FixedHead(torch.nn.Module):
    """Stands in for the network: per image, the decoded head output (cx, cy, w, h, obj, cls) of three anchors
    placed at known input-pixel positions, so the whole detect() geometry can be checked exactly."""

    def __init__(self, rows: torch.Tensor) -> None:
        super().__init__()
        self.rows = rows

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[1:] == (3, *SIZE)
        return self.rows.expand(x.shape[0], -1, -1).clone()


def test_detect_maps_head_output_back_to_image_pixels(seq: Sequence, monkeypatch: pytest.MonkeyPatch) -> None:
    r = letterbox_ratio((H, W), SIZE)  # 1.6: width-limited
    image_box = np.array([30.0, 20.0, 90.0, 110.0])
    x1, y1, x2, y2 = to_input_coords(image_box[None], r)[0]
    rows = torch.tensor([
        [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1, 0.9, 0.8],  # score 0.72: kept
        [(x1 + x2) / 2 + 1, (y1 + y2) / 2, x2 - x1, y2 - y1, 0.9, 0.5],  # IoU ~0.99 with the first: suppressed
        [100.0, 210.0, 40.0, 20.0, 0.5, 0.4],  # in the padding below the image (y > 120 * 1.6): dropped
    ], dtype=torch.float32)[None]
    source = nano(conf_thresh=0.1)
    monkeypatch.setattr(YOLOXSource, "_build_model",
                        lambda self: (FixedHead(rows), torch.device("cpu"), torch.float32))
    d = source.detect(seq)
    assert d[:, 0].tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(d[:, 1:5], np.tile(image_box, (N_FRAMES, 1)), atol=1e-4)
    np.testing.assert_allclose(d[:, 5], 0.72, atol=1e-6)


def nano_weights(seed: int, num_classes: int = 1) -> dict[str, torch.Tensor]:
    """A yolox-nano state dict that behaves like a trained one: BatchNorm statistics calibrated on noise images
    and unbiased score layers, so boxes and scores spread out. (Plain random init decays to ~zero features through
    the depthwise stack, giving the same box and score ~1e-4 at every anchor, which would leave filters untested.)"""
    exp = load_exp("yolox-nano")
    exp.num_classes = num_classes
    torch.manual_seed(seed)
    model = exp.get_model().eval()
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(np.stack([prepare_image(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), SIZE, True)[0]
                                   for _ in range(2)]))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.train()
                m.momentum = 1.0  # running stats := this batch's stats
        model(x)
        for conv in [*model.head.cls_preds, *model.head.obj_preds]:
            conv.bias.zero_()
        for conv in model.head.reg_preds:  # box sides are stride * exp(output): keep them image-sized
            conv.weight.mul_(0.1)
    return model.eval().state_dict()


@pytest.fixture(scope="module")
def varied_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "nano_varied.pth"
    torch.save({"model": nano_weights(seed=1)}, path)
    return path


@pytest.fixture(scope="module")
def varied_dets(seq: Sequence, varied_ckpt: Path) -> np.ndarray:
    return nano(checkpoint=str(varied_ckpt), allow_random_init=False).detect(seq)


def test_trained_like_output_contract_and_filters(seq: Sequence, varied_ckpt: Path, varied_dets: np.ndarray) -> None:
    d = varied_dets
    scores = d[:, 5]
    assert scores.std() > 0.05 and np.all((scores >= 0) & (scores <= 1))
    assert np.all(d[:, 1] < d[:, 3]) and np.all(d[:, 2] < d[:, 4]) and d[:, 3].max() <= W and d[:, 4].max() <= H
    for f in range(1, N_FRAMES + 1):  # within a frame: NMS order, decreasing score
        assert np.all(np.diff(scores[d[:, 0] == f]) <= 0)
    cut = float(np.median(scores))
    high = nano(checkpoint=str(varied_ckpt), allow_random_init=False, conf_thresh=cut).detect(seq)
    assert 0 < len(high) < len(d) and high[:, 5].min() >= cut
    strict = nano(checkpoint=str(varied_ckpt), allow_random_init=False, nms_thresh=0.3).detect(seq)
    assert len(strict) < len(d)


def test_nms_applied_per_frame(varied_dets: np.ndarray) -> None:
    """Boxes left after NMS at 0.7 overlap at most 0.7; clipping only changes boxes at the border, so check the
    interior ones: greedy NMS on them (any order) must keep them all."""
    for f in range(1, N_FRAMES + 1):
        b = varied_dets[varied_dets[:, 0] == f, 1:5]
        interior = torch.tensor(b[(b[:, 0] > 0) & (b[:, 1] > 0) & (b[:, 2] < W) & (b[:, 3] < H)])
        assert len(interior) > 1
        assert len(nms(interior, torch.arange(len(interior), 0, -1, dtype=torch.float64), 0.7)) == len(interior)


def test_fusing_conv_and_bn_keeps_the_outputs(varied_ckpt: Path) -> None:
    rng = np.random.default_rng(3)
    x = torch.from_numpy(prepare_image(rng.integers(0, 255, (H, W, 3), dtype=np.uint8), SIZE, True)[0][None])
    outs = []
    for fuse in (True, False):
        model, _, _ = nano(checkpoint=str(varied_ckpt), allow_random_init=False, fuse=fuse)._build_model()
        with torch.inference_mode():
            outs.append(model(x))
    torch.testing.assert_close(outs[0][..., :4], outs[1][..., :4], rtol=1e-3, atol=1e-2)  # boxes, input pixels
    torch.testing.assert_close(outs[0][..., 4:], outs[1][..., 4:], rtol=0, atol=1e-3)  # objectness, class score
    assert outs[0][..., 4:].std() > 0.05  # and the comparison is not between constants


def test_cache_hits_and_misses_when_the_checkpoint_changes(seq: Sequence, tmp_path: Path) -> None:
    ckpt = tmp_path / "nano.pth"
    torch.save({"model": nano_weights(seed=1)}, ckpt)
    cache = ArrayCache(tmp_path / "cache")
    source = YOLOXSource(exp="yolox-nano", checkpoint=str(ckpt), input_size=SIZE, conf_thresh=0.05)
    first, hit1 = load_detections(source, seq, cache)
    second, hit2 = load_detections(source, seq, cache)
    assert (hit1, hit2) == (False, True)
    assert len(first) == N_FRAMES and all(np.array_equal(a, b) for a, b in zip(first, second))

    torch.save({"model": nano_weights(seed=2), "epoch": 1}, ckpt)  # same path, new content
    third, hit3 = load_detections(source, seq, cache)
    assert hit3 is False
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(first, third))
    _, hit4 = load_detections(source, seq, cache)
    assert hit4 is True


def test_checkpoint_that_does_not_fit_is_an_error(seq: Sequence, tmp_path: Path) -> None:
    ckpt = tmp_path / "coco_nano.pth"
    torch.save(nano_weights(seed=0, num_classes=80), ckpt)  # 80 COCO classes: the head does not fit num_classes=1
    with pytest.raises(BenchError, match="num_classes"):
        YOLOXSource(exp="yolox-nano", checkpoint=str(ckpt), input_size=SIZE).detect(seq)


# ---- configuration and user-facing errors ----------------------------------------------------------------


def test_missing_checkpoint_is_a_bench_error(tmp_path: Path) -> None:
    source = YOLOXSource(exp="yolox-nano", checkpoint=str(tmp_path / "bytetrack_x_mot17.pth.tar"))
    with pytest.raises(BenchError, match="not found.*none can be downloaded automatically"):
        source.params()
    with pytest.raises(BenchError, match="needs a checkpoint"):
        YOLOXSource(exp="yolox-nano")


def test_yolox_not_installed_says_make_install(monkeypatch: pytest.MonkeyPatch, seq: Sequence) -> None:
    for name in [m for m in sys.modules if m == "yolox" or m.startswith("yolox.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "yolox", None)  # `import yolox` now raises ImportError
    with pytest.raises(BenchError, match="make install"):
        nano(input_size=None).params()  # the default input size comes from the exp
    with pytest.raises(BenchError, match="make install"):
        nano().detect(seq)


def test_params_cover_the_output(tmp_path: Path) -> None:
    p = nano(input_size=None).params()
    assert p["input_size"] == [416, 416]  # yolox-nano's test_size
    for key in ("exp", "checkpoint", "conf_thresh", "nms_thresh", "device", "fp16", "batch_size", "num_classes",
                "legacy_normalise", "checkpoint_sha256"):
        assert key in p
    assert nano().params() != nano(legacy_normalise=False).params()
    assert nano(fp16=True).params() == nano(fp16=False).params()  # fp16 applies to CUDA only


def test_from_config(tmp_path: Path) -> None:
    ckpt = tmp_path / "w.pth"
    ckpt.write_bytes(b"x")
    cfg = load_config(None, [f"detections.yolox.checkpoint='{ckpt}'", "detections.yolox.input_size=[800, 1440]",
                             "detections.yolox.conf_thresh=0", "detections.yolox.batch_size=4"])
    s = yolox_source_from_config(cfg.detections.yolox, device="cpu")
    assert (s.exp, s.input_size, s.conf_thresh, s.batch_size, s.device) == ("yolox-x", (800, 1440), 0.0, 4, "cpu")
    for bad, message in [
        ("detections.yolox.conf_tresh=0.1", "unknown key 'detections.yolox.conf_tresh'"),
        ("detections.yolox.batch_size='8'", "detections.yolox.batch_size: expected int"),
        ("detections.yolox.batch_size=0", "detections.yolox.batch_size = 0 is out of range"),
        ("detections.yolox.nms_thresh=1.5", "detections.yolox.nms_thresh = 1.5 is out of range"),
        ("detections.yolox.input_size=[800, 1441]", "input_size must be .*multiples of 32"),
        ("detections.yolox.class_index=1", "class_index must be < num_classes"),
    ]:
        with pytest.raises(BenchError, match=message):
            load_config(None, [bad])
    with pytest.raises(BenchError, match="checkpoint is not set"):
        yolox_source_from_config(load_config(None, []).detections.yolox, device="cpu")


NANO_EXP_FILE = """
from yolox.exp.default.yolox_nano import Exp as NanoExp


class Exp(NanoExp):
    def __init__(self):
        super().__init__()
        self.num_classes = 1
        self.test_size = {size}
"""


def test_exp_file_sets_input_size_and_its_content_is_in_the_key(tmp_path: Path, seq: Sequence,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Also as a user whose Python writes bytecode (PYTHONDONTWRITEBYTECODE unset): the edit below keeps the file's
    length and may keep its mtime second, which a cached .pyc took for an unchanged file."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    exp_file = tmp_path / "nano_mot.py"
    exp_file.write_text(NANO_EXP_FILE.format(size=SIZE))
    source = nano(exp=str(exp_file), input_size=None)
    before = source.params()
    assert before["input_size"] == list(SIZE) and "exp_sha256" in before
    assert source.detect(seq).shape[1] == 6
    exp_file.write_text(NANO_EXP_FILE.format(size=(256, 320)))
    after = source.params()
    assert after["input_size"] == [256, 320] and after["exp_sha256"] != before["exp_sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nano_mot.py"]  # no __pycache__/ beside the user's file
    exp_file.write_text("class Exp(:\n")
    with pytest.raises(BenchError, match="exp file is not valid Python"):
        nano(exp=str(exp_file), input_size=None).params()
    with pytest.raises(BenchError, match="exp file not found"):
        nano(exp=str(tmp_path / "missing_exp.py")).params()
    with pytest.raises(BenchError, match="unknown YOLOX exp"):
        nano(exp="yolox-xxl", input_size=None).params()


def test_pickling_leaves_the_built_model_behind(seq: Sequence) -> None:
    import pickle

    source = nano()
    source._model()
    assert "_model_cache" in source.__dict__
    clone = pickle.loads(pickle.dumps(source))
    assert clone == source and "_model_cache" not in clone.__dict__
