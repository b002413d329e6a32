from pathlib import Path

import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.data.mot_io import (
    SeqInfo,
    read_detections,
    read_gt,
    read_results,
    split_active_frames,
    split_by_frame,
    write_results,
    write_seqinfo,
)


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "det.txt"
    p.write_text(text)
    return p


def test_detections_convert_to_corners_and_sort_by_frame(tmp_path):
    p = _write(tmp_path, "2,-1,10,20,30,40,0.9,-1,-1,-1\n1,-1,0,0,5,5,0.5,-1,-1,-1\n")
    d = read_detections(p)
    assert d.shape == (2, 6)
    np.testing.assert_allclose(d[0], [1, 0, 0, 5, 5, 0.5])
    np.testing.assert_allclose(d[1], [2, 10, 20, 40, 60, 0.9])


@pytest.mark.parametrize(
    "line, needle",
    [
        ("1,-1,10,20,30\n", "expected 7 to 10"),
        ("1,-1,10,nan,30,40,0.9\n", "NaN"),
        ("1,-1,10,20,-3,40,0.9\n", "width and height must be positive"),
        ("0,-1,10,20,30,40,0.9\n", "positive integer"),
        ("1,-1,10,abc,30,40,0.9\n", "non-numeric"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, line, needle):
    p = _write(tmp_path, "1,-1,1,1,10,10,0.9,-1,-1,-1\n" + line)
    with pytest.raises(BenchError) as e:
        read_detections(p)
    assert needle in str(e.value)
    assert f"{p}:2:" in str(e.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(BenchError, match="missing detection file"):
        read_detections(tmp_path / "nope.txt")


def test_empty_file_and_empty_frames(tmp_path):
    assert read_detections(_write(tmp_path, "")).shape == (0, 6)
    d = read_detections(_write(tmp_path, "3,-1,1,1,10,10,0.9\n"))
    frames = split_by_frame(d, 4)
    assert [len(f) for f in frames] == [0, 0, 1, 0]
    assert frames[2].shape == (1, 5)


def test_gt_mot15_and_mot17_widths(tmp_path):
    p = tmp_path / "gt.txt"
    p.write_text("1,1,10,10,20,40,1,-1,-1,-1\n")
    assert read_gt(p).shape == (1, 9)
    p.write_text("1,1,10,10,20,40,1,1,0.5\n")
    np.testing.assert_allclose(read_gt(p)[0, 8], 0.5)


def test_results_roundtrip(tmp_path):
    rows = np.array([[1, 3, 10.123, 20, 30, 40, 0.91], [2, 3, 11, 21, 30, 40, 0.8]])
    write_results(tmp_path / "r.txt", rows)
    back = read_results(tmp_path / "r.txt")
    np.testing.assert_allclose(back, np.round(rows, 2))
    assert not list(tmp_path.glob(".*tmp"))


@pytest.mark.parametrize(
    "line, needle",
    [
        ("3000000000,-1,10,20,30,40,0.9\n", "value beyond"),
        ("1,1.5,10,20,30,40,0.9\n", "id must be an integer"),
        ("1,-1,1e300,20,30,40,0.9\n", "value beyond"),
        ("1,-1,10,20,30,inf,0.9\n", "NaN or infinite"),
    ],
)
def test_huge_and_fractional_values_name_the_line(tmp_path, line, needle):
    p = _write(tmp_path, "1,-1,1,1,10,10,0.9,-1,-1,-1\n" + line)
    with pytest.raises(BenchError) as e:
        read_detections(p)
    assert needle in str(e.value) and f"{p}:2:" in str(e.value)


def test_frame_beyond_seq_length_names_the_line(tmp_path):
    seq = tmp_path / "SEQ"
    write_seqinfo(seq, SeqInfo("SEQ", 5, 100, 100, 30.0))
    for sub, reader in (("det/det.txt", read_detections), ("gt/gt.txt", read_gt)):
        p = seq / sub
        p.parent.mkdir(exist_ok=True)
        p.write_text("5,1,1,1,10,10,0.9\n\n6,1,1,1,10,10,0.9\n")
        with pytest.raises(BenchError, match=rf"{p}:3: frame 6 is past the sequence end \(5 frames"):
            reader(p)
        assert len(reader(p, seq_length=6)) == 2  # an explicit length wins
    p = tmp_path / "SEQ.txt"
    p.write_text("1,1,1,1,10,10,0.9\n7,1,1,1,10,10,0.9\n")
    assert len(read_results(p)) == 2
    with pytest.raises(BenchError, match=rf"{p}:2: frame 7 is past the sequence end"):
        read_results(p, seq_length=5)


def test_split_active_frames_tracks_exactly_like_every_frame():
    """ByteTrack on a MOT15 sequence with long empty gaps: skipping the gaps gives the same rows, frame by frame."""
    from bench.core.config import Config
    from bench.track.jobs import track_job, track_sequence

    dets = read_detections(Path(__file__).parent / "data/mot15-dets/TUD-Campus/det/det.txt")
    dets = dets[dets[:, 0] > 3]  # no detections on the first frames
    dets[dets[:, 0] > 30, 0] += 200  # a gap far longer than the track lifetime
    dets[dets[:, 0] > 250, 0] += 20  # and one shorter than it
    length = int(dets[:, 0].max()) + 50
    cfg = Config()

    def run(frames):
        return track_sequence(track_job(cfg, "bytetrack", "s", 30.0, frames)).rows

    full = run(split_by_frame(dets, length))
    frames, frame_of_step = split_active_frames(dets, length, 30 + 2)
    assert len(frames) < length - 150
    cut = run(frames)
    cut[:, 0] = frame_of_step[cut[:, 0].astype(int) - 1]
    assert len(full) > 100
    np.testing.assert_array_equal(cut, full)


def test_split_active_frames_memory_follows_rows():
    dets = np.array([[1, 0, 0, 10, 10, 0.9], [50_000_000, 0, 0, 10, 10, 0.9]])
    frames, steps = split_active_frames(dets, 50_000_000, 32)
    assert len(frames) == len(steps) == 33 + 1 and steps[-1] == 50_000_000 and len(frames[-1]) == 1
