"""The audit's parts on their own: git reads, releases, sources and shards, policy, progress."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from paved_gates._audit._gitrepo import RepoError, RepoReader
from paved_gates._audit._model import FileState, FileStatus, Issue, ServiceAudit, VersionInfo
from paved_gates._audit._policy import Policy, Waiver, apply_policy
from paved_gates._audit._progress import Progress
from paved_gates._audit._releases import History
from paved_gates._audit._sources import ServiceSource, discover, from_manifest, shard
from paved_gates._errors import ConfigError

from tests._fleet_repos import commit_all

TODAY = dt.date(2026, 12, 3)


def _repo(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return commit_all(root)


def _git(repo: Path, *args: str, date: str | None = None) -> None:
    env = {**os.environ}
    if date:
        env |= {"GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
    subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, check=True)


# Git reads


def test_the_reader_lists_and_reads_head_only(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "svc", {"a.txt": "one\n", "src/pkg/core/b.py": "x = 1\n"})
    (repo / "a.txt").write_text("uncommitted\n")
    with RepoReader(repo) as reader:
        assert set(reader.files) == {"a.txt", "src/pkg/core/b.py"}
        assert reader.read(["a.txt", "src/pkg/core/b.py", "nope"]) == {
            "a.txt": b"one\n",
            "src/pkg/core/b.py": b"x = 1\n",
        }


def test_the_reader_reads_a_bare_mirror(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "svc", {"a.txt": "one\n"})
    _git(tmp_path, "clone", "--quiet", "--mirror", str(repo), "mirror.git")
    with RepoReader(tmp_path / "mirror.git") as reader:
        assert reader.read(["a.txt"]) == {"a.txt": b"one\n"}


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


def _empty_repo(path: Path) -> Path:
    _git(path.parent, "init", "-q", path.name)
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "does not exist"),
        (_folder, "not a git repository"),
        (_empty_repo, "with a commit"),
    ],
)
def test_the_reader_refuses_what_is_not_a_repository(
    tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    with pytest.raises(RepoError, match=message):
        RepoReader(make(tmp_path / "x"))


# Releases


@pytest.fixture
def template(tmp_path: Path) -> Path:
    repo = _repo(tmp_path / "tpl", {"copier.yml": "a: 1\n"})
    for version, date in (("0.1.0", "2026-01-01T00:00:00"), ("0.2.0", "2026-03-02T00:00:00")):
        (repo / "v").write_text(version)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", version, date=date)
        _git(repo, "tag", "-a", f"v{version}", "-m", version)
    _git(repo, "tag", "v0.3.0rc1")  # a pre-release is not "the latest"
    (repo / "releases.toml").write_text(
        '[[release]]\nversion = "0.1.0"\ncommit = "x"\nsupported = false\n'
    )
    commit_all(repo, "record")
    return repo


def test_releases_come_from_tags_with_their_dates_and_support(template: Path) -> None:
    history = History(template, "tpl")
    assert [r.name for r in history.releases] == ["0.1.0", "0.2.0"]
    assert [r.date for r in history.releases] == [dt.date(2026, 1, 1), dt.date(2026, 3, 2)]
    assert [r.supported for r in history.releases] == [False, True]
    assert history.behind(history.releases[0]) == 1


def test_a_recorded_commit_resolves_to_its_release(template: Path) -> None:
    history = History(template, "tpl")
    assert history.resolve("v0.1.0").release == history.releases[0]
    after = history.resolve("HEAD")  # `v0.2.0-1-g...`: based on 0.2.0
    assert after.commit is not None
    assert after.release == history.releases[1]
    assert history.resolve("v9.9.9").commit is None


def test_a_clone_without_tags_reads_its_releases_from_releases_toml(template: Path) -> None:
    commits = {}
    for version in ("0.1.0", "0.2.0"):
        commits[version] = subprocess.run(
            ["git", "rev-parse", f"v{version}^{{commit}}"],
            cwd=template,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        _git(template, "tag", "-d", f"v{version}")
    entries = "".join(
        f'[[release]]\nversion = "{v}"\ncommit = "{c}"\nsupported = true\n'
        for v, c in commits.items()
    )
    (template / "releases.toml").write_text(entries)
    commit_all(template, "record both")
    history = History(template, "tpl")
    assert [(r.tag, r.commit) for r in history.releases] == [
        (f"v{v}", c) for v, c in commits.items()
    ]
    assert history.resolve("v0.1.0").commit == commits["0.1.0"]


# Sources and shards


def test_a_manifest_lists_paths_relative_to_it_urls_and_teams(tmp_path: Path) -> None:
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text("- repo: svc\n  team: a\n- https://example.com/b.git\n")
    assert from_manifest(manifest) == [
        ServiceSource(location=str(tmp_path / "svc"), team="a"),
        ServiceSource(location="https://example.com/b.git"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "not valid YAML"),
        ("services: 3", "expected a list"),
        ("- team: a", "needs `repo`"),
        ("- repo: a\n  owner: b", "unknown keys"),
    ],
)
def test_a_bad_manifest_is_a_configuration_error(tmp_path: Path, text: str, message: str) -> None:
    manifest = tmp_path / "fleet.yaml"
    manifest.write_text(text)
    with pytest.raises(ConfigError, match=message):
        from_manifest(manifest)


def test_discovery_finds_repositories_with_answers_and_skips_the_rest(tmp_path: Path) -> None:
    _repo(tmp_path / "org" / "a", {".copier-answers.yml": "_commit: v1\n"})
    _repo(tmp_path / "org" / "team" / "b", {".copier-answers.yml": "_commit: v1\n"})
    _repo(tmp_path / "org" / "c", {"README.md": "no answers\n"})
    (tmp_path / "org" / "plain").mkdir()
    found = [Path(s.location).relative_to(tmp_path) for s in discover(tmp_path / "org")]
    assert found == [Path("org/a"), Path("org/team/b")]


def test_shards_are_stable_and_partition_the_sources() -> None:
    sources = [ServiceSource(location=f"https://example.com/svc-{i}.git") for i in range(200)]
    parts = [shard(sources, index, 4) for index in (1, 2, 3, 4)]
    assert sorted(s.location for part in parts for s in part) == sorted(s.location for s in sources)
    assert all(30 < len(part) < 70 for part in parts), [len(part) for part in parts]
    assert shard(list(reversed(sources)), 2, 4) == list(reversed(parts[1]))


# Policy


BILLING = ServiceAudit(
    name="billing",
    source="billing",
    version=VersionInfo(
        commit="v0.2.0",
        release="0.2.0",
        latest="0.3.0",
        releases_behind=1,
        days_behind=10,
        supported=True,
        known=True,
    ),
)


def _service(**changes: Any) -> ServiceAudit:
    return replace(BILLING, **changes)


def _policy_ids(service: ServiceAudit, policy: Policy) -> set[str]:
    return {i.id for i in apply_policy(service, policy, TODAY).violations}


def test_a_service_within_policy_has_no_violation() -> None:
    assert _policy_ids(_service(), Policy()) == set()


def test_each_rule_turns_its_finding_into_a_violation() -> None:
    edited = (FileStatus(path="src/b/core/x.py", state=FileState.EDITED),)
    weakened = (Issue(id="gates.disabled", message="flake"),)
    assert _policy_ids(_service(files=edited), Policy()) == {"policy.enforced-edits"}
    assert _policy_ids(_service(issues=weakened), Policy()) == {"policy.weakened-gates"}
    assert _policy_ids(_service(), Policy(max_releases_behind=0)) == {"policy.releases-behind"}
    broken = (Issue(id="input.no-answers", message="no answers"),)
    assert _policy_ids(_service(issues=broken), Policy()) == {"policy.unreadable"}


def test_allowed_findings_are_no_violation() -> None:
    edited = (FileStatus(path="src/b/core/x.py", state=FileState.EDITED),)
    assert _policy_ids(_service(files=edited), Policy(enforced_edits=True)) == set()


def test_a_live_waiver_excuses_its_rule_only() -> None:
    edited = (FileStatus(path="src/b/core/x.py", state=FileState.EDITED),)
    waiver = Waiver(service="billing", rule="enforced-edits", reason="r", expires=TODAY)
    policy = Policy(max_releases_behind=0, waivers=(waiver,))
    assert _policy_ids(_service(files=edited), policy) == {"policy.releases-behind"}


def test_an_expired_waiver_excuses_nothing_and_is_reported() -> None:
    edited = (FileStatus(path="src/b/core/x.py", state=FileState.EDITED),)
    waiver = Waiver(service="billing", rule="*", reason="r", expires=TODAY - dt.timedelta(days=1))
    assert _policy_ids(_service(files=edited), Policy(waivers=(waiver,))) == {
        "policy.enforced-edits",
        "policy.waiver-expired",
    }


# Progress


def test_progress_reports_done_rate_and_time_left() -> None:
    stream = io.StringIO()
    progress = Progress(4, label="audit", stream=stream)
    progress.interval = 0
    progress.advance()
    progress.advance(3)
    first, last = stream.getvalue().splitlines()
    assert first.startswith("audit: 1/4 services, ")
    assert "s left" in first
    assert last.startswith("audit: 4/4 services, ")
    assert "done in" in last
