"""Template releases for the update tests: `releases.toml`, and template repositories built from it.

A test template repository holds, in order, one commit per supported release (the tree of
its recorded commit in this repository's history, tagged `v<version>`), then this working
tree (HEAD plus uncommitted changes) tagged as the next release. It never depends on the
tags of this clone: CI clones may not carry them, so `releases.toml` is the record.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from tests._template import ROOT

RELEASES_FILE = ROOT / "releases.toml"


class MissingReleaseError(LookupError):
    """A release recorded in releases.toml whose commit this clone does not have."""


@dataclass(frozen=True)
class Release:
    """One entry of releases.toml."""

    version: Version
    commit: str
    supported: bool

    @property
    def tag(self) -> str:
        return f"v{self.version}"


def releases(path: Path = RELEASES_FILE) -> list[Release]:
    """Every recorded release, oldest first."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("release", [])
    found = [
        Release(
            version=Version(entry["version"]),
            commit=str(entry["commit"]),
            supported=bool(entry["supported"]),
        )
        for entry in entries
    ]
    return sorted(found, key=lambda release: release.version)


def supported() -> list[Release]:
    """The releases `copier update` must work from, oldest first."""
    return [release for release in releases() if release.supported]


def gates_version() -> Version:
    """The version of `paved-gates` in this working tree: the template's own version."""
    pyproject = tomllib.loads((ROOT / "gates" / "pyproject.toml").read_text(encoding="utf-8"))
    return Version(pyproject["project"]["version"])


def next_version(after: Sequence[Release] | None = None) -> Version:
    """The version the working tree would be released as.

    That is the gates' version when it is already ahead of the newest release (a release in
    preparation), else a patch bump of the newest release.
    """
    known = releases() if after is None else list(after)
    if not known:
        return gates_version()
    newest = known[-1].version
    if gates_version() > newest:
        return gates_version()
    return Version(f"{newest.major}.{newest.minor}.{newest.micro + 1}")


def _git(args: Sequence[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=True)


def check_commit(release: Release) -> None:
    """Fail with what to do when this clone lacks a recorded release commit."""
    probe = subprocess.run(
        ["git", "cat-file", "-e", f"{release.commit}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        raise MissingReleaseError(
            f"release {release.version} is recorded at commit {release.commit} "
            f"(releases.toml), which this clone does not have: fetch the full history "
            f"(`git fetch --unshallow` or checkout with fetch-depth: 0), or fix the entry"
        )


def _clear(work_tree: Path) -> None:
    for child in work_tree.iterdir():
        if child.name == ".git":
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


def _export_commit(commit: str, work_tree: Path) -> None:
    archive = _git(["archive", "--format=tar", commit], ROOT).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(work_tree, filter="tar")


def _export_working_tree(work_tree: Path) -> None:
    """HEAD plus uncommitted changes, as `git add -A` would see them (ignored files left out)."""
    listed = _git(["ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT).stdout
    for name in sorted(set(listed.decode().split("\0")) - {""}):
        src = ROOT / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted, not yet committed
        dst = work_tree / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(src.readlink())
        else:
            shutil.copy2(src, dst)


def commit_release(repo: Path, version: Version | str, message: str | None = None) -> str:
    """Commit everything in `repo`'s work tree and tag it `v<version>`; return the tag."""
    tag = f"v{version}"
    _git(["add", "-A"], repo)
    _git(["commit", "--quiet", "--allow-empty", "--no-verify", "-m", message or tag], repo)
    _git(["tag", tag], repo)
    return tag


def template_repo(
    dst: Path,
    *,
    at: Sequence[Release] | None = None,
    then: Callable[[Path], None] | None = None,
) -> Path:
    """A git repository of the template: each release of `at`, then the working tree.

    `at` defaults to every supported release. The working tree is tagged `next_version()`.
    Every recorded commit is checked first, so a missing one fails before anything is built.
    `then(repo)`, if given, may edit the work tree afterwards for a synthetic next release
    (commit it with `commit_release`).
    """
    chosen = supported() if at is None else list(at)
    for release in chosen:
        check_commit(release)
    dst.mkdir(parents=True, exist_ok=True)
    _git(["init", "--quiet", "--initial-branch=main"], dst)
    for release in chosen:
        _clear(dst)
        _export_commit(release.commit, dst)
        commit_release(dst, release.version, f"paved {release.version}")
    _clear(dst)
    _export_working_tree(dst)
    commit_release(dst, next_version(), f"paved {next_version()} (working tree)")
    if then is not None:
        then(dst)
    return dst
