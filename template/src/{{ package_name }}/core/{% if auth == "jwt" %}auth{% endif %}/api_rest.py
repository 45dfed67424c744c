"""``POST /v1/auth/token``: the OAuth2 token endpoint (password and refresh_token grants)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request, Response
from pydantic import BaseModel, Field

from ..db import SessionDep
from ..errors import UnauthorizedError, ValidationFailedError
from ..problems import ProblemResponse, error_response
from .dependencies import TOKEN_URL, AuthServiceDep
from .service import TokenPair

__all__ = ["TokenResponse", "router"]

router = APIRouter(tags=["auth"])


class TokenForm(BaseModel):
    """An OAuth2 token request (RFC 6749), form-encoded.

    ``grant_type`` defaults to ``password``, as FastAPI's own password form does, for clients
    that leave it out.
    """

    grant_type: Literal["password", "refresh_token"] = "password"
    username: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, max_length=1024)
    refresh_token: str | None = Field(default=None, max_length=512)
    scope: str = ""


class TokenResponse(BaseModel):
    """An OAuth2 token response."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int
    refresh_token: str


def _response(pair: TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token
    )


@router.post(
    TOKEN_URL,
    summary="Issue tokens",
    responses={
        401: {"description": "Bad credentials or refresh token", "model": None},
        429: {
            "description": "Too many failed sign-ins of the account or from the address: "
            "retry after `Retry-After` seconds",
            "model": None,
        },
    },
    response_model=TokenResponse,
)
async def issue_token(
    request: Request,
    response: Response,
    form: Annotated[TokenForm, Form()],
    auth: AuthServiceDep,
    session: SessionDep,
) -> TokenResponse | ProblemResponse:
    """Sign in with email and password, or exchange a refresh token for new tokens.

    Sign-ins back off after repeated failures of an account or from an address: 429 with
    ``Retry-After``, answered before any password is checked.
    """
    response.headers["Cache-Control"] = "no-store"
    if form.grant_type == "password":
        if not form.username or form.password is None:
            raise ValidationFailedError("The password grant needs username and password")
        pair = await auth.login(
            session=session,
            email=form.username,
            password=form.password,
            # The address the rate limit uses too (the proxy's client, with FORWARDED_ALLOW_IPS).
            client_address=request.client.host if request.client else None,
        )
        return _response(pair)
    if not form.refresh_token:
        raise ValidationFailedError("The refresh_token grant needs refresh_token")
    refreshed = await auth.refresh(session=session, refresh_token=form.refresh_token)
    if refreshed is None:
        # An error answer rolls the request's transaction back: keep the family's revocation.
        await session.commit()
        return error_response(
            UnauthorizedError("The refresh token is not valid"), instance=request.url.path
        )
    return _response(refreshed)
