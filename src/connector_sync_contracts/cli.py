"""The ``connector-sync`` command line (also ``python -m connector_sync_contracts``).

Exit codes: 0 clean, 1 data problems found, 2 usage or I/O error. Problems
are printed one per line as ``file:line: field: code: message``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final, NoReturn

import click
import orjson

from ._accel import engine, no_gc
from ._ce_input import adapt_input, extra_problems
from ._output import canonical_dumps
from ._stream import RunSummary, replay_sources, validate_sources
from ._vocab import CONTRACT_VERSION
from .jsonl import DEFAULT_MAX_LINE_BYTES, LineProblem, Source

__all__ = ["main"]

EXIT_CLEAN: Final = 0
EXIT_PROBLEMS: Final = 1
EXIT_USAGE: Final = 2


def _fail(message: str) -> NoReturn:
    click.echo(f"connector-sync: error: {message}", err=True)
    sys.exit(EXIT_USAGE)


class _Progress:
    """A progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, total_bytes: int | None) -> None:
        self.enabled = sys.stderr.isatty()
        self.total = total_bytes
        self.done = 0
        self.lines = 0
        self.started = time.monotonic()
        self.next_draw = self.started + 0.5

    def advance(self, nbytes: int, lines: int) -> None:
        self.done += nbytes
        self.lines += lines
        # Line by line, look at the clock every 1,024 lines; a block of lines at a time, always.
        if self.enabled and (lines > 1 or self.lines & 0x3FF == 0):
            now = time.monotonic()
            if now >= self.next_draw:
                self.next_draw = now + 0.2
                self._draw(now)

    def _draw(self, now: float) -> None:
        rate = self.lines / max(now - self.started, 1e-9)
        if self.total:
            share = min(self.done / self.total, 1.0)
            filled = int(share * 30)
            bar = f"[{'#' * filled}{'.' * (30 - filled)}] {share:6.1%}"
        else:
            bar = "[working]"
        sys.stderr.write(f"\r{bar} {self.lines:,} lines, {rate:,.0f} lines/s")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.lines >= 0x400:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _sources(files: tuple[str, ...], max_line_bytes: int) -> list[Source]:
    if not files:
        _fail("no input files given (use - for standard input)")
    for name in files:
        if name != "-" and not Path(name).is_file():
            _fail(f"cannot read {name}: no such file")
    return [Source(name, max_line_bytes=max_line_bytes) for name in files]


def _known_size(files: tuple[str, ...]) -> int | None:
    if any(name == "-" or name.endswith(".gz") for name in files):
        return None
    return sum(Path(name).stat().st_size for name in files)


@contextmanager
def _run(files: tuple[str, ...], max_line_bytes: int) -> Iterator[tuple[list[Source], _Progress]]:
    sources = _sources(files, max_line_bytes)
    progress = _Progress(_known_size(files))
    try:
        yield sources, progress
    except OSError as exc:
        _fail(f"cannot read input: {exc}")
    finally:
        progress.close()
        for source in sources:
            source.close()


def _printable(text: str) -> str:
    # A key may hold a lone surrogate ("\ud800" is valid JSON text), and so may
    # a problem's field path: print it escaped instead of failing to encode it.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _problem_text(name: str, problem: LineProblem) -> str:
    return f"{name}:{problem.line}: {problem.field}: {problem.code}: {problem.message}"


def _summary_text(summary: RunSummary) -> str:
    return (
        f"{summary.lines_read} lines read: {summary.accepted} accepted, "
        f"{summary.rejected} rejected ({summary.problems} problems)"
    )


_MAX_LINE_OPTION = click.option(
    "--max-line-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_LINE_BYTES,
    show_default=True,
    help="Longest accepted line; longer lines are reported, not read.",
)

_INPUT_FORMAT_OPTION = click.option(
    "--input-format",
    type=click.Choice(["envelope", "cloudevents"]),
    default="envelope",
    show_default=True,
    help="envelope: contract envelopes; cloudevents: structured-mode CloudEvents JSON, "
    "one per line (see docs/interop.md).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    CONTRACT_VERSION,
    prog_name="connector-sync",
    message=f"%(prog)s %(version)s; engine: {engine()}",
)
def main() -> None:
    """Validate and replay connector lifecycle and sync delivery event logs (JSONL).

    Exit codes: 0 clean, 1 data problems found, 2 usage or I/O error.
    """


