"""FastAPI dependencies of the auth module: the auth service and the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from ..authentication import CREDENTIAL_KEY, verified_credential
from ..db import TransactionDep
from ..errors import UnauthorizedError
from .domain import Principal
from .service import AuthService

__all__ = ["TOKEN_URL", "AuthServiceDep", "CurrentUser", "get_auth_service", "get_current_user"]

TOKEN_URL = "/v1/auth/token"  # noqa: S105 - a path, not a secret

_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


async def get_auth_service(request: Request) -> AuthService:
    """Return the application's auth service."""
    service: AuthService = request.app.state.auth
    return service


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


def _subject(request: Request, auth: AuthService, token: str) -> str:
    """The token's subject, as the authentication middleware verified it (once per request)."""
    state = request.scope.get("state") or {}
    if CREDENTIAL_KEY not in state:  # an application built without the middleware
        return auth.tokens.verify(token).subject
    verified = verified_credential(state)
    if verified is None:
        raise UnauthorizedError("Authentication required: send an access token")
    return verified.subject


async def get_current_user(
    request: Request,
    transaction: TransactionDep,
    token: Annotated[str | None, Depends(_bearer)],
) -> Principal:
    """Return the caller identified by the ``Authorization: Bearer`` access token.

    The token was verified by the authentication middleware; the user's row is read at most
    once per ``AUTH_CACHE_SECONDS``; only that read begins the request's transaction.

    Raises:
        UnauthorizedError: No token, or a token that does not verify (401 problem).
    """
    if token is None:
        raise UnauthorizedError("Authentication required: send an access token")
    auth: AuthService = request.app.state.auth  # not a dependency: one fewer to solve per request
    subject = _subject(request, auth, token)
    cached = auth.cached_principal(subject)
    if cached is not None:
        return cached
    return await auth.active_principal(session=await transaction.session(), subject=subject)


#: The signed-in user; declaring it on a route makes the route authenticated.
CurrentUser = Annotated[Principal, Depends(get_current_user)]
