"""Update risk (`gates audit`): the predicted `copier update` against what copier really does.

The fast tier holds the prediction's rules on small files. The slow tier generates services,
edits them as teams do, predicts their update, runs the real `copier update` and compares the
paths left with conflict markers and the paths changed: in a tiny template whose release
renames and removes files (the real hooks/move.py) and trips git's patch step, and in this
template from its supported releases to the working tree.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import jinja2
import pytest
import yaml
from copier import run_copy
from packaging.version import Version
from paved_gates._audit._risk import Move, PredictedUpdate, moves, predict_update, simulate

from tests._releases import commit_release, next_version, supported, template_repo
from tests._template import ROOT, run, service_env
from tests.test_ownership import load_tiers, tier_matchers

SEEDED = ("tests/**", "src/*/main.py")
LINES = b"".join(b"line%d\n" % n for n in range(1, 31))
ANSWERS = ".copier-answers.yml"


def _edit(text: bytes, number: int, new: bytes) -> bytes:
    """`text` with its line `line<number>` replaced by `new`."""
    old = b"line%d\n" % number
    assert old in text
    return text.replace(old, new + b"\n", 1)


def _predict(
    base: Mapping[str, bytes],
    target: Mapping[str, bytes],
    service: Mapping[str, bytes],
    *,
    exclude: Sequence[str] = (),
    moves: Sequence[Move] = (),
) -> PredictedUpdate:
    return simulate(
        base=base,
        target=target,
        service=service,
        skip_if_exists=SEEDED,
        exclude=exclude,
        moves=moves,
    )


# --- One file, three ways ------------------------------------------------------------------


def test_a_file_the_team_left_alone_takes_the_release() -> None:
    release = _edit(LINES, 10, b"release")

    predicted = _predict({"Makefile": LINES}, {"Makefile": release}, {"Makefile": LINES})

    assert predicted == PredictedUpdate(changed=("Makefile",))


def test_a_team_edit_the_release_does_not_touch_is_kept_as_is() -> None:
    team = _edit(LINES, 10, b"team")

    predicted = _predict({"Makefile": LINES}, {"Makefile": LINES}, {"Makefile": team})

    assert predicted == PredictedUpdate()


def test_the_same_change_on_both_sides_changes_nothing() -> None:
    both = _edit(LINES, 10, b"both")

    assert _predict({"Makefile": LINES}, {"Makefile": both}, {"Makefile": both}) == (
        PredictedUpdate()
    )


@pytest.mark.parametrize(
    ("team_line", "why"),
    [(10, "the same line"), (11, "the next line: git conflicts on adjacent changes")],
)
def test_an_edit_of_lines_the_release_changes_conflicts(team_line: int, why: str) -> None:
    release = _edit(LINES, 10, b"release")
    team = _edit(LINES, team_line, b"team")

    predicted = _predict({"Makefile": LINES}, {"Makefile": release}, {"Makefile": team})

    assert predicted.conflicts == ("Makefile",), why
    assert predicted.changed == ("Makefile",)


@pytest.mark.parametrize(
    ("team_line", "why"),
    [
        (13, "within the patch's 3 context lines: git apply rejects it, the merge takes it"),
        (25, "far away: the patch applies"),
        (2, "a hunk pinned to the top, while the release inserts a line above"),
    ],
)
def test_an_edit_of_other_lines_merges_cleanly(team_line: int, why: str) -> None:
    release = b"header\n" + _edit(LINES, 10, b"release")
    team = _edit(LINES, team_line, b"team")

    predicted = _predict({"Makefile": LINES}, {"Makefile": release}, {"Makefile": team})

    assert predicted == PredictedUpdate(changed=("Makefile",)), why


def test_appends_at_the_end_by_both_sides_conflict() -> None:
    predicted = _predict(
        {"README.md": LINES}, {"README.md": LINES + b"release\n"}, {"README.md": LINES + b"team\n"}
    )

    assert predicted.conflicts == ("README.md",)


def test_a_hunk_whose_context_repeats_applies_where_git_finds_it_first() -> None:
    """git apply takes the nearest place its context matches: no conflict, the edit moves."""
    blocks = [b"- step:\n", b"    uses: x\n", b"    with: y\n"] * 6
    release, team = list(blocks), list(blocks)
    release[7] = b"    uses: release\n"
    team[7] = b"    uses: team\n"
    files = [{"ci.yml": b"".join(lines)} for lines in (blocks, release, team)]

    predicted = _predict(*files)

    assert predicted == PredictedUpdate(changed=("ci.yml",))


def test_a_file_new_in_the_release_that_the_service_already_has_merges_from_empty() -> None:
    target = {"compose.yaml": b"services:\n  app: {}\n"}

    theirs = _predict({}, target, {"compose.yaml": b"services:\n  db: {}\n"})
    same = _predict({}, target, dict(target))

    assert theirs == PredictedUpdate(conflicts=("compose.yaml",), changed=("compose.yaml",))
    assert same == PredictedUpdate()


def test_a_file_the_release_removes_is_deleted_edited_or_seeded_alike() -> None:
    base = {"old.txt": LINES, "tests/old_test.py": LINES, "notes.txt": LINES}
    service = {"old.txt": _edit(LINES, 3, b"team"), "tests/old_test.py": LINES}
    service |= {"notes.txt": LINES, "own.txt": b"the team's own\n"}

    predicted = _predict(base, {"notes.txt": LINES}, service)

    assert predicted == PredictedUpdate(changed=("old.txt", "tests/old_test.py"))


def test_a_file_the_team_deleted_is_not_created_again() -> None:
    release = _edit(LINES, 10, b"release")

    predicted = _predict({"compose.yaml": LINES}, {"compose.yaml": release}, {})

    assert predicted == PredictedUpdate()


def test_seeded_files_are_never_touched_but_written_again_when_missing() -> None:
    release = _edit(LINES, 10, b"release")
    base = {"tests/test_a.py": LINES, "tests/test_b.py": LINES, "src/svc/main.py": LINES}
    target = dict.fromkeys(base, release) | {"tests/test_new.py": LINES}
    service = {"tests/test_a.py": _edit(LINES, 10, b"team"), "src/svc/main.py": LINES}

    predicted = _predict(base, target, service)

    assert predicted == PredictedUpdate(changed=("tests/test_b.py", "tests/test_new.py"))


def test_excluded_paths_are_neither_written_nor_removed() -> None:
    base = {"uv.lock": LINES, "tests/unit/test_cache.py": LINES}
    target = {"tests/unit/test_cache.py": _edit(LINES, 1, b"release"), "var/cache.db": LINES}

    predicted = _predict(
        base, target, {"uv.lock": LINES}, exclude=["uv.lock", "var", "tests/unit/test_cache.py"]
    )

    assert predicted == PredictedUpdate()


def test_the_answers_file_is_rewritten_never_merged() -> None:
    base = {ANSWERS: b"_commit: v0.1.0\nname: svc\n"}
    target = {ANSWERS: b"_commit: v0.2.0\nname: svc\n"}
    service = {ANSWERS: b"# edited by hand\n_commit: v0.1.0\nname: svc\n"}

    assert _predict(base, target, service) == PredictedUpdate(changed=(ANSWERS,))
    assert _predict(base, base, service) == PredictedUpdate()


# --- Moves (hooks/move.py) -----------------------------------------------------------------

_MOVE = "{{ _copier_conf.src_path }}/hooks/move.py"
_COPIER_YML = {
    "_migrations": [
        {"command": ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/ratchet.py"]},
        {
            "version": "0.2.0",
            "command": [
                "{{ _copier_python }}",
                _MOVE,
                "rename",
                "src/{{ package_name }}/core/etag.py",
                "src/{{ package_name }}/core/http_cache.py",
            ],
        },
        {"version": "0.3.0", "command": f"python {_MOVE} --answers-file .answers.yml remove x.md"},
        {"version": "0.3.0", "command": ["python", "hooks/other.py", "rename", "a", "b"]},
        {"version": "0.4.0", "command": ["python", _MOVE, "rename", "docs/old/", "docs/new/"]},
    ]
}


def _render(text: str) -> str:
    rendered: str = jinja2.Template(text, undefined=jinja2.StrictUndefined).render(
        package_name="orders"
    )
    return rendered


@pytest.mark.parametrize(
    ("after", "upto", "expected"),
    [
        ("0.2.0", "0.3.0", [Move(kind="remove", source="x.md", target=None, version="0.3.0")]),
        ("0.2.0", "0.2.0", []),
        (
            "0.1.0",
            "0.4.0",
            [
                Move(
                    kind="rename",
                    source="src/orders/core/etag.py",
                    target="src/orders/core/http_cache.py",
                    version="0.2.0",
                ),
                Move(kind="remove", source="x.md", target=None, version="0.3.0"),
                Move(kind="rename", source="docs/old/", target="docs/new/", version="0.4.0"),
            ],
        ),
    ],
)
def test_moves_are_the_move_hooks_of_the_releases_an_update_crosses(
    after: str, upto: str, expected: list[Move]
) -> None:
    found = moves(_COPIER_YML, after=Version(after), upto=Version(upto), render=_render)

    assert found == tuple(expected)


_INI = b"".join(b"key%d = %d\n" % (n, n) for n in range(1, 13))
_RENAME = Move(kind="rename", source="config.ini", target="settings.ini", version="2.0.0")


@pytest.mark.parametrize(
    ("team", "conflicts", "changed", "message"),
    [
        (
            _INI.replace(b"key1 = 1", b"key1 = team"),
            (),
            ("config.ini", "settings.ini"),
            "2.0.0: config.ini -> settings.ini: your edits carried over",
        ),
        (
            _INI.replace(b"key12 = 12", b"key12 = team"),
            ("settings.ini",),
            ("config.ini", "settings.ini"),
            (
                "2.0.0: config.ini -> settings.ini: your edits conflict with the release's; "
                "resolve the markers"
            ),
        ),
        (_INI, (), ("config.ini", "settings.ini"), "config.ini: unedited"),
        (None, (), (), "2.0.0: config.ini: deleted by the team, so settings.ini is not created"),
    ],
    ids=["edited", "conflicting", "unedited", "deleted"],
)
def test_a_rename_carries_the_teams_edits_to_the_new_path(
    team: bytes | None, conflicts: tuple[str, ...], changed: tuple[str, ...], message: str
) -> None:
    release = _INI.replace(b"key12 =", b"key12_renamed =")
    service = {"config.ini": team} if team is not None else {}

    predicted = _predict({"config.ini": _INI}, {"settings.ini": release}, service, moves=[_RENAME])

    assert (predicted.conflicts, predicted.changed) == (conflicts, changed)
    (migration,) = predicted.migrations
    assert message in migration


def test_a_removal_keeps_an_edited_file_and_a_folder_moves_file_by_file() -> None:
    base = {"NOTES.md": b"# Notes\n", "scripts/a.sh": b"a\n", "scripts/b.sh": b"b\n"}
    target = {"bin/a.sh": b"a\n", "bin/b.sh": b"b\n"}
    service = {"NOTES.md": b"# Notes\n\nOn call: us.\n", "scripts/a.sh": b"a\nteam\n"}
    service |= {"scripts/b.sh": b"b\n"}
    remove = Move(kind="remove", source="NOTES.md", target=None, version="2.0.0")
    folder = Move(kind="rename", source="scripts/", target="bin/", version="2.0.0")

    predicted = _predict(base, target, service, moves=[remove, folder])

    assert predicted.conflicts == ()
    assert predicted.changed == ("bin/a.sh", "bin/b.sh", "scripts/a.sh", "scripts/b.sh")
    assert predicted.migrations == (
        (
            "2.0.0: NOTES.md: removed by the release but edited by the team, so kept; "
            "delete it when done"
        ),
        "2.0.0: scripts/a.sh -> bin/a.sh: your edits carried over",
        "2.0.0: scripts/b.sh: unedited; the release's change applies as is",
    )


def test_predict_update_reports_the_risk_the_audit_shows() -> None:
    release = _edit(LINES, 10, b"release")
    base = {"a.txt": LINES, "b.txt": LINES, "NOTES.md": b"notes\n"}
    service = {"a.txt": _edit(LINES, 10, b"team"), "b.txt": LINES, "NOTES.md": b"ours\n"}
    remove = Move(kind="remove", source="NOTES.md", target=None, version="0.3.0")

    risk = predict_update(
        base=base,
        target={"a.txt": release, "b.txt": release},
        service=service,
        skip_if_exists=SEEDED,
        moves=[remove],
        target_release="0.3.0",
    )

    assert (risk.target, risk.level, risk.conflicts, risk.changed) == (
        "0.3.0",
        "high",
        ("a.txt",),
        2,
    )
    assert risk.migrations == (
        (
            "0.3.0: NOTES.md: removed by the release but edited by the team, so kept; "
            "delete it when done"
        ),
    )


# --- The real `copier update` (slow) -------------------------------------------------------

_CONFLICT = re.compile(rb"^<{7} before updating$", re.MULTILINE)


def _git(args: list[str], cwd: Path) -> str:
    return run(["git", *args], cwd).stdout


def _files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def _copy(template: Path, dst: Path, ref: str, answers: Mapping[str, object]) -> Path:
    run_copy(
        str(template),
        dst,
        data=dict(answers),
        vcs_ref=ref,
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
    )
    return dst


def _commit_all(service: Path, message: str) -> None:
    _git(["add", "-A"], service)
    _git(["commit", "--quiet", "--no-verify", "-m", message], service)


def _generate(template: Path, dst: Path, ref: str, answers: Mapping[str, object]) -> Path:
    _copy(template, dst, ref, answers)
    _git(["init", "--quiet", "--initial-branch=main"], dst)
    _commit_all(dst, f"Generate from {ref}")
    return dst


def _copier_update(service: Path, ref: str, tmp_path: Path) -> None:
    """`copier update` as the weekly workflow runs it, on a PATH without uv.

    Without uv, the update's last two tasks (hooks/relock.py, hooks/api_document.py) say so
    and stop, as they do on a machine without uv: they run after the merge and only write
    `uv.lock` and `api/openapi.json`, so the merge and the moves are exactly a real update's,
    without minutes of locking and installing per service.
    """
    copier = str(Path(sys.executable).with_name("copier"))
    command = [copier, "update", "--defaults", "--trust", "--conflict", "inline", "-r", ref]
    run(command, service, env=service_env(PATH=_path_without_uv(tmp_path / "path")))


def _path_without_uv(shadows: Path) -> str:
    """This PATH, each folder holding uv replaced by links to everything else in it."""
    folders = []
    for number, entry in enumerate(os.environ["PATH"].split(os.pathsep)):
        folder = Path(entry)
        if not (folder / "uv").exists():
            folders.append(entry)
            continue
        shadow = shadows / str(number)
        if not shadow.is_dir():
            shadow.mkdir(parents=True)
            for tool in folder.iterdir():
                if tool.name not in {"uv", "uvx"}:
                    (shadow / tool.name).symlink_to(tool)
        folders.append(str(shadow))
    return os.pathsep.join(folders)


def _outcome(service: Path) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The paths with conflict markers, and every path the update changed (git status)."""
    status = _git(["status", "--porcelain", "-z", "--untracked-files=all"], service)
    changed = tuple(sorted({entry[3:] for entry in status.split("\0") if entry}))
    files = _files(service)
    conflicts = tuple(path for path in sorted(files) if _CONFLICT.search(files[path]))
    return conflicts, changed


