"""The frozen pydantic models: envelope, payloads and results (FR-002, FR-004, FR-005).

Owns the field types (``fields``), the envelope (``envelope``), one module
per event family (``connector``, ``sync``, ``links``), the event type ->
model table (``payloads``) and the frozen result models (``results``). The
committed JSON Schemas are generated from these models.

May import: ``contract`` and ``errors`` (and the plain-data projection form
of ``reducing.projection`` for the results' JSON). Nothing here runs a
reducer or reads input.
"""
