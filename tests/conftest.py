from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"  # fixtures copied into the repo; see tests/data/README.md


@pytest.fixture
def mot_data() -> Path:
    """Real MOTChallenge fixtures inside the repository (a bare clone has nothing beside it)."""
    return DATA
