"""Folding event logs into projections (FR-005, FR-006, FR-007; specification sections 2-6).

Owns the reducer facts (``facts``), the anomalies and their wording
(``anomalies``), the pure steps (``steps``), deduplication and the
partitioned fold (``fold``), and the public entry points: ``replay``, the
``reduce_*`` functions and the incremental ``Projection`` (``api``).

May import: ``contract``; ``api`` also imports ``models`` (it validates
envelopes and builds the frozen results). Everything but ``api`` works
without pydantic, so the compiled engine folds without loading the models.
"""
