"""`hooks/release_tags.py`: a clone without tags gets them from releases.toml, and a service
copied from it records a real release."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from copier import run_copy

from tests._releases import releases
from tests._template import ROOT

SCRIPT = ROOT / "hooks" / "release_tags.py"


def _git(args: list[str], cwd: Path) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout


def _tag_releases(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )


def _tags(repo: Path) -> dict[str, str]:
    listed = _git(["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/tags"], repo)
    return dict(line.split() for line in listed.splitlines())


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of this repository with no tags, as a CI checkout or `--no-tags` leaves it."""
    dst = tmp_path_factory.mktemp("clone") / "paved"
    _git(["clone", "--quiet", "--no-tags", str(ROOT), str(dst)], ROOT)
    assert _tags(dst) == {}
    return dst


def test_a_clone_gets_every_recorded_release_tag_once(clone: Path) -> None:
    first = _tag_releases(clone)
    again = _tag_releases(clone)

    assert first.returncode == 0, first.stderr
    assert _tags(clone) == {release.tag: release.commit for release in releases()}
    assert again.returncode == 0, again.stderr
    assert "already tagged: " in again.stderr
    assert "tagged v" not in again.stderr.replace("already tagged", "")


def test_a_service_copied_from_the_tagged_clone_records_the_newest_release(
    clone: Path, tmp_path: Path
) -> None:
    assert _tag_releases(clone).returncode == 0
    service = tmp_path / "svc"

    run_copy(str(clone), service, defaults=True, unsafe=True, skip_tasks=True, quiet=True)

    answers = yaml.safe_load((service / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["_commit"] == releases()[-1].tag


def _repo_with(tmp_path: Path, record: str) -> Path:
    repo = tmp_path / "paved"
    repo.mkdir()
    _git(["init", "--quiet"], repo)
    (repo / "releases.toml").write_text(record, encoding="utf-8")
    _git(["add", "-A"], repo)
    _git(["commit", "--quiet", "-m", "0.1.0"], repo)
    return repo


def test_a_recorded_commit_the_clone_lacks_is_named_and_nothing_is_tagged(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, "")
    head = _git(["rev-parse", "HEAD"], repo).strip()
    (repo / "releases.toml").write_text(
        f'[[release]]\nversion = "0.1.0"\ncommit = "{head}"\n\n'
        f'[[release]]\nversion = "0.2.0"\ncommit = "{"0" * 40}"\n',
        encoding="utf-8",
    )

    refused = _tag_releases(repo)

    assert refused.returncode == 1
    assert f"release 0.2.0 is recorded at commit {'0' * 40}" in refused.stderr
    assert "fetch the full history (`git fetch --unshallow`" in refused.stderr
    assert _tags(repo) == {}


def test_a_tag_at_another_commit_is_reported_not_moved(tmp_path: Path) -> None:
    repo = _repo_with(tmp_path, "")
    first = _git(["rev-parse", "HEAD"], repo).strip()
    _git(["commit", "--quiet", "--allow-empty", "-m", "later"], repo)
    _git(["tag", "v0.1.0"], repo)
    (repo / "releases.toml").write_text(
        f'[[release]]\nversion = "0.1.0"\ncommit = "{first}"\n', encoding="utf-8"
    )

    refused = _tag_releases(repo)

    assert refused.returncode == 1
    assert "v0.1.0 points at" in refused.stderr
    assert _tags(repo)["v0.1.0"] != first
