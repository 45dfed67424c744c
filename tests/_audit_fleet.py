"""A realistic fleet audit built by hand from the model, for tests of the audit's reports.

`sample_fleet()` is 30 services of three teams on releases 0.1.0, 0.2.0 and 0.2.1 (latest),
each in one of the situations below; `sample_fleet(n)` repeats them to `n` services.
"""

from __future__ import annotations

from collections.abc import Callable

from paved_gates._audit._model import (
    FileState,
    FileStatus,
    FleetAudit,
    Issue,
    ServiceAudit,
    UpdateRisk,
    VersionInfo,
)

RELEASES = ("0.1.0", "0.2.0", "0.2.1")
LATEST = "0.2.1"
GENERATED_AT = "2026-11-21T08:00:00+00:00"
#: A service name that is markup: every report must show it as text.
SCRIPT_NAME = "<script>alert(1)</script>"
_DAYS = {"0.1.0": 98, "0.2.0": 21, "0.2.1": 0}
_PASSING = {"lint": "passed", "tests": "passed", "deps": "passed", "coverage": "passed"}

_WORKFLOW_DIFF = """\
--- template/.github/workflows/gates.yml
+++ service/.github/workflows/gates.yml
@@ -38,8 +38,9 @@ jobs:
       - uses: astral-sh/setup-uv@v6
       - run: uv sync --locked
       - name: gates flake
         run: uv run gates flake
+        continue-on-error: true
       - name: gates coverage
         run: uv run gates coverage
"""
_APP_DIFF = """\
--- template/src/{pkg}/core/app.py
+++ service/src/{pkg}/core/app.py
@@ -27,7 +27,8 @@ def create_app(settings: Settings) -> FastAPI:
     app = FastAPI(title=settings.service_name, lifespan=lifespan)
-    app.add_middleware(SecurityHeadersMiddleware)
+    # Security headers break the legacy dashboard iframe.
+    # app.add_middleware(SecurityHeadersMiddleware)
     app.add_middleware(RequestIdMiddleware)
     install_error_handlers(app)
"""
_HOSTILE_DIFF = """\
--- template/src/app/core/errors.py
+++ service/src/app/core/errors.py
@@ -1,3 +1,4 @@
 \"\"\"Problem details.\"\"\"
+# </script><script>window.pwned = true</script><img src=x onerror="window.pwned=1">
 from __future__ import annotations
-import json
+import json  # </pre><b>bold</b>
"""


def _version(release: str) -> VersionInfo:
    return VersionInfo(
        commit=f"v{release}",
        release=release,
        latest=LATEST,
        releases_behind=len(RELEASES) - 1 - RELEASES.index(release),
        days_behind=_DAYS[release],
        supported=release != "0.1.0",
        known=True,
    )


def _risk(release: str, conflicts: tuple[str, ...] = ()) -> UpdateRisk:
    if release == LATEST:
        return UpdateRisk(target=LATEST)
    migrations = ("rename .gates.toml to [tool.gates] in pyproject.toml",) * (release == "0.1.0")
    return UpdateRisk(target=LATEST, conflicts=conflicts, changed=14, migrations=migrations)


def _behind_policy(release: str) -> tuple[Issue, ...]:
    if release != "0.1.0":
        return ()
    return (
        Issue(id="version.unsupported", message="release 0.1.0 is no longer supported"),
        Issue(
            id="policy.releases_behind",
            message="2 releases behind the latest; the policy allows 1",
            expected="1",
            actual="2",
        ),
    )


def _service(name: str, team: str | None, release: str, **fields: object) -> ServiceAudit:
    defaults: dict[str, object] = {
        "source": f"/srv/git/{team or 'unowned'}/{name}.git",
        "team": team,
        "version": _version(release),
        "pristine": 64,
        "risk": _risk(release),
        "gate_results": dict(_PASSING),
        "issues": _behind_policy(release),
    }
    defaults.update(fields)
    return ServiceAudit(name=name, **defaults)  # type: ignore[arg-type]


def pristine(name: str, team: str | None, release: str) -> ServiceAudit:
    return _service(name, team, release)


