"""Patch coverage: the measured lines changed since a base revision, as diff-cover reports them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ._errors import ConfigError, ToolError
from ._git import Repository
from ._proc import executable, run_tool

__all__ = ["REPORT", "ChangedFile", "changed_files"]

#: diff-cover's JSON report, kept beside the coverage gate's result.
REPORT = "patch-coverage.json"


@dataclass(frozen=True, kw_only=True)
class ChangedFile:
    """A measured file's lines added since the base: covered, and not."""

    path: str
    covered: frozenset[int]
    missing: frozenset[int]


def changed_files(
    *, base: str, project: Path, coverage_xml: Path, results: Path, gate: str
) -> list[ChangedFile] | str:
    """The measured files changed since the merge base of `base` and HEAD, or why not known.

    Committed, staged, unstaged and untracked changes count. Paths are relative to `project`,
    which may be a subdirectory of the repository.

    Raises:
        ConfigError: there is no coverage XML (the tests gate writes it).
        ToolError: diff-cover could not run.
    """
    if not coverage_xml.is_file():
        raise ConfigError(message=f"no coverage XML at {coverage_xml}: run `gates tests` first")
    git = Repository(project, gate=gate)
    missing = git.missing_base(base)
    if missing is not None:
        return missing
    if git.run("merge-base", base, "HEAD")[0] != 0:
        return f"no merge base of `{base}` and HEAD"
    top = Path(git.run("rev-parse", "--show-toplevel")[1].strip()).resolve()
    report = results / REPORT
    report.unlink(missing_ok=True)
    # From the top of the work tree: diff-cover names untracked files relative to where it
    # runs and every other file relative to the top, and only agrees with itself there.
    ran = run_tool(
        [
            executable("diff-cover"),
            str(coverage_xml),
            f"--compare-branch={base}",
            "--include-untracked",
            "--format",
            f"json:{report}",
            "--quiet",
        ],
        cwd=top,
        gate=gate,
        label=f"diff-cover against {base}",
    )
    if ran.returncode != 0 or not report.is_file():
        raise ToolError(tool="diff-cover", message=ran.tail())
    stats = json.loads(report.read_text(encoding="utf-8")).get("src_stats", {})
    prefix = project.resolve().relative_to(top)
    return [
        ChangedFile(
            path=Path(name).relative_to(prefix).as_posix(),
            covered=frozenset(stat.get("covered_lines", ())),
            missing=frozenset(stat.get("violation_lines", ())),
        )
        for name, stat in sorted(stats.items())
        if Path(name).is_relative_to(prefix)
    ]
