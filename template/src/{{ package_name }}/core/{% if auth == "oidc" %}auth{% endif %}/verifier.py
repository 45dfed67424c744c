"""Verify access tokens of an OpenID Connect provider: signature by ``kid``, iss, aud, lifetime."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import jwt

from ..errors import UnauthorizedError
from ..settings import CoreSettings
from .discovery import ProviderKeys
from .domain import Principal, scopes_of
from .jwks import JwksCache, PublicKey

__all__ = ["INVALID_TOKEN", "OidcVerifier"]

#: RFC 6750 challenge of a request whose token is refused.
INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]


def _invalid(detail: str) -> UnauthorizedError:
    return UnauthorizedError(detail, headers=INVALID_TOKEN)


class OidcVerifier:
    """Turn a provider's access token into a ``Principal``, or refuse it.

    Only the configured asymmetric algorithms are accepted (never ``none`` or HS*), and a
    key that pins its algorithm (JWK ``alg``) verifies only that one.

    Args:
        keys: The provider's signing keys; ``None`` when no provider is configured, and then
            every token is refused.
        issuer: The ``iss`` every token must carry.
        audience: The ``aud`` every token must include (this service).
        algorithms: Signature algorithms accepted.
        leeway_seconds: Clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
    """

    def __init__(
        self,
        *,
        keys: JwksCache | None,
        issuer: str | None,
        audience: str | None,
        algorithms: Collection[str],
        leeway_seconds: float,
    ) -> None:
        self.keys = keys
        self._issuer = issuer
        self._audience = audience
        self._algorithms = frozenset(algorithms)
        self._leeway = leeway_seconds

    @classmethod
    def from_settings(cls, settings: CoreSettings) -> OidcVerifier:
        """Build the verifier for ``OIDC_ISSUER`` and ``OIDC_AUDIENCE``; fetches nothing yet."""
        keys = None
        if settings.oidc_issuer:
            source = ProviderKeys(
                issuer=settings.oidc_issuer, timeout_seconds=settings.oidc_http_timeout_seconds
            )
            keys = JwksCache(
                source,
                ttl_seconds=settings.oidc_jwks_cache_seconds,
                min_refetch_seconds=settings.oidc_jwks_min_refetch_seconds,
            )
        return cls(
            keys=keys,
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            algorithms=settings.oidc_algorithms,
            leeway_seconds=settings.oidc_leeway_seconds,
        )

    async def warm_up(self) -> bool:
        """Fetch the provider's keys ahead of the first request; return whether it worked.

        A failure is logged, not raised: the keys are fetched again on the first token.
        """
        return await self.keys.refresh() if self.keys is not None else False

    async def authenticate(self, token: str) -> Principal:
        """Return the caller a valid access token names.

        Raises:
            UnauthorizedError: The token is malformed, signed by an unknown key or with an
                algorithm not accepted, for another issuer or audience, or out of its lifetime.
            IdentityProviderUnavailableError: No key is known and the provider is unreachable.
        """
        if self.keys is None:
            raise _invalid("No identity provider is configured (OIDC_ISSUER)")
        kid, algorithm = self._header(token)
        key = await self.keys.key(kid)
        if key is None:
            raise _invalid("The token was signed with an unknown key")
        return self._verify(token, key, algorithm)

    def subject_or_none(self, authorization: str | None) -> str | None:
        """The subject of a valid ``Bearer`` header, verified with cached keys only, or ``None``.

        For middleware that cannot wait on the network (rate limits, idempotency scopes).
        """
        scheme, _, credentials = (authorization or "").partition(" ")
        token = credentials.strip()
        if scheme.lower() != "bearer" or not token or self.keys is None:
            return None
        try:
            kid, algorithm = self._header(token)
            key = self.keys.cached(kid)
            return self._verify(token, key, algorithm).id if key else None
        except UnauthorizedError:
            return None

    def _header(self, token: str) -> tuple[str, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _invalid("The token is not a JWT") from exc
        kid, algorithm = header.get("kid"), header.get("alg")
        if algorithm not in self._algorithms:
            raise _invalid("The token's signature algorithm is not accepted")
        if not isinstance(kid, str) or not kid:
            raise _invalid("The token names no signing key (kid)")
        return kid, str(algorithm)

    def _verify(self, token: str, key: PublicKey, algorithm: str) -> Principal:
        if key.algorithm is not None and key.algorithm != algorithm:
            raise _invalid("The token's algorithm does not match its key")
        try:
            claims: Mapping[str, Any] = jwt.decode(
                token,
                key.key.key,
                algorithms=[algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise _invalid("The token has expired") from exc
        except jwt.PyJWTError as exc:
            raise _invalid("The token is not valid") from exc
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise _invalid("The token's subject is not valid")
        return Principal(id=subject, scopes=scopes_of(claims))