@main.command()
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--strict", is_flag=True, help="Also report unknown fields and project_uuid mismatches."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one problem per line; json: one document with problems and summary.",
)
@click.option(
    "--quarantine",
    type=click.Path(dir_okay=False, writable=True),
    help="Write every rejected line, unchanged, to this file.",
)
@_MAX_LINE_OPTION
@_INPUT_FORMAT_OPTION
def validate(
    files: tuple[str, ...],
    strict: bool,
    fmt: str,
    quarantine: str | None,
    max_line_bytes: int,
    input_format: str = "envelope",
) -> None:
    """Check every line of FILE... (JSONL; '-' is stdin; .gz accepted).

    Each problem is printed as file:line: field: code: message. The summary
    always satisfies accepted + rejected = lines read.
    """
    out = sys.stdout
    quarantined: IO[bytes] | None = None
    try:
        quarantined = Path(quarantine).open("wb") if quarantine else None  # noqa: SIM115
    except OSError as exc:
        _fail(f"cannot write quarantine file: {exc}")
    last: list[tuple[str, int]] = []
    first = [True]

    def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
        if quarantined is not None and last[-1:] != [(name, problem.line)]:
            # A line over the limit was already spilled there while it was skipped.
            quarantined.write(b"\n" if raw is None else raw + b"\n")
        last[:] = [(name, problem.line)]
        if fmt == "text":
            out.write(_printable(_problem_text(name, problem)) + "\n")
        else:
            item = {
                "code": problem.code,
                "field": _printable(problem.field),
                "file": _printable(name),
                "line": problem.line,
                "message": _printable(problem.message),
            }
            out.write(("" if first[0] else ",\n") + orjson.dumps(item).decode())
            first[0] = False

    if fmt == "json":
        out.write('{"problems": [\n')
    try:
        with _run(files, max_line_bytes) as (sources, progress):
            sink = adapt_input(input_format, sources, on_problem)
            for source in sources:
                source.spill = None if quarantined is None else quarantined.write
            summary = validate_sources(
                sources,
                strict=strict,
                on_problem=sink,
                on_line=progress.advance if progress.enabled else None,
            )
            summary.problems += extra_problems(sink)
    finally:
        if quarantined is not None:
            quarantined.close()
    if fmt == "json":
        out.write(
            '\n],\n"summary": '
            + orjson.dumps(summary.to_dict(), option=orjson.OPT_SORT_KEYS).decode()
            + "}\n"
        )
    else:
        click.echo(_summary_text(summary), err=True)
    sys.exit(EXIT_PROBLEMS if summary.rejected else EXIT_CLEAN)


def _focus(data: dict[str, Any], connector: str) -> dict[str, Any]:
    data["connectors"] = {k: v for k, v in data["connectors"].items() if k == connector}
    data["sync"] = {k: v for k, v in data["sync"].items() if k == connector}
    links = data["external_links"]
    links["links"] = [link for link in links["links"] if link["connector_id"] == connector]
    keys = {
        (link["external_provider"], link["external_ref_type"], link["external_ref_id"])
        for link in links["links"]
    }
    links["reverse_index"] = [
        {**entry, "external_refs": [ref for ref in entry["external_refs"] if tuple(ref) in keys]}
        for entry in links["reverse_index"]
        if any(tuple(ref) in keys for ref in entry["external_refs"])
    ]
    return data


def _text(value: Any) -> str:
    """A state or status as shown in the table: its value, or '-' when there is none."""
    if value is None:
        return "-"
    return str(getattr(value, "value", value))


