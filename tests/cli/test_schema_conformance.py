"""``connector-sync schema`` and ``connector-sync conformance``."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any, Final

import orjson
import pytest

from connector_sync_contracts import schemas
from connector_sync_contracts.conformance import Fixture, load_manifest
from tests.support.cli import run_cli

STREAMS: Final = tuple(f for f in load_manifest().fixtures if f.expected_result == "replay")


def test_schema_list_names_every_schema() -> None:
    run = run_cli("schema", "--list")
    assert run.code == 0, run.explain()
    assert tuple(run.out.splitlines()) == schemas.schema_names()
    assert "Event" in run.out.splitlines()


@pytest.mark.parametrize("name", ["Event", "ConnectorHealthChecked", "SyncRetryScheduled"])
def test_schema_name_prints_the_committed_schema(name: str) -> None:
    run = run_cli("schema", name)
    assert run.code == 0, run.explain()
    assert run.out == schemas.render_schema(name)
    assert orjson.loads(run.stdout) == schemas.load_schema(name)


def test_schema_without_a_name_prints_every_schema() -> None:
    run = run_cli("schema")
    assert run.code == 0, run.explain()
    bundle = orjson.loads(run.stdout)
    assert list(bundle) == sorted(schemas.schema_names())
    for name in schemas.schema_names():
        assert bundle[name] == schemas.load_schema(name)


def test_unknown_schema_name_is_a_usage_error() -> None:
    run = run_cli("schema", "NoSuchEvent")
    assert run.code == 2, run.explain()
    assert "--list" in run.err


def test_schema_check_passes_on_the_committed_schemas() -> None:
    run = run_cli("schema", "--check")
    assert run.code == 0, run.explain()
    assert "up to date" in run.err


def test_schema_write_produces_the_committed_files(tmp_path: Path) -> None:
    run = run_cli("schema", "--write", tmp_path)
    assert run.code == 0, run.explain()
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(schemas.schema_file_name(n) for n in schemas.schema_names())
    for name in schemas.schema_names():
        assert (tmp_path / schemas.schema_file_name(name)).read_text() == schemas.render_schema(
            name
        )


def test_schema_write_leaves_other_files_alone_and_removes_only_its_own_stale_schemas(
    tmp_path: Path,
) -> None:
    theirs = {
        "package.json": b'{"name": "my-service"}\n',
        "other-schema.json": b'{"$id": "https://example.com/Thing.json"}\n',
        "broken.json": b"{not json",
    }
    for name, data in theirs.items():
        (tmp_path / name).write_bytes(data)
    stale = tmp_path / "ConnectorRetired.json"
    stale.write_text(
        '{"$id": "https://connector-sync-contracts.dev/schemas/2.6.0/ConnectorRetired.json"}\n'
    )
    run = run_cli("schema", "--write", tmp_path)
    assert run.code == 0, run.explain()
    for name, data in theirs.items():
        assert (tmp_path / name).read_bytes() == data, name
    assert not stale.exists()
    assert run.err.startswith(
        f"{len(schemas.schema_names())} schema files written to {tmp_path}\n"
        f"1 stale schema file removed from {tmp_path} "
        "(ConnectorRetired.json): an earlier version of this package wrote it, and no model "
        "defines it now\n"
    )
    # Said, since a gate given this folder would read them as schemas too.
    assert (
        f"connector-sync: warning: {tmp_path} also holds 3 other .json files (broken.json, "
        f"other-schema.json, package.json), left as they are; --compat {tmp_path} reads every "
        ".json file in it as a schema of the set\n"
    ) in run.err
    written = run_cli("schema", "--write", tmp_path.parent / f"{tmp_path.name}-fresh")
    assert "warning" not in written.err, written.explain()
    ours = {schemas.schema_file_name(n) for n in schemas.schema_names()}
    assert {p.name for p in tmp_path.iterdir()} == ours | theirs.keys()


def test_schema_write_never_replaces_a_file_of_a_schema_name_it_did_not_write(
    tmp_path: Path,
) -> None:
    theirs = tmp_path / schemas.schema_file_name("Event")
    theirs.write_bytes(b'{"mine": 1}\n')
    run = run_cli("schema", "--write", tmp_path)
    assert run.code == 2, run.explain()
    assert run.err == (
        f"connector-sync: error: cannot write schemas to {theirs}: a file this package did "
        "not write (no $id of its schemas) is there; not replaced: move it, or write the "
        "schemas to another folder\n"
    )
    assert theirs.read_bytes() == b'{"mine": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == [theirs.name]  # nothing written


def test_schema_write_that_cannot_finish_a_file_leaves_the_old_one_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every file is written beside its target and renamed over it once synced:
    # a write that fails (or is interrupted) before that leaves the old bytes.
    names = [schemas.schema_file_name(n) for n in schemas.schema_names()]
    old = '{"$id": "https://connector-sync-contracts.dev/schemas/2.6.0/Old.json"}\n'
    for name in names:
        (tmp_path / name).write_text(old)  # an earlier version's: replaced
    synced = 0

    def fsync(fd: int) -> None:
        nonlocal synced
        synced += 1
        if synced == 3:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", fsync)
    with pytest.raises(OSError, match="No space left"):
        schemas.write_schemas(tmp_path)
    kept = [name for name in names if (tmp_path / name).read_text() == old]
    written = [name for name in names if name not in kept]
    assert len(written) == 2
    for name in written:
        assert (tmp_path / name).read_text() == schemas.render_schema(name.removesuffix(".json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)  # no partial file left


def test_schema_write_that_fails_names_the_file_in_plain_words(tmp_path: Path) -> None:
    blocked = tmp_path / schemas.schema_file_name("Event")
    blocked.mkdir()  # a folder where the file goes: fails for root too
    run = run_cli("schema", "--write", tmp_path)
    assert run.code == 2, run.explain()
    assert run.err.startswith("connector-sync: error: cannot write schemas to ")
    assert run.err.endswith(": is a directory\n")
    assert "Errno" not in run.err


def test_conformance_prints_a_passing_table() -> None:
    run = run_cli("conformance")
    assert run.code == 0, run.explain()
    lines = run.out.splitlines()
    fixtures = load_manifest().fixtures
    assert lines[0].split() == ["RESULT", "FIXTURE", "EXPECTED"]
    assert set(lines[1]) == {"-", " "}
    rows = lines[2 : 2 + len(fixtures)]
    assert [row.split()[1] for row in rows] == [f.id for f in fixtures]
    for row, fixture in zip(rows, fixtures, strict=True):
        expected = row.split(maxsplit=2)[2]
        if fixture.expected_result == "invalid":
            assert expected == f"invalid: {fixture.expected_violation}"
        else:
            assert expected.startswith(fixture.expected_result)
    assert all(row.split()[0] == "PASS" for row in rows)
    assert lines[-1] == f"{len(fixtures)} passed, 0 failed"


def _stream_files(tmp_path: Path, stream: Fixture) -> tuple[Path, Path]:
    log = tmp_path / "stream.jsonl"
    log.write_bytes(stream.read_bytes())
    golden = tmp_path / "golden.json"
    golden.write_bytes(stream.golden_bytes())
    return log, golden


@pytest.mark.parametrize("stream", STREAMS, ids=lambda f: f.id)
def test_conformance_against_our_own_replay_output_passes(tmp_path: Path, stream: Fixture) -> None:
    # What a consumer does: replay the kit's stream, then check the output.
    log, _ = _stream_files(tmp_path, stream)
    output = tmp_path / "ours.json"
    replayed = run_cli("replay", "--format", "json", log)
    output.write_bytes(replayed.stdout)
    run = run_cli("conformance", "--against", output)
    assert run.code == 0, run.explain()
    assert run.out.startswith("PASS")
    assert stream.id in run.out


def test_conformance_against_a_golden_copy_and_a_modified_copy(tmp_path: Path) -> None:
    stream = STREAMS[-1]
    _, golden = _stream_files(tmp_path, stream)
    passing = run_cli("conformance", "--against", golden, "--stream", stream.id)
    assert passing.code == 0, passing.explain()
    assert passing.out.startswith("PASS")

    document = orjson.loads(golden.read_bytes())
    document["event_count"] += 1
    modified = tmp_path / "modified.json"
    modified.write_bytes(orjson.dumps(document))
    failing = run_cli("conformance", "--against", modified, "--stream", stream.id)
    assert failing.code == 1, failing.explain()
    assert failing.out.startswith("FAIL")
    assert "$.event_count" in failing.out
    # Without --stream the closest golden is chosen, and the difference still fails.
    assert run_cli("conformance", "--against", modified).code == 1


def _passing_copy(tmp_path: Path, stream: Fixture, name: str, change: Any) -> Path:
    """The golden output of ``stream`` changed by ``change`` (into other bytes), written
    to ``name``.json, after checking that ``--against`` passes it for that stream."""
    document = orjson.loads(stream.golden_bytes())
    copy = tmp_path / f"{name}.json"
    copy.write_bytes(orjson.dumps(change(document)))
    assert copy.read_bytes() != orjson.dumps(document)
    run = run_cli("conformance", "--against", copy)
    assert run.code == 0, run.explain()
    assert run.out.startswith(f"PASS  {copy} matches the golden output of {stream.id}\n")
    return copy


def _integral_floats_as_integers(value: Any) -> Any:
    """What JSON.stringify writes for 950.0: 950."""
    if isinstance(value, dict):
        return {key: _integral_floats_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral_floats_as_integers(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def test_conformance_against_compares_json_values_not_their_spelling(tmp_path: Path) -> None:
    stream = next(s for s in STREAMS if b".0," in s.golden_bytes() or b".0\n" in s.golden_bytes())
    document = orjson.loads(stream.golden_bytes())
    _passing_copy(tmp_path, stream, "javascript", _integral_floats_as_integers)
    # A boolean is no number and a string no number.
    for field, value in (("event_count", True), ("duplicates_dropped", "0")):
        changed = tmp_path / f"{field}.json"
        changed.write_bytes(orjson.dumps({**document, field: value}))
        failing = run_cli("conformance", "--against", changed, "--stream", stream.id)
        assert failing.code == 1, failing.explain()
        assert f"$.{field}: golden " in failing.out


@pytest.mark.parametrize(
    ("spelled", "passes"),
    [(b"{n}.0", True), (b"{n}0e-1", True), (b"{n}.0000000000000001", False), (b"{n}.5", False)],
)
def test_conformance_against_compares_numbers_exactly_not_as_doubles(
    tmp_path: Path, spelled: bytes, passes: bool
) -> None:
    """An integer written with a fraction is the same number only when the fraction
    is zero: a double would read ``16.0000000000000001`` as ``16``."""
    _, golden = _stream_files(tmp_path, STREAMS[0])
    text = golden.read_bytes()
    count = orjson.loads(text)["event_count"]
    top = f'\n  "event_count": {count},'.encode()
    assert text.count(top) == 1
    odd = tmp_path / "spelled.json"
    number = spelled.replace(b"{n}", str(count).encode())
    odd.write_bytes(text.replace(top, b'\n  "event_count": ' + number + b","))
    run = run_cli("conformance", "--against", odd)
    assert run.code == (0 if passes else 1), run.explain()
    if not passes:
        assert f"$.event_count: golden {count}, yours {number.decode()}" in run.out


@pytest.mark.parametrize(
    ("spelled", "said"),
    [
        (
            b'"event_count": 1, "event_count": ',
            "key 'event_count' appears more than once in one object",
        ),
        (b'"event_count": NaN, "x": ', "NaN is not a JSON number"),
    ],
    ids=["repeated-key", "nan"],
)
def test_conformance_against_refuses_what_json_parsers_read_differently(
    tmp_path: Path, spelled: bytes, said: str
) -> None:
    _, golden = _stream_files(tmp_path, STREAMS[0])
    text = golden.read_bytes()
    top = b'\n  "event_count": '
    assert text.count(top) == 1
    odd = tmp_path / "odd.json"
    odd.write_bytes(text.replace(top, b"\n  " + spelled))
    run = run_cli("conformance", "--against", odd)
    assert run.code == 2, run.explain()
    assert run.err == f"connector-sync: error: cannot read {odd}: not JSON ({said})\n"


@pytest.mark.parametrize("stream", STREAMS, ids=lambda f: f.id)
def test_conformance_against_a_no_logs_output_compares_everything_else(
    tmp_path: Path, stream: Fixture
) -> None:
    log, _ = _stream_files(tmp_path, stream)
    output = tmp_path / "no-logs.json"
    output.write_bytes(run_cli("replay", "--format", "json", "--no-logs", log).stdout)
    run = run_cli("conformance", "--against", output)
    assert run.code == 0, run.explain()
    assert run.out.startswith(f"PASS  {output} matches the golden output of {stream.id} (without")
    # Without logs, every other field still counts.
    document = orjson.loads(output.read_bytes())
    document["event_count"] += 1
    output.write_bytes(orjson.dumps(document))
    failing = run_cli("conformance", "--against", output, "--stream", stream.id)
    assert failing.code == 1, failing.explain()
    assert "$.event_count" in failing.out


@pytest.mark.parametrize(
    "args",
    [("--against", "{missing}"), ("--against", "{golden}", "--stream", "no-such-stream")],
    ids=["missing-file", "unknown-stream"],
)
def test_conformance_usage_errors_exit_2(tmp_path: Path, args: tuple[str, ...]) -> None:
    _, golden = _stream_files(tmp_path, STREAMS[0])
    values = {"{missing}": str(tmp_path / "nope.json"), "{golden}": str(golden)}
    run = run_cli("conformance", *(values.get(a, a) for a in args))
    assert run.code == 2, run.explain()
    assert b"Traceback" not in run.stderr


def _reworded(value: Any) -> Any:
    """``value`` with every anomaly's message in other words (the same facts)."""
    if isinstance(value, dict):
        return {
            key: [{**a, "message": "in other words"} for a in item]
            if key == "anomalies" and isinstance(item, list)
            else _reworded(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_reworded(item) for item in value]
    return value


@pytest.mark.parametrize("stream", [s for s in STREAMS if b'"message"' in s.golden_bytes()])
def test_conformance_against_takes_anomaly_messages_in_any_words_unless_exact(
    tmp_path: Path, stream: Fixture
) -> None:
    # Found by an outside run: a reducer written from the specification, which does
    # not fix the words of a message, could not pass a stream with anomalies.
    document = orjson.loads(stream.golden_bytes())
    reworded = _passing_copy(tmp_path, stream, "reworded", _reworded)
    exact = run_cli("conformance", "--against", reworded, "--messages", "exact")
    assert exact.code == 1, exact.explain()
    assert ".message: golden " in exact.out
    # A message is still required, and must be a string.
    without = _reworded(document)
    for anomaly in _anomalies(without):
        del anomaly["message"]
    missing = tmp_path / "missing.json"
    missing.write_bytes(orjson.dumps(without))
    failing = run_cli("conformance", "--against", missing, "--stream", stream.id)
    assert failing.code == 1, failing.explain()
    assert ".message: missing in your output" in failing.out


def _anomalies(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        found = [a for a in value.get("anomalies") or () if isinstance(a, dict)]
        return found + [
            a for key, item in value.items() if key != "anomalies" for a in _anomalies(item)
        ]
    if isinstance(value, list):
        return [a for item in value for a in _anomalies(item)]
    return []


def test_conformance_against_reads_standard_input(tmp_path: Path) -> None:
    stream = STREAMS[0]
    run = run_cli("conformance", "--against", "-", stdin=stream.golden_bytes())
    assert run.code == 0, run.explain()
    assert run.out.startswith(f"PASS  - matches the golden output of {stream.id}")


def test_conformance_against_names_a_fixture_that_is_not_a_replay_stream(tmp_path: Path) -> None:
    _, golden = _stream_files(tmp_path, STREAMS[0])
    single = next(f for f in load_manifest().fixtures if f.expected_result != "replay")
    run = run_cli("conformance", "--against", golden, "--stream", single.id)
    assert run.code == 2, run.explain()
    assert f"not a replay stream (a fixture of one envelope): {single.id!r}" in run.err


def test_conformance_against_shows_a_long_value_cut_with_an_ellipsis(tmp_path: Path) -> None:
    stream = STREAMS[0]
    _, golden = _stream_files(tmp_path, stream)
    document = orjson.loads(golden.read_bytes())
    document["contract_version"] = "x" * 200
    long = tmp_path / "long.json"
    long.write_bytes(orjson.dumps(document))
    run = run_cli("conformance", "--against", long, "--stream", stream.id)
    assert run.code == 1, run.explain()
    assert run.out.endswith(f'yours "{"x" * 76}...\n')


@pytest.mark.parametrize(
    ("spelled", "shown"),
    [
        # A counter that a consumer's reducer let run past 64 bits: shown exactly.
        (b"18446744073709551616", "18446744073709551616"),
        (b"-" + b"9" * 400, "-" + "9" * 76 + "..."),
        (b"9" * 5000, "9" * 77 + "..."),  # beyond what int() reads from text
        # A lone surrogate: JSON text may escape one; it is shown escaped.
        (b'"\\ud800x"', '"\\ud800x"'),
        (b'{"a": [1, 2.50, true, null, "\\u00e9"]}', '{"a":[1,2.50,true,null,"\u00e9"]}'),
        (b"[" * 60 + b"1" + b"]" * 60, "[" * 60 + "1" + "]" * 16 + "..."),
    ],
    ids=["beyond-64-bits", "400-digits", "5000-digits", "lone-surrogate", "container", "nested-60"],
)
def test_conformance_against_shows_any_json_value_that_differs(
    tmp_path: Path, spelled: bytes, shown: str
) -> None:
    stream = STREAMS[0]
    _, golden = _stream_files(tmp_path, stream)
    text = golden.read_bytes()
    top = b'\n  "event_count": '
    value = orjson.loads(text)["event_count"]
    odd = tmp_path / "odd.json"
    odd.write_bytes(text.replace(top + str(value).encode(), top + spelled, 1))
    run = run_cli("conformance", "--against", odd, "--stream", stream.id)
    assert run.code == 1, run.explain()
    assert run.out.splitlines()[1:] == [f"  $.event_count: golden {value}, yours {shown}"]


@pytest.mark.parametrize("levels", [65, 100_000])
def test_conformance_against_refuses_nesting_no_replay_output_has(
    tmp_path: Path, levels: int
) -> None:
    _, golden = _stream_files(tmp_path, STREAMS[0])
    text = golden.read_bytes()
    top = b'\n  "event_count": '
    deep = tmp_path / "deep.json"
    deep.write_bytes(text.replace(top, top + b"[" * levels + b"]" * levels + b', "x": ', 1))
    run = run_cli("conformance", "--against", deep)
    assert run.code == 2, run.explain()
    assert run.err == (
        f"connector-sync: error: {deep} is not a replay output: "
        "it is nested deeper than 64 levels\n"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
@pytest.mark.parametrize("given", ["file", "-"])
def test_conformance_against_reads_at_most_64_mib(tmp_path: Path, given: str) -> None:
    # Found by an outside tester: --against /dev/zero grew the process until it was killed.
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    if given == "file":
        run = run_cli("conformance", "--against", zero)
    else:
        run = run_cli("conformance", "--against", "-", stdin=b"\0" * (64 * 2**20 + 1))
    name = zero if given == "file" else "-"
    assert run.code == 2, run.explain()
    assert run.err == (
        f"connector-sync: error: cannot read {name}: larger than 67,108,864 bytes, "
        "the most read whole\n"
    )


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_schema_file_is_read_up_to_16_mib(tmp_path: Path) -> None:
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    (candidate / "ConnectorProvisioned.json").write_text(
        orjson.dumps(schemas.load_schema("ConnectorProvisioned")).decode()
    )
    (candidate / "Event.json").symlink_to("/dev/zero")
    run = run_cli("schema", "--compat", "2.7.0", "--candidate", candidate)
    assert run.code == 2, run.explain()
    assert run.err == (
        f"connector-sync: error: not a schema set: {candidate / 'Event.json'}: cannot read it: "
        "larger than 16,777,216 bytes, the most read whole\n"
    )
