"""Which service repositories an audit reads: paths, a manifest, a folder to discover, a shard."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .._errors import ConfigError

__all__ = ["ServiceSource", "discover", "from_manifest", "from_paths", "local_path", "shard"]

#: `scheme://...`, `user@host:path` and copier's `gh:`/`gl:` shorthands name remote repositories.
_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[\w.-]+@[\w.-]+:|gh:|gl:)", re.IGNORECASE)
_SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
#: Folders a discovery never descends into.
_SKIPPED = {".venv", "node_modules", "__pycache__", ".tox", ".mypy_cache", ".ruff_cache"}


@dataclass(frozen=True, kw_only=True)
class ServiceSource:
    """One service repository to audit: a local path or a git URL, and its team if known."""

    location: str
    team: str | None = None

    @property
    def is_remote(self) -> bool:
        return bool(_URL.match(self.location))

    @property
    def shard_key(self) -> bytes:
        """What decides the shard: the location as given, so every runner agrees."""
        return self.location.rstrip("/").removesuffix(".git").encode()


def from_paths(paths: Iterable[str]) -> list[ServiceSource]:
    """Sources named on the command line."""
    return [_source(path, team=None, base=Path()) for path in paths]


def from_manifest(path: Path) -> list[ServiceSource]:
    """The services of a manifest file (docs/audit.md).

    A YAML list (or a mapping with a `services` list) whose items are a location string or a
    mapping with `repo` and an optional `team`. Relative paths are relative to the manifest.

    Raises:
        ConfigError: the manifest is missing, not YAML, or not of that shape.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(message=f"manifest {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(message=f"manifest {path} is not valid YAML: {exc}") from None
    entries = data.get("services") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise ConfigError(message=f"manifest {path}: expected a list of services")
    return [_manifest_entry(entry, index, path) for index, entry in enumerate(entries, 1)]


def _manifest_entry(entry: object, index: int, manifest: Path) -> ServiceSource:
    if isinstance(entry, str):
        entry = {"repo": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("repo"), str):
        raise ConfigError(message=f"manifest {manifest}: service {index} needs `repo` (a string)")
    team = entry.get("team")
    if team is not None and not isinstance(team, str):
        raise ConfigError(message=f"manifest {manifest}: service {index}: `team` is not a string")
    unknown = set(entry) - {"repo", "team"}
    if unknown:
        raise ConfigError(
            message=f"manifest {manifest}: service {index}: unknown keys {sorted(unknown)}"
        )
    return _source(entry["repo"], team=team, base=manifest.parent)


def _source(location: str, *, team: str | None, base: Path) -> ServiceSource:
    if _URL.match(location):
        return ServiceSource(location=location, team=team)
    return ServiceSource(location=os.path.normpath(base / location), team=team)


def discover(root: Path) -> list[ServiceSource]:
    """Every git repository under `root` whose `HEAD` holds a `.copier-answers.yml`.

    A repository's own folders are not searched further (no nested services).

    Raises:
        ConfigError: `root` is not a folder.
    """
    if not root.is_dir():
        raise ConfigError(message=f"--discover {root}: not a folder")
    found = []
    for folder, subfolders, _ in os.walk(root):
        here = Path(folder)
        if _is_repository(here):
            subfolders.clear()
            if _has_answers(here):
                found.append(ServiceSource(location=str(here)))
            continue
        subfolders[:] = sorted(name for name in subfolders if name not in _SKIPPED)
    return sorted(found, key=lambda source: source.location)


def _is_repository(folder: Path) -> bool:
    bare = (folder / "HEAD").is_file() and (folder / "objects").is_dir()
    return (folder / ".git").exists() or bare


def _has_answers(folder: Path) -> bool:
    probe = subprocess.run(
        ["git", "-C", str(folder), "cat-file", "-e", "HEAD:.copier-answers.yml"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


def shard(sources: Sequence[ServiceSource], index: int, count: int) -> list[ServiceSource]:
    """The sources of shard `index` of `count` (1-based): a stable hash of each location."""
    return [
        source
        for source in sources
        if int.from_bytes(hashlib.sha256(source.shard_key).digest()[:8]) % count == index - 1
    ]


def local_path(source: ServiceSource, cache: Path) -> Path:
    """A local repository for `source`: its path, or a shallow bare clone of a URL in `cache`.

    Raises:
        OSError: the clone failed (the audit reports it for that service).
    """
    if not source.is_remote:
        return Path(source.location)
    url = source.location
    for shorthand, prefix in _SHORTHANDS.items():
        if url.startswith(shorthand):
            url = prefix + url.removeprefix(shorthand)
    clone = cache / f"{hashlib.sha256(url.encode()).hexdigest()[:16]}.git"
    if not clone.exists():
        proc = subprocess.run(
            ["git", "clone", "--quiet", "--bare", "--depth=1", url, str(clone)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            message = proc.stderr.strip().splitlines()[-1:] or ["git clone failed"]
            raise OSError(f"cannot clone {source.location}: {message[0]}")
    return clone
