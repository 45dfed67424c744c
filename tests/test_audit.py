"""`gates audit` end to end: a fleet generated from the project's own releases, seeded with
every kind of drift and of bad input, audited through the CLI; findings, exit codes, shards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from paved_gates._cli import main

from tests._fleet_repos import commit_all, edit, generate
from tests._releases import next_version, template_repo

pytestmark = pytest.mark.slow  # generates a fleet with copier

LATEST = f"v{next_version()}"
CORE = "src/{pkg}/core"


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_repo(tmp_path_factory.mktemp("template"))


def _service(template: Path, root: Path, name: str, tag: str, **answers: Any) -> Path:
    return generate(template, root / name, {"service_name": name, **answers}, tag=tag)


def _set_answer(repo: Path, key: str, value: str) -> None:
    """Set one answer in place, as an edit by hand would (a new key goes last)."""
    path = repo / ".copier-answers.yml"
    lines = path.read_text(encoding="utf-8").splitlines()
    line = f"{key}: {value}"
    found = [index for index, text in enumerate(lines) if text.startswith(f"{key}:")]
    if found:
        lines[found[0]] = line
    else:
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def fleet(template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One service per kind of finding, named after it."""
    root = tmp_path_factory.mktemp("fleet")
    repos: dict[str, Path] = {}

    def make(name: str, tag: str = LATEST, **answers: Any) -> Path:
        repos[name] = _service(template, root, name, tag, **answers)
        return repos[name]

    make("pristine")
    make("behind", "v0.2.0", database="postgresql", api=["rest", "graphql"])
    make("oldest", "v0.1.0")

    repo = make("edited")
    edit(repo, f"{CORE.format(pkg='edited')}/security.py", '"X-Frame-Options": "DENY",\n', "")
    edit(repo, "pyproject.toml", '"flake", ', "")  # a gate switched off
    edit(repo, "pyproject.toml", "total = 85", "total = 60")  # a threshold lowered
    (repo / CORE.format(pkg="edited") / "shortcut.py").write_text("BYPASS = True\n")
    (repo / ".github/workflows/template-update.yml").unlink()
    commit_all(repo, "Team edits")

    # Generated at 0.2.0, then the answers claim the latest: the files an update would have
    # changed are still 0.2.0's.
    repo = make("stale", "v0.2.0")
    _set_answer(repo, "_commit", LATEST)
    commit_all(repo, "Claim the latest release without updating")

    repo = make("renamed-option")
    _set_answer(repo, "legacy_switch", "on")
    commit_all(repo, "An answer to a question the template dropped")

    repo = make("unknown-commit")
    _set_answer(repo, "_commit", "v9.9.9")
    commit_all(repo, "A release that never was")

    repo = make("invalid-answers")
    _set_answer(repo, "coverage_total", "7")
    commit_all(repo, "An answer the template refuses")

    repo = make("no-answers")
    (repo / ".copier-answers.yml").unlink()
    commit_all(repo, "Lose the answers")

    repo = make("malformed")
    (repo / ".copier-answers.yml").write_text("_commit: [unclosed\n", encoding="utf-8")
    commit_all(repo, "Break the answers")

    repo = root / "other-template"
    repo.mkdir()
    (repo / ".copier-answers.yml").write_text(
        "_commit: v1.0.0\n_src_path: gh:someone/else\nproject_name: else\n", encoding="utf-8"
    )
    repos["other-template"] = commit_all(repo)

    repos["not-a-repo"] = root / "not-a-repo"
    repos["not-a-repo"].mkdir()
    repos["missing"] = root / "missing"

    mirror = root / "mirror.git"
    subprocess.run(
        ["git", "clone", "--quiet", "--mirror", str(repos["pristine"]), str(mirror)], check=True
    )
    repos["mirror"] = mirror
    return repos


def _audit(template: Path, out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["audit", "--template", str(template), "--output", str(out), *args])
    report = out / "audit.json"
    return code, json.loads(report.read_text()) if report.exists() else {}


