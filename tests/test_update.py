"""`copier update`: every supported release rolls forward to this one without fighting the team.

The release tests (slow tier) build a template repository from `releases.toml` and this working
tree (tests/_releases.py), generate a service at an earlier release, edit it as a team would,
and update it: team edits survive, enforced files equal a fresh copy, thresholds ratchet, the
lock file is regenerated, and the gates pass. Renames and removals run the real
`hooks/move.py`, in a tiny template and in this template with a synthetic next release.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from copier import run_copy
from packaging.version import Version

from hooks import ratchet, summary
from tests._releases import (
    MissingReleaseError,
    Release,
    check_commit,
    commit_release,
    gates_version,
    next_version,
    releases,
    supported,
    template_repo,
)
from tests._template import GATES_TIMEOUT_SECONDS, ROOT, run, service_env
from tests.osv_server import serve
from tests.test_ownership import load_tiers, rendered_files, tier_matchers

#: copier of this repo's venv, run as a team runs it.
COPIER = str(Path(sys.executable).with_name("copier"))

#: A covering set of answers: the defaults, and another name with other thresholds.
ANSWERS: dict[str, dict[str, object]] = {
    "default": {},
    "named": {
        "service_name": "orders-api",
        "owner": "team-orders",
        "coverage_total": 80,
        "coverage_critical": 88,
    },
}

#: The team's own runtime dependency, added after generation.
TEAM_DEPENDENCY = "tenacity>=9.1"
#: The total coverage threshold the team raises theirs to. A service updated from the oldest
#: release covers ~93.6 %: its own tests predate the newer core, whose tests come with it.
TEAM_TOTAL = 92

_MARKER = re.compile(rb"^(<{7}|>{7}) ", re.MULTILINE)


def _git(args: list[str], cwd: Path) -> str:
    return run(["git", *args], cwd).stdout


def _copy(
    template: Path, dst: Path, ref: str, answers: Mapping[str, object], *, tasks: bool = True
) -> Path:
    """`copier copy` at `ref`; without `tasks`, only the rendering (and `git init`)."""
    run_copy(
        str(template),
        dst,
        data=dict(answers),
        vcs_ref=ref,
        defaults=True,
        unsafe=True,
        skip_tasks=not tasks,
        quiet=True,
    )
    if not tasks:
        _git(["init", "--quiet", "--initial-branch=main"], dst)
    return dst


def _commit_all(service: Path, message: str) -> None:
    _git(["add", "-A"], service)
    _git(["commit", "--quiet", "--no-verify", "-m", message], service)


def _update(service: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run([COPIER, "update", "--defaults", "--trust", *extra], service)


def _answers(service: Path) -> dict[str, object]:
    loaded = yaml.safe_load((service / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _coverage(service: Path) -> dict[str, object]:
    document = tomllib.loads((service / "pyproject.toml").read_text(encoding="utf-8"))
    table = document["tool"]["gates"]["coverage"]
    assert isinstance(table, dict)
    return table


def _files(service: Path) -> list[str]:
    """The service's files as git sees them: tracked or new, ignored ones (`.venv`) left out."""
    listed = _git(["ls-files", "--cached", "--others", "--exclude-standard"], service)
    return sorted(path for path in set(listed.split()) if (service / path).is_file())


def _conflicts(service: Path) -> list[str]:
    """Files with conflict markers, rejected hunks, or unmerged index entries."""
    files = _files(service)
    found = [path for path in files if _MARKER.search((service / path).read_bytes())]
    found += [path for path in files if path.endswith(".rej")]
    return found + _git(["diff", "--name-only", "--diff-filter=U"], service).split()


# --- Releases --------------------------------------------------------------------------------


def test_releases_are_recorded_in_order_with_full_commits() -> None:
    recorded = releases()

    assert recorded, "releases.toml records no release"
    versions = [release.version for release in recorded]
    assert versions == sorted(set(versions))
    assert all(re.fullmatch(r"[0-9a-f]{40}", release.commit) for release in recorded)
    assert supported(), "no supported release: nothing to update from"


