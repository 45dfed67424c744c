"""Update risk: what `copier update` to the latest release would do to a service, predicted.

The prediction replays copier 9.19's update (`Worker._apply_update`) on three mappings of
path to bytes, without a checkout: `base` (the template at the service's release, with its
answers), `target` (at the latest) and `service` (its files at `HEAD`). Path by path:

- a path the latest release no longer renders is deleted if the old one rendered it, edited
  or not, seeded or not (`_remove_old_files`); one it never rendered is the team's own;
- a path the team deleted stays deleted, unless it is seeded (`_skip_if_exists`): copier
  writes a missing seeded file again;
- an existing seeded path is never touched; other paths take the latest render, and the
  team's changes since the old render (`git diff-tree -U3 --inter-hunk-context=-1`) are
  applied on top with `git apply --reject`. Only when a hunk is rejected does copier merge the
  whole file three ways (`git merge-file`, labels "before updating" / "after updating"); a
  path new in the release that the service already has merges against an empty base.

After the merge, each `version:`-gated `_migrations` entry running `hooks/move.py` carries the
team's edits across a rename, or keeps an edited file a release removes (`moves`).

Most paths need no merge at all (service, base and target agree in some pair). For the rest,
the patch step is emulated as git applies it (exact context, the nearest matching offset
first, hunks pinned to the start or the end of the file, patched lines never matched twice),
because a hunk that finds its context elsewhere in the file makes copier skip the merge. The
merge itself is `merge3`, Breezy's pure-Python three-way merge: in process, with git's
rules where it matters here (a region both sides changed conflicts, adjacent changes
included, unless both made the same change). `git merge-file` per path would be exact but
costs a process per edited file, too slow for a fleet whose every service edits
`pyproject.toml`; the two can only differ in how a line-level diff aligns a moved or
repeated block, and tests/test_audit_risk.py holds the prediction to real `copier update`.

Not predicted: the tasks every update runs after the merge (a threshold raised to a new
floor, `uv.lock` re-locked, `api/openapi.json` rewritten) and files the service's
`.gitignore` hides.
"""

from __future__ import annotations

import difflib
import filecmp
import shlex
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any, Literal, cast

import pathspec
from merge3 import Merge3
from packaging.version import InvalidVersion, Version

from paved_gates._audit._model import UpdateRisk

if TYPE_CHECKING:
    from merge3 import SequenceMatcherProtocol

__all__ = ["CONTEXT_LINES", "Move", "PredictedUpdate", "moves", "predict_update", "simulate"]

#: Context lines of copier's update diff (`copier update --context-lines`, 3 by default).
CONTEXT_LINES = 3
#: The answers file copier rewrites on every update and never merges.
ANSWERS_FILE = ".copier-answers.yml"
#: copier matches path patterns with pathspec's gitignore flavour (named so from 1.0).
_PATTERN_STYLE = (
    "gitignore" if Version(pathspec.__version__) >= Version("1.0.0") else "gitwildmatch"
)
_LABEL_BEFORE = b"before updating"
_LABEL_AFTER = b"after updating"


@dataclass(frozen=True, kw_only=True)
class Move:
    """One rename or removal a `version:`-gated `_migrations` entry running hooks/move.py does."""

    kind: Literal["rename", "remove"]
    source: str  # rendered, relative to the service; a trailing `/` names a folder
    target: str | None  # the new path of a rename; None for a removal
    version: str  # the release that introduced it


@dataclass(frozen=True, kw_only=True)
class PredictedUpdate:
    """What `copier update` would leave in the service's work tree, path by path."""

    conflicts: tuple[str, ...] = ()  # paths with conflict markers
    changed: tuple[str, ...] = ()  # paths written, created or deleted (conflicted ones too)
    migrations: tuple[str, ...] = ()  # what each move does to this service, as move.py says


def moves(
    copier_yml: Mapping[str, Any],
    *,
    after: Version,
    upto: Version,
    render: Callable[[str], str],
) -> tuple[Move, ...]:
    """The moves an update from release `after` to `upto` carries out, in copier's order.

    Args:
        copier_yml: The latest release's `copier.yml`, parsed.
        after: The service's release; its own moves are behind it.
        upto: The release the update goes to.
        render: Renders one Jinja string with the service's answers (the path arguments).

    Returns:
        Each `_migrations` entry with `version` in (`after`, `upto`] whose command runs
        `hooks/move.py`; entries hooks/move.py would reject are left out.
    """
    found: list[Move] = []
    for entry in copier_yml.get("_migrations") or ():
        if not isinstance(entry, Mapping) or "version" not in entry:
            continue
        try:
            version = Version(str(entry["version"]))
        except InvalidVersion:
            continue
        if after < version <= upto and (move := _move(entry.get("command"), version, render)):
            found.append(move)
    return tuple(found)


