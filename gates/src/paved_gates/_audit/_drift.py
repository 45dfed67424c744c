"""Enforced files of a service against the template's render, with the diff of each edit.

Each file is pristine, edited, deleted, stale, extra or unknown.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Callable, Iterable, Mapping

import yaml
from pathspec import PathSpec

from ._model import FileState, FileStatus, Issue

__all__ = ["OWNERSHIP", "classify", "drift_issues", "enforced_paths", "unknown_files"]

OWNERSHIP = ".paved/ownership.yml"
#: libyaml's safe loader where PyYAML has it (several times faster), else the pure one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: An edited file's diff is cut after this many lines.
_DIFF_LINES = 300
_MESSAGES = {
    FileState.EDITED: "edited: differs from the template's render",
    FileState.DELETED: "deleted: the template renders it",
    FileState.STALE: "stale: equals the render of release {release}",
    FileState.EXTRA: "added inside a template-owned folder",
}

Older = Callable[[], Iterable[tuple[str, Mapping[str, bytes]]]]


def enforced_paths(files: Mapping[str, bytes]) -> Callable[[str], bool]:
    """Whether a path is enforced, by the ownership file among `files`."""
    return _matcher(files.get(OWNERSHIP) or b"")


@functools.lru_cache(maxsize=16)
def _matcher(ownership: bytes) -> Callable[[str], bool]:
    """Services of one release share its ownership file, parsed once."""
    try:
        data = yaml.load(ownership, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError:
        data = None
    patterns = data.get("enforced", []) if isinstance(data, dict) else []
    return PathSpec.from_lines("gitignore", patterns).match_file


def unknown_files(paths: Iterable[str], ownership: Mapping[str, bytes]) -> tuple[FileStatus, ...]:
    """With no render, the service's own enforced paths, each of unknown state."""
    enforced = enforced_paths(ownership)
    return tuple(
        FileStatus(path=path, state=FileState.UNKNOWN) for path in sorted(paths) if enforced(path)
    )


def classify(
    rendered: Mapping[str, bytes],
    files: Mapping[str, bytes],
    enforced: Callable[[str], bool],
    extra: set[str],
    *,
    older: Older,
) -> tuple[int, tuple[FileStatus, ...]]:
    """(pristine count, the state of every other enforced path).

    `older` yields the renders of earlier releases, newest first, only when a file differs.
    """
    pristine = 0
    statuses = [FileStatus(path=path, state=FileState.EXTRA) for path in sorted(extra)]
    for path in sorted(path for path in rendered if enforced(path)):
        content = files.get(path)
        if content == rendered[path]:
            pristine += 1
        elif content is None:
            statuses.append(FileStatus(path=path, state=FileState.DELETED))
        else:
            statuses.append(_changed(path, rendered[path], content, older))
    return pristine, tuple(sorted(statuses, key=lambda status: status.path))


def _changed(path: str, rendered: bytes, content: bytes, older: Older) -> FileStatus:
    """Stale if an older release rendered exactly this, else edited (with its diff)."""
    for release, render in older():
        if render.get(path) == content:
            return FileStatus(path=path, state=FileState.STALE, release=release)
    return FileStatus(path=path, state=FileState.EDITED, diff=_diff(path, rendered, content))


def _diff(path: str, rendered: bytes, content: bytes) -> str:
    try:
        before, after = rendered.decode(), content.decode()
    except UnicodeDecodeError:
        return f"binary file {path} differs\n"
    lines = list(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"template/{path}",
            f"service/{path}",
        )
    )
    if len(lines) > _DIFF_LINES:
        lines = [*lines[:_DIFF_LINES], f"... {len(lines) - _DIFF_LINES} more lines\n"]
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in lines)


def drift_issues(statuses: Iterable[FileStatus]) -> list[Issue]:
    """One `enforced.<state>` finding per path that is not pristine (unknown ones aside)."""
    return [
        Issue(
            id=f"enforced.{status.state.value}",
            path=status.path,
            message=_MESSAGES[status.state].format(release=status.release),
        )
        for status in statuses
        if status.state in _MESSAGES
    ]
