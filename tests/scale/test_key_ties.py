"""The compiled tie check finds exactly the ties the Python one finds.

A tie (one event_id or link_id seen in two partitions) decides which
partitions are folded together; a tie missed would split a connector's
copies over two folds and change the projection. ``key_ties`` (C, a radix
sort) must agree with ``joined_partitions`` (Python) on every bucket.
"""

from __future__ import annotations

from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connector_sync_contracts._engine.native import key_ties
from connector_sync_contracts.scale.plan import Tie, joined_partitions, tied_partitions

pytestmark = pytest.mark.skipif(key_ties() is None, reason="the compiled core is not built")

_HIGH = ((1 << 64) - 1) ^ 0xFFFF


def _both(values: list[int]) -> tuple[list[Tie], list[Tie]]:
    packed = array("Q", values)
    return tied_partitions(packed.tobytes()), joined_partitions([packed])


# Keys drawn from a few, so that copies are common; any byte of a key may differ
# (a radix pass per byte), or none (a pass skipped).
_keys = st.lists(
    st.one_of(st.integers(0, 2**48 - 1), st.sampled_from([0, 1, 2**40, 2**47, 2**48 - 1])),
    min_size=1,
    max_size=8,
    unique=True,
)


@given(_keys, st.lists(st.tuples(st.integers(0, 7), st.integers(0, 0xFFFF)), max_size=200))
def test_the_compiled_tie_check_is_the_python_one(
    keys: list[int], picks: list[tuple[int, int]]
) -> None:
    values = [keys[at % len(keys)] << 16 | partition for at, partition in picks]
    compiled, python = _both(values)
    assert compiled == python


def test_a_key_in_two_partitions_ties_them_whatever_byte_tells_keys_apart() -> None:
    for byte in range(2, 8):  # bytes 0-1 are the partition
        a, b = 0x5A << (8 * byte), 0x5B << (8 * byte)
        values = [a | 3, b | 3, a | 9, b | 3, a | 3]
        compiled, python = _both(values)
        assert compiled == python == [Tie(a >> 16, (3, 9))]


def test_no_tie_when_every_key_is_in_one_partition() -> None:
    values = [(n << 16 & _HIGH) | (n % 250) for n in range(1, 5000)] * 2
    assert _both(values) == ([], [])


def test_the_extreme_values() -> None:
    values = [0, 2**64 - 1, 2**64 - 2, 0xFFFF, 0x10000, 1]
    compiled, python = _both(values)
    assert compiled == python == [Tie(0, (0, 1, 0xFFFF)), Tie(2**48 - 1, (0xFFFE, 0xFFFF))]


def test_a_torn_value_is_refused() -> None:
    native = key_ties()
    assert native is not None
    with pytest.raises(ValueError, match="64-bit"):
        native(b"\x00" * 12)