def _move(command: object, version: Version, render: Callable[[str], str]) -> Move | None:
    parts = shlex.split(command) if isinstance(command, str) else command
    if not isinstance(parts, list):
        return None
    script = next((i for i, part in enumerate(parts) if str(part).endswith("hooks/move.py")), None)
    if script is None:
        return None
    args = _positional([str(part) for part in parts[script + 1 :]])
    match args:
        case ["rename", source, target]:
            return Move(
                kind="rename", source=render(source), target=render(target), version=str(version)
            )
        case ["remove", source]:
            return Move(kind="remove", source=render(source), target=None, version=str(version))
    return None


def _positional(args: Sequence[str]) -> list[str]:
    """`args` without move.py's options (`--answers-file X`, `--from-ref=X`)."""
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith("--"):
            skip = "=" not in arg
        else:
            kept.append(arg)
    return kept


def predict_update(
    *,
    base: Mapping[str, bytes],
    target: Mapping[str, bytes],
    service: Mapping[str, bytes],
    skip_if_exists: Sequence[str],
    exclude: Sequence[str] = (),
    moves: Sequence[Move] = (),
    target_release: str,
    answers_file: str = ANSWERS_FILE,
) -> UpdateRisk:
    """The update risk of one service: `simulate`, counted for the audit's report.

    Args:
        base: The template rendered at the service's release with its answers.
        target: The template rendered at `target_release` with the same answers.
        service: The service's files at `HEAD`.
        skip_if_exists: The latest release's `_skip_if_exists`, rendered.
        exclude: The latest release's `_exclude` (and the service's release's, where they
            differ), rendered as for an update (`_copier_operation == "update"`): copier
            leaves these paths out of both renders.
        moves: The moves of the update (`moves`).
        target_release: The release the prediction is for.
        answers_file: The service's answers file, rewritten by every update.
    """
    predicted = simulate(
        base=base,
        target=target,
        service=service,
        skip_if_exists=skip_if_exists,
        exclude=exclude,
        moves=moves,
        answers_file=answers_file,
    )
    return UpdateRisk(
        target=target_release,
        conflicts=predicted.conflicts,
        changed=len(predicted.changed),
        migrations=predicted.migrations,
    )


def simulate(
    *,
    base: Mapping[str, bytes],
    target: Mapping[str, bytes],
    service: Mapping[str, bytes],
    skip_if_exists: Sequence[str],
    exclude: Sequence[str] = (),
    moves: Sequence[Move] = (),
    answers_file: str = ANSWERS_FILE,
) -> PredictedUpdate:
    """The paths `copier update` would conflict on and write; arguments as `predict_update`."""
    excluded = _matcher(exclude)
    old = {path: data for path, data in base.items() if not excluded(path)}
    new = {path: data for path, data in target.items() if not excluded(path)}
    seeded = _matcher(skip_if_exists)
    tree = _Tree(service)
    for path in sorted((old.keys() | new.keys()) - {answers_file}):
        content, conflict = _update_file(
            old.get(path), new.get(path), service.get(path), seeded=seeded(path), path=path
        )
        tree.write(path, content, conflict=conflict)
    messages = [
        f"{move.version}: {message}"
        for move in moves
        for source, dest in _pairs(move, base, service)
        if (message := _carry(tree, source, dest, previous=base.get(source)))
    ]
    changed = tree.changed()
    if new.get(answers_file) is not None and old.get(answers_file) != new.get(answers_file):
        changed = tuple(sorted({*changed, answers_file}))
    return PredictedUpdate(
        conflicts=tuple(sorted(tree.conflicted)), changed=changed, migrations=tuple(messages)
    )


def _matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """Copier's `Worker._path_matcher`: gitignore-style patterns, NFD-normalized."""
    normalized = (unicodedata.normalize("NFD", pattern) for pattern in patterns)
    spec = pathspec.PathSpec.from_lines(_PATTERN_STYLE, normalized)
    return spec.match_file


