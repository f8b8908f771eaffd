"""The golden replay outputs of the conformance kit, as they must be (FR-009).

For every ``replay`` fixture of the manifest, its golden file is
``replay(events).to_json()`` (canonical JSON: sorted keys, 2-space indent,
newline at the end). Fixtures and the manifest are hand-written data;
only the goldens are generated (``_tooling.regen``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from ..conformance import load_manifest

__all__ = ["CONFORMANCE_DIR", "expected_goldens"]

CONFORMANCE_DIR: Final = Path(__file__).resolve().parents[1] / "conformance"
"""The conformance kit's folder in a source checkout."""


def expected_goldens() -> dict[Path, bytes]:
    """Golden file -> the bytes replaying its stream gives, for every replay fixture."""
    expected: dict[Path, bytes] = {}
    for fixture in load_manifest().select(expected_result="replay"):
        assert fixture.golden is not None
        expected[CONFORMANCE_DIR / fixture.golden] = fixture.replay_json()
    return expected
