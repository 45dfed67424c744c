"""After `copier update` across a release that renames or removes a file: keep the team's edits.

Copier deletes a file the new release no longer renders and writes the renamed one fresh, so a
team's edits to it would be gone. A release that renames or removes a path declares a
version-gated `_migrations` entry running this script; after copier's merge it carries the
team's edits over, three ways: base is the file as the previous release rendered it (rendered
again here, with the service's recorded answers), "before updating" is the team's file at
`HEAD`, "after updating" is what the new release rendered.

- `rename OLD NEW`: the team's edits to OLD are merged into NEW; conflicts are marked as copier
  marks them. If the team had deleted OLD, NEW is not created either.
- `remove OLD`: if the team edited OLD, it is kept (it is the team's file from now on).

Paths are relative to the service root, with answers already rendered (copier.yml renders the
command); a directory moves file by file. Runs under copier's own Python (it renders the
previous release with copier's API), in the service's directory; copier sets `VERSION_FROM`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import yaml
from copier import run_copy

#: The template repository this script belongs to (copier runs it from its checkout).
TEMPLATE_ROOT = Path(__file__).resolve().parents[1]

_LABELS = ("before updating", "last update", "after updating")


def _git(args: Sequence[str], *, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], capture_output=True, check=check)


def _at_head(path: str) -> bytes | None:
    shown = _git(["show", f"HEAD:./{path}"], check=False)
    return shown.stdout if shown.returncode == 0 else None


def _files_at_head(path: str) -> list[str]:
    """Files under `path` at HEAD, relative to the service (the current directory)."""
    listed = _git(["ls-tree", "-r", "--name-only", "HEAD", "--", path])
    return listed.stdout.decode().splitlines()


def render_previous(dst: Path, *, ref: str, answers_file: str) -> Path:
    """Render the release the service was on (`ref`) with its recorded answers into `dst`."""
    recorded = _at_head(answers_file)
    if recorded is None:
        raise SystemExit(f"move: {answers_file} is not in HEAD; cannot tell what was rendered")
    answers = yaml.safe_load(recorded) or {}
    run_copy(
        str(TEMPLATE_ROOT),
        dst,
        data={k: v for k, v in answers.items() if not k.startswith("_")},
        answers_file=answers_file,
        vcs_ref=ref,
        defaults=True,
        overwrite=True,
        quiet=True,
        skip_tasks=True,
        unsafe=True,
    )
    return dst


def _pairs(old: str, new: str | None, base: Path) -> list[tuple[str, str | None]]:
    """File-level (old, new) pairs: one for a file, one per file for a directory."""
    if (base / old).is_dir() or old.endswith("/"):
        root = PurePosixPath(old.rstrip("/"))
        names = {p.relative_to(base).as_posix() for p in (base / root).rglob("*") if p.is_file()}
        names |= set(_files_at_head(str(root)))
        if new is None:
            return [(name, None) for name in sorted(names)]
        target = PurePosixPath(new)
        return [(n, str(target / PurePosixPath(n).relative_to(root))) for n in sorted(names)]
    return [(old, new)]


def carry(old: str, new: str | None, base: Path) -> str:
    """Carry the team's edits of `old` to `new` (or keep `old` when `new` is None)."""
    rendered = base / old
    previous = rendered.read_bytes() if rendered.is_file() else None
    team = _at_head(old)
    if previous is None:
        return f"{old}: not rendered by the previous release for these answers; left alone"
    if team is None:
        if new is not None and _at_head(new) is None and Path(new).exists():
            Path(new).unlink()
            return f"{old}: deleted by the team, so {new} is not created"
        return f"{old}: deleted by the team; nothing to carry"
    if team == previous:
        return f"{old}: unedited; the release's change applies as is"
    if new is None or not Path(new).is_file():
        Path(old).parent.mkdir(parents=True, exist_ok=True)
        Path(old).write_bytes(team)
        return f"{old}: removed by the release but edited by the team, so kept; delete it when done"
    return _merge(old, new, previous=previous, team=team)


def _merge(old: str, new: str, *, previous: bytes, team: bytes) -> str:
    """Three-way merge into `new`: the team's `old` against the release's `new`."""
    with tempfile.TemporaryDirectory(prefix="paved-move.") as tmp:
        base_file, theirs = Path(tmp, "base"), Path(tmp, "theirs")
        base_file.write_bytes(previous)
        theirs.write_bytes(Path(new).read_bytes())
        Path(new).write_bytes(team)
        labels = [arg for label in _LABELS for arg in ("-L", label)]
        merged = _git(["merge-file", *labels, "--", new, str(base_file), str(theirs)], check=False)
    if old != new:
        Path(old).unlink(missing_ok=True)
    if merged.returncode != 0:
        return f"{old} -> {new}: your edits conflict with the release's; resolve the markers"
    return f"{old} -> {new}: your edits carried over"


def main(argv: Sequence[str] | None = None) -> int:
    """Carry team edits across the renames or removals given on the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers-file", default=".copier-answers.yml")
    parser.add_argument(
        "--from-ref",
        default=os.environ.get("VERSION_FROM"),
        help="the release the service was on (copier sets VERSION_FROM)",
    )
    actions = parser.add_subparsers(dest="action", required=True)
    rename = actions.add_parser("rename", help="OLD was renamed NEW")
    rename.add_argument("old")
    rename.add_argument("new")
    remove = actions.add_parser("remove", help="OLD was removed")
    remove.add_argument("old")
    args = parser.parse_args(argv)
    if not args.from_ref:
        parser.error("--from-ref (or VERSION_FROM) is required")
    with tempfile.TemporaryDirectory(prefix="paved-previous.") as tmp:
        base = render_previous(Path(tmp), ref=args.from_ref, answers_file=args.answers_file)
        new = args.new if args.action == "rename" else None
        for old_file, new_file in _pairs(args.old, new, base):
            print(f"move: {carry(old_file, new_file, base)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
