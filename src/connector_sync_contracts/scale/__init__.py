"""Partitioned replay: beyond one machine's memory, and on a Dask cluster (issue 14).

Owns the replay of logs too large for one process. Lines are routed to
partitions by what the fold groups them with (``routing``), partitions that
depend on each other are folded together (``plan``), each group is folded by
the engine ``connector-sync replay`` uses (``fold``, through
``_engine_calls``), and the groups' fragments are merged into the canonical
JSON, byte for byte what a single-process replay writes (``merge``,
``outcome``). Two ways to run it share all of that: ``spill`` (one machine,
partitions in a temporary folder, bounded by ``--memory-limit``; see
``budget``) and ``cluster`` (Dask distributed: a local cluster or an
existing scheduler; inputs may be fsspec URLs, read in byte ranges by
``inputs``). ``api`` is the library entry point, ``replay_partitioned``.

May import: ``contract``, ``io``, ``interop``, ``reducing``, ``models``,
``errors``; ``_engine`` only through ``_engine_calls``. Dask and fsspec are
optional (the ``[dask]`` extra) and imported only by the modules that need
them, when they are used.
"""

from __future__ import annotations

__all__: list[str] = []
