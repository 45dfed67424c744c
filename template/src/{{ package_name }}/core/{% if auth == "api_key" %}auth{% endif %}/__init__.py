"""Authentication by API key: hashed keys with scopes, rotation, expiry and revocation."""

from __future__ import annotations

from .dependencies import ApiKeyServiceDep, get_principal, require_scopes
from .domain import Principal
from .service import ApiKeyService

__all__ = ["ApiKeyService", "ApiKeyServiceDep", "Principal", "get_principal", "require_scopes"]
