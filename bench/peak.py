"""The peak resident size of the calling process, for the benchmark's child scripts.

``library.py`` and ``peer.py`` run as scripts (this folder is first on their
``sys.path``), ``peer.py`` in the peer's own venv, so this module imports
nothing from the package.
"""

from __future__ import annotations

import resource


def peak_rss() -> int:
    """This process's own peak resident size in bytes (VmHWM).

    ``ru_maxrss`` would also count the parent's: Linux carries it over into
    a child across fork and exec.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
