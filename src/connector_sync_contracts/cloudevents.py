"""Deprecated path of the CloudEvents mapping (see ``_moved``)."""

from __future__ import annotations

from typing import Final

from ._moved import forward

_HOMES: Final = {
    "ATTRIBUTE_MAP": "interop.cloudevents",
    "CONTENT_TYPE": "interop.cloudevents",
    "SOURCE_PREFIX": "interop.cloudevents",
    "SPEC_VERSION": "interop.cloudevents",
    "TYPE_PREFIX": "interop.cloudevents",
    "CloudEventLike": "interop.cloudevents",
    "build_source": "interop.cloudevents",
    "build_type": "interop.cloudevents",
    "envelope_from_cloudevent_dict": "interop.cloudevents",
    "from_cloudevent": "interop.cloudevents",
    "from_structured_json": "interop.cloudevents",
    "parse_source": "interop.cloudevents",
    "parse_type": "interop.cloudevents",
    "to_cloudevent": "interop.cloudevents",
    "to_cloudevent_dict": "interop.cloudevents",
    "to_structured_json": "interop.cloudevents",
    "CloudEventMappingError": "",
    "CloudEventProblem": "",
    "CloudEventsSDKMissingError": "",
}

__getattr__, __dir__ = forward(__name__, _HOMES)
