"""A repository's `HEAD` read through one `git cat-file --batch`: no checkout, no work tree."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, cast

from .._errors import GateError

__all__ = ["RepoError", "RepoReader"]

_TREE_MODE = b"40000"
_SUBMODULE_MODE = b"160000"


class RepoError(OSError, GateError):
    """A service repository that cannot be read (missing, not git, no commit)."""

    def __init__(self, *, source: str, message: str) -> None:
        self.source = source
        super().__init__(f"{source}: {message}")


class RepoReader:
    """Reads `HEAD` of a git repository (a clone or a bare mirror) through one batch process.

    Listing the tree and reading blobs share the process, so a service costs one `git`
    start however many files the audit reads. Use as a context manager.
    """

    def __init__(self, path: Path) -> None:
        if not path.exists():
            raise RepoError(source=str(path), message="does not exist")
        self._process = subprocess.Popen(
            ["git", "-C", str(path), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        # Popen with PIPE always opens both.
        self._stdin = cast(IO[bytes], self._process.stdin)
        self._stdout = cast(IO[bytes], self._process.stdout)
        self.source = str(path)
        self.commit = self._resolve("HEAD")
        self.files = self._list_tree(f"{self.commit}^{{tree}}")

    def __enter__(self) -> RepoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """End the batch process."""
        with contextlib.suppress(BrokenPipeError):  # git may have exited already
            self._stdin.close()
        self._stdout.close()
        self._process.wait()

    def read(self, paths: Iterable[str]) -> dict[str, bytes]:
        """The content at `HEAD` of each of `paths` that is a file there (others are left out)."""
        wanted = [path for path in dict.fromkeys(paths) if path in self.files]
        contents = self._objects([self.files[path] for path in wanted])
        return {path: content for path, (_, content) in zip(wanted, contents, strict=True)}

    def _resolve(self, name: str) -> str:
        try:
            (header, _), *_ = self._objects([name], resolving=True)
        except (BrokenPipeError, RepoError):  # git refused to start its batch
            self.close()
            raise RepoError(source=self.source, message="is not a git repository") from None
        if header is None:
            self.close()
            raise RepoError(source=self.source, message="is not a git repository with a commit")
        return header

    def _list_tree(self, root: str) -> dict[str, str]:
        """Every file under `root` as path -> blob id, a directory level per batch."""
        files: dict[str, str] = {}
        level = [("", root)]
        while level:
            trees = self._objects([tree for _, tree in level])
            next_level = []
            for (prefix, _), (_, content) in zip(level, trees, strict=True):
                for mode, name, oid in _tree_entries(content):
                    path = f"{prefix}{name}"
                    if mode == _TREE_MODE:
                        next_level.append((f"{path}/", oid))
                    elif mode != _SUBMODULE_MODE:
                        files[path] = oid
            level = next_level
        return files

    def _objects(
        self, names: list[str], *, resolving: bool = False
    ) -> list[tuple[str | None, bytes]]:
        """(object id or None when missing, content) of each name, in order.

        Every request is written before any answer is read: requests are 41 bytes each, so
        a level of a tree stays far below the pipe's buffer.
        """
        stdin, stdout = self._stdin, self._stdout
        stdin.write(b"".join(f"{name}\n".encode() for name in names))
        stdin.flush()
        answers: list[tuple[str | None, bytes]] = []
        for name in names:
            header = stdout.readline()
            if not header:
                raise RepoError(source=self.source, message="git stopped answering")
            if header.endswith(b" missing\n"):
                if not resolving:
                    raise RepoError(source=self.source, message=f"object {name} is missing")
                answers.append((None, b""))
                continue
            oid, _, size = header.split()
            content = stdout.read(int(size))
            stdout.read(1)  # the newline after each object
            answers.append((oid.decode(), content))
        return answers


def _tree_entries(content: bytes) -> Iterable[tuple[bytes, str, str]]:
    """(mode, name, object id) of each entry of a raw tree object."""
    position = 0
    while position < len(content):
        space = content.index(b" ", position)
        nul = content.index(b"\0", space)
        mode = content[position:space]
        name = content[space + 1 : nul].decode("utf-8", "surrogateescape")
        oid = content[nul + 1 : nul + 21].hex()
        yield mode, name, oid
        position = nul + 21
