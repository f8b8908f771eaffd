"""The memory budget of a replay: ``--memory-limit``, and how big a partition may be.

The budget is written the way Dask's ``memory_limit`` is (``8MB``,
``512MiB``, ``2GB``, a plain number of bytes, a fraction such as ``0.25`` of
this machine's memory, ``auto``). Sizes are read by ``parse_bytes`` here,
which reads every string as ``dask.utils.parse_bytes`` does (a test holds
the two to that): importing Dask would cost every replay a second, and the
spilling replay must not need the ``[dask]`` extra.

``auto`` (the default) is half the memory this machine, or its cgroup,
allows: a replay that would need more folds its input in partitions
written to a temporary folder instead.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Final

__all__ = [
    "AUTO",
    "Budget",
    "parse_bytes",
    "parse_memory_limit",
    "system_memory",
]

AUTO: Final = "auto"
"""The default budget: half of ``system_memory()``."""

# Dask's units: decimal (kB, MB ...) and binary (kiB, MiB ...), any case, "B" optional.
_UNITS: Final = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "p": 10**15,
    "pb": 10**15,
    "ki": 2**10,
    "kib": 2**10,
    "mi": 2**20,
    "mib": 2**20,
    "gi": 2**30,
    "gib": 2**30,
    "ti": 2**40,
    "tib": 2**40,
    "pi": 2**50,
    "pib": 2**50,
}

_CGROUP_LIMITS: Final = (
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
    "/sys/fs/cgroup/memory/memory.soft_limit_in_bytes",
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory.high",
    "/sys/fs/cgroup/memory.low",
)


def parse_bytes(text: str) -> int:
    """A byte size written as Dask writes one (``100``, ``5.4 kB``, ``1e6``, ``MB``, ``2GiB``).

    Raises ``ValueError`` for anything else. The same reading as
    ``dask.utils.parse_bytes``, without importing Dask.
    """
    return int(_bytes_written(text))


def _bytes_written(text: str) -> float:
    """``parse_bytes`` before it drops the fraction of a byte."""
    s = text.replace(" ", "")
    if not any(char.isdigit() for char in s):
        s = f"1{s}"
    index = len(s)
    while index > 0 and s[index - 1].isalpha():
        index -= 1
    prefix, suffix = s[:index], s[index:]
    try:
        number = float(prefix)
    except ValueError as exc:
        raise ValueError(f"Could not interpret '{prefix}' as a number") from exc
    try:
        multiplier = _UNITS[suffix.lower()]
    except KeyError as exc:
        raise ValueError(f"Could not interpret '{suffix}' as a byte unit") from exc
    return number * multiplier


def system_memory() -> int:
    """Bytes of memory this process may use: the machine's, or less when a cgroup says so."""
    total = 0
    with contextlib.suppress(ValueError, OSError, AttributeError):
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    if sys.platform == "linux":
        for path in _CGROUP_LIMITS:
            with contextlib.suppress(OSError, ValueError):
                with open(path, encoding="ascii") as handle:
                    limit = int(handle.read())
                if limit > 0:
                    total = min(total, limit) if total else limit
    return total or 4 * 2**30


IN_MEMORY_BYTES_PER_INPUT_BYTE: Final = 0.8
"""Peak memory of the in-memory replay without the logs, per input byte, beyond what the
process holds before it: measured 0.32 (an outside producer's log of 681 MB), 0.56
(a generated one of 66 MB) and 0.75 (the spec producer's, 286 MB), kept with a margin."""

IN_MEMORY_LOGS_BYTES_PER_INPUT_BYTE: Final = 1.8
"""The same with the per-event logs kept: measured 0.78, 1.77 and 0.95 on those logs."""


def resident_bytes() -> int:
    """Memory this process holds now (its resident set), or 0 where that cannot be read."""
    with (
        contextlib.suppress(OSError, ValueError, IndexError),
        open("/proc/self/statm", encoding="ascii") as handle,
    ):
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    return 0


def fits_in_memory(input_bytes: int, limit: int, *, include_logs: bool) -> bool:
    """Whether the in-memory replay of ``input_bytes`` of log stays within ``limit``
    bytes, by the measured peaks above (an estimate erring on the side of spilling)."""
    per_byte = (
        IN_MEMORY_LOGS_BYTES_PER_INPUT_BYTE if include_logs else IN_MEMORY_BYTES_PER_INPUT_BYTE
    )
    return resident_bytes() + input_bytes * per_byte <= limit


