"""Entity tags for conditional requests: ``If-None-Match`` (304) and ``If-Match`` (412/428).

A resource's entity tag is its version number in quotes, so a client's ``If-Match`` turns
into the versions its change may apply to.
"""

from __future__ import annotations

from typing import Any

from .errors import PreconditionRequiredError

__all__ = [
    "IF_NONE_MATCH_HEADER",
    "IF_NONE_MATCH_PARAMETER",
    "if_match_versions",
    "if_none_match_hit",
    "version_etag",
]

IF_NONE_MATCH_HEADER = "If-None-Match"
#: The header as an OpenAPI parameter, for reads to list (``openapi_extra``) and take from
#: ``request.headers``: declared, FastAPI would parse and validate it on every request.
IF_NONE_MATCH_PARAMETER: dict[str, Any] = {
    "name": IF_NONE_MATCH_HEADER,
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "ETags the caller holds: a match answers 304, without the body",
}


def version_etag(version: int) -> str:
    """Return the strong entity tag of a resource at ``version``."""
    return f'"{version}"'


def _tags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def if_none_match_hit(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches ``etag`` (weak comparison): answer 304 if so."""
    if header is None:
        return False
    tags = _tags(header)
    return "*" in tags or etag.removeprefix("W/") in {t.removeprefix("W/") for t in tags}


def if_match_versions(header: str | None, *, required: bool = True) -> frozenset[int] | None:
    """Return the versions ``If-Match`` accepts, or ``None`` when any version will do.

    Weak tags never match (``If-Match`` uses strong comparison), and tags this service did
    not issue match nothing, so the change fails with 412.

    Raises:
        PreconditionRequiredError: The header is missing and ``required`` (428).
    """
    if header is None:
        if required:
            raise PreconditionRequiredError(
                "Send If-Match with the resource's current ETag to change it"
            )
        return None
    tags = _tags(header)
    if "*" in tags:
        return None
    versions = set()
    for tag in tags:
        inner = tag.removeprefix('"').removesuffix('"')
        if tag.startswith('"') and tag.endswith('"') and inner.isdigit():
            versions.add(int(inner))
    return frozenset(versions)
