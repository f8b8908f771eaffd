"""Deprecated path of external reference links (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "EXTERNAL_REFERENCE_LINKED": "",
    "ExternalReferenceLinkedPayload": "",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