def _tracked(service: Path) -> list[str]:
    return [path for path in _git(["ls-files", "-z"], service).split("\0") if path]


def _split(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def _release_changes(base: bytes, target: bytes) -> list[tuple[int, int]]:
    """The line ranges of `base` the release replaces or deletes, or inserts at."""
    matcher = difflib.SequenceMatcher(None, _split(base), _split(target), autojunk=False)
    return [(i1, max(i2, i1 + 1)) for tag, i1, i2, _, _ in matcher.get_opcodes() if tag != "equal"]


def _replace_line(data: bytes, number: int) -> bytes:
    lines = _split(data)
    lines[number] = lines[number].rstrip(b"\n") + b"  # edited by the team\n"
    return b"".join(lines)


def _colliding(base: bytes, target: bytes) -> bytes | None:
    """`base` edited on the first line the release changes (or next to its insertion)."""
    changes = _release_changes(base, target)
    if not changes or not base:
        return None
    return _replace_line(base, min(changes[0][0], len(_split(base)) - 1))


def _apart(base: bytes, target: bytes, distance: int = 8) -> bytes | None:
    """`base` edited on a line at least `distance` lines from every change of the release."""
    changes = _release_changes(base, target)
    for number in range(len(_split(base))):
        if all(number < lo - distance or number >= hi + distance for lo, hi in changes):
            return _replace_line(base, number)
    return None


def _seed_edits(
    service: Path, base: Mapping[str, bytes], target: Mapping[str, bytes]
) -> dict[str, str]:
    """Edit the service as teams do, choosing paths where the release makes each edit count.

    Returns:
        Each edited path and the kind of edit.
    """
    enforced = tier_matchers(load_tiers())["enforced"]
    seeded = tier_matchers(load_tiers())["seeded"]
    both = [p for p in sorted(base) if p in target and p != ANSWERS]
    changed = [p for p in both if base[p] != target[p] and enforced(p)]
    edits: dict[str, str] = {}

    def edit(kind: str, candidates: list[str], change: Callable[[str], bytes | None]) -> None:
        for path in candidates:
            data = None if path in edits else change(path)
            if data is not None and data != base.get(path):
                (service / path).parent.mkdir(parents=True, exist_ok=True)
                (service / path).write_bytes(data)
                edits[path] = kind
                return

    edit(
        "enforced, on lines the release changes", changed, lambda p: _colliding(base[p], target[p])
    )
    edit("enforced, away from the release's lines", changed, lambda p: _apart(base[p], target[p]))
    unchanged = [p for p in both if base[p] == target[p] and base[p] and enforced(p)]
    edit("enforced, a file the release keeps", unchanged, lambda p: _replace_line(base[p], 0))
    edit("merged", ["README.md"], lambda p: base[p] + b"\n## Orders\n\nOur notes.\n")
    edit("merged", ["Makefile"], lambda p: base[p] + b"\norders: ## Count orders\n\ttrue\n")
    edit(
        "merged",
        ["pyproject.toml"],
        lambda p: base[p].replace(b"dependencies = [\n", b'dependencies = [\n    "tenacity",\n', 1),
    )
    seeds = [p for p in both if seeded(p)]
    edit("seeded, edited", seeds, lambda p: base[p] + b"# the team's test\n")
    new = [p for p in sorted(target) if p not in base and not seeded(p)]
    edit("new in the release, already in the service", new, lambda p: b"the team's own\n")
    gone = [p for p in sorted(base) if p not in target]
    edit("removed by the release, edited", gone, lambda p: base[p] + b"# edited\n")
    for kind, candidates in (("enforced, deleted", changed), ("seeded, deleted", seeds)):
        if path := next((p for p in candidates if p not in edits), None):
            (service / path).unlink()
            edits[path] = kind
    return edits


#: Services generated from the oldest and the newest supported release, answers varied.
_SAMPLE: list[tuple[str, dict[str, object]]] = [
    (supported()[0].tag, {}),
    (
        supported()[0].tag,
        {"service_name": "orders-api", "owner": "team-orders", "coverage_total": 80},
    ),
    (
        supported()[-1].tag,
        {"service_name": "ledger", "api": ["graphql", "grpc"], "database": "postgresql"},
    ),
]


def _update_patterns(copier_yml: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """`_skip_if_exists` and `_exclude`, rendered as copier renders them for an update."""
    patterns: dict[str, list[str]] = {}
    for key in ("_skip_if_exists", "_exclude"):
        raw = copier_yml.get(key) or []
        assert isinstance(raw, list)
        rendered = (jinja2.Template(str(p)).render(_copier_operation="update") for p in raw)
        patterns[key] = [pattern for pattern in rendered if pattern]
    return patterns["_skip_if_exists"], patterns["_exclude"]


def _prediction(
    template: Path,
    service: Path,
    ref: str,
    base: Mapping[str, bytes],
    target: Mapping[str, bytes],
) -> PredictedUpdate:
    """The audit's prediction of `service`'s update to `ref`, from the two renders."""
    recorded = yaml.safe_load((service / ANSWERS).read_text(encoding="utf-8"))
    values = {k: v for k, v in recorded.items() if not k.startswith("_")}
    copier_yml = yaml.safe_load((template / "copier.yml").read_text(encoding="utf-8"))
    skip_if_exists, exclude = _update_patterns(copier_yml)
    return simulate(
        base=base,
        target=target,
        service={path: (service / path).read_bytes() for path in _tracked(service)},
        skip_if_exists=skip_if_exists,
        exclude=exclude,
        moves=moves(
            copier_yml,
            after=Version(str(recorded["_commit"]).removeprefix("v")),
            upto=Version(ref.removeprefix("v")),
            render=lambda text: jinja2.Template(text, undefined=jinja2.StrictUndefined).render(
                **values
            ),
        ),
    )


@pytest.mark.slow
def test_the_prediction_is_what_copier_update_does_to_this_templates_services(
    tmp_path: Path,
) -> None:
    paved = template_repo(tmp_path / "paved")
    latest = f"v{next_version()}"
    merged_cleanly: list[str] = []
    conflicted: list[str] = []
    for number, (ref, answers) in enumerate(_SAMPLE):
        service = _generate(paved, tmp_path / f"svc{number}", ref, answers)
        base = _files(service)  # generated just now: the render at its release
        target = _files(_copy(paved, tmp_path / f"latest{number}", latest, answers))
        edits = _seed_edits(service, base, target)
        _commit_all(service, "The team's edits")

        predicted = _prediction(paved, service, latest, base, target)
        _copier_update(service, latest, tmp_path)
        conflicts, changed = _outcome(service)

        assert predicted.conflicts == conflicts, (ref, edits)
        assert predicted.changed == changed, (ref, edits)
        conflicted += conflicts
        merged_cleanly += [p for p in changed if p in edits and p not in conflicts]
    # The sample exercised what it is for: real conflicts, and team edits merged cleanly.
    assert conflicted
    assert merged_cleanly


# A tiny template whose release trips each rule: same, adjacent, nearby and far edits, a
# block git applies at another offset, a top insertion, appends at the end, a file new on both
# sides, seeded files, removals, and renames and a removal run by hooks/move.py.

_TINY_COPIER = """\
_subdirectory: template
_answers_file: .copier-answers.yml
_skip_if_exists: ["seeded/**"]
name:
  type: str
  default: svc
"""

_TINY_MOVES = """\
_migrations:
  - version: "2.0.0"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move.py",
              "rename", "config/{{ name }}.ini", "settings/{{ name }}.ini"]
  - version: "2.0.0"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move.py",
              "rename", "config/extra.ini", "settings/extra.ini"]
  - version: "2.0.0"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move.py",
              "remove", "NOTES.md"]
  - version: "2.0.0"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move.py",
              "rename", "scripts/", "bin/"]
"""

_STEPS = b"- step:\n    uses: x\n    with: y\n" * 6


def _step(data: bytes, index: int, value: bytes) -> bytes:
    """`data` with its `index`th `uses: x` (0-based) replaced by `value`."""
    parts = data.split(b"uses: x")
    return b"uses: x".join(parts[: index + 1]) + value + b"uses: x".join(parts[index + 1 :])


_TINY_V1: dict[str, bytes] = {
    **{f"{name}.txt": LINES for name in ("same", "adjacent", "near", "far", "top", "tail")},
    "seeded/edited.txt": LINES,
    "seeded/deleted.txt": LINES,
    "seeded/gone.txt": b"seed\n",
    "deleted.txt": LINES,
    "gone.txt": b"old\nfile\n",
    "steps.yml": _STEPS,
    "config/{{ name }}.ini.jinja": _INI,
    "config/extra.ini": _INI,
    "NOTES.md": b"# Notes\n",
    "scripts/seed.sh": b"#!/bin/sh\necho seed\n",
    "scripts/other.sh": b"echo other\n",
}


def _tiny_v2() -> dict[str, bytes]:
    files = {path: data for path, data in _TINY_V1.items() if not path.startswith("config/")}
    for name in ("same", "adjacent", "near", "far", "deleted"):
        files[f"{name}.txt"] = _edit(LINES, 10, b"release")
    files |= {"top.txt": b"header\n" + LINES, "tail.txt": LINES + b"release tail\n"}
    files["seeded/edited.txt"] = files["seeded/deleted.txt"] = _edit(LINES, 10, b"release")
    for gone in ("gone.txt", "seeded/gone.txt", "NOTES.md", "scripts/seed.sh", "scripts/other.sh"):
        del files[gone]
    files |= {"bin/seed.sh": _TINY_V1["scripts/seed.sh"], "bin/other.sh": b"echo other\n"}
    files["steps.yml"] = _step(_STEPS, 2, b"uses: release")
    release_ini = _INI.replace(b"key12 =", b"key12_renamed =")
    files |= {"settings/{{ name }}.ini.jinja": release_ini, "settings/extra.ini": release_ini}
    return files | {"new.txt": b"brand\nnew\n"}


def _tiny_template(root: Path) -> Path:
    (root / "hooks").mkdir(parents=True)
    shutil.copy2(ROOT / "hooks" / "move.py", root / "hooks" / "move.py")
    _git(["init", "--quiet", "--initial-branch=main"], root)
    for version, files, copier_yml in (
        ("1.0.0", _TINY_V1, _TINY_COPIER),
        ("2.0.0", _tiny_v2(), _TINY_COPIER + _TINY_MOVES),
    ):
        shutil.rmtree(root / "template", ignore_errors=True)
        for path, data in files.items():
            (root / "template" / path).parent.mkdir(parents=True, exist_ok=True)
            (root / "template" / path).write_bytes(data)
        (root / "template" / "{{ _copier_conf.answers_file }}.jinja").write_text(
            "{{ _copier_answers | to_nice_yaml -}}\n", encoding="utf-8"
        )
        (root / "copier.yml").write_text(copier_yml, encoding="utf-8")
        commit_release(root, version)
    return root


def _tiny_team_edits(service: Path) -> None:
    def change(path: str, edit: Callable[[bytes], bytes]) -> None:
        (service / path).write_bytes(edit((service / path).read_bytes()))

    change("same.txt", lambda d: _edit(d, 10, b"team"))
    change("adjacent.txt", lambda d: _edit(d, 11, b"team"))
    change("near.txt", lambda d: _edit(d, 13, b"team"))
    change("far.txt", lambda d: _edit(d, 25, b"team"))
    change("top.txt", lambda d: _edit(d, 2, b"team"))
    change("tail.txt", lambda d: d + b"team tail\n")
    change("steps.yml", lambda d: _step(d, 2, b"uses: team"))
    change("seeded/edited.txt", lambda d: _edit(d, 10, b"team"))
    change("gone.txt", lambda d: d + b"edited\n")
    change("config/svc.ini", lambda d: d.replace(b"key12 = 12", b"key12 = team"))
    change("NOTES.md", lambda d: d + b"\nOn call: us.\n")
    change("scripts/seed.sh", lambda d: d + b"echo orders\n")
    for path in ("deleted.txt", "seeded/deleted.txt", "config/extra.ini"):
        (service / path).unlink()
    (service / "new.txt").write_bytes(b"the team's own\nnew\n")


@pytest.mark.slow
def test_the_prediction_is_what_copier_update_does_in_every_case_of_a_tiny_template(
    tmp_path: Path,
) -> None:
    template = _tiny_template(tmp_path / "tiny")
    service = _generate(template, tmp_path / "svc", "v1.0.0", {})
    base = _files(service)
    target = _files(_copy(template, tmp_path / "target", "v2.0.0", {}))
    _tiny_team_edits(service)
    _commit_all(service, "The team's edits")

    predicted = _prediction(template, service, "v2.0.0", base, target)
    _copier_update(service, "v2.0.0", tmp_path)
    conflicts, changed = _outcome(service)

    assert conflicts == ("adjacent.txt", "new.txt", "same.txt", "settings/svc.ini", "tail.txt")
    assert predicted.conflicts == conflicts
    assert predicted.changed == changed
    assert "steps.yml" in changed  # applied where git found the context: no conflict
    assert (service / "NOTES.md").is_file()
    assert not (service / "settings" / "extra.ini").exists()
    assert len(predicted.migrations) == 5