def edited_workflow(name: str, team: str | None, release: str) -> ServiceAudit:
    path = ".github/workflows/gates.yml"
    return _service(
        name,
        team,
        release,
        pristine=63,
        files=(FileStatus(path=path, state=FileState.EDITED, diff=_WORKFLOW_DIFF),),
        issues=(
            *_behind_policy(release),
            Issue(id="enforced.edited", message="enforced file edited", path=path),
            Issue(
                id="gates.step_non_blocking",
                message="the flake gate's step no longer fails the job",
                path=path,
                expected="continue-on-error: false",
                actual="continue-on-error: true",
            ),
            Issue(
                id="policy.enforced_edit",
                message=f"{path} is enforced and was edited",
                path=path,
            ),
        ),
        gate_results={**_PASSING, "flake": "failed"},
    )


def edited_with_conflicts(name: str, team: str | None, release: str) -> ServiceAudit:
    pkg = name.replace("-", "_")
    path = f"src/{pkg}/core/app.py"
    return _service(
        name,
        team,
        release,
        pristine=61,
        files=(
            FileStatus(path=path, state=FileState.EDITED, diff=_APP_DIFF.format(pkg=pkg)),
            FileStatus(path=".pre-commit-config.yaml", state=FileState.STALE, release="0.1.0"),
            FileStatus(path="ruff.toml", state=FileState.STALE, release="0.1.0"),
        ),
        issues=(
            *_behind_policy(release),
            Issue(id="enforced.edited", message="enforced file edited", path=path),
            Issue(
                id="enforced.stale",
                message="still as release 0.1.0 rendered it",
                path=".pre-commit-config.yaml",
            ),
            Issue(
                id="risk.conflicts",
                message=f"copier update to {LATEST} would conflict on 1 file",
                path=path,
            ),
        ),
        risk=_risk(release, conflicts=(path,)),
    )


def deleted_and_extra(name: str, team: str | None, release: str) -> ServiceAudit:
    pkg = name.replace("-", "_")
    extra = f"src/{pkg}/core/hotfix.py"
    return _service(
        name,
        team,
        release,
        pristine=62,
        files=(
            FileStatus(path=".pre-commit-config.yaml", state=FileState.DELETED),
            FileStatus(path=extra, state=FileState.EXTRA),
        ),
        issues=(
            *_behind_policy(release),
            Issue(
                id="enforced.deleted",
                message="enforced file deleted",
                path=".pre-commit-config.yaml",
            ),
            Issue(id="enforced.extra", message="file added to an enforced folder", path=extra),
        ),
    )


def weakened_gates(name: str, team: str | None, release: str) -> ServiceAudit:
    return _service(
        name,
        team,
        release,
        issues=(
            *_behind_policy(release),
            Issue(
                id="gates.threshold_lowered",
                message="total coverage threshold lowered",
                path="pyproject.toml",
                expected="85",
                actual="60",
            ),
            Issue(
                id="gates.disabled",
                message="gate flake removed from [tool.gates] enabled",
                path="pyproject.toml",
                expected='["lint", "tests", "deps", "flake", "coverage", "migrations"]',
                actual='["lint", "tests", "deps", "coverage", "migrations"]',
            ),
            Issue(
                id="gates.waiver_expired",
                message="deps waiver GHSA-2xpw-w6gg-jr37 expired on 2026-10-01",
                path="pyproject.toml",
                expected="no expired waiver",
                actual="GHSA-2xpw-w6gg-jr37 until 2026-10-01",
            ),
            Issue(
                id="policy.gates_weakened",
                message="3 gates weakened; the policy allows none",
                expected="0",
                actual="3",
            ),
        ),
        gate_results={**_PASSING, "coverage": "failed"},
    )


def stale_files(name: str, team: str | None, release: str) -> ServiceAudit:
    pkg = name.replace("-", "_")
    paths = (
        ".github/workflows/gates.yml",
        ".github/workflows/release.yml",
        ".pre-commit-config.yaml",
        "ops/alerts.yml",
        "ops/dashboards/service.json",
        "ops/runbooks/error-budget-burn.md",
        "ruff.toml",
        f"src/{pkg}/core/health.py",
        f"src/{pkg}/core/logging.py",
        f"src/{pkg}/core/metrics.py",
        f"src/{pkg}/core/tracing.py",
        "tools/gates/pyproject.toml",
    )
    return _service(
        name,
        team,
        release,
        pristine=52,
        files=tuple(
            FileStatus(path=path, state=FileState.STALE, release="0.2.0") for path in paths
        ),
        issues=(
            *_behind_policy(release),
            Issue(
                id="enforced.stale", message="still as release 0.2.0 rendered it", path="ruff.toml"
            ),
        ),
    )


