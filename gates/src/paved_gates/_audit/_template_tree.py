"""A template repository's files at one commit, read through git: no checkout, symlinks followed."""

from __future__ import annotations

import os
import posixpath
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .._errors import GateError

__all__ = ["ReleaseError", "TemplateTree", "TreeEscapeError"]

_SYMLINK = "120000"
_EXECUTABLE = "100755"
_SUBMODULE = "160000"
#: Symlinks followed in a row before a path counts as a loop (Linux stops at 40).
_MAX_LINKS = 40
#: Variables that would point git at another repository than the one asked for.
_GIT_LOCATION = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY")


class ReleaseError(LookupError, GateError):
    """A template release could not be read: no such ref, not a repository, a broken config."""

    def __init__(self, *, ref: str, message: str) -> None:
        self.ref = ref
        super().__init__(f"{ref}: {message}")


class TreeEscapeError(ValueError, GateError):
    """A path of the tree leads outside it (a symlink up and out, or a loop of symlinks)."""

    def __init__(self, *, path: str) -> None:
        self.path = path
        super().__init__(f"{path}: leads outside the template repository")


@dataclass(frozen=True, kw_only=True)
class _Entry:
    mode: str
    sha: str


def _git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    env = {key: value for key, value in os.environ.items() if key not in _GIT_LOCATION}
    process = subprocess.run(
        ["git", "-C", str(repo), *args], input=stdin, capture_output=True, env=env, check=False
    )
    if process.returncode != 0:
        raise OSError(process.stderr.decode(errors="replace").strip() or f"git {args[0]} failed")
    return process.stdout


def _cat_file(repo: Path, shas: Iterable[str]) -> dict[str, bytes]:
    """Blobs by id, in one `git cat-file --batch` call."""
    wanted = sorted(set(shas))
    if not wanted:
        return {}
    output = _git(repo, "cat-file", "--batch", stdin="".join(f"{sha}\n" for sha in wanted).encode())
    blobs: dict[str, bytes] = {}
    offset = 0
    for sha in wanted:
        end = output.index(b"\n", offset)
        header = output[offset:end].split()
        if len(header) != 3:
            raise OSError(f"git cat-file: no object {sha}")
        size = int(header[2])
        blobs[sha] = output[end + 1 : end + 1 + size]
        offset = end + 1 + size + 1
    return blobs


@dataclass(frozen=True, kw_only=True)
class TemplateTree:
    """Every path of one commit, posix and relative to the repository root.

    Reads follow symlinks as the file system of a checkout would; contents are fetched in
    batches, on demand, and kept.
    """

    repo: Path
    commit: str
    entries: Mapping[str, _Entry]
    dirs: Mapping[str, tuple[str, ...]]  # folder ("" is the root) -> its entries' names, sorted
    _blobs: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def read(cls, repo: Path, ref: str) -> TemplateTree:
        """The tree of `ref` (a tag, branch or commit) in the repository `repo`.

        Raises:
            ReleaseError: `repo` is no git repository, or it has no commit `ref`.
        """
        try:
            commit = _git(repo, "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}")
            listing = _git(repo, "ls-tree", "-r", "-z", "--full-tree", commit.decode().strip())
        except (OSError, ValueError) as error:
            raise ReleaseError(ref=ref, message=str(error)) from error
        entries: dict[str, _Entry] = {}
        children: dict[str, set[str]] = {"": set()}
        for record in listing.decode("utf-8", "surrogateescape").split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, _kind, sha = meta.split()
            entries[path] = _Entry(mode=mode, sha=sha)
            parent, name = posixpath.split(path)
            while True:
                children.setdefault(parent, set()).add(name)
                if not parent:
                    break
                parent, name = posixpath.split(parent)
        dirs = {folder: tuple(sorted(names)) for folder, names in children.items()}
        return cls(repo=repo, commit=commit.decode().strip(), entries=entries, dirs=dirs)

    def _link_target(self, path: str) -> str:
        sha = self.entries[path].sha
        if sha not in self._blobs:
            self._blobs.update(_cat_file(self.repo, [sha]))
        return os.fsdecode(self._blobs[sha])

    def resolve(self, path: str) -> str:
        """`path` with every symlink in it followed: the path git stores the content under.

        A path that does not exist resolves to itself, as far as it exists.

        Raises:
            TreeEscapeError: a symlink leads out of the repository, or round in a loop.
        """
        pending = [part for part in path.split("/") if part not in ("", ".")]
        pending.reverse()
        resolved: list[str] = []
        links = 0
        while pending:
            part = pending.pop()
            if part == "..":
                if not resolved:
                    raise TreeEscapeError(path=path)
                resolved.pop()
                continue
            candidate = "/".join([*resolved, part])
            entry = self.entries.get(candidate)
            if entry is None or entry.mode != _SYMLINK:
                resolved.append(part)
                continue
            links += 1
            target = self._link_target(candidate)
            if links > _MAX_LINKS or target.startswith("/"):
                raise TreeEscapeError(path=path)
            pending.extend(reversed([p for p in target.split("/") if p not in ("", ".")]))
        return "/".join(resolved)

    def is_dir(self, path: str) -> bool:
        """Whether `path` is a folder, symlinks followed."""
        return self.resolve(path) in self.dirs

    def is_file(self, path: str) -> bool:
        """Whether `path` is a file (not a folder, not a submodule), symlinks followed."""
        entry = self.entries.get(self.resolve(path))
        return entry is not None and entry.mode not in (_SYMLINK, _SUBMODULE)

    def exists(self, path: str) -> bool:
        """Whether `path` names a file or folder, symlinks followed."""
        try:
            real = self.resolve(path)
        except TreeEscapeError:
            return False
        return real in self.dirs or real in self.entries

    def names(self, folder: str) -> tuple[str, ...]:
        """The entries of `folder` (a real folder, see `resolve`), sorted by name."""
        return self.dirs.get(folder, ())

    def executable(self, path: str) -> bool:
        """Whether git records the file `path` (symlinks followed) as executable."""
        entry = self.entries.get(self.resolve(path))
        return entry is not None and entry.mode == _EXECUTABLE

    def prefetch(self, paths: Iterable[str]) -> None:
        """Fetch the contents of the files `paths` (real paths) in one batch."""
        shas = [self.entries[path].sha for path in paths if path in self.entries]
        self._blobs.update(_cat_file(self.repo, [sha for sha in shas if sha not in self._blobs]))

    def read_bytes(self, path: str) -> bytes:
        """The content of the file `path`, symlinks followed.

        Raises:
            FileNotFoundError: no such file.
        """
        real = self.resolve(path)
        if not self.is_file(real):
            raise FileNotFoundError(path)
        sha = self.entries[real].sha
        if sha not in self._blobs:
            self._blobs.update(_cat_file(self.repo, [sha]))
        return self._blobs[sha]