def _by_source(report: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {Path(s["source"]).name: s for s in report["services"]}


def _ids(service: Mapping[str, Any]) -> set[str]:
    return {issue["id"] for issue in service["issues"]}


@pytest.fixture(scope="module")
def report(
    template: Path, fleet: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[int, dict[str, dict[str, Any]], Path]:
    out = tmp_path_factory.mktemp("audit")
    code, data = _audit(template, out, *map(str, fleet.values()))
    return code, _by_source(data), out


def test_every_service_is_reported_and_violations_exit_1(
    report: tuple[int, dict[str, dict[str, Any]], Path], fleet: dict[str, Path]
) -> None:
    code, services, out = report
    assert code == 1
    assert set(services) == {path.name for path in fleet.values()}
    for name in ("audit.json", "audit.md", "audit.html"):
        assert (out / name).is_file()


def test_a_pristine_service_has_no_finding(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    pristine = services["pristine"]
    assert pristine["issues"] == []
    assert pristine["files"] == []
    assert pristine["pristine"] > 50
    assert pristine["version"]["release"] == str(next_version())
    assert pristine["version"]["releases_behind"] == 0
    assert pristine["risk"]["level"] == "none"


def test_a_bare_mirror_reads_like_its_clone(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    mirror, clone = services["mirror.git"], services["pristine"]
    assert (mirror["pristine"], mirror["issues"], mirror["name"]) == (
        clone["pristine"],
        clone["issues"],
        clone["name"],
    )


def test_versions_behind_are_counted(report: tuple[int, dict[str, dict[str, Any]], Path]) -> None:
    _, services, _ = report
    behind, oldest = services["behind"]["version"], services["oldest"]["version"]
    assert (behind["release"], behind["releases_behind"], behind["known"]) == ("0.2.0", 1, True)
    assert (oldest["release"], oldest["releases_behind"]) == ("0.1.0", 2)
    assert oldest["days_behind"] >= behind["days_behind"] >= 0
    assert "version.behind" in _ids(services["behind"])
    assert "policy.releases-behind" not in _ids(services["behind"])  # the default allows 2


def test_older_services_get_an_update_risk(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    risk = services["behind"]["risk"]
    assert risk["target"] == str(next_version())
    assert risk["changed"] > 0
    assert risk["level"] in {"low", "high"}


def test_edits_of_enforced_files_are_found_with_their_diff(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    edited = services["edited"]
    states = {f["path"]: f for f in edited["files"]}
    security = states["src/edited/core/security.py"]
    assert security["state"] == "edited"
    assert '-    "X-Frame-Options": "DENY",' in security["diff"]
    assert states["src/edited/core/shortcut.py"]["state"] == "extra"
    assert states[".github/workflows/template-update.yml"]["state"] == "deleted"
    assert {"enforced.edited", "enforced.extra", "enforced.deleted"} <= _ids(edited)
    assert "policy.enforced-edits" in _ids(edited)


def test_weakened_gates_name_the_template_and_service_values(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    issues = {i["id"]: i for i in services["edited"]["issues"]}
    disabled = issues["gates.disabled"]
    assert "flake" in disabled["message"]
    assert (disabled["expected"], disabled["actual"]) == ("enabled", "disabled")
    lowered = issues["gates.threshold-lowered"]
    assert (lowered["expected"], lowered["actual"]) == ("85", "60")
    assert "policy.weakened-gates" in issues


def test_files_left_at_an_older_release_are_stale(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    stale = [f for f in services["stale"]["files"] if f["state"] == "stale"]
    assert stale, "the vendored gates changed since 0.2.0, so some file must be stale"
    assert {f["release"] for f in stale} == {"0.2.0"}
    assert "edited" not in {f["state"] for f in services["stale"]["files"]}


def test_a_catalog_naming_another_release_than_the_answers_is_found(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    issues = {i["id"]: i for i in services["stale"]["issues"]}
    mismatch = issues["version.catalog-mismatch"]
    assert (mismatch["expected"], mismatch["actual"]) == (LATEST, "v0.2.0")


@pytest.mark.parametrize(
    ("name", "finding"),
    [
        ("renamed-option", "version.unknown-question"),
        ("unknown-commit", "version.unknown-commit"),
        ("invalid-answers", "input.invalid-answers"),
        ("no-answers", "input.no-answers"),
        ("malformed", "input.malformed-answers"),
        ("other-template", "input.other-template"),
        ("not-a-repo", "input.not-a-repository"),
        ("missing", "input.not-a-repository"),
    ],
)
def test_bad_input_is_a_finding_of_that_service(
    report: tuple[int, dict[str, dict[str, Any]], Path], name: str, finding: str
) -> None:
    _, services, _ = report
    assert finding in _ids(services[name])


def test_an_unknown_commit_leaves_the_enforced_files_unknown(
    report: tuple[int, dict[str, dict[str, Any]], Path],
) -> None:
    _, services, _ = report
    files = services["unknown-commit"]["files"]
    assert files
    assert {f["state"] for f in files} == {"unknown"}
    assert services["unknown-commit"]["version"]["known"] is False


def test_a_fleet_within_policy_exits_0(
    template: Path, fleet: dict[str, Path], tmp_path: Path
) -> None:
    code, data = _audit(template, tmp_path, str(fleet["pristine"]), str(fleet["behind"]))
    assert code == 0
    assert len(data["services"]) == 2


def test_a_waiver_excuses_a_violation_until_it_expires(
    template: Path, fleet: dict[str, Path], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    waiver = (
        '[[waivers]]\nservice = "edited"\nrule = "*"\nreason = "migrating off"\n'
        "expires = {expires}\n"
    )
    policy.write_text(waiver.format(expires="2999-01-01"))
    code, data = _audit(template, tmp_path / "live", "--policy", str(policy), str(fleet["edited"]))
    assert code == 0
    assert not {i for i in _ids(data["services"][0]) if i.startswith("policy.")}

    policy.write_text(waiver.format(expires="2001-01-01"))
    code, data = _audit(template, tmp_path / "gone", "--policy", str(policy), str(fleet["edited"]))
    assert code == 1
    assert {"policy.waiver-expired", "policy.enforced-edits"} <= _ids(data["services"][0])


def test_a_stricter_policy_turns_releases_behind_into_violations(
    template: Path, fleet: dict[str, Path], tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("max-releases-behind = 0\n")
    code, data = _audit(template, tmp_path / "out", "--policy", str(policy), str(fleet["behind"]))
    assert code == 1
    assert "policy.releases-behind" in _ids(data["services"][0])


WAIVER = "[[waivers]]\nservice = 'x'\n"


@pytest.mark.parametrize(
    "case",
    [
        ("max-releases-behind = -1\n", "at least 0"),
        ("enforced-edits = 'maybe'\n", "allow or deny"),
        (f"{WAIVER}rule = 'everything'\nreason = 'r'\nexpires = 2030-01-01\n", "unknown rule"),
        (f"{WAIVER}rule = '*'\nexpires = 2030-01-01\n", "reason"),
        ("surprise = 1\n", "unknown key"),
        ("not toml [", "not valid TOML"),
    ],
)
def test_a_bad_policy_is_a_configuration_error(
    template: Path,
    fleet: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: tuple[str, str],
) -> None:
    policy, message = case
    path = tmp_path / "policy.toml"
    path.write_text(policy)
    code, _ = _audit(template, tmp_path / "out", "--policy", str(path), str(fleet["pristine"]))
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists(), "nothing is written on a configuration error"


def test_a_template_without_releases_is_a_configuration_error(
    fleet: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "untagged").mkdir()
    bare = commit_all(tmp_path / "untagged")
    code = main(["audit", "--template", str(bare), "--output", str(tmp_path / "out"), "x"])
    assert code == 2
    assert "no release tags" in capsys.readouterr().err


def test_discover_finds_the_services_of_a_folder(
    template: Path, fleet: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "org"
    for name in ("pristine", "edited", "no-answers", "not-a-repo"):
        shutil.copytree(fleet[name], root / "team-a" / name, symlinks=True)
    code, data = _audit(template, tmp_path / "out", "--discover", str(root))
    assert sorted(Path(s["source"]).name for s in data["services"]) == ["edited", "pristine"]
    assert code == 1


def test_a_manifest_names_services_and_their_teams(
    template: Path, fleet: dict[str, Path], tmp_path: Path
) -> None:
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(
        f"services:\n  - repo: {fleet['pristine']}\n    team: payments\n  - {fleet['behind']}\n"
    )
    _, data = _audit(template, tmp_path / "out", "--manifest", str(manifest))
    teams = {Path(s["source"]).name: s["team"] for s in data["services"]}
    assert teams == {"pristine": "payments", "behind": "platform-team"}  # else the owner answer


def test_shards_partition_the_fleet_and_merge_into_the_whole(
    template: Path, fleet: dict[str, Path], tmp_path: Path
) -> None:
    repos = [str(path) for path in fleet.values()]
    _, whole = _audit(template, tmp_path / "whole", *repos)
    parts = []
    for index in (1, 2, 3):
        _, part = _audit(template, tmp_path / f"shard{index}", "--shard", f"{index}/3", *repos)
        assert part["shard"] == f"{index}/3"
        parts.append({s["source"] for s in part["services"]})
    assert sum(map(len, parts)) == len(repos)
    assert set().union(*parts) == set(repos)

    shards = [str(tmp_path / f"shard{index}") for index in (1, 2, 3)]
    code = main(["audit-merge", "--output", str(tmp_path / "merged"), *shards])
    merged = json.loads((tmp_path / "merged" / "audit.json").read_text())
    assert code == 1
    assert merged["shard"] is None
    assert merged["services"] == whole["services"]


@pytest.mark.parametrize("shard", ["0/3", "4/3", "1", "a/b"])
def test_a_bad_shard_is_a_usage_error(
    template: Path,
    fleet: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    shard: str,
) -> None:
    code, _ = _audit(template, tmp_path, "--shard", shard, str(fleet["pristine"]))
    assert code == 2
    assert "--shard" in capsys.readouterr().err


def test_an_audit_without_services_is_a_usage_error(
    template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = _audit(template, tmp_path)
    assert code == 2
    assert "name the services" in capsys.readouterr().err


def test_progress_is_shown_on_stderr(
    template: Path, fleet: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _audit(template, tmp_path, str(fleet["pristine"]), str(fleet["behind"]))
    err = capsys.readouterr().err
    assert "audit: 2/2 services" in err
    assert "done in" in err
