"""The contract's rules as plain data: no pydantic, no I/O, no engine.

Owns the vocabulary (event types, states, outcomes, families), the tables
that decide behaviour by event type (``catalog``: one row per event type;
``lifecycle``: transitions and terminal outcomes; ``rules``: cross-field
rules), the value patterns and input limits every layer checks
(``patterns``, ``limits``), the section 6 JSON form of a projection
(``projection``), and the one contract version (``version``).

May import: only the standard library, and orjson for the canonical JSON
bytes. Every other subpackage reads its rules from here: ``models`` builds
the pydantic models and JSON Schemas from these patterns, ``reducing``
folds by these tables, and the compiled engine's spec is derived from them.
"""