class _Tree:
    """The service's work tree as the update leaves it: the paths it touches, over `HEAD`."""

    def __init__(self, head: Mapping[str, bytes]) -> None:
        self.head = head
        self.files: dict[str, bytes | None] = {}
        self.conflicted: set[str] = set()

    def get(self, path: str) -> bytes | None:
        return self.files[path] if path in self.files else self.head.get(path)

    def write(self, path: str, content: bytes | None, *, conflict: bool = False) -> None:
        self.files[path] = content
        if conflict:
            self.conflicted.add(path)
        else:
            self.conflicted.discard(path)

    def changed(self) -> tuple[str, ...]:
        return tuple(sorted(p for p, data in self.files.items() if data != self.head.get(p)))


def _update_file(
    old: bytes | None, new: bytes | None, team: bytes | None, *, seeded: bool, path: str
) -> tuple[bytes | None, bool]:
    """One path after copier's render, patch and merge: its content, and whether it conflicts."""
    if new is None:  # gone from the release: copier removes what the old release rendered
        removed = old is not None and not _hidden_from_dircmp(path)
        return (None if removed else team), False
    if team is None:  # the team deleted it (or never had it): only seeded files come back
        return (None if old is not None and not seeded else new), False
    if seeded or new in (team, old):
        return team, False
    if team == old:
        return new, False
    # New in the release and already in the service: copier merges them over an empty file.
    return _merge_file(old or b"", team, new)


def _hidden_from_dircmp(path: str) -> bool:
    """Copier finds removed paths with `filecmp.dircmp`, which skips these names (`tags`...)."""
    return any(part in filecmp.DEFAULT_IGNORES for part in PurePosixPath(path).parts)


# --- One file: `git apply --reject` of the team's changes, else `git merge-file` ------------


def _merge_file(old: bytes, team: bytes, new: bytes) -> tuple[bytes, bool]:
    """The team's changes (old → team) on the release's file (new), as copier applies them."""
    old_lines, team_lines, new_lines = _lines(old), _lines(team), _lines(new)
    patched = _apply(_hunks(old_lines, team_lines), new_lines)
    if patched is not None:
        return b"".join(patched), False
    return _merge3(old_lines, team_lines, new_lines)


def _lines(data: bytes) -> list[bytes]:
    r"""Lines as git's diff sees them: split on `\n` only, each keeping its end."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


@dataclass(frozen=True, kw_only=True)
class _Hunk:
    start: int  # first line of the preimage in the old file (0-based)
    before: Sequence[bytes]  # preimage: context and removed lines
    after: Sequence[bytes]  # postimage: context and added lines
    guess: int  # where git looks first: the hunk's start in the new file
    at_start: bool  # must apply at the top of the file
    at_end: bool  # must apply at the bottom (no trailing context)


class _Matcher(difflib.SequenceMatcher[bytes]):
    """difflib without its junk heuristic, which misaligns long files with repeated lines."""

    def __init__(
        self,
        isjunk: Callable[[bytes], bool] | None = None,
        a: Sequence[bytes] = (),
        b: Sequence[bytes] = (),
        autojunk: bool = False,  # noqa: FBT001, FBT002 - SequenceMatcher's signature, merge3 calls it
    ) -> None:
        super().__init__(isjunk, a, b, autojunk=False)


def _hunks(old: Sequence[bytes], new: Sequence[bytes]) -> Iterator[_Hunk]:
    """`git diff -U3 --inter-hunk-context=-1` of old → new: changes 5 lines apart share a hunk."""
    changes = [op for op in _Matcher(None, old, new).get_opcodes() if op[0] != "equal"]
    groups: list[list[tuple[str, int, int, int, int]]] = []
    for change in changes:
        if groups and change[1] - groups[-1][-1][2] <= 2 * CONTEXT_LINES - 1:
            groups[-1].append(change)
        else:
            groups.append([change])
    for group in groups:
        lead = min(CONTEXT_LINES, group[0][1])
        trail = min(CONTEXT_LINES, len(old) - group[-1][2])
        o1, o2 = group[0][1] - lead, group[-1][2] + trail
        n1, n2 = group[0][3] - lead, group[-1][4] + trail
        # The header's new start names the line before an empty postimage: git starts there.
        guess = n1 if n2 > n1 else max(n1 - 1, 0)
        yield _Hunk(
            start=o1,
            before=old[o1:o2],
            after=new[n1:n2],
            guess=guess,
            at_start=o1 == 0,
            at_end=trail == 0,
        )


def _apply(hunks: Iterable[_Hunk], image: Sequence[bytes]) -> list[bytes] | None:
    """`git apply`'s `apply_one_fragment` for each hunk in turn; None when one is rejected."""
    lines = list(image)
    patched = [False] * len(lines)
    for hunk in hunks:
        at = _find(hunk, lines, patched)
        if at is None:
            return None
        size = len(hunk.before)
        lines[at : at + size] = hunk.after
        patched[at : at + size] = [True] * len(hunk.after)
    return lines


