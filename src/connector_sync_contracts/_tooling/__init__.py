"""Development tooling: generated files, their drift check, and the synthetic log generator.

Owns the one ``regen`` command for every generated, committed file (the
JSON Schemas, the AsyncAPI document, ``docs/contracts.md``, the compiled
engine's spec and the conformance goldens), the drift helpers it uses, the
schema and docs generators, and the seeded generator behind
``connector-sync generate``.

May import: anything in the package. Nothing at runtime imports this
package except ``connector-sync generate``, ``schema --check/--write`` and
``asyncapi --check``.
"""
