"""FastAPI dependencies of OIDC authentication: the verifier and scoped callers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security, params
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase
from fastapi.security.utils import get_authorization_scheme_param

from ..authentication import CREDENTIAL_KEY, Verified, verified_credential
from ..errors import ForbiddenError, UnauthorizedError
from .discovery import WELL_KNOWN_PATH
from .domain import Principal
from .verifier import OidcVerifier

__all__ = [
    "BearerCaller",
    "CurrentPrincipal",
    "VerifierDep",
    "get_principal",
    "get_verifier",
    "require_scopes",
    "verify_bearer",
]

#: What the OpenAPI document says of the token, under the scheme ``HTTPBearer``.
_BEARER_DESCRIPTION = (
    "An access token of the OpenID Connect provider named by OIDC_ISSUER (its metadata at "
    f"<issuer>{WELL_KNOWN_PATH}), for the audience OIDC_AUDIENCE. Each route names the "
    "scopes it needs (claim scope or scp)."
)


async def get_verifier(request: Request) -> OidcVerifier:
    """Return the application's token verifier."""
    verifier: OidcVerifier = request.app.state.auth
    return verifier


VerifierDep = Annotated[OidcVerifier, Depends(get_verifier)]


async def verify_bearer(verifier: OidcVerifier, token: str) -> Verified:
    """Verify an access token: what the authentication middleware keeps for the request.

    Raises:
        UnauthorizedError: The token does not verify.
        IdentityProviderUnavailableError: No key is known and the provider is unreachable.
    """
    principal = await verifier.authenticate(token)
    return Verified(subject=principal.id, credential=principal)


async def _authenticate(request: Request, verifier: OidcVerifier, token: str) -> Principal:
    """The caller, as the authentication middleware verified it (once per request)."""
    state = request.scope.get("state") or {}
    if CREDENTIAL_KEY not in state:  # an application built without the middleware
        return await verifier.authenticate(token)
    verified = verified_credential(state)
    if verified is None:
        raise UnauthorizedError("Authentication required: send an access token")
    principal: Principal = verified.credential
    return principal


class BearerCaller(SecurityBase):
    """The HTTP bearer scheme that resolves to the caller, holding the route's scopes.

    One dependency where the scheme, the verifier and the caller would be three: FastAPI
    solves each dependency of a route on every request, at 2-3 % of what a read executes
    each (see the ADR). The OpenAPI document still names the scheme ``HTTPBearer``, with the
    token's format and description, as FastAPI's own class would.
    """

    def __init__(self) -> None:
        self.model = HTTPBearerModel(bearerFormat="JWT", description=_BEARER_DESCRIPTION)
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> Principal:
        """Return the caller named by the ``Authorization: Bearer`` token, if it holds the scopes.

        Raises:
            UnauthorizedError: No token, or a token that does not verify (401).
            ForbiddenError: A valid token without a scope the route requires (403).
        """
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not token or scheme.lower() != "bearer":
            raise UnauthorizedError("Authentication required: send an access token")
        principal = await _authenticate(request, request.app.state.auth, token)
        missing = principal.missing(security_scopes.scopes)
        if missing:
            needed = " ".join(missing)
            challenge = f'Bearer error="insufficient_scope", scope="{needed}"'
            raise ForbiddenError(
                f"The access token lacks the scope {needed}",
                headers={"WWW-Authenticate": challenge},
            )
        return principal


#: The dependency behind ``CurrentPrincipal`` and ``require_scopes``, for ``Depends`` and
#: ``dependency_overrides``.
get_principal = BearerCaller()


def require_scopes(*scopes: str) -> params.Security:
    """A dependency that authenticates the caller and requires ``scopes``.

    Use it in an alias: ``ItemReader = Annotated[Principal, require_scopes("items:read")]``.
    The scopes appear in the route's OpenAPI security requirement.
    """
    dependency: params.Security = Security(get_principal, scopes=list(scopes))
    return dependency


#: Any authenticated caller, whatever its scopes.
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
