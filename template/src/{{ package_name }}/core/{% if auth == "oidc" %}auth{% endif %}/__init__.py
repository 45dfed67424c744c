"""Authentication by an external OpenID Connect provider: access tokens verified with its JWKS."""

from __future__ import annotations

from .dependencies import CurrentPrincipal, VerifierDep, get_principal, require_scopes
from .domain import Principal
from .verifier import OidcVerifier

__all__ = [
    "CurrentPrincipal",
    "OidcVerifier",
    "Principal",
    "VerifierDep",
    "get_principal",
    "require_scopes",
]
