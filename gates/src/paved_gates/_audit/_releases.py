"""The template's releases: its PEP 440 `v<version>` tags, their dates, and `releases.toml`."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .._errors import ConfigError

__all__ = ["History", "Release", "Resolution"]

#: `git describe` output copier records for a commit after a release: `v0.2.0-3-gabc1234`.
_DESCRIBED = re.compile(r"^(v[^-]+)-\d+-g[0-9a-f]+$")


@dataclass(frozen=True, kw_only=True)
class Release:
    """One release: a `v<version>` tag on a commit."""

    version: Version
    tag: str
    commit: str
    date: dt.date
    supported: bool

    @property
    def name(self) -> str:
        return str(self.version)


@dataclass(frozen=True, kw_only=True)
class Resolution:
    """What a recorded `_commit` names in the template's history."""

    commit: str | None  # the full commit id, None when the history has no such commit
    release: Release | None  # the release the commit is, or is based on (`v0.2.0-3-g...`)


class History:
    """The releases of one template repository, oldest first; the newest is `latest`."""

    def __init__(self, repo: Path, source: str) -> None:
        self.repo = repo
        self.source = source
        self.releases = _read_releases(repo)
        if not self.releases:
            raise ConfigError(
                message=f"the template {source} has no release tags (v<version>) and no "
                "releases.toml whose commits it holds"
            )
        self.latest = self.releases[-1]
        self._by_commit = {release.commit: release for release in self.releases}
        self._by_tag = {release.tag: release for release in self.releases}

    def resolve(self, recorded: str) -> Resolution:
        """The commit and release a service's `_commit` names (tag, describe or commit id)."""
        if recorded in self._by_tag:  # also when the clone has the release but not its tag
            release = self._by_tag[recorded]
            return Resolution(commit=release.commit, release=release)
        commit = _git(self.repo, "rev-parse", "--verify", "--quiet", f"{recorded}^{{commit}}")
        if commit is None:
            return Resolution(commit=None, release=None)
        if commit in self._by_commit:
            return Resolution(commit=commit, release=self._by_commit[commit])
        described = _DESCRIBED.match(recorded)
        base = (
            described[1]
            if described
            else _git(self.repo, "describe", "--tags", "--abbrev=0", "--match=v*", commit)
        )
        return Resolution(commit=commit, release=self._by_tag.get(base or ""))

    def behind(self, release: Release) -> int:
        """Releases newer than `release`."""
        return sum(1 for other in self.releases if other.version > release.version)

    def older(self, release: Release) -> list[Release]:
        """Releases before `release`, newest first."""
        return [other for other in reversed(self.releases) if other.version < release.version]


def _git(repo: Path, *args: str) -> str | None:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _read_releases(repo: Path) -> tuple[Release, ...]:
    """Final releases: the tags, and releases.toml's entries on the default branch.

    releases.toml also gives each its `supported`, and the commit of a release whose tag a
    clone lacks (CI checkouts often carry no tags). A release the file does not list yet (it
    is recorded after its tag) counts as supported when it is the newest.
    """
    found = {version: tag for version, tag in _tagged(repo).items() if not version.is_prerelease}
    records = _records(repo)
    for version, entry in records.items():
        if version not in found and _is_commit(repo, str(entry.get("commit", ""))):
            found[version] = (str(entry["commit"]), _commit_date(repo, str(entry["commit"])))
    newest = max(found, default=None)
    return tuple(
        Release(
            version=version,
            tag=f"v{version}",
            commit=commit,
            date=date,
            supported=bool(records.get(version, {}).get("supported", version == newest)),
        )
        for version, (commit, date) in sorted(found.items())
    )


def _tagged(repo: Path) -> dict[Version, tuple[str, dt.date]]:
    """(commit, commit date) of each `v<version>` tag."""
    listing = _git(
        repo,
        "for-each-ref",
        # An annotated tag fills the `*` (peeled) fields, a lightweight one the others.
        "--format=%(refname:short) %(*objectname) %(objectname)"
        " %(*committerdate:short) %(committerdate:short)",
        "refs/tags/v*",
    )
    if listing is None:
        raise ConfigError(message=f"the template at {repo} is not a git repository")
    tags = {}
    for line in listing.splitlines():
        tag, *ids, day = line.split()
        try:
            version = Version(tag.removeprefix("v"))
        except InvalidVersion:
            continue
        tags[version] = (ids[0], dt.date.fromisoformat(day))
    return tags


def _records(repo: Path) -> dict[Version, dict[str, object]]:
    """releases.toml's entries on the default branch, by version (none without the file)."""
    text = _git(repo, "show", "HEAD:releases.toml")
    if text is None:
        return {}
    try:
        entries = tomllib.loads(text).get("release", [])
        return {Version(entry["version"]): entry for entry in entries}
    except (tomllib.TOMLDecodeError, KeyError, InvalidVersion, TypeError) as exc:
        raise ConfigError(message=f"the template's releases.toml is malformed: {exc}") from None


def _is_commit(repo: Path, commit: str) -> bool:
    return bool(commit) and _git(repo, "cat-file", "-e", f"{commit}^{{commit}}") is not None


def _commit_date(repo: Path, commit: str) -> dt.date:
    day = _git(repo, "show", "-s", "--format=%cs", commit) or ""
    return dt.date.fromisoformat(day)
