"""Access tokens: short-lived JWTs signed with HS256, verified against a key set by ``kid``."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jwt

from ..errors import UnauthorizedError
from ..settings import CoreSettings

__all__ = ["ALGORITHM", "AccessClaims", "AccessTokens", "KeySet"]

#: The only algorithm accepted: ``none`` and asymmetric confusion attacks are rejected.
ALGORITHM = "HS256"
_LEEWAY_SECONDS = 5
#: Tokens verified recently, kept so a client's next requests skip the signature check.
_VERIFIED_TOKENS = 1024


def _key_id(token: str) -> str:
    """The ``kid`` of a token's header, which only picks the key ``jwt.decode`` verifies with.

    Read with the standard library: ``jwt.get_unverified_header`` would decode and check the
    whole token once more before ``jwt.decode`` does it again.
    """
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except ValueError as exc:  # bad base64, bad UTF-8 or bad JSON
        raise UnauthorizedError("The token is not valid") from exc
    if not isinstance(header, dict):
        raise UnauthorizedError("The token is not valid")
    return str(header.get("kid"))


@dataclass(frozen=True)
class KeySet:
    """Signing keys by ``kid``: the current one signs, every one verifies.

    To rotate, move the current key into ``JWT_PREVIOUS_SECRETS`` under its ``kid`` and set a
    new ``JWT_SECRET`` and ``JWT_KEY_ID``; drop the old key once its tokens have expired.
    """

    current_kid: str
    keys: Mapping[str, str]

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> KeySet:
        """Build the key set from ``JWT_KEY_ID``, ``JWT_SECRET`` and ``JWT_PREVIOUS_SECRETS``."""
        keys = {
            kid: secret.get_secret_value() for kid, secret in settings.jwt_previous_secrets.items()
        }
        keys[settings.jwt_key_id] = settings.jwt_secret.get_secret_value()
        return cls(current_kid=settings.jwt_key_id, keys=keys)


@dataclass(frozen=True, kw_only=True)
class AccessClaims:
    """The verified claims of an access token."""

    subject: str
    token_id: str
    issued_at: int
    expires_at: int


class AccessTokens:
    """Issue and verify access tokens for one issuer and audience."""

    def __init__(
        self,
        *,
        keys: KeySet,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._keys = keys
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock
        # Only tokens that verified enter, so a caller cannot fill it with forgeries.
        self._verified: dict[str, AccessClaims] = {}

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> AccessTokens:
        """Build the token service from settings."""
        return cls(
            keys=KeySet.from_settings(settings),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            ttl_seconds=settings.access_token_ttl_seconds,
        )

    @property
    def ttl_seconds(self) -> int:
        """Lifetime of a new token, in seconds."""
        return self._ttl

    def issue(self, subject: str) -> str:
        """Return a signed access token for ``subject``."""
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "jti": uuid.uuid4().hex,
        }
        kid = self._keys.current_kid
        return jwt.encode(
            claims, self._keys.keys[kid], algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"}
        )

    def verify(self, token: str) -> AccessClaims:
        """Verify signature, algorithm, issuer, audience and lifetime; return the claims.

        A token that verified is remembered until it expires (the last 1024 tokens): its
        signature cannot change, and decoding it again costs more than the rest of a cached
        read. Whether its user is still active is checked apart, on every request.

        Raises:
            UnauthorizedError: The token is not one this service issued and still accepts.
        """
        known = self._verified.get(token)
        if known is not None and known.expires_at + _LEEWAY_SECONDS > self._clock():
            return known
        claims = self._decode(token)
        self._verified.pop(token, None)
        while len(self._verified) >= _VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return claims

    def _decode(self, token: str) -> AccessClaims:
        try:
            key = self._keys.keys.get(_key_id(token))
            if key is None:
                raise UnauthorizedError("The token was signed with an unknown key")
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=_LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthorizedError("The token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise UnauthorizedError("The token is not valid") from exc
        return AccessClaims(
            subject=claims["sub"],
            token_id=claims["jti"],
            issued_at=claims["iat"],
            expires_at=claims["exp"],
        )

    def subject_or_none(self, authorization: str | None) -> str | None:
        """Return the subject of a valid ``Bearer`` header, or ``None``."""
        if authorization is None:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        try:
            return self.verify(token.strip()).subject
        except UnauthorizedError:
            return None
