"""After `copier update`: say in a few lines what the update changed.

The last `_migrations` task of every update, after the threshold ratchet, the lock and the API
document. It reads only git and the service's files: what changed against `HEAD` (copier
updates a clean work tree, so every change is the update's), each file's ownership tier from
`.paved/ownership.yml`, conflicts (unmerged paths, conflict markers, rejected hunks), and the
`[tool.gates.coverage]` thresholds before and after. Runs under copier's Python, whose
`pathspec` and `packaging` match tiers as copier matches `_skip_if_exists`; it never fails the
update.

    python hooks/summary.py        # copier sets VERSION_FROM and VERSION_TO
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
from packaging.version import Version

if not __package__:  # run by copier as a script: import `hooks` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks._common import has_conflict_markers, unmerged_paths
from hooks.ratchet import at_revision, thresholds_in

#: Where a service keeps the tiers of the release it is on.
OWNERSHIP = Path(".paved/ownership.yml")
#: Names listed per kind of change before the rest is counted.
SHOWN = 5
#: copier's own pattern flavour for `_skip_if_exists` (pathspec renamed it in 1.0).
_FLAVOUR = "gitignore" if Version(pathspec.__version__) >= Version("1.0") else "gitwildmatch"


@dataclass(frozen=True, kw_only=True)
class Changes:
    """The update's changes to a service, by kind; paths relative to the service."""

    replaced: list[str] = field(default_factory=list)
    merged: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    other: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    thresholds: list[str] = field(default_factory=list)


def read_tiers(text: str) -> dict[str, list[str]]:
    """The tier lists of an ownership file: `tier:` keys, each with `- "pattern"` items.

    The file is template-owned and kept in this one shape (tests/test_update.py holds this
    reading to YAML's), so the summary needs no YAML parser.
    """
    tiers: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        if not line[0].isspace() and line.endswith(":"):
            current = tiers.setdefault(line[:-1].strip(), [])
        elif line.lstrip().startswith("- ") and current is not None:
            current.append(line.lstrip()[2:].strip().strip("\"'"))
    return tiers


def _tier_of(tiers: Mapping[str, Sequence[str]]) -> Callable[[str], str | None]:
    specs = {name: pathspec.PathSpec.from_lines(_FLAVOUR, lines) for name, lines in tiers.items()}

    def tier(path: str) -> str | None:
        return next((name for name, spec in specs.items() if spec.match_file(path)), None)

    return tier


def _status(here: Path) -> list[tuple[str, str]]:
    """(code, path) of every change against HEAD, untracked files included."""
    listed = subprocess.run(
        ["git", "status", "--porcelain=v1", "-z", "--untracked-files=all"],
        cwd=here,
        capture_output=True,
        text=True,
        check=False,
    )
    entries = listed.stdout.split("\0")
    changes: list[tuple[str, str]] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if "R" in code or "C" in code:
            index += 1  # the original path of a rename or copy follows
        changes.append((code, path))
    return changes


def collect(here: Path) -> Changes:
    """What the update changed in the service at `here`."""
    ownership = here / OWNERSHIP
    text = ownership.read_text(encoding="utf-8") if ownership.is_file() else ""
    tier = _tier_of(read_tiers(text))
    found = Changes()
    conflicted = set(unmerged_paths(here))
    for code, path in _status(here):
        file = here / path
        if path.endswith(".rej") or (
            file.is_file()
            and has_conflict_markers(file.read_text(encoding="utf-8", errors="ignore"))
        ):
            conflicted.add(path.removesuffix(".rej"))
        if code == "??" or "A" in code:
            found.added.append(path)
        elif "D" in code and not file.exists():
            found.removed.append(path)
        elif tier(path) == "enforced":
            found.replaced.append(path)
        elif tier(path) == "merged":
            found.merged.append(path)
        else:
            found.other.append(path)
    found.conflicts.extend(sorted(conflicted))
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        before = at_revision(pyproject, "HEAD")
        after = thresholds_in(pyproject.read_text(encoding="utf-8"))
        found.thresholds.extend(
            f"{'.'.join(key)} {before[key]} -> {value}"
            for key, value in after.items()
            if key in before and before[key] != value
        )
    return found


def _names(paths: Sequence[str]) -> str:
    shown = ", ".join(sorted(paths)[:SHOWN])
    more = len(paths) - SHOWN
    return f"{shown}, and {more} more" if more > 0 else shown


def render(changes: Changes, *, versions: str) -> str:
    """The summary, a few lines."""
    counts = [
        f"{len(changes.replaced)} replaced (enforced)",
        f"{len(changes.merged)} merged",
        f"{len(changes.added)} added",
        f"{len(changes.removed)} removed",
        f"{len(changes.other)} other",
    ]
    lines = [f"paved update {versions}: " + ", ".join(counts)]
    for label, paths in (
        ("merged", changes.merged),
        ("added", changes.added),
        ("removed", changes.removed),
        ("other", changes.other),
    ):
        if paths:
            lines.append(f"  {label}: {_names(paths)}")
    if changes.conflicts:
        lines.append(
            f"  conflicts: {_names(changes.conflicts)}: resolve the <<<<<<< markers, then git add"
        )
    else:
        lines.append("  conflicts: none")
    thresholds = ", ".join(changes.thresholds) if changes.thresholds else "unchanged"
    lines.append(f"  coverage thresholds: {thresholds}")
    return "\n".join(lines)


def main(environ: Mapping[str, str] | None = None) -> int:
    """Print the summary of the update just applied to the service in the current directory."""
    env = os.environ if environ is None else environ
    versions = f"{env.get('VERSION_FROM', '?')} -> {env.get('VERSION_TO', '?')}"
    try:
        print(render(collect(Path.cwd()), versions=versions), file=sys.stderr)
    except OSError as error:  # a summary is not worth failing the update for
        print(f"paved update: no summary ({error})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