def test_every_recorded_release_commit_is_in_this_clone() -> None:
    for release in releases():
        check_commit(release)  # fails saying what to fetch


def test_a_missing_release_commit_fails_with_what_to_do(tmp_path: Path) -> None:
    ghost = Release(version=Version("0.0.1"), commit="0" * 40, supported=True)

    with pytest.raises(MissingReleaseError, match=r"0\.0\.1 .* fetch the full history"):
        template_repo(tmp_path / "paved", at=[ghost])
    assert not (tmp_path / "paved").exists()


def test_release_tags_in_this_clone_agree_with_releases_toml() -> None:
    for release in releases():
        tagged = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", f"{release.tag}^{{commit}}"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if tagged.returncode == 0:  # fresh CI clones may carry no tags at all
            assert tagged.stdout.strip() == release.commit, release.tag


def test_the_gates_version_is_the_newest_release_or_the_next() -> None:
    newest = releases()[-1].version

    assert gates_version() >= newest, "paved-gates is older than the newest release"
    assert next_version() > newest
    assert gates_version() in {newest, next_version()}


def test_the_changelog_describes_every_release() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## \[?v?([0-9][^\]\s]*)\]?", changelog, re.MULTILINE)

    assert {str(release.version) for release in releases()} <= set(headings)


def test_the_lock_file_is_never_rendered_so_never_merged() -> None:
    copier_yml = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))

    assert "uv.lock" in copier_yml["_exclude"]
    assert not list((ROOT / "template").rglob("uv.lock*"))


def test_every_task_and_migration_runs_a_script_of_hooks() -> None:
    copier_yml = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    scripts = [
        part.removeprefix("{{ _copier_conf.src_path }}/")
        for entry in [*copier_yml["_tasks"], *copier_yml["_migrations"]]
        for part in entry["command"]
        if part.endswith(".py")
    ]

    assert scripts
    for script in scripts:
        assert script.startswith("hooks/"), script
        assert (ROOT / script).is_file(), script


