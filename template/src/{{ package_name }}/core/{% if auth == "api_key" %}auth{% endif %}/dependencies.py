"""FastAPI dependencies of API key authentication: the key service and scoped callers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security, params
from fastapi.security import APIKeyHeader, SecurityScopes

from ..db import SessionDep
from ..errors import ForbiddenError, UnauthorizedError
from .domain import Principal
from .service import ApiKeyService

__all__ = [
    "API_KEY_HEADER",
    "ApiKeyServiceDep",
    "get_key_service",
    "get_principal",
    "require_scopes",
]

API_KEY_HEADER = "X-API-Key"
#: No registered scheme exists for API keys: the challenge names the header to send.
_CHALLENGE = {"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'}

_api_key = APIKeyHeader(
    name=API_KEY_HEADER,
    auto_error=False,
    description="An API key (sk_<id>_<secret>); each route names the scopes it needs.",
)


async def get_key_service(request: Request) -> ApiKeyService:
    """Return the application's API key service."""
    service: ApiKeyService = request.app.state.auth
    return service


ApiKeyServiceDep = Annotated[ApiKeyService, Depends(get_key_service)]


async def get_principal(
    security_scopes: SecurityScopes,
    keys: ApiKeyServiceDep,
    session: SessionDep,
    key: Annotated[str | None, Depends(_api_key)],
) -> Principal:
    """Return the owner of the ``X-API-Key`` key, if the key holds the route's scopes.

    Raises:
        UnauthorizedError: No key, or a key that is unknown, expired or revoked (401).
        ForbiddenError: A valid key without a scope the route requires (403).
    """
    if key is None:
        raise UnauthorizedError(
            f"Authentication required: send an API key in {API_KEY_HEADER}", headers=_CHALLENGE
        )
    principal = await keys.authenticate(session=session, key=key)
    if principal is None:
        raise UnauthorizedError("The API key is not valid", headers=_CHALLENGE)
    missing = principal.missing(security_scopes.scopes)
    if missing:
        raise ForbiddenError(f"The API key lacks the scope {' '.join(missing)}")
    return principal


def require_scopes(*scopes: str) -> params.Security:
    """A dependency that authenticates the caller and requires ``scopes``.

    Use it in an alias: ``ItemReader = Annotated[Principal, require_scopes("items:read")]``.
    The scopes appear in the route's OpenAPI security requirement.
    """
    dependency: params.Security = Security(get_principal, scopes=list(scopes))
    return dependency
