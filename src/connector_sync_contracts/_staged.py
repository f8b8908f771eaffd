"""A file written beside its target and renamed over it only when complete.

Every output that replaces a file (``generate -o``, ``--quarantine``,
``schema --write``, ``make regen``) is written this way, so an interrupted
or failed write leaves the old file or none, never a shorter one that
looks whole.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from types import TracebackType

__all__ = ["StagedFile"]


class StagedFile:
    """A temporary file in ``target``'s folder that becomes ``target`` on ``commit()``.

    Opening it raises ``OSError`` when the folder cannot take a new file.
    ``commit()`` flushes, syncs and closes it, gives it the mode ``target``
    has (a new file: the mode the umask allows), and renames it over
    ``target``. Used as a context manager, a block that ends without
    ``commit()`` (an error, an interruption) removes the temporary file and
    leaves ``target`` as it was.
    """

    def __init__(self, target: Path) -> None:
        self._target = target
        try:
            fd, self._temporary = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".partial", dir=target.parent
            )
        except OSError as exc:  # named after the file it was to become, not the temporary one
            raise OSError(exc.errno, exc.strerror, str(target)) from exc
        self.handle = os.fdopen(fd, "wb")
        """The temporary file, open for writing bytes."""
        self._committed = False

    def commit(self) -> None:
        """Make the written bytes ``target``, durably; ``OSError`` when that fails."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        try:
            mode = stat.S_IMODE(os.stat(self._target).st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(self._temporary, mode)
        os.replace(self._temporary, self._target)
        self._committed = True

    def __enter__(self) -> StagedFile:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._committed:
            return
        # Closed without a word: what it holds is thrown away with the file, and
        # a flush failing again must not replace the error on its way out.
        with contextlib.suppress(OSError):
            self.handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self._temporary)
