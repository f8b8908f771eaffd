"""Shared pytest set-up: Hypothesis profiles for the property tests (FR-009).

The default profile keeps ``make test`` fast; ``CSC_SOAK=1`` (``make soak``)
loads the soak profile, which runs many more examples per property.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from tests.support.soak import SOAK

# The shared rule cases live in modules that are not test modules: have pytest
# rewrite their asserts too, so a failing rule shows the values it compared.
pytest.register_assert_rewrite("tests.reducing.rules")

# No deadline: the machines running CI are shared, and a slow example is not a
# wrong one. The properties are about output equality, not speed.
settings.register_profile(
    "default-fast",
    max_examples=75,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "soak",
    max_examples=2500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("soak" if SOAK else "default-fast")
