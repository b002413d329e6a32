from pathlib import Path

import numpy as np
import pytest

from bench.errors import BenchError
from bench.mot_io import read_detections, read_gt, read_results, split_by_frame, write_results


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