def test_every_hook_runs_as_a_script_from_the_service_directory(tmp_path: Path) -> None:
    """Copier runs each hook as `python <template>/hooks/<hook>.py` in the service: the shared
    module must import from there, outside this repository."""
    for script in ("relock.py", "ratchet.py", "api_document.py", "summary.py"):
        proc = subprocess.run(
            [sys.executable, str(ROOT / "hooks" / script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert "Error" not in proc.stderr, (script, proc.stderr)
        assert proc.returncode in {0, 2}, (script, proc.stderr)


# --- The update's summary (the hook on its own) ---------------------------------------------


def test_the_summary_reads_the_tiers_as_yaml_does() -> None:
    text = (ROOT / "ownership.yml").read_text(encoding="utf-8")

    assert summary.read_tiers(text) == yaml.safe_load(text)


def test_the_summary_names_what_the_update_changed(tmp_path: Path) -> None:
    service = tmp_path / "svc"
    (service / ".paved").mkdir(parents=True)
    shutil.copy(ROOT / "ownership.yml", service / ".paved" / "ownership.yml")
    (service / "src" / "svc" / "core").mkdir(parents=True)
    (service / "src" / "svc" / "core" / "app.py").write_text("app = 1\n")
    (service / "Makefile").write_text("run:\n")
    (service / "README.md").write_text("# svc\n")
    (service / "compose.yaml").write_text("services: {}\n")
    (service / "pyproject.toml").write_text(_PYPROJECT.format(total=60, auth=90))
    _git(["init", "--quiet"], service)
    _commit_all(service, "generated")
    # What an update leaves: enforced and merged files changed, one new, one gone, a conflict
    # in a merged file, a threshold raised to its floor.
    (service / "src" / "svc" / "core" / "app.py").write_text("app = 2\n")
    (service / "src" / "svc" / "core" / "limits.py").write_text("LIMIT = 1\n")
    (service / "Makefile").write_text("run:\n\tuv run svc\n")
    (service / "README.md").write_text(
        "# svc\n<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n"
    )
    (service / "compose.yaml").unlink()
    (service / "pyproject.toml").write_text(_PYPROJECT.format(total=70, auth=90))

    shown = run(
        [sys.executable, str(ROOT / "hooks" / "summary.py")],
        service,
        env=service_env(VERSION_FROM="v0.2.0", VERSION_TO="v0.3.0"),
    ).stderr

    assert shown.splitlines()[0] == (
        "paved update v0.2.0 -> v0.3.0: 1 replaced (enforced), 3 merged, 1 added, 1 removed, "
        "0 other"
    )
    assert "  removed: compose.yaml\n" in shown
    assert "  merged: Makefile, README.md, pyproject.toml\n" in shown
    assert "  added: src/svc/core/limits.py\n" in shown
    assert "  conflicts: README.md: resolve the <<<<<<< markers, then git add\n" in shown
    assert "  coverage thresholds: total 60 -> 70" in shown


# --- The service's update workflow and Renovate --------------------------------------------

_WORKFLOWS = ROOT / "template" / ".github" / "workflows"


def test_the_update_workflow_has_least_privilege_and_pinned_actions() -> None:
    workflow = yaml.safe_load((_WORKFLOWS / "template-update.yml").read_text(encoding="utf-8"))
    gates = (_WORKFLOWS / "gates.yml.jinja").read_text(encoding="utf-8")  # rendered per database

    assert workflow["permissions"] == {}
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML reads `on` as True
    (job,) = workflow["jobs"].values()
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    steps = job["steps"]
    for step in steps:
        if "uses" in step:
            action, _, sha = step["uses"].partition("@")
            assert re.fullmatch(r"[0-9a-f]{40}", sha), step["uses"]
            assert f"{action}@{sha}" in gates, f"{action}: pin the SHA gates.yml uses"
    checkout = next(s for s in steps if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    # The template's code and the gates run without the token; only git and gh steps get it.
    with_token = {s["name"] for s in steps if "github.token" in str(s.get("env", {}))}
    assert with_token
    assert with_token.isdisjoint({"Update from the template", "Run the gates on the update"})


def test_the_update_workflow_passes_zizmor_pedantic() -> None:
    zizmor = Path(sys.executable).with_name("zizmor")
    workflow = ".github/workflows/template-update.yml"
    proc = run(
        [str(zizmor), "--offline", "--pedantic", "--no-progress", workflow], ROOT / "template"
    )

    assert "No findings" in proc.stdout + proc.stderr


def test_renovate_updates_the_template_with_copier_and_leaves_enforced_files_alone() -> None:
    config = json.loads((ROOT / "template" / "renovate.json").read_text(encoding="utf-8"))
    enforced = tier_matchers({"enforced": load_tiers()["enforced"]})["enforced"]

    assert config["ignoreScripts"] is False  # copier update --trust, so migrations run
    assert any("copier" in rule.get("matchManagers", []) for rule in config["packageRules"])
    for path in (".github/workflows/gates.yml", "tools/gates/pyproject.toml"):
        assert enforced(path)
        assert any(fnmatch.fnmatch(path, glob) for glob in config["ignorePaths"]), path


# --- Threshold ratchet (the hook on its own) -------------------------------------------------

_PYPROJECT = """\
[project]
name = "svc"

[tool.gates.coverage]
total = {total}  # the team's bar
patch = 80
base = "origin/main"

[tool.gates.coverage.critical]
auth = {{ globs = ["src/svc/core/auth/*"], threshold = {auth} }}
core = {{ globs = ["src/svc/core/*"], threshold = 90 }}
"""


def _git_project(root: Path, committed: str, merged: str) -> Path:
    root.mkdir()
    pyproject = root / "pyproject.toml"
    pyproject.write_text(committed, encoding="utf-8")
    _git(["init", "--quiet"], root)
    _commit_all(root, "before the update")
    pyproject.write_text(merged, encoding="utf-8")
    return pyproject


def test_ratchet_keeps_raised_thresholds_and_lifts_them_to_the_floor(tmp_path: Path) -> None:
    pyproject = _git_project(
        tmp_path / "svc",
        committed=_PYPROJECT.format(total=92, auth=99),
        merged=_PYPROJECT.format(total=85, auth=90),
    )

    ratchet.main(["--pyproject", str(pyproject), "--floor=total=50", "--floor=critical=95"])

    expected = _PYPROJECT.format(total=92, auth=99).replace("threshold = 90", "threshold = 95")
    assert pyproject.read_text(encoding="utf-8") == expected


def test_ratchet_edits_any_table_layout_and_fractional_thresholds(tmp_path: Path) -> None:
    layout = """\
[tool.gates.coverage]
total = {total}
critical.auth.globs = ["src/svc/core/auth/*"]
critical.auth.threshold = {auth}

[tool.gates.coverage.critical.core]
globs = ["src/svc/core/*"]
threshold = {core}  # core
"""
    pyproject = _git_project(
        tmp_path / "svc",
        committed=layout.format(total=91.5, auth=60, core=93),
        merged=layout.format(total=85, auth=60, core=90),
    )

    ratchet.main(["--pyproject", str(pyproject), "--floor=critical=70"])

    assert pyproject.read_text(encoding="utf-8") == layout.format(total=91.5, auth=70, core=93)


def test_ratchet_leaves_a_conflicted_file_to_the_team(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conflicted = _PYPROJECT.format(
        total="92\n<<<<<<< before updating\n=======\n>>>>>>> after updating", auth=90
    )
    pyproject = _git_project(tmp_path / "svc", _PYPROJECT.format(total=92, auth=90), conflicted)

    assert ratchet.main(["--pyproject", str(pyproject), "--floor=total=99"]) == 0

    assert pyproject.read_text(encoding="utf-8") == conflicted
    assert "merge conflicts" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("floor", "message"),
    [("total", "KEY=N|expected one of"), ("lines=80", "expected one of"), ("total=x", "number")],
)
def test_ratchet_refuses_a_malformed_floor(
    floor: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        ratchet.main([f"--floor={floor}"])

    assert exited.value.code == 2
    assert re.search(message, capsys.readouterr().err)


# --- Renames and removals (a tiny template, the real hooks/move.py) --------------------------

_TINY_COPIER = """\
_subdirectory: template
_answers_file: .copier-answers.yml
name:
  type: str
  default: svc
"""

_TINY_MIGRATIONS = """\
_migrations:
  - version: "2.0.0"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move.py",
              "rename", "config/{{ name }}.ini", "settings/{{ name }}.ini"]
  - version: "2.0.0"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move.py",
              "remove", "NOTES.md"]
  - version: "2.0.0"
    command: ["{{ _copier_python }}", "{{ _copier_conf.src_path }}/hooks/move.py",
              "rename", "scripts/", "bin/"]
"""

_INI = "".join(f"[section{i}]\nkey{i} = {{{{ name }}}}-{i}\n" for i in range(1, 7))


def _tiny_template(root: Path) -> Path:
    """v1.0.0 renders config/<name>.ini, NOTES.md and scripts/; v2.0.0 renames config/<name>.ini
    to settings/ (and changes a line), removes NOTES.md, and renames scripts/ to bin/."""
    (root / "hooks").mkdir(parents=True)
    shutil.copy2(ROOT / "hooks" / "move.py", root / "hooks" / "move.py")
    (root / "copier.yml").write_text(_TINY_COPIER, encoding="utf-8")
    template = root / "template"
    (template / "config").mkdir(parents=True)
    (template / "config" / "{{ name }}.ini.jinja").write_text(_INI, encoding="utf-8")
    (template / "NOTES.md").write_text("# Notes\n\nFirst steps.\n", encoding="utf-8")
    (template / "scripts").mkdir()
    (template / "scripts" / "seed.sh").write_text("#!/bin/sh\nset -eu\necho seed\n")
    (template / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "{{ _copier_answers | to_nice_yaml -}}\n", encoding="utf-8"
    )
    _git(["init", "--quiet", "--initial-branch=main"], root)
    commit_release(root, "1.0.0")
    (template / "settings").mkdir()
    (template / "config" / "{{ name }}.ini.jinja").rename(
        template / "settings" / "{{ name }}.ini.jinja"
    )
    renamed = template / "settings" / "{{ name }}.ini.jinja"
    renamed.write_text(_INI.replace("key6 =", "key6_renamed ="), encoding="utf-8")
    (template / "NOTES.md").unlink()
    (template / "scripts").rename(template / "bin")
    (root / "copier.yml").write_text(_TINY_COPIER + _TINY_MIGRATIONS, encoding="utf-8")
    commit_release(root, "2.0.0")
    return root


@pytest.fixture
def tiny(tmp_path: Path) -> tuple[Path, Path]:
    """A tiny template at 1.0.0 and 2.0.0, and a service generated at 1.0.0 and committed."""
    template = _tiny_template(tmp_path / "tiny")
    service = _copy(template, tmp_path / "svc", "v1.0.0", {}, tasks=False)
    _commit_all(service, "generated")
    return template, service


def test_a_renamed_file_keeps_the_teams_edits(tiny: tuple[Path, Path]) -> None:
    _, service = tiny
    ini = service / "config" / "svc.ini"
    ini.write_text(ini.read_text().replace("key1 = svc-1", "key1 = team-value"))
    seed = service / "scripts" / "seed.sh"
    seed.write_text(seed.read_text() + "echo orders\n")
    _commit_all(service, "team edits")

    proc = _update(service)

    assert not ini.exists()
    assert not (service / "scripts").exists()
    assert (
        service / "bin" / "seed.sh"
    ).read_text() == "#!/bin/sh\nset -eu\necho seed\necho orders\n"
    assert (service / "settings" / "svc.ini").read_text() == (
        _INI.replace("{{ name }}", "svc")
        .replace("key1 = svc-1", "key1 = team-value")
        .replace("key6 =", "key6_renamed =")
    )
    assert "your edits carried over" in proc.stderr
    assert _conflicts(service) == []


def test_a_rename_conflicting_with_the_team_is_marked_not_lost(tiny: tuple[Path, Path]) -> None:
    _, service = tiny
    ini = service / "config" / "svc.ini"
    ini.write_text(ini.read_text().replace("key6 = svc-6", "key6 = team-value"))
    _commit_all(service, "team edit of the line the release renames")

    proc = _update(service)

    merged = (service / "settings" / "svc.ini").read_text()
    assert "key6 = team-value" in merged
    assert "key6_renamed = svc-6" in merged
    assert "<<<<<<< before updating" in merged
    assert "resolve the markers" in proc.stderr


def test_a_removed_file_the_team_edited_is_kept(tiny: tuple[Path, Path]) -> None:
    _, service = tiny
    (service / "NOTES.md").write_text("# Notes\n\nOur on-call rota lives here.\n")
    _commit_all(service, "team notes")

    _update(service)

    assert (service / "NOTES.md").read_text() == "# Notes\n\nOur on-call rota lives here.\n"


def test_unedited_files_follow_the_release_and_deleted_ones_stay_deleted(
    tiny: tuple[Path, Path],
) -> None:
    _, service = tiny
    _git(["rm", "--quiet", "config/svc.ini"], service)
    _commit_all(service, "the team does not want this file")

    _update(service)

    assert not (service / "NOTES.md").exists()  # unedited: removed with the release
    assert not (service / "config" / "svc.ini").exists()
    assert not (service / "settings" / "svc.ini").exists()


# --- Every supported release to this one (slow) ----------------------------------------------


@pytest.fixture(scope="module")
def paved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template repository: every supported release, then this working tree as the next."""
    return template_repo(tmp_path_factory.mktemp("paved") / "paved")


def _to_orders(text: str) -> str:
    """The items feature's text, as a team's copy for orders (dict `.items()` calls kept)."""
    text = text.replace(".items()", "\0")
    for old, new in (("Item", "Order"), ("item", "order"), ("ITEM", "ORDER")):
        text = text.replace(old, new)
    return text.replace("\0", ".items()")


def _add_orders_feature(service: Path, package: str) -> None:
    """A second feature copied from `items`, registered, tested, with its own migration."""
    src = service / "src" / package
    (src / "orders").mkdir()
    for path in sorted((src / "items").glob("*.py")):
        (src / "orders" / path.name).write_text(_to_orders(path.read_text()))
    for tier, name in (("unit", "test_items_service.py"), ("integration", "test_items_api.py")):
        test = service / "tests" / tier / name
        (test.parent / name.replace("items", "orders")).write_text(_to_orders(test.read_text()))
    main = src / "main.py"
    text = main.read_text()
    text = text.replace(
        "from .items.api_rest import router as items_router\n",
        "from .items.api_rest import router as items_router\n"
        "from .orders.api_rest import router as orders_router\n",
    )
    text = text.replace(
        '    app.include_router(items_router, prefix="/v1")\n',
        '    app.include_router(items_router, prefix="/v1")\n'
        '    app.include_router(orders_router, prefix="/v1")\n',
    )
    assert "orders_router, prefix" in text, "main.py no longer registers routers this way"
    main.write_text(text)
    run(["uv", "sync", "--quiet"], service)
    run(["uv", "run", "alembic", "upgrade", "head"], service)
    revision = ["alembic", "revision", "--autogenerate", "-m", "add orders", "--rev-id", "0002"]
    run(["uv", "run", *revision], service)
    # Reviewed as Alembic asks: the timestamp columns are plain DATETIME, as in 0001_initial.
    migration = service / "migrations" / "versions" / "0002_add_orders.py"
    text = migration.read_text().replace(f"{package}.core.db.UTCDateTime()", "sa.DateTime()")
    migration.write_text(text)
    # The schema round-trip test lists the tables; the team adds its own.
    database_test = service / "tests" / "integration" / "test_database.py"
    text, listed = re.subn(
        r"(?m)^(TABLES = \{[^}]*)\}", r'\1, "orders"}', database_test.read_text()
    )
    assert listed == 1, "test_database.py no longer lists the tables in TABLES"
    database_test.write_text(text)
    run(["uv", "run", "ruff", "format", "--quiet", "src", "tests", "migrations"], service)
    if (src / "openapi.py").is_file():  # the committed API document, as the tests demand
        run(["make", "api-spec"], service)


def _team_edits(service: Path, package: str) -> None:
    """What a team does in its first weeks: only seeded files, extension points, own files."""
    _add_orders_feature(service, package)
    pyproject = service / "pyproject.toml"
    text = pyproject.read_text()
    text = text.replace("dependencies = [\n", f'dependencies = [\n    "{TEAM_DEPENDENCY}",\n', 1)
    text, raised = re.subn(r"(?m)^total = \d+$", f"total = {TEAM_TOTAL}", text)
    assert raised == 1
    pyproject.write_text(text)
    run(["uv", "lock", "--quiet"], service)
    readme = service / "README.md"
    readme.write_text(readme.read_text() + "\n## Orders\n\nOrders reference items by id.\n")
    settings = service / "src" / package / "settings.py"
    text = settings.read_text()
    text = text.replace(
        "    database_url: str", "    orders_page_limit: int = 50\n    database_url: str"
    )
    assert "orders_page_limit" in text
    settings.write_text(text)
    local_mk = service / "local.mk"
    local_mk.write_text(
        local_mk.read_text()
        + "\norders-report: ## Count the orders per owner\n\tuv run python -m orders_report\n"
    )


def _tracked(service: Path) -> dict[str, bytes]:
    return {path: (service / path).read_bytes() for path in _git(["ls-files"], service).split()}


@pytest.mark.slow
@pytest.mark.long
@pytest.mark.parametrize("answers_name", sorted(ANSWERS))
@pytest.mark.parametrize("release", supported(), ids=lambda r: str(r.version))
def test_update_from_a_release_keeps_team_edits_and_enforces_standards(
    paved: Path, tmp_path: Path, release: Release, answers_name: str
) -> None:
    answers = ANSWERS[answers_name]
    service = _copy(paved, tmp_path / "svc", release.tag, answers)
    package = str(_answers(service)["package_name"])
    run(["uv", "lock", "--quiet"], service)
    _commit_all(service, f"Generate from paved {release.version}")
    _team_edits(service, package)
    _commit_all(service, "Orders feature, tenacity, stricter coverage, local targets")
    team = _tracked(service)

    updated = _update(service)

    assert _conflicts(service) == []
    assert _answers(service)["_commit"] == f"v{next_version()}"
    assert f"paved update {release.tag} -> v{next_version()}: " in updated.stderr
    assert "  conflicts: none\n" in updated.stderr
    # The team's own and seeded files are untouched; merged files keep the team's lines.
    tiers = tier_matchers(load_tiers())
    owned = [p for p in team if tiers["seeded"](p) or not any(m(p) for m in tiers.values())]
    for path in owned:
        # uv.lock is re-resolved and api/openapi.json rewritten from the merged code (the
        # service's own test then proves it current): both checked below.
        if path not in {"uv.lock", "api/openapi.json"}:
            assert (service / path).read_bytes() == team[path], path
    pyproject = (service / "pyproject.toml").read_text()
    assert f'"{TEAM_DEPENDENCY}"' in pyproject
    assert _coverage(service)["total"] == TEAM_TOTAL
    assert "## Orders" in (service / "README.md").read_text()
    assert (service / "migrations" / "versions" / "0002_add_orders.py").is_file()
    # Enforced files are exactly what a fresh copy at the new release renders.
    fresh = _copy(paved, tmp_path / "fresh", f"v{next_version()}", answers, tasks=False)
    enforced = tiers["enforced"]
    expected = {p: (fresh / p).read_bytes() for p in rendered_files(fresh) if enforced(p)}
    actual = {p: (service / p).read_bytes() for p in _files(service) if enforced(p)}
    assert actual.keys() == expected.keys()
    assert [p for p in expected if actual[p] != expected[p]] == []
    # The lock file was re-resolved from the merged pyproject.toml, not merged line by line.
    run(["uv", "lock", "--locked"], service)
    assert 'name = "tenacity"' in (service / "uv.lock").read_text()
    # The API document follows the merged code (the team's feature included).
    if (service / "src" / package / "openapi.py").is_file():
        assert "/v1/orders" in json.loads((service / "api" / "openapi.json").read_text())["paths"]
    # And the update, committed as its pull request would be, passes every gate against the
    # team's last commit as the base (patch coverage, API compatibility).
    base = _git(["rev-parse", "HEAD"], service).strip()
    _commit_all(service, f"Update to paved {next_version()}")
    # The team's environment now runs the release's gates, not the build from before.
    installed = run(
        [
            "uv",
            "run",
            "--locked",
            "python",
            "-c",
            "import paved_gates; print(paved_gates.__file__)",
        ],
        service,
    )
    vendored = service / "tools" / "gates" / "src" / "paved_gates"
    for module in sorted(vendored.glob("*.py")):
        assert (Path(installed.stdout.strip()).parent / module.name).read_text() == (
            module.read_text()
        ), module.name
    # Two flake reruns, as in the matrix: tests/test_gates_flake.py proves the gate itself.
    with serve() as osv:
        env = service_env(GATES_OSV_URL=osv.url, GATES_BASE=base, GATES_FLAKE_RUNS="2")
        gates = run(
            ["uv", "run", "--locked", "gates", "all"],
            service,
            env=env,
            check=False,
            timeout=GATES_TIMEOUT_SECONDS,
        )
    assert gates.returncode == 0, (gates.stdout + gates.stderr)[-6000:]


@pytest.mark.slow
def test_a_changed_answer_is_applied_and_never_lowers_a_threshold(
    paved: Path, tmp_path: Path
) -> None:
    newest = supported()[-1]
    service = _copy(paved, tmp_path / "svc", newest.tag, {}, tasks=False)
    _commit_all(service, "generated")

    updated = _update(service, "--data", "coverage_total=90")

    assert _answers(service)["coverage_total"] == 90
    assert _coverage(service)["total"] == 90
    assert "  coverage thresholds: total 85 -> 90\n" in updated.stderr
    assert _conflicts(service) == []
    _commit_all(service, "stricter coverage")

    _update(service, "--data", "coverage_total=70")

    assert _answers(service)["coverage_total"] == 70
    assert _coverage(service)["total"] == 90  # the update keeps the higher bar


def _following() -> Version:
    """The release after the next one: what a synthetic release on top of this tree is."""
    version = next_version()
    return Version(f"{version.major}.{version.minor}.{version.micro + 1}")


_RENAME_COMPOSE = """\
  - version: "{version}"
    command: ["{{{{ _copier_python }}}}", "{{{{ _copier_conf.src_path }}}}/hooks/move.py",
              "rename", "compose.yaml", "compose.yml"]
"""


def _rename_compose(repo: Path) -> None:
    """A release that renames compose.yaml, changes a line of it, and declares the migration."""
    (old,) = (repo / "template").glob("*compose.yaml*")  # its name may carry a condition
    text = old.read_text()
    assert "LOG_LEVEL: DEBUG" in text, "compose.yaml no longer sets LOG_LEVEL: DEBUG"
    (old.parent / old.name.replace("compose.yaml", "compose.yml")).write_text(
        text.replace("DEBUG", "INFO")
    )
    old.unlink()
    copier_yml = repo / "copier.yml"
    text = copier_yml.read_text()
    assert text.count("\n_migrations:\n") == 1
    entry = _RENAME_COMPOSE.format(version=_following())
    copier_yml.write_text(text.replace("\n_migrations:\n", "\n_migrations:\n" + entry))
    commit_release(repo, _following(), "rename compose.yaml to compose.yml")


@pytest.mark.slow
def test_a_release_renaming_a_merged_file_keeps_the_teams_edits(tmp_path: Path) -> None:
    paved = template_repo(tmp_path / "paved", at=supported()[-1:], then=_rename_compose)
    service = _copy(paved, tmp_path / "svc", f"v{next_version()}", {}, tasks=False)
    compose = service / "compose.yaml"
    compose.write_text(compose.read_text().replace("restart: unless-stopped", "restart: always"))
    _commit_all(service, "the team restarts the app always")

    proc = _update(service)

    assert _answers(service)["_commit"] == f"v{_following()}"
    assert not compose.exists()
    renamed = (service / "compose.yml").read_text()
    assert "restart: always" in renamed  # the team's edit
    assert "LOG_LEVEL: INFO" in renamed  # the release's change
    assert "compose.yaml -> compose.yml: your edits carried over" in proc.stderr
    assert _conflicts(service) == []


def _raise_floor(repo: Path) -> None:
    copier_yml = repo / "copier.yml"
    text, raised = re.subn(
        r"(coverage_floor_total:\n  type: int\n  default: )\d+", r"\g<1>95", copier_yml.read_text()
    )
    assert raised == 1, "copier.yml no longer declares coverage_floor_total this way"
    copier_yml.write_text(text)
    commit_release(repo, _following(), "raise the total coverage floor to 95")


@pytest.mark.slow
def test_a_release_raising_a_floor_lifts_lower_thresholds_only(tmp_path: Path) -> None:
    paved = template_repo(tmp_path / "paved", at=supported()[-1:], then=_raise_floor)
    service = _copy(paved, tmp_path / "svc", f"v{next_version()}", {}, tasks=False)
    pyproject = service / "pyproject.toml"
    team = re.sub(
        r"(?m)^total = 85$", f"total = {TEAM_TOTAL}  # raised by the team", pyproject.read_text()
    )
    team = team.replace('core/auth/*"], threshold = 90', 'core/auth/*"], threshold = 99')
    pyproject.write_text(team)
    _commit_all(service, "stricter coverage")

    _update(service)

    assert pyproject.read_text() == team.replace(f"total = {TEAM_TOTAL}  #", "total = 95  #")
    critical = _coverage(service)["critical"]
    assert isinstance(critical, dict)
    assert critical["auth"]["threshold"] == 99
    assert critical["core"]["threshold"] == 90
