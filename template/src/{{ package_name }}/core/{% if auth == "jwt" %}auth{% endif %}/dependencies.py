"""FastAPI dependencies of the auth module: the auth service and the current user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.openapi.models import OAuth2, OAuthFlowPassword, OAuthFlows
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param

from ..authentication import CREDENTIAL_KEY, verified_credential
from ..db import request_transaction
from ..errors import UnauthorizedError
from .domain import Principal
from .service import AuthService

__all__ = [
    "TOKEN_URL",
    "AuthServiceDep",
    "CurrentUser",
    "SignedInUser",
    "get_auth_service",
    "get_current_user",
]

TOKEN_URL = "/v1/auth/token"  # noqa: S105 - a path, not a secret


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


class SignedInUser(SecurityBase):
    """The OAuth2 password-bearer scheme that resolves to the caller: ``CurrentUser``.

    One dependency where the scheme, the request's transaction and the user would be three:
    FastAPI solves each dependency of a route on every request, and the two more cost a
    cached read about 6 % of what it executes (see the ADR). The OpenAPI document still
    names the scheme ``OAuth2PasswordBearer``, with the token URL, as FastAPI's own class
    would.
    """

    def __init__(self) -> None:
        self.model = OAuth2(flows=OAuthFlows(password=OAuthFlowPassword(tokenUrl=TOKEN_URL)))
        self.scheme_name = "OAuth2PasswordBearer"

    async def __call__(self, request: Request) -> Principal:
        """Return the caller identified by the ``Authorization: Bearer`` access token.

        The token was verified by the authentication middleware; the user's row is read at
        most once per ``AUTH_CACHE_SECONDS``, and only that read begins the request's
        transaction.

        Raises:
            UnauthorizedError: No token, or a token that does not verify (401 problem).
        """
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not token or scheme.lower() != "bearer":
            raise UnauthorizedError("Authentication required: send an access token")
        auth: AuthService = request.app.state.auth
        subject = _subject(request, auth, token)
        cached = auth.cached_principal(subject)
        if cached is not None:
            return cached
        session = await request_transaction(request).session()
        return await auth.active_principal(session=session, subject=subject)


#: The dependency behind ``CurrentUser``, for ``Depends`` and ``dependency_overrides``.
get_current_user = SignedInUser()

#: The signed-in user; declaring it on a route makes the route authenticated.
CurrentUser = Annotated[Principal, Depends(get_current_user)]