def parse_memory_limit(text: str) -> int | None:
    """The budget in bytes of a ``--memory-limit`` value; None means "no limit".

    Reads what Dask's ``memory_limit`` reads: a size (``8MB``, ``512MiB``,
    ``2GB``), a number of bytes, a fraction of the machine's memory (a
    number up to 1, such as ``0.25``), ``auto`` (half of it), or ``0`` for
    no limit. Raises ``ValueError`` with a sentence for anything else,
    including a negative size and an empty or blank value.
    """
    value = text.strip()
    if not value:  # an unset shell variable, say: Dask would read it as 1 byte
        raise ValueError("an empty memory limit; give a size such as 512MiB, 0 or auto")
    if value.lower() == AUTO:
        return system_memory() // 2
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None and 0 < number <= 1:
        written = number * system_memory()
    elif number is not None and number < 0:  # -0.5 is 0 bytes to Dask: no limit at all
        raise ValueError(f"{text!r} is negative; a memory limit is a size such as 512MiB")
    else:
        try:
            written = _bytes_written(value)
            size = int(written)
        except (ValueError, OverflowError) as exc:
            raise ValueError(
                f"{text!r} is not a memory size (examples: 512MiB, 2GB, 0.25, auto)"
            ) from exc
        if size < 0:
            raise ValueError(f"{text!r} is negative; a memory limit is a size such as 512MiB")
    if 0 < written < 1:
        # Dask reads it as 0 bytes, which is no limit: not what a positive size asks for.
        raise ValueError(f"{text!r} is less than one byte; give 0 for no limit, or at least 1 byte")
    return int(written) or None


class Budget:
    """How a memory budget is spent: partitions small enough to fold within it.

    The fold keeps about ``ENGINE_BYTES_PER_INPUT_BYTE`` bytes per input byte
    (more with the per-event logs), so a partition of ``partition_bytes``
    input bytes folds within ``limit``.
    """

    ENGINE_BYTES_PER_INPUT_BYTE: Final = 0.45
    """Fold memory per input byte without logs (measured about 0.3; kept with a margin)."""

    LOGS_FACTOR: Final = 2.5
    """How much more the fold keeps when the per-event logs are kept."""

    LINK_FACTOR: Final = 6.0
    """How much more the fold keeps per byte of link lines than of connector lines: the
    link index holds every link's fields (measured 2.5 bytes per input byte of link
    lines alone, against 0.47 for connector and sync lines; kept with a margin)."""

    def __init__(self, limit: int, *, include_logs: bool) -> None:
        if limit <= 0:
            raise ValueError("a budget is a positive number of bytes")
        self.limit = limit
        self.per_byte = self.ENGINE_BYTES_PER_INPUT_BYTE * (
            self.LOGS_FACTOR if include_logs else 1.0
        )

    def weighted(self, sizes: Sequence[int], link_first: int) -> list[int]:
        """Partition sizes in connector-line bytes of fold memory: the partitions from
        ``link_first`` on hold link lines (``routing.partition_spaces``; 0: none
        apart), which cost ``LINK_FACTOR`` times more to fold."""
        if not link_first:
            return list(sizes)
        return [
            size if p < link_first else int(size * self.LINK_FACTOR) for p, size in enumerate(sizes)
        ]

    def fold_bytes(self, input_bytes: int) -> int:
        """About how much memory folding ``input_bytes`` of log in one piece takes."""
        return int(input_bytes * self.per_byte)

    def fits(self, input_bytes: int) -> bool:
        """Whether ``input_bytes`` of log fold within the budget in one piece."""
        return self.fold_bytes(input_bytes) <= self.limit

    @property
    def partition_bytes(self) -> int:
        """Largest partition, in input bytes, to fold in one piece (at least 1)."""
        return max(1, int(self.limit * 0.6 / self.per_byte))

    @property
    def copies_bytes(self) -> int:
        """Bytes of tied copies decided at a time (``untangle``): the model path keeps
        about twice their size while it reads them."""
        return max(4096, self.limit // 4)

    @property
    def buffer_bytes(self) -> int:
        """Routed lines held in memory before they are written out."""
        return max(256 * 1024, min(self.limit // 4, 256 * 2**20))
