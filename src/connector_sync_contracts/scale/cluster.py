"""Partitioned replay on a Dask cluster: a local one (``--workers N``) or an existing scheduler.

The replay is a task graph built from Dask futures, Dask's own task-based
shuffle pattern:

1. one *routing* task per piece (``inputs``) routes its lines and returns the
   partitions' lines, its routing map and its check keys;
2. ``split-shuffle`` tasks (``operator.getitem``) pick out each partition's
   share and each key bucket on the worker that routed them, so a fold task
   receives only its own lines;
3. one *check* task per key bucket finds partitions tied by a shared key;
4. the client joins and packs partitions into groups (``plan``) and submits
   one *fold* task per group; the fold writes its partitions to the worker's
   local folder and runs the engine over them (``fold``);
5. the client merges the groups' fragments as they arrive (``outcome``).

A lost worker loses only results Dask can recompute: the scheduler reruns
the tasks whose results were on it, and every task gives the same result for
the same input, so the output does not change.

Dask is imported only here, when a cluster is used: the ``[dask]`` extra.
"""

from __future__ import annotations

import contextlib
import logging
import math
import mmap
import operator
import shutil
import signal
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._signals import handling
from ..errors import ClusterUnavailableError, ContractError, SpillError
from ..io import os_error_reason
from ._engine_calls import no_gc
from .budget import Budget
from .fold import FoldSettings, GroupResult, fold_group, report_too_long
from .inputs import BLOCK_BYTES, piece_blocks, plan_pieces
from .outcome import Outcome
from .plan import Piece, Tie, Tracer, first_lines_of, pack_groups, tied_partitions
from .routing import MAX_PARTITIONS, TOO_LONG, Router

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["DASK_MISSING", "connect", "local_cluster", "on_cluster"]

DASK_MISSING: Final = (
    "running on a Dask cluster needs the [dask] extra: pip install 'connector-sync-contracts[dask]'"
)
"""What to tell a user who asked for a cluster without Dask installed."""


def _route_piece(
    piece: Piece, partitions: int, buckets: int, cloudevents: bool, max_line_bytes: int
) -> dict[tuple[str, int], Any]:
    """Route one piece; its parts are fetched by ``_split`` tasks.

    ``("shape", 0)``: (lines, bytes per partition, routing map, buckets with
    keys); ``("blob", p)``: partition p's lines; ``("ids", b)``: bucket b's
    check values.
    """
    # Each partition's share grows in place: a large bytearray is reallocated
    # without copying (the allocator remaps its pages), and Dask sends a
    # bytearray as it is, so the lines are copied once, from the router's stage.
    blobs = [bytearray() for _ in range(partitions)]
    router = Router(
        partitions,
        buckets,
        sink=lambda p, data: blobs[p].extend(data),
        cloudevents=cloudevents,
        max_line_bytes=max_line_bytes,
    )
    lines = 0
    with no_gc():  # routing makes many short-lived, acyclic objects
        for block in piece_blocks(piece, max_line_bytes):
            if block is None:
                router.too_long()
                lines += 1
                continue
            lines += router.route_block(block)
    routed = router.take()
    parts: dict[tuple[str, int], Any] = {}
    sizes: dict[int, int] = {}
    for p, blob in enumerate(blobs):
        if blob:
            parts["blob", p] = blob
            sizes[p] = len(blob)
    buckets_with_keys = []
    for b, values in enumerate(routed.ids):
        if values:
            parts["ids", b] = bytes(values)
            buckets_with_keys.append(b)
    parts["shape", 0] = (lines, sizes, bytes(routed.routing), buckets_with_keys)
    return parts


def _split(client: Client, routed: Any, part: tuple[str, int], holders: Any = None) -> Any:
    """A task picking ``part`` out of a routing task's result, on the worker holding it.

    Without care the scheduler would not run it there: many such tasks on
    the result of few routing tasks look "root-ish" to it, and root-ish
    tasks go to any idle worker, which would then fetch the whole routed
    piece (every partition's lines) to pick out one partition's share.
    Naming the ``holders`` makes the task not root-ish; the restriction is
    loose, so if the holder dies the task runs wherever the routing task is
    recomputed. The key has the prefix of Dask's own task-based shuffle
    (``split-shuffle``), which work stealing never moves.
    """
    key = f"split-shuffle-{uuid.uuid4().hex}"
    return client.submit(
        operator.getitem,
        routed,
        part,
        key=key,
        pure=False,
        workers=list(holders) if holders else None,
        allow_other_workers=True,
    )


