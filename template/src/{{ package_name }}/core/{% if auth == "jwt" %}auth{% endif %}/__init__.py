"""Authentication: password hashing, access and refresh tokens, the current user."""

from __future__ import annotations

from .dependencies import AuthServiceDep, CurrentUser, get_current_user
from .domain import Principal
from .service import AuthService

__all__ = ["AuthService", "AuthServiceDep", "CurrentUser", "Principal", "get_current_user"]
