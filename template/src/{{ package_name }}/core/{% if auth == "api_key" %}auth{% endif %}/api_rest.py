"""``/v1/api-keys``: create, list, rotate and revoke API keys (scope ``keys:manage``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field

from ..db import SessionDep
from .dependencies import ApiKeyServiceDep, require_scopes
from .domain import MANAGE_SCOPE, ApiKey, Principal
from .service import IssuedKey

__all__ = ["router"]

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])

KeyManager = Annotated[Principal, require_scopes(MANAGE_SCOPE)]
Owner = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,35}$")]
Scope = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,39}(:[a-z][a-z0-9_-]{0,39})?$")]
_TTL = Field(default=None, ge=60, le=366 * 86_400, description="Lifetime; none: until revoked")

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    403: {"description": "The API key lacks the keys:manage scope"},
    422: {"description": "Invalid request"},
}
_KEY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    **_PROBLEMS,
    404: {"description": "No such API key"},
}


class ApiKeyCreate(BaseModel):
    """A request for a new API key."""

    owner: Owner
    name: str = Field(min_length=1, max_length=100)
    scopes: list[Scope] = Field(min_length=1, max_length=20)
    ttl_seconds: int | None = _TTL


class ApiKeyRotate(BaseModel):
    """A request for a key's successor; the old key keeps working for ``grace_seconds``."""

    grace_seconds: int = Field(default=3600, ge=0, le=30 * 86_400)
    ttl_seconds: int | None = _TTL


class ApiKeyPublic(BaseModel):
    """An API key's metadata; never the key itself."""

    id: str
    owner: str
    name: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def from_domain(cls, key: ApiKey) -> ApiKeyPublic:
        """Build the representation of ``key``."""
        return cls(
            id=key.id,
            owner=key.owner,
            name=key.name,
            scopes=list(key.scopes),
            created_at=key.created_at,
            expires_at=key.expires_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyPublic):
    """A new API key: ``key`` is shown this once and cannot be retrieved again."""

    key: str


class ApiKeyList(BaseModel):
    """An owner's API keys."""

    items: list[ApiKeyPublic]


def _created(response: Response, issued: IssuedKey) -> ApiKeyCreated:
    response.headers["Cache-Control"] = "no-store"
    public = ApiKeyPublic.from_domain(issued.metadata)
    return ApiKeyCreated(**public.model_dump(), key=issued.key)


@router.post("", status_code=status.HTTP_201_CREATED, responses=_PROBLEMS)
async def create_api_key(
    body: ApiKeyCreate,
    caller: KeyManager,
    keys: ApiKeyServiceDep,
    session: SessionDep,
    response: Response,
) -> ApiKeyCreated:
    """Create an API key; the response holds the key, shown only this once."""
    issued = await keys.create(
        session=session,
        owner=body.owner,
        name=body.name,
        scopes=body.scopes,
        ttl_seconds=body.ttl_seconds,
    )
    return _created(response, issued)


@router.get("", responses=_PROBLEMS)
async def list_api_keys(
    owner: Annotated[str, Query(max_length=36)],
    caller: KeyManager,
    keys: ApiKeyServiceDep,
    session: SessionDep,
) -> ApiKeyList:
    """List an owner's API keys, active or not, oldest first."""
    found = await keys.list_keys(session=session, owner=owner)
    return ApiKeyList(items=[ApiKeyPublic.from_domain(key) for key in found])


@router.post(
    "/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    responses={**_KEY_PROBLEMS, 409: {"description": "The key is revoked or expired"}},
)
async def rotate_api_key(
    key_id: str,
    body: ApiKeyRotate,
    caller: KeyManager,
    keys: ApiKeyServiceDep,
    session: SessionDep,
    response: Response,
) -> ApiKeyCreated:
    """Issue a successor with the same owner and scopes; the old key expires after the grace."""
    issued = await keys.rotate(
        session=session,
        key_id=key_id,
        grace_seconds=body.grace_seconds,
        ttl_seconds=body.ttl_seconds,
    )
    return _created(response, issued)


@router.delete(
    "/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,  # empty: no body, so no content-type either
    responses=_KEY_PROBLEMS,
)
async def revoke_api_key(
    key_id: str, caller: KeyManager, keys: ApiKeyServiceDep, session: SessionDep
) -> None:
    """Revoke an API key at once."""
    await keys.revoke(session=session, key_id=key_id)