def _check(*buckets: bytes) -> list[Tie]:
    return tied_partitions(b"".join(buckets))


def _fold_blobs(
    partitions: Sequence[Sequence[bytes]], settings: FoldSettings, alone: bool
) -> GroupResult:
    """Write each partition's lines to the worker's local folder and fold them as one group."""
    folder = Path(tempfile.mkdtemp(prefix="connector-sync-", dir=_local_directory()))
    try:
        paths = []
        for index, blobs in enumerate(partitions):
            path = folder / f"partition-{index:03d}.jsonl"
            with path.open("wb") as handle:
                for blob in blobs:
                    handle.write(blob)
            paths.append(str(path))
        return fold_group(paths, settings, alone=alone)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _local_directory() -> str | None:
    """The worker's own scratch folder, when running in a Dask worker."""
    with contextlib.suppress(ImportError, ValueError, AttributeError):
        from distributed import get_worker

        directory: str = get_worker().local_directory
        return directory
    return None


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ClusterUnavailableError(DASK_MISSING) from exc
    return distributed


_LEAST_WORKER_MEMORY: Final = 2**30
"""The least memory limit a local worker gets, whatever the fold budget: a worker
process needs about 150 MB of its own, and Dask pauses a worker at 80 % of its
limit and kills it at 95 %, so a budget of 64 MB given as the limit itself left
workers paused or dying before their first task."""


@contextlib.contextmanager
def local_cluster(workers: int, memory_limit: int | None) -> Iterator[Client]:
    """A local Dask cluster of ``workers`` processes (one thread each), and its client.

    ``memory_limit`` (bytes, None for Dask's ``auto``) is each worker's Dask
    memory limit, at least ``_LEAST_WORKER_MEMORY``; the folds keep to the
    fold budget (``--memory-limit``) within it.

    The scheduler and the workers keep their scratch space (Dask's
    ``dask-scratch-space``: lock files, spilled data) in a folder of our own
    under the temporary directory, removed with the cluster: Dask's default
    place is shared and keeps its lock files.
    """
    distributed = _import_distributed()
    import dask.config

    with _event_loop_quiet(), contextlib.ExitStack() as stack:
        scratch = stack.enter_context(
            tempfile.TemporaryDirectory(prefix="connector-sync-dask-", ignore_cleanup_errors=True)
        )
        stack.enter_context(dask.config.set({"temporary-directory": scratch}))
        with _signals_held():
            cluster = stack.enter_context(
                _started(
                    distributed,
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    memory_limit=max(memory_limit, _LEAST_WORKER_MEMORY)
                    if memory_limit is not None
                    else "auto",
                    dashboard_address=":0",  # any free port: 8787 may be taken
                    silence_logs=logging.CRITICAL,  # a task's error reaches the client
                )
            )
            client = stack.enter_context(distributed.Client(cluster))
        stack.push(_quiet_when_interrupted)  # unwound first: before the cluster closes
        yield client


@contextlib.contextmanager
def _event_loop_quiet() -> Iterator[None]:
    """Dask's event loop logs nothing through asyncio or tornado while a cluster is used.

    Its own logs are Dask's (``silence_logs``, ``_silence_dask``); through these
    two it reports a busy scheduler closed by Ctrl-C (assertions of its own) and
    a callback that failed when Ctrl-C cut a call short (a ``NameError`` in
    ``distributed.utils.sync``, found in a test): nothing for the user. After
    Ctrl-C they stay quiet until the process ends.
    """
    loggers = [logging.getLogger(name) for name in ("asyncio", "tornado.application")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL + 1)
    interrupted = False
    try:
        yield
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        if not interrupted:
            for log, level in zip(loggers, levels, strict=True):
                log.setLevel(level)


def _started(distributed: Any, **options: Any) -> Any:
    """A started ``LocalCluster``; started again once when it failed to start, as when a
    worker process died while it started (``RuntimeError: Nanny failed to start``: a
    worker killed then, found by an outside run as a traceback and exit 1).

    ``ClusterUnavailableError`` when the second start fails too. Dask closes what a
    failed start had started.
    """
    try:
        return distributed.LocalCluster(**options)
    except Exception:  # whatever a start raises is tried again, once
        pass
    try:
        return distributed.LocalCluster(**options)
    except Exception as exc:
        raise ClusterUnavailableError(
            f"the local Dask cluster did not start, twice: {exc or type(exc).__name__}"
        ) from exc


