"""What the fleet audit finds: per service and for the fleet; the JSON schema's source of truth."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "FileState",
    "FileStatus",
    "FleetAudit",
    "Issue",
    "ServiceAudit",
    "UpdateRisk",
    "VersionInfo",
]

#: Version of `audit.json`'s schema (docs/audit.md). Bump on any incompatible change.
SCHEMA_VERSION = 1


class FileState(enum.StrEnum):
    """How an enforced-tier path of a service compares with the template's render."""

    PRISTINE = "pristine"  # byte for byte the render of the service's release and answers
    EDITED = "edited"  # differs from every render the audit knows
    DELETED = "deleted"  # rendered by the template, absent from the service
    STALE = "stale"  # equals the render of an older release: an update skipped this file
    UNKNOWN = "unknown"  # the template could not be rendered for this service
    EXTRA = "extra"  # in an enforced folder, but the template renders no such file


@dataclass(frozen=True, kw_only=True)
class Issue:
    """One finding about one service.

    `id` is dotted, `<category>.<what>`: categories are `input` (the audit could not read
    something), `version`, `enforced`, `gates` (a gate weakened), `risk` and `policy`.
    `expected` is the template's value and `actual` the service's, where the finding compares.
    """

    id: str
    message: str
    path: str = ""
    expected: str | None = None
    actual: str | None = None

    @property
    def category(self) -> str:
        return self.id.partition(".")[0]

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "message": self.message, "path": self.path}
        if self.expected is not None:
            data["expected"] = self.expected
        if self.actual is not None:
            data["actual"] = self.actual
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Issue:
        return cls(
            id=data["id"],
            message=data["message"],
            path=data.get("path", ""),
            expected=data.get("expected"),
            actual=data.get("actual"),
        )


@dataclass(frozen=True, kw_only=True)
class VersionInfo:
    """Where a service stands among the template's releases."""

    commit: str  # `_commit` as recorded in .copier-answers.yml
    release: str | None  # the release it names (PEP 440), None when it names none
    latest: str  # the newest release of the template
    releases_behind: int | None  # releases newer than `release`; None when unknown
    days_behind: int | None  # days between `release`'s tag and the latest's; None when unknown
    supported: bool  # `release` is marked supported in the latest releases.toml
    known: bool  # `commit` is in the template's history at all

    def as_dict(self) -> dict[str, Any]:
        return {
            "commit": self.commit,
            "release": self.release,
            "latest": self.latest,
            "releases_behind": self.releases_behind,
            "days_behind": self.days_behind,
            "supported": self.supported,
            "known": self.known,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VersionInfo:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


@dataclass(frozen=True, kw_only=True)
class FileStatus:
    """One enforced-tier path that is not pristine (pristine paths are only counted)."""

    path: str
    state: FileState
    diff: str = ""  # unified diff, render → service, for an edited file
    release: str | None = None  # for a stale file: the release whose render it equals

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "state": self.state.value}
        if self.diff:
            data["diff"] = self.diff
        if self.release is not None:
            data["release"] = self.release
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileStatus:
        return cls(
            path=data["path"],
            state=FileState(data["state"]),
            diff=data.get("diff", ""),
            release=data.get("release"),
        )


@dataclass(frozen=True, kw_only=True)
class UpdateRisk:
    """What `copier update` to the latest release would do to a service, predicted."""

    target: str  # the release the prediction is for
    conflicts: tuple[str, ...] = ()  # paths the three-way merge would mark conflicted
    changed: int = 0  # paths the update would write (conflicted ones included)
    migrations: tuple[str, ...] = ()  # renames and removals the update carries out

    @property
    def level(self) -> str:
        """`none` (nothing to do), `low` (clean merge), `high` (conflicts)."""
        if self.conflicts:
            return "high"
        return "low" if self.changed or self.migrations else "none"

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "level": self.level,
            "conflicts": list(self.conflicts),
            "changed": self.changed,
            "migrations": list(self.migrations),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> UpdateRisk:
        return cls(
            target=data["target"],
            conflicts=tuple(data["conflicts"]),
            changed=data["changed"],
            migrations=tuple(data["migrations"]),
        )


@dataclass(frozen=True, kw_only=True)
class ServiceAudit:
    """Everything the audit found about one service repository."""

    name: str  # catalog-info.yaml's metadata.name, else the repository's folder name
    source: str  # the path or URL the audit read
    team: str | None = None  # from the manifest, else the `owner` answer
    version: VersionInfo | None = None  # None when the answers could not be read
    pristine: int = 0  # enforced paths equal to the render
    files: tuple[FileStatus, ...] = ()  # enforced paths that are not pristine
    issues: tuple[Issue, ...] = ()  # every finding, input problems and policy included
    risk: UpdateRisk | None = None
    gate_results: Mapping[str, str] = field(default_factory=dict)  # gate -> last status

    @property
    def violations(self) -> tuple[Issue, ...]:
        """Findings the policy turned into violations (`policy.*`)."""
        return tuple(issue for issue in self.issues if issue.category == "policy")

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "team": self.team,
            "version": self.version.as_dict() if self.version else None,
            "pristine": self.pristine,
            "files": [status.as_dict() for status in self.files],
            "issues": [issue.as_dict() for issue in self.issues],
            "risk": self.risk.as_dict() if self.risk else None,
            "gate_results": dict(self.gate_results),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceAudit:
        return cls(
            name=data["name"],
            source=data["source"],
            team=data.get("team"),
            version=VersionInfo.from_dict(data["version"]) if data.get("version") else None,
            pristine=data.get("pristine", 0),
            files=tuple(FileStatus.from_dict(item) for item in data.get("files", [])),
            issues=tuple(Issue.from_dict(item) for item in data.get("issues", [])),
            risk=UpdateRisk.from_dict(data["risk"]) if data.get("risk") else None,
            gate_results=dict(data.get("gate_results", {})),
        )


@dataclass(frozen=True, kw_only=True)
class FleetAudit:
    """The whole audit: the template it compared with and every service, sorted by name."""

    template: str  # the template's source (path or URL)
    latest: str  # its newest release
    releases: tuple[str, ...]  # every release, oldest first
    generated_at: str  # ISO 8601 UTC
    services: tuple[ServiceAudit, ...]
    shard: str | None = None  # "I/N" when this is one shard's part

    @property
    def violations(self) -> int:
        """Services with at least one policy violation."""
        return sum(1 for service in self.services if service.violations)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "template": self.template,
            "latest": self.latest,
            "releases": list(self.releases),
            "generated_at": self.generated_at,
            "shard": self.shard,
            "services": [service.as_dict() for service in self.services],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FleetAudit:
        return cls(
            template=data["template"],
            latest=data["latest"],
            releases=tuple(data["releases"]),
            generated_at=data["generated_at"],
            shard=data.get("shard"),
            services=tuple(ServiceAudit.from_dict(item) for item in data["services"]),
        )
