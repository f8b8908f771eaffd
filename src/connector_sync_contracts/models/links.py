"""External reference linking: binds an external object to an internal aggregate (FR-005)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .fields import HttpUrlStr, NonEmptyStr, RecordedAt

__all__ = ["ExternalReferenceLinkedPayload"]


class ExternalReferenceLinkedPayload(BaseModel):
    """Payload of ``ExternalReferenceLinked``.

    The link key is (external_provider, external_ref_type, external_ref_id);
    the first link of a key wins in the link index.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    link_id: NonEmptyStr = Field(description="Identifier of this link.")
    connector_id: NonEmptyStr = Field(description="Connector that observed the reference.")
    external_provider: NonEmptyStr = Field(description="External system, e.g. github or jira.")
    external_ref_type: NonEmptyStr = Field(
        description="Kind of external object, e.g. pull_request or issue."
    )
    external_ref_id: NonEmptyStr = Field(
        description="Identifier of the external object, e.g. 'acme/api#42' or 'PROJ-7'."
    )
    external_ref_url: HttpUrlStr = Field(
        description="Absolute http(s) URL of the external object; no user-info, at most 2048 "
        "characters."
    )
    internal_aggregate_type: NonEmptyStr = Field(
        description="Kind of internal aggregate, e.g. work_package."
    )
    internal_aggregate_id: NonEmptyStr = Field(description="Identifier of the internal aggregate.")
    mission_id: NonEmptyStr = Field(description="Mission the link belongs to.")
    linked_by: NonEmptyStr = Field(description="Who or what created the link.")
    recorded_at: RecordedAt