def _quiet_when_interrupted(
    kind: type[BaseException] | None, _error: BaseException | None, _trace: object
) -> bool:
    """Silence Dask's own logs when Ctrl-C (SIGTERM, SIGHUP) closes the local cluster.

    Closed mid-task, the scheduler logs each message it can no longer send to
    the client at CRITICAL, the level ``silence_logs`` still lets through,
    with a ``CommClosedError`` traceback: 70-370 lines after "interrupted"
    (found by an outside run, 1 run in 2-4 with a small ``--memory-limit``).
    The command is ending: nothing Dask logs then is for the user.
    """
    if kind is not None and issubclass(kind, KeyboardInterrupt):
        _silence_dask()
    return False


def _silence_dask() -> None:
    """Dask's loggers say nothing more in this process (the command is ending)."""
    for name in ("distributed", *logging.root.manager.loggerDict):
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP while Dask starts a local cluster; deliver them after.

    Interrupted while it started its processes, Dask printed the traceback of
    an ``atexit`` callback (``close_clusters``), or left a worker process
    half-started (its own traceback, "EOFError: Ran out of input") or running
    on after the command ended, all after "connector-sync: interrupted". Held
    until the cluster is up (a second or so), the signal is delivered once the
    cluster can be closed whole. Only the main thread can hold signals
    (``handling``); elsewhere nothing is held.

    Ctrl-C at a terminal reaches the whole process group, Dask's worker
    processes too, which printed their own ``KeyboardInterrupt`` tracebacks
    (and, while starting, failed the command with exit 1); so do a closed
    terminal's SIGHUP and a ``kill -- -PGID`` or a service manager's SIGTERM,
    which killed a starting worker ("Nanny failed to start", exit 1) or
    multiprocessing's resource tracker (a page of ``KeyError`` tracebacks).
    So all three are also blocked in this thread while the cluster starts:
    the threads Dask starts meanwhile, and the worker processes they start
    (now or on a restart), inherit them blocked, and leave them to this
    process, which closes its workers.
    """
    held: list[int] = []

    def hold(signum: int, _: object) -> None:
        held.append(signum)

    names = ("SIGINT", "SIGTERM", "SIGHUP")
    signums = [getattr(signal, name) for name in names if hasattr(signal, name)]
    block = getattr(signal, "pthread_sigmask", None)
    main = threading.current_thread() is threading.main_thread()
    if block is not None and main:
        # multiprocessing starts its resource tracker with SIGINT and SIGTERM
        # blocked (it ignores both) and then unblocks them in the calling thread:
        # started first, it cannot undo the block below. It would die of a
        # SIGHUP: it starts with that one blocked, and keeps it so.
        from multiprocessing import resource_tracker

        hangup = {signal.SIGHUP}  # pthread_sigmask and SIGHUP: POSIX both
        before = block(signal.SIG_BLOCK, hangup)
        try:
            resource_tracker.ensure_running()
        finally:
            block(signal.SIG_SETMASK, before)
    # A handler Python did not set (None) could not be put back: it is left alone.
    with handling(hold, signums, replaces=lambda now: now is not None):
        blocked = block(signal.SIG_BLOCK, set(signums)) if block and main else None
        try:
            yield
        finally:
            if blocked is not None and block is not None:
                block(signal.SIG_SETMASK, blocked)  # a Ctrl-C meanwhile reaches hold()
    if held:
        signal.raise_signal(held[0])


@contextlib.contextmanager
def connect(address: str) -> Iterator[Client]:
    """A client of the Dask scheduler at ``address``; ``ClusterUnavailableError`` if unreachable.

    It waits for the scheduler as long as Dask's ``distributed.comm.timeouts.connect``
    says (``DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT``; 30 s unless set).
    """
    distributed = _import_distributed()
    import dask.config
    from dask.utils import parse_timedelta

    timeout = parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), "s")
    try:
        with warnings.catch_warnings():
            # An address Dask cannot parse (no port, an unknown scheme) is refused here: a
            # Client made with one fails inside its event loop, and the half-made client
            # then hangs for seconds at exit, closing itself. A transport Dask dropped
            # (ucx://) warns, then raises the warning: said once, in our sentence.
            warnings.simplefilter("error", FutureWarning)
            normalized = distributed.comm.normalize_address(address)
            distributed.comm.get_address_host(normalized)
            with contextlib.suppress(ValueError):  # a scheme without ports (inproc://)
                port = distributed.comm.get_address_host_port(normalized)[1]
                if not 0 < port < 65536:
                    # No connection is tried: it would wait the whole connect timeout.
                    raise ClusterUnavailableError(
                        f"{address!r} is not a Dask scheduler address (port {port} is not"
                        " 1-65535); write it as tcp://HOST:PORT"
                    )
    except (ValueError, FutureWarning) as exc:  # FutureWarning: a transport Dask dropped
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ClusterUnavailableError(
            f"{address!r} is not a Dask scheduler address ({reason}); write it as tcp://HOST:PORT"
        ) from exc
    if normalized.startswith(("tls://", "wss://")) and _no_tls_settings(distributed):
        # A client made without them fails inside its event loop (a TypeError), then
        # hangs at exit closing itself: found by an outside run.
        raise ClusterUnavailableError(
            f"cannot reach the Dask scheduler at {address}: a TLS address needs Dask's"
            " TLS settings for a client (distributed.comm.tls.ca-file, .client.cert and"
            " .client.key, or their DASK_DISTRIBUTED__COMM__TLS__... variables)"
        )
    _ask_identity(distributed, address, normalized, timeout)
    try:
        client = distributed.Client(address, timeout=timeout, set_as_default=False)
    except Exception as exc:  # any failure to connect is one sentence
        # OSError, a timeout; a scheme whose transport is not installed (ucx://), TLS
        # files that cannot be read: found by an outside run as an internal error.
        reason = os_error_reason(exc) if isinstance(exc, OSError) else str(exc)
        where = ""
        if isinstance(exc, OSError):
            tls = normalized.startswith(("tls://", "wss://"))
            where = (
                f" ({exc.filename})"
                if exc.filename
                else " (a file Dask's TLS settings name, distributed.comm.tls.*)"
                if tls
                else ""
            )
        raise ClusterUnavailableError(
            f"cannot reach the Dask scheduler at {address}: {reason or type(exc).__name__}{where}"
        ) from exc
    with _event_loop_quiet(), _dask_warnings_quiet(), client:
        yield client


@contextlib.contextmanager
def _dask_warnings_quiet() -> Iterator[None]:
    """Dask's loggers in this process say only errors while a scheduler's client is used.

    A worker lost early made the client log "Couldn't gather 1 keys, rescheduling" at
    WARNING (found by an outside run): Dask recovers on its own, the output does not
    change, and standard error must be the in-memory replay's. A local cluster is
    quieted so by ``silence_logs``.
    """
    names = ["distributed"]
    names += [name for name in logging.root.manager.loggerDict if name.startswith("distributed.")]
    loggers = [logging.getLogger(name) for name in names]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(max(log.getEffectiveLevel(), logging.ERROR))
    yield
    # Restored only when the block ends normally: after an error or Ctrl-C the command
    # is ending, and a logger silenced meanwhile (``_silence_dask``) stays so.
    for log, level in zip(loggers, levels, strict=True):
        log.setLevel(level)


_WRONG_PORT: Final = " (a web or dashboard port? a scheduler listens on 8786 unless told otherwise)"


def _ask_identity(distributed: Any, address: str, normalized: str, timeout: float) -> None:
    """Ask the server at ``address`` who it is, within ``timeout`` seconds (and one more),
    before a ``Client`` is made; ``ClusterUnavailableError`` unless a scheduler answers.

    A Client pointed at a server that is no Dask scheduler fails badly (found by an
    outside run): an HTTP reply is read as a frame length (``MemoryError``), a server
    that waits for a request holds Dask's handshake (which has no timeout of its own)
    forever, and the half-made client then waits 60 s at exit to close itself, with a
    traceback. Here one connection, its handshake and Dask's ``identity`` request
    share one deadline, and no client exists until a scheduler has answered.
    """
    import asyncio

    async def identity() -> object:
        connection = distributed.security.Security().get_connection_args("client")
        comm = await distributed.comm.connect(normalized, timeout=timeout, **connection)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def refused(reason: str) -> ClusterUnavailableError:
        return ClusterUnavailableError(f"cannot reach the Dask scheduler at {address}: {reason}")

    try:
        # A second past Dask's own deadline: a connection that cannot be made fails
        # there first, with Dask's reason ("timed out trying to connect ...").
        answer = asyncio.run(asyncio.wait_for(identity(), timeout + 1))
    except (asyncio.TimeoutError, TimeoutError) as exc:
        # A web server waits for the end of a request Dask's handshake never ends, and a
        # scheduler greets at once: silence is most often a web or dashboard port.
        raise refused(
            f"it took the connection but gave no answer within {timeout:g} s{_WRONG_PORT}"
        ) from exc
    except OSError as exc:
        raise refused(os_error_reason(exc) or type(exc).__name__) from exc
    except Exception as exc:  # MemoryError, a bad frame: bytes that are not Dask's protocol
        raise refused(f"the server there does not speak Dask's protocol{_WRONG_PORT}") from exc
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind != "Scheduler":
        raise refused(
            f"the server there is a Dask {kind}, not a scheduler"
            if kind
            else "the server there did not answer as a Dask scheduler"
        )


def _no_tls_settings(distributed: Any) -> bool:
    """Whether Dask's configuration gives a client no TLS context (False when the
    settings name files that cannot be read: connecting then says which)."""
    try:
        security = distributed.security.Security()
        return security.get_connection_args("client").get("ssl_context") is None
    except OSError:
        return False


def _sizes(client: Client, budget: Budget | None, pieces: Sequence[Piece]) -> tuple[int, int]:
    """(partitions, key buckets) for this cluster and input."""
    workers = client.scheduler_info().get("workers", {})
    threads = max(1, sum(w.get("nthreads", 1) for w in workers.values()))
    limits = [w.get("memory_limit") or 0 for w in workers.values()]
    memory = min((m for m in limits if m), default=0)
    per_worker = budget.limit if budget is not None else memory or 4 * 2**30
    fold_budget = Budget(max(1, min(per_worker, memory or per_worker)), include_logs=False)
    known = sum((p.stop - p.start) if p.stop is not None else BLOCK_BYTES for p in pieces)
    # At least two partitions of connector lines per worker thread, so the folds keep
    # every worker busy, more when one would not fold within a worker's memory; and
    # as many for link lines (``routing.partition_spaces``).
    partitions = 2 * 2 * threads * max(1, math.ceil(known / fold_budget.partition_bytes / threads))
    buckets = 1 << max(0, (2 * threads - 1).bit_length())
    return min(MAX_PARTITIONS, partitions), buckets


@contextlib.contextmanager
def on_cluster(
    client: Client,
    names: Sequence[str],
    settings: FoldSettings,
    *,
    budget: Budget | None = None,
    block_bytes: int = BLOCK_BYTES,
    pieces: Sequence[Piece] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> Iterator[Outcome]:
    """Replay ``names`` on ``client``'s cluster; yield the outcome (see ``spill.spilling``).

    The inputs are cut into ranges of about ``block_bytes`` (or into the
    given ``pieces``: consecutive pieces of each input, in order).
    ``on_stage`` hears ``"folding"`` once every input is routed and the fold
    tasks are submitted (the routed lines then live on the workers).
    """
    if pieces is None:
        pieces = plan_pieces(names, block_bytes)
    partitions, buckets = _sizes(client, budget, pieces)
    folder = Path(tempfile.mkdtemp(prefix="connector-sync-"))
    outcome: Outcome | None = None
    routing_map_file: mmap.mmap | None = None
    futures: list[Any] = []
    handed = False  # the outcome is the caller's: an error from here on is its own
    distributed = _import_distributed()
    try:
        routed = client.map(
            _route_piece,
            pieces,
            partitions=partitions,
            buckets=buckets,
            cloudevents=settings.input_format == "cloudevents",
            max_line_bytes=settings.max_line_bytes,
            pure=False,
        )
        futures.extend(routed)
        # Wait for every piece (``wait`` needs a default client; ours may not be). A
        # piece that could not be read (a damaged gzip member, a file gone) raises its
        # InputError here, as the single-process replay does, before anything asks
        # where its result is.
        for fut in distributed.as_completed(routed, loop=client.loop):
            if fut.status == "error":
                fut.result()
        holders = client.who_has(routed)  # type: ignore[no-untyped-call]
        # The routing maps go straight to a file the tracer maps: the client never
        # holds a byte per input line in memory.
        shapes = []
        too_long = 0
        routing_path = folder / "routing.bin"
        with routing_path.open("wb") as handle:
            for fut in [_split(client, f, ("shape", 0), holders.get(f.key)) for f in routed]:
                lines, partition_sizes, routing_map, with_keys = fut.result()
                handle.write(routing_map)
                too_long += routing_map.count(TOO_LONG)
                shapes.append((lines, partition_sizes, with_keys))
                fut.release()
        counts = [shape[0] for shape in shapes]
        first_lines = first_lines_of(pieces, counts)
        sizes = [0] * partitions
        for shape in shapes:
            for p, size in shape[1].items():
                sizes[p] += size
        ties = _ties(client, routed, shapes, buckets, holders)
        # No packing: every set of tied partitions is a fold task of its own.
        groups = pack_groups(sizes, [tie.partitions for tie in ties], 0)
        folds = []
        for group in groups:
            shares = [
                [
                    _split(client, fut, ("blob", p), holders.get(fut.key))
                    for fut, shape in zip(routed, shapes, strict=True)
                    if p in shape[1]
                ]
                for p in group.partitions
            ]
            folds.append(client.submit(_fold_blobs, shares, settings, len(groups) == 1, pure=False))
        # Every share is submitted: a routed piece is freed once its shares are picked
        # out (Dask computes it again if a lost share is needed).
        futures = list(folds)
        for fut in routed:
            fut.release()  # type: ignore[no-untyped-call]
        del routed
        if on_stage is not None:
            on_stage("folding")
        outcome = Outcome(folder, pieces, include_logs=settings.include_logs)
        if sum(counts):
            with routing_path.open("rb") as handle:
                routing_map_file = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            outcome.tracer = Tracer(routing_map_file, counts, first_lines)
        by_future = {fut.key: group for fut, group in zip(folds, groups, strict=True)}
        for fut in distributed.as_completed(folds, loop=client.loop):
            outcome.add(fut.result(), by_future[fut.key].partitions)
            fut.release()
        if too_long:
            outcome.add(report_too_long(too_long, settings), [])
        handed = True
        yield outcome
    except KeyboardInterrupt:
        # The futures cancelled below make the client log errors with tracebacks (on a
        # scheduler of the user's, 12-35 lines before "interrupted": an outside run).
        _silence_dask()
        raise
    except distributed.KilledWorker as exc:
        raise ClusterUnavailableError(
            f"Dask workers died {exc.allowed_failures + 1} times running one task"
            f" ({exc.task}), the last on {exc.last_worker.address}: they were killed, or ran"
            " out of memory (give each worker more, or run more of them)"
        ) from exc
    except OSError as exc:
        # An input that cannot be read, and the like; or the caller's own (a closed
        # standard output: found by an outside run as exit 2 blaming the partitions).
        if handed or isinstance(exc, ContractError):
            raise
        # A task's folder (or this one's) could not be written: a full disk, a file size
        # limit. Found by an outside run as a traceback and exit 1.
        where = f" ({exc.filename})" if exc.filename else ""
        raise SpillError(
            f"cannot write the partitions' files{where}: {os_error_reason(exc)} (each"
            " worker writes under its TMPDIR)"
        ) from exc
    finally:
        for fut in futures:
            with contextlib.suppress(Exception):
                fut.cancel()
        if outcome is not None:
            outcome.close()
        if routing_map_file is not None:
            routing_map_file.close()
        shutil.rmtree(folder, ignore_errors=True)


def _ties(
    client: Client, routed: list[Any], shapes: Sequence[Any], buckets: int, holders: Any
) -> list[Tie]:
    checks = []
    for bucket in range(buckets):
        parts = [
            _split(client, fut, ("ids", bucket), holders.get(fut.key))
            for fut, shape in zip(routed, shapes, strict=True)
            if bucket in shape[2]
        ]
        if parts:
            checks.append(client.submit(_check, *parts, pure=False))
    ties: list[Tie] = []
    for check in checks:
        ties.extend(check.result())
    return ties
