"""OpenID Connect discovery: the provider's ``jwks_uri``, then its JWK Set, over HTTP."""

from __future__ import annotations

import httpx2 as httpx

from .jwks import IdentityProviderError, PublicKey, parse_jwks

__all__ = ["WELL_KNOWN_PATH", "ProviderKeys", "discovery_url"]

WELL_KNOWN_PATH = "/.well-known/openid-configuration"


def discovery_url(issuer: str) -> str:
    """Where ``issuer`` publishes its metadata (OpenID Connect Discovery 1.0, section 4)."""
    return issuer.rstrip("/") + WELL_KNOWN_PATH


class ProviderKeys:
    """Fetch the signing keys of ``issuer``: discovery once, then the JWK Set on each call.

    Every request has a timeout and redirects are not followed. The discovery document must
    name the configured issuer exactly (section 4.3), or its keys are not trusted. After a
    failed key fetch, the next call reads the discovery document again: the provider may
    have moved its keys.

    Args:
        issuer: The provider's issuer identifier (``iss`` of its tokens).
        timeout_seconds: Limit of each connection, read and write.
        transport: The HTTP transport; the network by default.
    """

    def __init__(
        self,
        *,
        issuer: str,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.issuer = issuer
        self._timeout = httpx.Timeout(timeout_seconds)
        self._transport = transport
        self._jwks_uri: str | None = None

    async def __call__(self) -> dict[str, PublicKey]:
        """Return the provider's signing keys by ``kid``.

        Raises:
            IdentityProviderError: The provider is unreachable or answered something unusable.
        """
        async with httpx.AsyncClient(
            timeout=self._timeout, follow_redirects=False, transport=self._transport
        ) as client:
            try:
                jwks_uri = self._jwks_uri or await self._discover(client)
                keys = parse_jwks(await _get_json(client, jwks_uri))
            except IdentityProviderError:
                self._jwks_uri = None
                raise
            self._jwks_uri = jwks_uri
            return keys

    async def _discover(self, client: httpx.AsyncClient) -> str:
        metadata = await _get_json(client, discovery_url(self.issuer))
        if not isinstance(metadata, dict) or metadata.get("issuer") != self.issuer:
            raise IdentityProviderError("the discovery document names another issuer")
        jwks_uri = metadata.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri.startswith(("https://", "http://")):
            raise IdentityProviderError("the discovery document has no jwks_uri")
        return jwks_uri


async def _get_json(client: httpx.AsyncClient, url: str) -> object:
    try:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        document: object = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise IdentityProviderError(f"GET {url}: {exc}") from exc
    return document
