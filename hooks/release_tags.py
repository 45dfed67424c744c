"""Give a clone of this repository its release tags: `v<version>` at each commit of releases.toml.

Copier copies a template's newest release tag and records it in the service; a clone that
carries no tags (a CI checkout, `git clone --no-tags`, a fork) makes copier warn "No git tags
found" and record an unreleased version that `copier update` cannot start from.
`releases.toml` is the record of every release, so the tags follow from it:

    python3 hooks/release_tags.py

Standard library only. Idempotent: a tag already at its recorded commit is left as it is.
Every release is checked before any tag is made; a recorded commit the clone lacks, or a tag
at another commit, is reported (all of them) and nothing is tagged. Tags are lightweight, so
no git identity is needed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: The repository this script belongs to.
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, kw_only=True)
class Release:
    """One `[[release]]` of releases.toml."""

    version: str
    commit: str

    @property
    def tag(self) -> str:
        """The release's git tag."""
        return f"v{self.version}"


def releases(path: Path) -> list[Release]:
    """The releases recorded in `path`, as written."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("release", [])
    return [Release(version=str(e["version"]), commit=str(e["commit"])) for e in entries]


def _resolve(repo: Path, revision: str) -> str | None:
    """The commit `revision` names in `repo`, or None when there is none."""
    found = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() if found.returncode == 0 else None


def plan(repo: Path, recorded: Sequence[Release]) -> tuple[list[Release], list[str], list[str]]:
    """The releases to tag, those already tagged, and what stands in the way (all of it)."""
    to_tag: list[Release] = []
    tagged: list[str] = []
    problems: list[str] = []
    for release in recorded:
        at = _resolve(repo, f"refs/tags/{release.tag}")
        if at == release.commit:
            tagged.append(release.tag)
        elif at is not None:
            problems.append(
                f"{release.tag} points at {at}, but releases.toml records {release.commit}: "
                "one of them is wrong; fix it (git tag -d, or the entry) and run this again"
            )
        elif _resolve(repo, release.commit) != release.commit:
            problems.append(
                f"release {release.version} is recorded at commit {release.commit}, which this "
                "clone does not have: fetch the full history (`git fetch --unshallow`, or clone "
                "without --depth), then run this again"
            )
        else:
            to_tag.append(release)
    return to_tag, tagged, problems


def main(argv: Sequence[str] | None = None) -> int:
    """Tag the releases of releases.toml in the repository; 0 when all are tagged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="default: this repository")
    args = parser.parse_args(argv)
    repo: Path = args.repo
    if not (repo / "releases.toml").is_file():
        print(
            f"release-tags: {repo} has no releases.toml: is it a clone of paved?", file=sys.stderr
        )
        return 2
    recorded = releases(repo / "releases.toml")
    to_tag, tagged, problems = plan(repo, recorded)
    if problems:
        print(*(f"release-tags: {problem}" for problem in problems), sep="\n", file=sys.stderr)
        print("release-tags: nothing was tagged", file=sys.stderr)
        return 1
    for release in to_tag:
        subprocess.run(["git", "tag", release.tag, release.commit], cwd=repo, check=True)
        print(f"release-tags: tagged {release.tag} at {release.commit[:12]}", file=sys.stderr)
    if tagged:
        print(f"release-tags: already tagged: {', '.join(tagged)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
