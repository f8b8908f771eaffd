"""``io.os_error_reason``: why an I/O call failed, as a plain phrase."""

from __future__ import annotations

import errno
import os

import pytest

from connector_sync_contracts.io import os_error_reason


@pytest.mark.parametrize(
    ("number", "said"),
    [
        (errno.ENOENT, "no such file"),
        (errno.EACCES, "permission denied"),
        (errno.ENOSPC, "no space left on the device"),
        # Found by an outside run: a spill under a low `ulimit -n` blamed its folder.
        (errno.EMFILE, "too many open files (this process's limit, ulimit -n)"),
    ],
)
def test_the_system_s_own_words_become_a_plain_phrase(number: int, said: str) -> None:
    assert os_error_reason(OSError(number, os.strerror(number))) == said


def test_a_caller_s_own_words_are_kept_with_a_lower_case_first_letter() -> None:
    assert os_error_reason(OSError(errno.ENOENT, "No usable temporary directory")) == (
        "no usable temporary directory"
    )