def _find(hunk: _Hunk, lines: Sequence[bytes], patched: Sequence[bool]) -> int | None:
    """`git apply`'s `find_pos`: the nearest line where the preimage matches, forward first."""
    size = len(hunk.before)
    start = 0 if hunk.at_start else (len(lines) - size if hunk.at_end else hunk.guess)
    start = min(start, len(lines)) if start >= 0 else len(lines)
    for at in _nearest_first(start, len(lines)):
        end = at + size
        if end > len(lines) or (hunk.at_start and at) or (hunk.at_end and end != len(lines)):
            continue
        if not any(patched[at:end]) and lines[at:end] == hunk.before:
            return at
    return None


def _nearest_first(start: int, limit: int) -> Iterator[int]:
    """start, start+1, start-1, start+2, ... within [0, limit], as `find_pos` walks."""
    yield start
    back = forth = start
    step = 0
    while back > 0 or forth < limit:
        if step % 2 == 0 and forth < limit:
            forth += 1
            yield forth
        elif step % 2 == 1 and back > 0:
            back -= 1
            yield back
        step += 1


def _merge3(
    old: Sequence[bytes], team: Sequence[bytes], new: Sequence[bytes]
) -> tuple[bytes, bool]:
    """`git merge-file` of team (ours) and new (theirs) over old: the result, and any conflict."""
    # merge3 types its matcher as a protocol that even difflib's own class does not satisfy.
    matcher = cast("type[SequenceMatcherProtocol[bytes]]", _Matcher)
    merge = Merge3(old, team, new, sequence_matcher=matcher)
    conflict = any(region[0] == "conflict" for region in merge.merge_regions())
    merged = merge.merge_lines(name_a=_LABEL_BEFORE, name_b=_LABEL_AFTER)
    return b"".join(merged), conflict


# --- Moves: hooks/move.py after the merge ----------------------------------------------------


def _pairs(
    move: Move, base: Mapping[str, bytes], head: Mapping[str, bytes]
) -> list[tuple[str, str | None]]:
    """move.py's `_pairs`: one (old, new) per file, a folder file by file."""
    root = move.source.rstrip("/")
    prefix = f"{root}/"
    if not move.source.endswith("/") and not any(path.startswith(prefix) for path in base):
        return [(move.source, move.target)]
    names = sorted({p for p in (*base, *head) if p.startswith(prefix)})
    if move.target is None:
        return [(name, None) for name in names]
    dest = move.target.rstrip("/")
    return [(name, f"{dest}/{name.removeprefix(prefix)}") for name in names]


def _carry(tree: _Tree, old: str, new: str | None, *, previous: bytes | None) -> str:
    """move.py's `carry` on the predicted tree; its message, or "" when it does not apply."""
    team = tree.head.get(old)
    if previous is None:
        return ""  # the old release did not render it for these answers: nothing to move
    if team is None:
        if new is not None and tree.head.get(new) is None and tree.get(new) is not None:
            tree.write(new, None)
            return f"{old}: deleted by the team, so {new} is not created"
        return f"{old}: deleted by the team; nothing to carry"
    if team == previous:
        return f"{old}: unedited; the release's change applies as is"
    current = tree.get(new) if new is not None else None
    if new is None or current is None:
        tree.write(old, team)
        return f"{old}: removed by the release but edited by the team, so kept; delete it when done"
    return _carry_edits(tree, old, new, team=team, previous=previous, current=current)


def _carry_edits(
    tree: _Tree, old: str, new: str, *, team: bytes, previous: bytes, current: bytes
) -> str:
    """move.py's `_merge`: the team's `old` merged into the release's `new` (git merge-file)."""
    merged, conflict = _merge3(_lines(previous), _lines(team), _lines(current))
    tree.write(new, merged, conflict=conflict)
    if old != new:
        tree.write(old, None)
    if conflict:
        return f"{old} -> {new}: your edits conflict with the release's; resolve the markers"
    return f"{old} -> {new}: your edits carried over"
