"""Sign-in, token refresh with rotation, and the first administrator."""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession

from ..authentication import Verified
from ..db import Database, utcnow
from ..errors import UnauthorizedError
from ..settings import CoreSettings
from ..single_flight import SingleFlight
from .domain import Principal
from .models import RefreshTokenRecord, UserRecord
from .passwords import PasswordHasher
from .repository import RefreshTokenRepository, UserRepository
from .throttle import AttemptStore, LoginThrottle
from .tokens import AccessTokens

__all__ = ["AuthService", "TokenPair"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TokenPair:
    """What a successful sign-in or refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int


def _hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _principal(user: UserRecord) -> Principal:
    return Principal(id=user.id, email=user.email, is_admin=user.is_admin)


class AuthService:
    """Authentication use cases, in the caller's transaction (``login`` commits it early).

    The active user behind a token is read from the database at most once per
    ``cache_seconds`` in each process (``AUTH_CACHE_SECONDS``): a deactivated or deleted user
    keeps access for at most that long, in exchange for no query on most requests. When the
    cached row expires, concurrent requests of that user share one read of it.

    Sign-ins go through ``throttle`` (in process, per-account and per-address defaults when
    none is given) before any password is hashed.
    """

    def __init__(  # noqa: PLR0913 - keyword-only collaborators and bounds
        self,
        *,
        hasher: PasswordHasher,
        tokens: AccessTokens,
        refresh_ttl_seconds: int,
        cache_seconds: float = 0.0,
        max_cached: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        throttle: LoginThrottle | None = None,
    ) -> None:
        self.hasher = hasher
        self.tokens = tokens
        self.throttle = throttle or LoginThrottle()
        self._refresh_ttl = timedelta(seconds=refresh_ttl_seconds)
        self._cache_seconds = cache_seconds
        self._max_cached = max_cached
        self._clock = clock
        self._principals: dict[str, tuple[float, Principal]] = {}
        self._reads: SingleFlight[Principal] = SingleFlight()

    @classmethod
    def from_settings(
        cls, settings: CoreSettings, *, attempts: AttemptStore | None = None
    ) -> AuthService:
        """Build the service from settings; sign-in attempts are counted in ``attempts``."""
        return cls(
            hasher=PasswordHasher(
                concurrency=settings.password_hash_concurrency,
                queue=settings.password_hash_queue,
            ),
            tokens=AccessTokens.from_settings(settings),
            refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
            cache_seconds=settings.auth_cache_seconds,
            throttle=LoginThrottle.from_settings(settings, store=attempts),
        )

    async def login(
        self,
        *,
        session: AsyncSession,
        email: str,
        password: str,
        client_address: str | None = None,
    ) -> TokenPair:
        """Check the password and return new tokens; upgrade an outdated hash on the way.

        The attempt is throttled per account and per ``client_address`` before any hashing.
        The user is read in ``session``'s transaction, which is committed before the password
        is checked, so that no pooled connection waits on the hash: call it with a session
        of its own.

        Raises:
            TooManyRequestsError: Too many failures of the account or the address (429).
            HashingOverloadedError: Too many sign-ins already hashing or queued (503); the
                attempt is not counted.
            UnauthorizedError: Unknown email, wrong password or inactive user (one message).
        """
        attempt = await self.throttle.admit(email=email, address=client_address)
        try:
            async with self.hasher.turn():
                pair = await self._login(session=session, email=email, password=password)
        except UnauthorizedError:
            raise  # a failure: the attempt stays counted
        except Exception:
            await self.throttle.abandoned(attempt)
            raise
        await self.throttle.succeeded(attempt)
        return pair

    async def _login(self, *, session: AsyncSession, email: str, password: str) -> TokenPair:
        user = await UserRepository(session).get_by_email(email)
        # Checking a password takes a fifth of a second: end the read first. The writes
        # below (a rehash, the refresh token) begin a transaction of their own.
        await session.commit()
        if user is None:
            await self.hasher.verify_nobody_in_thread(password)
            raise UnauthorizedError("Incorrect email or password")
        verified = await self.hasher.verify_in_thread(user.password_hash, password)
        if not verified or not user.is_active:
            raise UnauthorizedError("Incorrect email or password")
        if self.hasher.needs_rehash(user.password_hash):
            user.password_hash = await self.hasher.hash_in_thread(password)
            logger.info("password hash upgraded", extra={"user_id": user.id})
        return await self._issue(session=session, user_id=user.id, family_id=str(uuid.uuid4()))

    async def refresh(self, *, session: AsyncSession, refresh_token: str) -> TokenPair | None:
        """Exchange a refresh token for new tokens; the old one stops working.

        Presenting a refresh token twice revokes its whole family, since one of the two
        callers has a stolen copy: then this returns ``None`` and the caller must commit the
        revocation and refuse the request.

        Raises:
            UnauthorizedError: Unknown, expired, revoked or replayed token.
        """
        tokens = RefreshTokenRepository(session)
        record = await tokens.get_by_hash(_hash_refresh_token(refresh_token))
        now = utcnow()
        if record is None or record.revoked_at is not None or record.expires_at <= now:
            raise UnauthorizedError("The refresh token is not valid")
        if not await tokens.mark_used(record.id, at=now):
            await tokens.revoke_family(record.family_id, at=now)
            logger.warning(
                "refresh token replayed; family revoked", extra={"user_id": record.user_id}
            )
            return None
        user = await UserRepository(session).get(record.user_id)
        if user is None or not user.is_active:
            raise UnauthorizedError("The refresh token is not valid")
        return await self._issue(session=session, user_id=user.id, family_id=record.family_id)

    async def principal(self, *, session: AsyncSession, access_token: str) -> Principal:
        """Return the active user an access token belongs to.

        Raises:
            UnauthorizedError: Invalid token, or the user no longer exists or is inactive.
        """
        claims = self.tokens.verify(access_token)
        return await self.active_principal(session=session, subject=claims.subject)

    async def verify(self, access_token: str) -> Verified:
        """Verify an access token (no database): what the authentication middleware keeps.

        Raises:
            UnauthorizedError: The token is not one this service issued and still accepts.
        """
        claims = self.tokens.verify(access_token)
        return Verified(subject=claims.subject, credential=claims)

    async def authenticate(self, *, database: Database, access_token: str) -> Principal:
        """Return the active user an access token belongs to, for a call with no transaction.

        GraphQL and gRPC calls have no request transaction: one begins only to read the
        user's row, at most once per ``cache_seconds``.

        Raises:
            UnauthorizedError: Invalid token, or the user no longer exists or is inactive.
        """
        subject = self.tokens.verify(access_token).subject
        cached = self.cached_principal(subject)
        if cached is not None:
            return cached
        async with database.transaction() as session:
            return await self.active_principal(session=session, subject=subject)

    def cached_principal(self, subject: str) -> Principal | None:
        """The active user ``subject`` as last read, while that read is fresh; else ``None``."""
        cached = self._principals.get(subject)
        return cached[1] if cached is not None and cached[0] > self._clock() else None

    async def active_principal(self, *, session: AsyncSession, subject: str) -> Principal:
        """Return the active user ``subject``, from the cache while it is fresh.

        Raises:
            UnauthorizedError: The user no longer exists or is inactive.
        """
        cached = self.cached_principal(subject)
        if cached is not None:
            return cached
        read = partial(self._read_principal, session=session, subject=subject)
        if self._cache_seconds == 0:  # every request reads the row, none shares another's read
            return await read()
        return await self._reads.share(subject, read)

    async def _read_principal(self, *, session: AsyncSession, subject: str) -> Principal:
        """Read the user's row; cache it while ``cache_seconds`` says so."""
        now = self._clock()
        user = await UserRepository(session).get(subject)
        if user is None or not user.is_active:
            self._principals.pop(subject, None)
            raise UnauthorizedError("The token's user is not active")
        principal = _principal(user)
        if self._cache_seconds > 0:
            self._principals.pop(subject, None)
            while len(self._principals) >= self._max_cached:
                del self._principals[next(iter(self._principals))]
            self._principals[subject] = (now + self._cache_seconds, principal)
        return principal

    async def create_user(
        self, *, session: AsyncSession, email: str, password: str, is_admin: bool = False
    ) -> Principal:
        """Create a user with a hashed password."""
        user = UserRecord(
            id=str(uuid.uuid4()),
            email=email,
            password_hash=await self.hasher.hash_in_thread(password),
            is_active=True,
            is_admin=is_admin,
        )
        return _principal(await UserRepository(session).add(user))

    async def ensure_admin(self, *, session: AsyncSession, email: str, password: str) -> bool:
        """Create the administrator ``email`` unless it exists; return whether it was created."""
        if await UserRepository(session).get_by_email(email) is not None:
            return False
        await self.create_user(session=session, email=email, password=password, is_admin=True)
        logger.info("administrator created")
        return True

    async def _issue(self, *, session: AsyncSession, user_id: str, family_id: str) -> TokenPair:
        refresh_token = secrets.token_urlsafe(32)
        await RefreshTokenRepository(session).add(
            RefreshTokenRecord(
                id=str(uuid.uuid4()),
                user_id=user_id,
                token_hash=_hash_refresh_token(refresh_token),
                family_id=family_id,
                expires_at=utcnow() + self._refresh_ttl,
            )
        )
        return TokenPair(
            access_token=self.tokens.issue(user_id),
            refresh_token=refresh_token,
            expires_in=self.tokens.ttl_seconds,
        )
