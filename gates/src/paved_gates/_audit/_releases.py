"""The template's releases: its PEP 440 `v<version>` tags, their dates, and `releases.toml`."""

from __future__ import annotations

import datetime as dt
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from .._errors import ConfigError

__all__ = ["History", "Release", "Resolution"]


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
                message=f"the template {source} has no release tags (v<version>); "
                "give a clone its tags from releases.toml first (docs/release.md)"
            )
        self.latest = self.releases[-1]
        self._by_commit = {release.commit: release for release in self.releases}

    def resolve(self, recorded: str) -> Resolution:
        """The commit and release a service's `_commit` names (tag, describe or commit id)."""
        commit = _git(self.repo, "rev-parse", "--verify", "--quiet", f"{recorded}^{{commit}}")
        if commit is None:
            return Resolution(commit=None, release=None)
        if commit in self._by_commit:
            return Resolution(commit=commit, release=self._by_commit[commit])
        described = _git(self.repo, "describe", "--tags", "--abbrev=0", "--match=v*", commit)
        base = next((r for r in self.releases if r.tag == described), None)
        return Resolution(commit=commit, release=base)

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
    """Final releases from the tags; `supported` from releases.toml on the default branch."""
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
    tags = []
    for line in listing.splitlines():
        tag, *ids, day = line.split()
        try:
            version = Version(tag.removeprefix("v"))
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            tags.append((version, tag, ids[0], dt.date.fromisoformat(day)))
    tags.sort()
    supported = _supported(repo, "HEAD")
    return tuple(
        Release(
            version=version,
            tag=tag,
            commit=commit,
            date=day,
            supported=supported.get(version, version == tags[-1][0]),
        )
        for version, tag, commit, day in tags
    )


def _supported(repo: Path, ref: str) -> dict[Version, bool]:
    """`supported` of each release in releases.toml at `ref`.

    A release the file does not list yet (it is recorded after its tag) counts as supported
    when it is the newest.
    """
    text = _git(repo, "show", f"{ref}:releases.toml")
    if text is None:
        return {}
    entries = tomllib.loads(text).get("release", [])
    return {Version(entry["version"]): bool(entry.get("supported")) for entry in entries}