def _table(data: dict[str, Any], connector: str | None) -> str:
    """The readable per-connector view of a replay's section 6 form (logs not needed)."""
    rows = [
        (
            "CONNECTOR",
            "PROVIDER",
            "STATE",
            "HEALTH",
            "LATENCY",
            "LIFECYCLE",
            "ACCEPT",
            "REJECT",
            "RETRY",
            "DEAD",
            "REPLAY",
            "PENDING",
            "ANOMALIES",
        )
    ]
    connectors: dict[str, dict[str, Any]] = data["connectors"]
    syncs: dict[str, dict[str, Any]] = data["sync"]
    ids = sorted(set(connectors) | set(syncs))
    if connector is not None:
        ids = [cid for cid in ids if cid == connector]
    for cid in ids:
        state = connectors.get(cid, {})
        sync = syncs.get(cid, {})
        counts = {_text(k): v for k, v in sync.get("outcome_counts", {}).items()}
        latency = state.get("last_latency_ms")
        rows.append(
            (
                cid,
                state.get("provider") or "-",
                _text(state.get("current_state")),
                _text(state.get("last_health_status")),
                f"{latency:.0f} ms" if latency is not None else "-",
                str(state.get("event_count", 0)),
                str(counts.get("accepted", 0)),
                str(counts.get("rejected", 0)),
                str(counts.get("retry_scheduled", 0)),
                str(counts.get("dead_lettered", 0)),
                str(counts.get("replay_completed", 0)),
                str(sync.get("pending_retries", 0)),
                str(len(state.get("anomalies", ())) + len(sync.get("anomalies", ()))),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    links = data["external_links"]
    notes = [
        "",
        f"events {data['event_count']}  duplicates dropped {data['duplicates_dropped']}  "
        f"other families {data['ignored_event_count']}  "
        f"links {len(links['links'])}  stream anomalies {len(data['anomalies'])}",
    ]
    detail: list[str] = []
    for cid in ids:
        for source in (connectors.get(cid, {}), syncs.get(cid, {})):
            for item in source.get("anomalies", ()):
                detail.append(f"  {cid}: {_anomaly_text(item)}")
    for item in (*links["anomalies"], *data["anomalies"]):
        detail.append(f"  {_anomaly_text(item)}")
    if detail:
        notes.append("")
        notes.append("anomalies:")
        notes.extend(detail[:50])
        if len(detail) > 50:
            notes.append(f"  ... and {len(detail) - 50} more (use --format json for all)")
    return "\n".join(lines + notes) + "\n"


def _anomaly_text(item: dict[str, Any]) -> str:
    return f"{item['kind']} [{item['event_id']}] {item['message']}"


@main.command()
@click.argument("files", nargs=-1, metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="table: readable per-connector view; json: the canonical projection (spec section 6).",
)
@click.option("--connector", metavar="ID", help="Show only this connector.")
@click.option(
    "--no-logs",
    is_flag=True,
    help="Leave out transition_log, outcome_log and deliveries (for huge inputs).",
)
@click.option(
    "--max-reconnect-cycles",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Reconnects without reaching healthy before a reconnect_loop anomaly.",
)
@_MAX_LINE_OPTION
@_INPUT_FORMAT_OPTION
def replay(
    files: tuple[str, ...],
    fmt: str,
    connector: str | None,
    no_logs: bool,
    max_reconnect_cycles: int,
    max_line_bytes: int,
    input_format: str = "envelope",
) -> None:
    """Replay FILE... (JSONL; '-' is stdin; .gz accepted) into per-connector projections.

    Invalid lines are reported on stderr as file:line: field: code: message
    and appear in the projection as anomalies; none is dropped silently.
    """

    def on_problem(name: str, problem: LineProblem, raw: bytes | None) -> None:
        click.echo(_problem_text(name, problem), err=True)

    with _run(files, max_line_bytes) as (sources, progress):
        sink = adapt_input(input_format, sources, on_problem)
        result, summary = replay_sources(
            sources,
            include_logs=not no_logs,
            max_reconnect_cycles=max_reconnect_cycles,
            on_problem=sink,
            on_line=progress.advance if progress.enabled else None,
        )
        summary.problems += extra_problems(sink)
    out = sys.stdout.buffer
    with no_gc():  # many short-lived, acyclic objects: collections only cost time
        if fmt == "json":
            data = result.to_dict(include_logs=not no_logs)
            if connector is not None:
                data = _focus(data, connector)
            out.write(canonical_dumps(data))
        else:
            out.write(_table(result.to_dict(include_logs=False), connector).encode())
    click.echo(_summary_text(summary), err=True)
    sys.exit(EXIT_PROBLEMS if summary.rejected else EXIT_CLEAN)


@main.command()
@click.option("--events", type=click.IntRange(min=0), default=1000, show_default=True)
@click.option("--connectors", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--shuffle", is_flag=True, help="Emit lines in a seeded random order.")
@click.option(
    "--duplicates", type=click.IntRange(min=0), default=0, help="Exact duplicate lines to add."
)
@click.option("--invalid", type=click.IntRange(min=0), default=0, help="Invalid lines to add.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here instead of standard output.",
)
def generate(
    events: int,
    connectors: int,
    seed: int,
    shuffle: bool,
    duplicates: int,
    invalid: int,
    output: str | None,
) -> None:
    """Write a synthetic, realistic JSONL log; the same options give the same bytes."""
    from ._generate import GeneratorOptions, generate_lines

    options = GeneratorOptions(
        events=events,
        connectors=connectors,
        seed=seed,
        shuffle=shuffle,
        duplicates=duplicates,
        invalid=invalid,
    )
    try:
        with _output(output) as sink:
            write = sink.write
            for line in generate_lines(options):
                write(line + b"\n")
    except OSError as exc:
        _fail(f"cannot write output: {exc}")


@contextmanager
def _output(path: str | None) -> Iterator[IO[bytes]]:
    if path is None:
        stream = sys.stdout.buffer
        yield stream
        stream.flush()
    else:
        with Path(path).open("wb") as handle:
            yield handle


@main.command()
@click.argument("name", required=False)
@click.option(
    "--write",
    "write_dir",
    type=click.Path(file_okay=False),
    help="Write every schema file into this folder instead of printing.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 with a diff when the committed schemas differ from the models.",
)
@click.option("--list", "list_names", is_flag=True, help="List the schema names.")
@click.option(
    "--compat",
    "compat_dir",
    type=click.Path(exists=True, file_okay=False),
    help="Classify every change against the baseline schemas in this folder as additive or "
    "breaking; exit 1 on a breaking change unless the major version moved.",
)
@click.option(
    "--candidate",
    "candidate_dir",
    type=click.Path(exists=True, file_okay=False),
    help="With --compat: compare the schemas in this folder (e.g. a proposed change) "
    "instead of this package's.",
)
def schema(
    name: str | None,
    write_dir: str | None,
    check: bool,
    list_names: bool,
    compat_dir: str | None = None,
    candidate_dir: str | None = None,
) -> None:
    """Print a JSON Schema (NAME is an event type or Event), or write or check them all."""
    from . import schemas

    if candidate_dir is not None and compat_dir is None:
        _fail("--candidate needs --compat BASELINE_DIR")
    if compat_dir is not None:
        _compat_gate(Path(compat_dir), Path(candidate_dir) if candidate_dir else None)
    if list_names:
        for known in schemas.schema_names():
            click.echo(known)
        return
    if check:
        problems = schemas.check_schemas()
        for problem in problems:
            click.echo(problem.rstrip("\n"))
        if problems:
            click.echo(f"{len(problems)} schema file(s) differ from the models", err=True)
            sys.exit(EXIT_PROBLEMS)
        click.echo("schemas are up to date", err=True)
        return
    if write_dir is not None:
        try:
            Path(write_dir).mkdir(parents=True, exist_ok=True)
            changed = schemas.write_schemas(Path(write_dir))
        except OSError as exc:
            _fail(f"cannot write schemas: {exc}")
        click.echo(f"{len(changed)} schema file(s) written to {write_dir}", err=True)
        return
    if name is None:
        bundle = {known: schemas.load_schema(known) for known in schemas.schema_names()}
        sys.stdout.buffer.write(canonical_dumps(bundle))
        return
    if name not in schemas.schema_names():
        _fail(f"unknown schema {name!r}; try --list")
    sys.stdout.write(schemas.render_schema(name))


def _first_differences(expected: Any, actual: Any, path: str = "$", limit: int = 10) -> list[str]:
    found: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if len(found) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(a.keys() | b.keys()):
                if key not in b:
                    found.append(f"{where}.{key}: missing in your output")
                elif key not in a:
                    found.append(f"{where}.{key}: not in the golden output")
                else:
                    walk(a[key], b[key], f"{where}.{key}")
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                found.append(f"{where}: golden has {len(a)} items, yours has {len(b)}")
            for index, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(x, y, f"{where}[{index}]")
        elif a != b or type(a) is not type(b):
            found.append(
                f"{where}: golden {orjson.dumps(a).decode()[:80]}, "
                f"yours {orjson.dumps(b).decode()[:80]}"
            )

    walk(expected, actual, path)
    return found


@main.command()
@click.option(
    "--against",
    type=click.Path(dir_okay=False),
    help="A consumer's reducer output (JSON) to compare with the golden of its stream.",
)
@click.option(
    "--stream",
    "stream_id",
    metavar="ID",
    help="Manifest id of the replay stream --against refers to (default: the one that matches).",
)
def conformance(against: str | None, stream_id: str | None) -> None:
    """Run the bundled conformance kit and print a pass/fail table.

    With --against FILE, compare a consumer's replay output for one of the
    kit's streams with the committed golden output instead.
    """
    from .conformance import load_manifest

    manifest = load_manifest()
    streams = {f.id: f for f in manifest.fixtures if f.expected_result == "replay"}
    if against is not None:
        try:
            actual = orjson.loads(Path(against).read_bytes())
        except (OSError, orjson.JSONDecodeError) as exc:
            _fail(f"cannot read {against}: {exc}")
        if stream_id is not None and stream_id not in streams:
            _fail(f"unknown stream {stream_id!r}; streams: {', '.join(sorted(streams))}")
        candidates = [streams[stream_id]] if stream_id else list(streams.values())
        best: tuple[int, str, list[str]] | None = None
        for fixture in candidates:
            golden = orjson.loads(fixture.golden_bytes())
            differences = _first_differences(golden, actual, limit=1000)
            if best is None or len(differences) < best[0]:
                best = (len(differences), fixture.id, differences)
        assert best is not None
        count, chosen, differences = best
        if count == 0:
            click.echo(f"PASS  {against} matches the golden output of {chosen}")
            return
        click.echo(f"FAIL  {against} differs from the golden output of {chosen}:")
        for line in differences[:20]:
            click.echo(f"  {line}")
        if count > 20:
            click.echo(f"  ... and {count - 20} more differences")
        sys.exit(EXIT_PROBLEMS)
    failures = 0
    rows: list[tuple[str, str, str, str, str]] = []
    for fixture in manifest.fixtures:
        if fixture.expected_result == "replay":
            ok = fixture.replay_json() == fixture.golden_bytes()
            expected, got = "golden output", "identical" if ok else "differs"
        else:
            result = fixture.validate()
            codes = sorted(result.codes)
            if fixture.expected_result == "valid":
                ok = result.valid
            else:
                ok = not result.valid and codes == [fixture.expected_violation]
            expected = fixture.expected_violation or "valid"
            got = ",".join(codes) or "valid"
        failures += not ok
        rows.append(("PASS" if ok else "FAIL", fixture.id, fixture.expected_result, expected, got))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    click.echo(f"\n{len(rows) - failures} passed, {failures} failed")
    sys.exit(EXIT_PROBLEMS if failures else EXIT_CLEAN)


@main.command()
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 with a diff when the committed document differs from the registry.",
)
def asyncapi(check: bool) -> None:
    """Print the AsyncAPI 3.0 document of every event type (one message per type)."""
    from . import asyncapi as document

    if check:
        diff = document.check_document()
        if diff is not None:
            click.echo(diff.rstrip("\n"))
            click.echo(f"{document.DOCUMENT_FILE} differs from the registry", err=True)
            sys.exit(EXIT_PROBLEMS)
        click.echo(f"{document.DOCUMENT_FILE} is up to date", err=True)
        return
    sys.stdout.write(document.render_document())


def _compat_gate(baseline_dir: Path, candidate_dir: Path | None) -> NoReturn:
    from .compat import check_compatibility

    try:
        report = check_compatibility(baseline_dir, candidate_dir)
    except (OSError, ValueError) as exc:
        _fail(f"cannot read baseline schemas: {exc}")
    for change in report.changes:
        click.echo(str(change))
    baseline = report.baseline_version or "unknown version"
    click.echo(
        f"{len(report.breaking)} breaking, {len(report.additive)} additive change(s) "
        f"against baseline {baseline} (current {report.current_version})",
        err=True,
    )
    if report.breaking and report.major_moved:
        click.echo("breaking changes are allowed: the major version moved", err=True)
    sys.exit(EXIT_CLEAN if report.passes else EXIT_PROBLEMS)