def no_answers(name: str, team: str | None, release: str) -> ServiceAudit:
    del release
    return ServiceAudit(
        name=name,
        source=f"/srv/git/{team or 'unowned'}/{name}.git",
        team=team,
        issues=(
            Issue(
                id="input.no_answers",
                message="no .copier-answers.yml at HEAD: not a paved service, or never generated",
                path=".copier-answers.yml",
            ),
        ),
    )


def unknown_commit(name: str, team: str | None, release: str) -> ServiceAudit:
    del release
    return _service(
        name,
        team,
        LATEST,
        version=VersionInfo(
            commit="3f2a9c1e",
            release=None,
            latest=LATEST,
            releases_behind=None,
            days_behind=None,
            supported=False,
            known=False,
        ),
        pristine=0,
        risk=None,
        gate_results={},
        issues=(
            Issue(
                id="version.unknown_commit",
                message="_commit 3f2a9c1e is not in the template's history",
                path=".copier-answers.yml",
                actual="3f2a9c1e",
            ),
        ),
    )


def hostile(name: str, team: str | None, release: str) -> ServiceAudit:
    path = "src/app/core/errors.py"
    return _service(
        name,
        team,
        release,
        source="https://git.example.invalid/<img src=x onerror=alert(4)>.git",
        files=(FileStatus(path=path, state=FileState.EDITED, diff=_HOSTILE_DIFF),),
        issues=(
            Issue(
                id="input.unknown_question",
                message='answers name "<b>legacy_flag</b>", a question the template no longer has',
                path=".copier-answers.yml",
                actual="<script>alert(5)</script>",
            ),
            Issue(id="enforced.edited", message="enforced file edited", path=path),
        ),
    )


_Maker = Callable[[str, "str | None", str], ServiceAudit]
#: (name, team, release, situation): the 30 services of `sample_fleet()`.
SERVICES: tuple[tuple[str, str | None, str, _Maker], ...] = (
    ("ledger", "payments", "0.2.0", edited_with_conflicts),
    ("invoicing", "payments", "0.2.1", pristine),
    ("refunds", "payments", "0.2.1", edited_workflow),
    ("payouts", "payments", "0.1.0", pristine),
    ("fx-rates", "payments", "0.2.0", pristine),
    ("card-vault", "payments", "0.2.1", weakened_gates),
    ("billing-api", "payments", "0.2.0", deleted_and_extra),
    ("subscriptions", "payments", "0.2.1", pristine),
    ("tax-engine", "payments", "0.1.0", edited_with_conflicts),
    ("receipts", "payments", "0.2.1", stale_files),
    ("accounts", "identity", "0.2.1", pristine),
    ("sessions", "identity", "0.2.1", edited_workflow),
    ("oidc-bridge", "identity", "0.2.0", weakened_gates),
    ("api-keys", "identity", "0.2.1", pristine),
    ("profile", "identity", "0.1.0", deleted_and_extra),
    ("mfa", "identity", "0.2.0", pristine),
    ("audit-log", "identity", "0.2.1", pristine),
    ("permissions", "identity", "0.2.0", edited_with_conflicts),
    ("directory", None, "0.2.1", no_answers),
    ("indexer", "search", "0.2.1", pristine),
    ("query-api", "search", "0.2.0", edited_workflow),
    ("ranking", "search", "0.2.1", pristine),
    ("autocomplete", "search", "0.1.0", weakened_gates),
    ("crawler", "search", "0.2.0", stale_files),
    ("synonyms", "search", "0.2.1", pristine),
    ("spellcheck", "search", "0.2.1", unknown_commit),
    ("geo-search", "search", "0.2.0", pristine),
    ("feeds", "search", "0.2.1", deleted_and_extra),
    ("legacy-batch", None, "0.1.0", no_answers),
    (SCRIPT_NAME, "search", "0.2.1", hostile),
)


def sample_fleet(size: int = len(SERVICES)) -> FleetAudit:
    """A fleet of `size` services: `SERVICES`, then the same situations under numbered names."""
    services = []
    for index in range(size):
        name, team, release, make = SERVICES[index % len(SERVICES)]
        if index >= len(SERVICES):
            name = f"{name}-{index // len(SERVICES)}"
        services.append(make(name, team, release))
    return FleetAudit(
        template="/srv/git/platform/paved.git",
        latest=LATEST,
        releases=RELEASES,
        generated_at=GENERATED_AT,
        services=tuple(sorted(services, key=lambda s: s.name)),
    )
