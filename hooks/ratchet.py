"""After `copier update`: coverage thresholds never go down, and never below the template's floor.

Runs in the service's directory as a `_migrations` task of every update, after the three-way
merge, with only the standard library (it runs under whichever Python runs copier). Each
threshold of `[tool.gates.coverage]` becomes the highest of: its value before the update
(`HEAD`, since copier only updates a clean work tree), its value after the merge, and the
template's floor. A changed value is written in place: only the number changes, so the team's
formatting and comments stay.

    python hooks/ratchet.py --floor total=50 --floor critical=50
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run by copier as a script: import `hooks` from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hooks._common import has_conflict_markers

#: The table the coverage gate reads its thresholds from.
TABLE = ("tool", "gates", "coverage")
#: Floors that may be given, and which thresholds each one bounds.
FLOOR_KEYS = ("total", "patch", "critical")

_Number = int | float
_KeyPath = tuple[str, ...]

_HEADER = re.compile(r"^\s*\[(?!\[)\s*(?P<name>[^\]]+?)\s*\]\s*(#.*)?$")
_ASSIGN = re.compile(r"^(?P<lead>\s*)(?P<key>[A-Za-z0-9_.\s\"'-]+?)\s*=\s*(?P<rest>.*)$")
_NUMBER = r"-?\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Change:
    """One threshold the ratchet set: where, from what, to what, and why."""

    path: _KeyPath
    merged: _Number
    value: _Number
    reason: str

    def describe(self) -> str:
        """One line for the update's summary: the key, its old and new value, and why."""
        name = ".".join(self.path)
        return f"[tool.gates.coverage] {name}: {self.merged} -> {self.value} ({self.reason})"


def thresholds(coverage: dict[str, Any]) -> dict[_KeyPath, _Number]:
    """Every numeric threshold of a `[tool.gates.coverage]` table, by key path inside it."""
    found: dict[_KeyPath, _Number] = {}
    for key in ("total", "patch"):
        if _is_number(coverage.get(key)):
            found[(key,)] = coverage[key]
    critical = coverage.get("critical")
    if isinstance(critical, dict):
        for group, spec in critical.items():
            if isinstance(spec, dict) and _is_number(spec.get("threshold")):
                found[("critical", group, "threshold")] = spec["threshold"]
    return found


def plan(
    *,
    before: dict[_KeyPath, _Number],
    merged: dict[_KeyPath, _Number],
    floors: dict[str, _Number],
) -> list[Change]:
    """The thresholds to raise: merged values below their pre-update value or their floor."""
    changes = []
    for path, value in merged.items():
        floor = floors.get(path[0])
        previous = before.get(path)
        target, reason = value, ""
        if previous is not None and previous > target:
            target, reason = previous, "an update never lowers a threshold"
        if floor is not None and floor > target:
            target, reason = floor, "the template's floor"
        if target != value:
            changes.append(Change(path=path, merged=value, value=target, reason=reason))
    return changes


def apply(text: str, changes: Sequence[Change]) -> str:
    """`text` with each change's number replaced in place; everything else byte for byte."""
    lines = text.splitlines(keepends=True)
    for change in changes:
        full = TABLE + change.path
        for index, table, line in _assignments(lines):
            edited = _replace_number(line, table, full, change.value)
            if edited is not None:
                lines[index] = edited
                break
    return "".join(lines)


def _assignments(lines: list[str]) -> Iterator[tuple[int, _KeyPath, str]]:
    table: _KeyPath = ()
    for index, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            table = _split_key(header["name"])
        elif _ASSIGN.match(line):
            yield index, table, line


def _replace_number(line: str, table: _KeyPath, full: _KeyPath, value: _Number) -> str | None:
    match = _ASSIGN.match(line)
    if match is None:
        return None
    key = table + _split_key(match["key"])
    rest = match["rest"]
    if key == full:
        number = re.match(rf"(?P<n>{_NUMBER})(?![\d.])", rest)
        if number is None:
            return None
        start = match.start("rest")
        return line[:start] + _format(value) + line[start + number.end() :]
    # An inline table on one line: `auth = { globs = [...], threshold = 90 }`.
    if full[: len(key)] == key and len(full) == len(key) + 1 and rest.lstrip().startswith("{"):
        inner = re.search(rf"([{{,]\s*{re.escape(full[-1])}\s*=\s*)({_NUMBER})(?![\d.])", rest)
        if inner is None:
            return None
        start = match.start("rest")
        return line[: start + inner.start(2)] + _format(value) + line[start + inner.end(2) :]
    return None


def _split_key(key: str) -> _KeyPath:
    return tuple(part.strip().strip("\"'") for part in key.split("."))


def _format(value: _Number) -> str:
    return str(int(value)) if isinstance(value, int) or float(value).is_integer() else repr(value)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _coverage(document: dict[str, Any]) -> dict[str, Any]:
    table: Any = document
    for key in TABLE:
        table = table.get(key, {}) if isinstance(table, dict) else {}
    return table if isinstance(table, dict) else {}


def thresholds_in(text: str) -> dict[_KeyPath, _Number]:
    """The thresholds of a `pyproject.toml`'s text; none when it is not valid TOML."""
    try:
        return thresholds(_coverage(tomllib.loads(text)))
    except tomllib.TOMLDecodeError:
        return {}


def at_revision(pyproject: Path, ref: str) -> dict[_KeyPath, _Number]:
    """Thresholds at `ref` (the commit the update started from); none outside git."""
    shown = subprocess.run(
        ["git", "show", f"{ref}:./{pyproject.name}"],
        cwd=pyproject.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return thresholds_in(shown.stdout) if shown.returncode == 0 else {}


def _floor(spec: str) -> tuple[str, _Number]:
    key, sep, raw = spec.partition("=")
    if not sep or key not in FLOOR_KEYS:
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(FLOOR_KEYS)}=<number>")
    try:
        return key, int(raw) if raw.strip().isdigit() else float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Ratchet the coverage thresholds of the service in the current directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--floor", type=_floor, action="append", default=[], metavar="KEY=N")
    parser.add_argument("--pyproject", type=Path, default=Path("pyproject.toml"))
    parser.add_argument("--before", default="HEAD", metavar="REF")
    args = parser.parse_args(argv)
    pyproject: Path = args.pyproject.absolute()
    if not pyproject.is_file():
        return 0
    text = pyproject.read_text(encoding="utf-8")
    if has_conflict_markers(text):
        print(
            f"ratchet: {pyproject.name} has merge conflicts; thresholds were not checked. "
            "Resolve them and keep every [tool.gates.coverage] threshold at least at its "
            "previous value.",
            file=sys.stderr,
        )
        return 0
    try:
        merged = thresholds(_coverage(tomllib.loads(text)))
    except tomllib.TOMLDecodeError as exc:
        print(f"ratchet: {pyproject.name} is not valid TOML ({exc}); skipped", file=sys.stderr)
        return 0
    before = at_revision(pyproject, args.before)
    changes = plan(before=before, merged=merged, floors=dict(args.floor))
    if not changes:
        return 0
    edited = apply(text, changes)
    if thresholds(_coverage(tomllib.loads(edited))) != merged | {c.path: c.value for c in changes}:
        print(
            f"ratchet: could not edit {pyproject.name} in place; set these by hand:",
            *(change.describe() for change in changes),
            sep="\n  ",
            file=sys.stderr,
        )
        return 0
    pyproject.write_text(edited, encoding="utf-8")
    for change in changes:
        print(f"ratchet: {change.describe()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
