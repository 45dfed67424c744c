"""REST transport of the items feature: translate HTTP, call the service, nothing else.

Changes are conditional: ``PUT`` and ``PATCH`` require ``If-Match`` with the current ETag
(428 without it, 412 when it is stale). ``DELETE`` accepts ``If-Match`` but does not require
it, since deleting a stale representation loses no one's edit.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response, status

from ..core.auth import CurrentUser
from ..core.db import SessionDep, after_commit
from ..core.etag import if_match_versions, if_none_match_hit, version_etag
from ..core.pagination import DEFAULT_LIMIT, CursorParam, LimitParam
from ..core.read_cache import ReadCacheDep
from . import service
from .domain import Item, ItemChanges
from .repository import CachedItemRepository, ItemRepository, SqlItemRepository
from .schemas import ItemCreate, ItemPage, ItemPublic, ItemUpdate

__all__ = ["router"]

router = APIRouter(prefix="/items", tags=["items"])


def get_repository(session: SessionDep, cache: ReadCacheDep) -> ItemRepository:
    """Return the items repository bound to the request's transaction, behind the read cache."""
    return CachedItemRepository(
        SqlItemRepository(session), cache=cache, after_commit=partial(after_commit, session)
    )


RepositoryDep = Annotated[ItemRepository, Depends(get_repository)]
IfMatch = Annotated[str | None, Header(description="ETag the change is based on")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Retrying with the same key replays the first response",
    ),
]

_PROBLEMS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid access token"},
    404: {"description": "No such item for the caller"},
    422: {"description": "Invalid request"},
}


def _with_etag(response: Response, item: Item) -> ItemPublic:
    response.headers["ETag"] = version_etag(item.version)
    # Private caches may keep the item but must revalidate it (If-None-Match, then 304).
    response.headers["Cache-Control"] = "private, no-cache"
    return ItemPublic.from_domain(item)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**_PROBLEMS, 409: {"description": "Same Idempotency-Key still in progress"}},
)
async def create_item(
    body: ItemCreate,
    user: CurrentUser,
    repository: RepositoryDep,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,  # handled by the idempotency middleware
) -> ItemPublic:
    """Create an item owned by the caller."""
    item = await service.create_item(
        repository=repository, owner_id=user.id, name=body.name, description=body.description
    )
    response.headers["Location"] = f"{request.url.path.rstrip('/')}/{item.id}"
    return _with_etag(response, item)


@router.get("", responses=_PROBLEMS)
async def list_items(
    user: CurrentUser,
    repository: RepositoryDep,
    limit: LimitParam = DEFAULT_LIMIT,
    cursor: CursorParam = None,
) -> ItemPage:
    """List the caller's items, oldest first, one page at a time."""
    page = await service.list_items(
        repository=repository, owner_id=user.id, limit=limit, cursor=cursor
    )
    return ItemPage(
        items=[ItemPublic.from_domain(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/{item_id}",
    responses={**_PROBLEMS, 304: {"description": "The caller's copy is current"}},
    response_model=ItemPublic,
)
async def get_item(
    item_id: str,
    user: CurrentUser,
    repository: RepositoryDep,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> ItemPublic | Response:
    """Return one of the caller's items; ``If-None-Match`` with its ETag answers 304."""
    item = await service.get_item(repository=repository, owner_id=user.id, item_id=item_id)
    etag = version_etag(item.version)
    if if_none_match_hit(if_none_match, etag):
        return Response(
            status_code=status.HTTP_304_NOT_MODIFIED,
            headers={"ETag": etag, "Cache-Control": "private, no-cache"},
        )
    return _with_etag(response, item)


_CONDITIONAL = {
    **_PROBLEMS,
    412: {"description": "If-Match does not match the current ETag"},
    428: {"description": "If-Match is missing"},
}


@router.put("/{item_id}", responses=_CONDITIONAL)
async def replace_item(
    item_id: str,
    body: ItemCreate,
    user: CurrentUser,
    repository: RepositoryDep,
    response: Response,
    if_match: IfMatch = None,
) -> ItemPublic:
    """Replace the item's fields; requires ``If-Match``."""
    changes = ItemChanges(name=body.name, description=body.description)
    return await _change(item_id, changes, user, repository, response, if_match)


@router.patch("/{item_id}", responses=_CONDITIONAL)
async def update_item(
    item_id: str,
    body: ItemUpdate,
    user: CurrentUser,
    repository: RepositoryDep,
    response: Response,
    if_match: IfMatch = None,
) -> ItemPublic:
    """Change some of the item's fields; requires ``If-Match``."""
    changes = ItemChanges(name=body.name, description=body.description)
    return await _change(item_id, changes, user, repository, response, if_match)


async def _change(
    item_id: str,
    changes: ItemChanges,
    user: CurrentUser,
    repository: RepositoryDep,
    response: Response,
    if_match: str | None,
) -> ItemPublic:
    """Apply ``changes`` if ``If-Match`` names the current version; answer with the new ETag."""
    item = await service.update_item(
        repository=repository,
        owner_id=user.id,
        item_id=item_id,
        changes=changes,
        expected_versions=if_match_versions(if_match),
    )
    return _with_etag(response, item)


@router.delete(
    "/{item_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**_PROBLEMS, 412: {"description": "If-Match does not match the current ETag"}},
)
async def delete_item(
    item_id: str,
    user: CurrentUser,
    repository: RepositoryDep,
    if_match: IfMatch = None,
) -> None:
    """Delete the item; ``If-Match`` is optional and checked when given."""
    await service.delete_item(
        repository=repository,
        owner_id=user.id,
        item_id=item_id,
        expected_versions=if_match_versions(if_match, required=False),
    )
