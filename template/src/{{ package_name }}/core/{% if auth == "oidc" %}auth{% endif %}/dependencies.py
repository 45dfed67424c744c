"""FastAPI dependencies of OIDC authentication: the verifier and scoped callers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security, params
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, SecurityScopes

from ..authentication import CREDENTIAL_KEY, Verified, verified_credential
from ..errors import ForbiddenError, UnauthorizedError
from .discovery import WELL_KNOWN_PATH
from .domain import Principal
from .verifier import OidcVerifier

__all__ = [
    "CurrentPrincipal",
    "VerifierDep",
    "get_principal",
    "get_verifier",
    "require_scopes",
    "verify_bearer",
]

_bearer = HTTPBearer(
    bearerFormat="JWT",
    auto_error=False,
    description=(
        "An access token of the OpenID Connect provider named by OIDC_ISSUER (its metadata at "
        f"<issuer>{WELL_KNOWN_PATH}), for the audience OIDC_AUDIENCE. Each route names the "
        "scopes it needs (claim scope or scp)."
    ),
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


async def get_principal(
    request: Request,
    security_scopes: SecurityScopes,
    verifier: VerifierDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Return the caller named by the ``Authorization: Bearer`` token, if it holds the scopes.

    Raises:
        UnauthorizedError: No token, or a token that does not verify (401).
        ForbiddenError: A valid token without a scope the route requires (403).
    """
    if credentials is None:
        raise UnauthorizedError("Authentication required: send an access token")
    principal = await _authenticate(request, verifier, credentials.credentials)
    missing = principal.missing(security_scopes.scopes)
    if missing:
        needed = " ".join(missing)
        raise ForbiddenError(
            f"The access token lacks the scope {needed}",
            headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{needed}"'},
        )
    return principal


def require_scopes(*scopes: str) -> params.Security:
    """A dependency that authenticates the caller and requires ``scopes``.

    Use it in an alias: ``ItemReader = Annotated[Principal, require_scopes("items:read")]``.
    The scopes appear in the route's OpenAPI security requirement.
    """
    dependency: params.Security = Security(get_principal, scopes=list(scopes))
    return dependency


#: Any authenticated caller, whatever its scopes.
CurrentPrincipal = Annotated[Principal, Depends(get_principal)]
