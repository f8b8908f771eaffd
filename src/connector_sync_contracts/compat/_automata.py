"""Whether one regular expression matches every string another does, by finite automata.

Imported by ``compat`` and run by it as a script of its own, in a child
process it stops after a time (``python _automata.py``, the two patterns as
a JSON pair on standard input, the answer on standard output): the automata
of two short patterns can grow exponentially (``(a|b)*a(a|b){14}``) or by
the product of their counted repeats. Run so, it imports nothing of this
package. (No memory limit is set: an address-space limit would stop
interpreters that reserve much address space, such as one run under
AddressSanitizer; in the time allowed such a comparison grows to about 1 GB.)
"""

from __future__ import annotations

import json
import sys
from typing import Literal

__all__ = ["Relation", "answer", "emptiness", "relation"]

Relation = Literal["wider", "same", "unproven"]
"""``new`` matches every string ``old`` does and more, exactly those, or not proven."""


def relation(old: str, new: str) -> Relation:
    """How ``new`` relates to ``old`` (both unanchored): ``L(old) - L(new)`` must be
    empty for ``wider`` or ``same``; a pattern ``interegular`` cannot read is unproven."""
    import interegular

    try:
        narrow = interegular.parse_pattern(old).to_fsm()
        wide = interegular.parse_pattern(new).to_fsm()
        if not narrow.difference(wide).empty():  # type: ignore[no-untyped-call]
            return "unproven"
        return "same" if wide.difference(narrow).empty() else "wider"  # type: ignore[no-untyped-call]
    except Exception:
        return "unproven"


def emptiness(pattern: str) -> Literal["empty", "some", "unproven"]:
    """Whether ``pattern`` (unanchored) matches no string at all."""
    import interegular

    try:
        empty = interegular.parse_pattern(pattern).to_fsm().empty()  # type: ignore[no-untyped-call]
    except Exception:
        return "unproven"
    return "empty" if empty else "some"


def answer(patterns: list[str]) -> str:
    """``emptiness`` of one pattern, ``relation`` of two (the child's answer)."""
    return emptiness(patterns[0]) if len(patterns) == 1 else relation(patterns[0], patterns[1])


def _main() -> None:
    print(answer(json.load(sys.stdin)))


if __name__ == "__main__":
    _main()
