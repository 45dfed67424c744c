"""Weakened gates: real renders, edited as a team would, compared with the template's render."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import yaml
from paved_gates._audit._model import Issue
from paved_gates._audit._weakening import reads, weakened_gates

from tests._fast_render import render_from, snapshot

TODAY = dt.datetime.now(dt.UTC).date()
SERVICES: dict[str, dict[str, object]] = {
    "defaults": {},
    "postgresql-grpc-redis": {"database": "postgresql", "api": ["rest", "grpc"], "cache": "redis"},
}
PYPROJECT = "pyproject.toml"
GATES_YML = ".github/workflows/gates.yml"
UPDATE_YML = ".github/workflows/template-update.yml"
PRE_COMMIT = ".pre-commit-config.yaml"
WAIVER_EXAMPLE = (
    '# waivers = [{ id = "PYSEC-0000-00", reason = "why it does not apply", '
    'expires = "2027-01-31" }]'
)

Files = dict[str, bytes]
Edit = Callable[[str], str | None]  # None deletes the file


@pytest.fixture(scope="module")
def renders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Files]:
    """What the audit passes of each rendered service: its gate configuration files."""
    source = snapshot(tmp_path_factory.mktemp("template"))
    renders = {}
    for name, answers in SERVICES.items():
        root = render_from(source, tmp_path_factory.mktemp(name), answers)
        files = (path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())
        renders[name] = {path: (root / path).read_bytes() for path in files if reads(path)}
    return renders


def replaced(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"{old!r} is not in the render exactly once"
        return text.replace(old, new)

    return edit


def cut_from(marker: str) -> Edit:
    """Everything from `marker` on removed (the last job of a workflow, the last hook)."""

    def edit(text: str) -> str:
        assert marker in text
        return text[: text.index(marker)]

    return edit


def deleted(text: str) -> None:
    del text


def edited(files: Files, path: str, edit: Edit) -> Files:
    service = dict(files)
    text = edit(files.get(path, b"").decode())
    if text is None:
        del service[path]
    else:
        service[path] = text.encode()
    return service


def found(issues: tuple[Issue, ...]) -> list[tuple[str, str, str | None, str | None]]:
    return [(issue.id, issue.path, issue.expected, issue.actual) for issue in issues]


@pytest.mark.parametrize("name", SERVICES)
def test_a_pristine_service_weakens_nothing(renders: dict[str, Files], name: str) -> None:
    files = renders[name]
    assert {PYPROJECT, GATES_YML, UPDATE_YML, PRE_COMMIT} <= set(files)
    assert weakened_gates(template=files, service=dict(files), today=TODAY) == ()


@dataclass(frozen=True, kw_only=True)
class Seed:
    """One weakening a team could make, and what the audit must say about it."""

    path: str
    edit: Edit
    found: list[tuple[str, str, str]]  # (id, expected, actual), at `path`
    mentions: str = ""  # what the first issue's message names
    service: str = "defaults"


def seed(name: str, **fields: Any) -> Any:  # a pytest.param (ParameterSet is not public)
    return pytest.param(Seed(**fields), id=name)


ENABLED = 'enabled = ["lint", "tests", "coverage", "migrations", "deps", "flake", "api-compat"]\n'
CORE = 'core = { globs = ["src/my_service/core/*"], threshold = 90 }'
PERSISTENCE = (
    'persistence = { globs = ["src/my_service/core/db.py", "src/my_service/*/repository.py", '
    '"src/my_service/core/auth/repository.py"], threshold = 90 }'
)
IDEMPOTENCY = 'idempotency = { globs = ["src/my_service/core/idempotency.py"], threshold = 90 }\n'
OVERRIDE = '[[tool.mypy.overrides]]\nmodule = ["{module}"]\n{option}\n\n[[tool.mypy.overrides]]'

WEAKENINGS = [
    # The gates table
    seed(
        "gate-disabled",
        path=PYPROJECT,
        edit=replaced('"deps", "flake", "api-compat"]', '"deps", "api-compat"]'),
        found=[("gates.disabled", "enabled", "disabled")],
        mentions="flake",
    ),
    seed(
        "enabled-deleted-falls-back-to-the-cli-defaults",
        path=PYPROJECT,
        edit=replaced(ENABLED, ""),
        found=[("gates.disabled", "enabled", "disabled")] * 4,
        mentions="migrations",
    ),
    seed(
        "api-compat-description-unset",
        service="postgresql-grpc-redis",
        path=PYPROJECT,
        edit=replaced('proto = "proto"\n', ""),
        found=[("gates.disabled", "proto = proto", "removed")],
        mentions="proto",
    ),
    seed(
        "total-lowered",
        path=PYPROJECT,
        edit=replaced("total = 85", "total = 70"),
        found=[("gates.threshold-lowered", "85", "70")],
        mentions="total",
    ),
    seed(
        "patch-lowered",
        path=PYPROJECT,
        edit=replaced("patch = 80", "patch = 60"),
        found=[("gates.threshold-lowered", "80", "60")],
        mentions="patch",
    ),
    seed(
        "critical-threshold-lowered",
        path=PYPROJECT,
        edit=replaced(CORE, CORE.replace("90", "75")),
        found=[("gates.threshold-lowered", "90", "75")],
        mentions="core",
    ),
    seed(
        "critical-group-removed",
        path=PYPROJECT,
        edit=replaced(IDEMPOTENCY, ""),
        found=[("gates.critical-removed", "src/my_service/core/idempotency.py", "removed")],
        mentions="idempotency",
    ),
    seed(
        "critical-globs-narrowed",
        service="postgresql-grpc-redis",
        path=PYPROJECT,
        edit=replaced(', "src/my_service/core/auth/repository.py"]', "]"),
        found=[
            (
                "gates.critical-removed",
                (
                    "src/my_service/core/db.py, src/my_service/*/repository.py, "
                    "src/my_service/core/auth/repository.py"
                ),
                "src/my_service/core/db.py, src/my_service/*/repository.py",
            )
        ],
        mentions="src/my_service/core/auth/repository.py",
    ),
    seed(
        "flake-runs-lowered",
        path=PYPROJECT,
        edit=replaced("runs = 5", "runs = 2"),
        found=[("gates.flake-runs-lowered", "5", "2")],
    ),
    seed(
        "flake-budget-raised",
        path=PYPROJECT,
        edit=replaced("budget = 0.0", "budget = 0.1"),
        found=[("gates.flake-budget-raised", "0", "0.1")],
    ),
    seed(
        "lint-path-removed",
        path=PYPROJECT,
        edit=replaced('paths = ["src", "tests", "migrations"]', 'paths = ["src", "tests"]'),
        found=[("gates.lint-ignored", "migrations", "removed")],
    ),
    seed(
        "lint-workflows-moved",
        path=PYPROJECT,
        edit=replaced('workflows = ".github/workflows"', 'workflows = "ci/none"'),
        found=[("gates.lint-ignored", ".github/workflows", "ci/none")],
        mentions="zizmor",
    ),
    # Waivers that live in configuration (deps waivers: test_waivers_* below)
    seed(
        "coverage-omit-added",
        path=PYPROJECT,
        edit=replaced("branch = true\n", 'branch = true\nomit = ["src/my_service/items/*"]\n'),
        found=[("gates.waiver-added", "none", "omit src/my_service/items/*")],
    ),
    seed(
        "coverage-omit-extended",
        service="postgresql-grpc-redis",
        path=PYPROJECT,
        edit=replaced('"*_pb2_grpc.py"]', '"*_pb2_grpc.py", "src/my_service/core/db.py"]'),
        found=[("gates.waiver-added", "none", "omit src/my_service/core/db.py")],
    ),
    seed(
        "coverage-exclusion-added",
        path=PYPROJECT,
        edit=replaced('"if TYPE_CHECKING:",', '"if TYPE_CHECKING:", "except Exception",'),
        found=[("gates.waiver-added", "none", "exclude_also except Exception")],
    ),
    seed(
        "tests-deselected",
        path=PYPROJECT,
        edit=replaced(
            "pytest-args = []", 'pytest-args = ["--deselect", "tests/e2e/test_items.py::test_x"]'
        ),
        found=[("gates.waiver-added", "none", "--deselect tests/e2e/test_items.py::test_x")],
        mentions="[tool.gates.tests]",
    ),
    seed(
        "flake-runs-skip-a-marker",
        path=PYPROJECT,
        edit=replaced("budget = 0.0\n", 'budget = 0.0\npytest-args = ["-mnot integration"]\n'),
        found=[("gates.waiver-added", "none", "-m not integration")],
        mentions="[tool.gates.flake]",
    ),
    seed(
        "random-order-switched-off",
        path=PYPROJECT,
        edit=replaced('"--strict-config"]', '"--strict-config", "-p", "no:randomly"]'),
        found=[("gates.waiver-added", "none", "-p no:randomly")],
        mentions="addopts",
    ),
    seed(
        "warning-ignored",
        path=PYPROJECT,
        edit=replaced('["error"]', '["error", "ignore::DeprecationWarning"]'),
        found=[("gates.waiver-added", "none", "filterwarnings ignore::DeprecationWarning")],
    ),
    seed(
        "warnings-no-longer-errors",
        path=PYPROJECT,
        edit=replaced('filterwarnings = ["error"]', "filterwarnings = []"),
        found=[("gates.waiver-added", "filterwarnings error", "removed")],
    ),
    # Ruff
    seed(
        "rule-ignored",
        path=PYPROJECT,
        edit=replaced('    "EM102",\n]', '    "EM102",\n    "E501",\n]'),
        found=[("gates.lint-ignored", "none", "E501")],
        mentions="E501",
    ),
    seed(
        "linter-extend-ignored",
        path=PYPROJECT,
        edit=replaced("[tool.ruff.lint]\n", '[tool.ruff.lint]\nextend-ignore = ["ANN"]\n'),
        found=[("gates.lint-ignored", "none", "ANN")],
    ),
    seed(
        "rule-ignored-per-file",
        path=PYPROJECT,
        edit=replaced('"tests/**" = [', '"src/**" = ["ANN401"]\n"tests/**" = ['),
        found=[("gates.lint-ignored", "none", "src/**: ANN401")],
    ),
    seed(
        "select-narrowed",
        path=PYPROJECT,
        edit=replaced('"C4", "ANN",', '"C4",'),
        found=[("gates.lint-ignored", "ANN", "removed")],
        mentions="ANN",
    ),
    seed(
        "select-narrowed-to-a-sibling-prefix",  # S selects bandit, not SIM
        path=PYPROJECT,
        edit=replaced('"N", "SIM",', '"N",'),
        found=[("gates.lint-ignored", "SIM", "removed")],
    ),
    seed(
        "path-excluded-from-ruff",
        path=PYPROJECT,
        edit=replaced('extend-exclude = ["tools"]', 'extend-exclude = ["tools", "src/legacy"]'),
        found=[("gates.lint-ignored", "none", "exclude src/legacy")],
    ),
    # mypy
    seed(
        "strict-off",
        path=PYPROJECT,
        edit=replaced("strict = true", "strict = false"),
        found=[("gates.typing-relaxed", "strict = true", "strict = false")],
    ),
    seed(
        "strict-removed",
        path=PYPROJECT,
        edit=replaced("strict = true\n", ""),
        found=[("gates.typing-relaxed", "strict = true", "strict unset")],
    ),
    seed(
        "missing-imports-ignored",
        path=PYPROJECT,
        edit=replaced("strict = true\n", "strict = true\nignore_missing_imports = true\n"),
        found=[
            (
                "gates.typing-relaxed",
                "ignore_missing_imports = false",
                "ignore_missing_imports = true",
            )
        ],
    ),
    seed(
        "error-code-disabled",
        path=PYPROJECT,
        edit=replaced("strict = true\n", 'strict = true\ndisable_error_code = ["no-any-return"]\n'),
        found=[
            (
                "gates.typing-relaxed",
                "disable_error_code = []",
                'disable_error_code = ["no-any-return"]',
            )
        ],
    ),
    seed(
        "override-ignores-errors",
        path=PYPROJECT,
        edit=replaced(
            "[[tool.mypy.overrides]]",
            OVERRIDE.format(module="my_service.items.*", option="ignore_errors = true"),
        ),
        found=[("gates.typing-relaxed", "ignore_errors = false", "ignore_errors = true")],
        mentions="my_service.items.*",
    ),
    seed(
        "override-allows-untyped-defs",
        path=PYPROJECT,
        edit=replaced(
            "[[tool.mypy.overrides]]",
            OVERRIDE.format(module="tests.*", option="disallow_untyped_defs = false"),
        ),
        found=[
            (
                "gates.typing-relaxed",
                "disallow_untyped_defs = true",
                "disallow_untyped_defs = false",
            )
        ],
        mentions="tests.*",
    ),
    # Workflows
    seed(
        "workflow-deleted",
        path=GATES_YML,
        edit=deleted,
        found=[("gates.workflow-removed", GATES_YML, "deleted")],
    ),
    seed(
        "job-removed",
        path=GATES_YML,
        edit=cut_from("  flake:\n"),
        found=[("gates.workflow-job-removed", "job flake", "removed")],
    ),
    seed(
        "gate-dropped-from-the-matrix",
        path=GATES_YML,
        edit=replaced("gate: [lint, migrations, deps, api-compat]", "gate: [lint, migrations]"),
        found=[
            ("gates.workflow-job-removed", "gate: deps", "removed"),
            ("gates.workflow-job-removed", "gate: api-compat", "removed"),
        ],
    ),
    seed(
        "gate-excluded-from-the-matrix",
        path=GATES_YML,
        edit=replaced("api-compat]\n", "api-compat]\n        exclude:\n          - gate: deps\n"),
        found=[("gates.workflow-job-removed", "none", 'exclude {"gate": "deps"}')],
    ),
    seed(
        "step-removed",
        path=GATES_YML,
        edit=replaced("      - name: Coverage gate\n        run: uv run gates coverage\n\n", ""),
        found=[("gates.workflow-step-removed", "Coverage gate", "removed")],
    ),
    seed(
        "gate-command-replaced",
        path=GATES_YML,
        edit=replaced("run: uv run gates coverage", 'run: echo "coverage later"'),
        found=[("gates.workflow-step-removed", "gates coverage", 'echo "coverage later"')],
        mentions="Coverage gate",
    ),
    seed(
        "gate-command-dropped-from-a-script",
        path=UPDATE_YML,
        edit=replaced("uv sync --locked && uv run --locked gates all;", "uv sync --locked;"),
        found=[("gates.workflow-step-removed", "gates all", "status=0")],
        mentions="Run the gates on the update",
    ),
    seed(
        "or-true",
        path=GATES_YML,
        edit=replaced("run: uv run gates tests", "run: uv run gates tests || true"),
        found=[("gates.workflow-non-blocking", "blocking", "uv run gates tests || true")],
    ),
    seed(
        "exit-0",
        path=GATES_YML,
        edit=replaced("run: uv run gates flake", "run: uv run gates flake; exit 0"),
        found=[("gates.workflow-non-blocking", "blocking", "uv run gates flake; exit 0")],
    ),
    seed(
        "set-plus-e",
        path=GATES_YML,
        edit=replaced(
            'run: uv run gates "$GATE"', 'run: |\n          set +e\n          uv run gates "$GATE"'
        ),
        found=[("gates.workflow-non-blocking", "blocking", "set +e")],
    ),
    seed(
        "step-continues-on-error",
        path=GATES_YML,
        edit=replaced(
            "- name: Tests gate\n", "- name: Tests gate\n        continue-on-error: true\n"
        ),
        found=[("gates.workflow-non-blocking", "false", "true")],
        mentions="Tests gate",
    ),
    seed(
        "job-continues-on-error",
        path=GATES_YML,
        edit=replaced("    name: flake\n", "    name: flake\n    continue-on-error: true\n"),
        found=[("gates.workflow-non-blocking", "false", "true")],
        mentions="job flake",
    ),
    seed(
        "job-if-false",
        path=GATES_YML,
        edit=replaced("name: tests and coverage\n", "name: tests and coverage\n    if: false\n"),
        found=[("gates.workflow-non-blocking", "none", "false")],
        mentions="job tests",
    ),
    seed(
        "step-only-nightly",
        path=GATES_YML,
        edit=replaced(
            "- name: Flake gate\n",
            "- name: Flake gate\n        if: github.event_name == 'schedule'\n",
        ),
        found=[("gates.workflow-non-blocking", "none", "github.event_name == 'schedule'")],
    ),
    seed(
        "trigger-removed",
        path=GATES_YML,
        edit=replaced("  pull_request:\n", ""),
        found=[("gates.workflow-non-blocking", "on pull_request", "removed")],
    ),
    # pre-commit
    seed(
        "hook-removed",
        path=PRE_COMMIT,
        edit=cut_from("      # The whole lint gate"),
        found=[("gates.hook-removed", "gates-lint", "removed")],
    ),
    seed(
        "hooks-deleted",
        path=PRE_COMMIT,
        edit=deleted,
        found=[
            ("gates.hook-removed", "ruff-format", "removed"),
            ("gates.hook-removed", "ruff-check", "removed"),
            ("gates.hook-removed", "gates-lint", "removed"),
        ],
    ),
]


@pytest.mark.parametrize("weakening", WEAKENINGS)
def test_a_weakening_is_reported_with_the_template_s_and_the_service_s_value(
    renders: dict[str, Files], weakening: Seed
) -> None:
    template = renders[weakening.service]
    service = edited(template, weakening.path, weakening.edit)
    issues = weakened_gates(template=template, service=service, today=TODAY)
    assert found(issues) == [(rule, weakening.path, *values) for rule, *values in weakening.found]
    assert weakening.mentions in issues[0].message


TIGHTENINGS = [
    (PYPROJECT, replaced("total = 85", "total = 95")),
    (PYPROJECT, replaced("patch = 80", "patch = 100")),
    (PYPROJECT, replaced(CORE, CORE.replace("90", "98"))),
    (PYPROJECT, replaced(IDEMPOTENCY, f'{IDEMPOTENCY}db = {{ globs = ["src/*/db.py"] }}\n')),
    (PYPROJECT, replaced("runs = 5", "runs = 10")),
    (PYPROJECT, replaced('"PERF", "FAST",', '"PERF", "FAST", "C90",')),
    (PYPROJECT, replaced("[tool.ruff.lint]\n", '[tool.ruff.lint]\nextend-select = ["CPY"]\n')),
    (PYPROJECT, replaced('    "EM102",\n', "")),  # one ignore fewer
    (PYPROJECT, replaced("strict = true\n", "strict = true\nwarn_unreachable = true\n")),
    (PYPROJECT, replaced('["error"]', '["error", "error::UserWarning"]')),
    (PYPROJECT, replaced('"--strict-config"]', '"--strict-config", "-p", "no:cacheprovider"]')),
    (PYPROJECT, replaced(WAIVER_EXAMPLE, "")),
    (GATES_YML, replaced("- name: Tests gate\n", "- name: Run the tests gate\n")),
    (
        GATES_YML,
        replaced(
            "      - name: Coverage gate\n",
            "      - name: Mutation testing\n        run: uv run mutmut run\n\n"
            "      - name: Coverage gate\n",
        ),
    ),
    (GATES_YML, lambda text: text.replace("if: always()", "if: ${{ always() }}")),
    (GATES_YML, replaced("    name: flake\n", "    name: flake\n    if: ${{ !cancelled() }}\n")),
    (GATES_YML, lambda text: text.replace("@08c6903cd8c0fde910a37f88322edcfb5dd907a8", "@v5")),
    (GATES_YML, replaced("  workflow_dispatch:\n", "  workflow_dispatch:\n  merge_group:\n")),
    (".github/workflows/nightly.yml", lambda _: "on: push\njobs:\n  x:\n    if: false\n"),
    (
        PRE_COMMIT,
        lambda text: text + "      - id: typos\n        entry: typos\n        language: system\n",
    ),
]


@pytest.mark.parametrize(("path", "edit"), TIGHTENINGS)
def test_tightening_or_an_equivalent_edit_weakens_nothing(
    renders: dict[str, Files], path: str, edit: Edit
) -> None:
    template = renders["defaults"]
    service = edited(template, path, edit)
    assert service != template
    assert weakened_gates(template=template, service=service, today=TODAY) == ()


def waived(expires: str) -> Edit:
    waiver = f'waivers = [{{ id = "PYSEC-2024-1", reason = "not reachable"{expires} }}]'
    return replaced(WAIVER_EXAMPLE, waiver)


YESTERDAY = TODAY - dt.timedelta(days=1)
NEXT_YEAR = TODAY + dt.timedelta(days=365)


@pytest.mark.parametrize(
    ("expires", "until", "expired"),
    [
        pytest.param(f', expires = "{YESTERDAY}"', str(YESTERDAY), True, id="expired-yesterday"),
        pytest.param(f', expires = "{TODAY}"', str(TODAY), False, id="expires-today"),
        pytest.param(f', expires = "{NEXT_YEAR}"', str(NEXT_YEAR), False, id="next-year"),
        pytest.param(f", expires = {NEXT_YEAR}", str(NEXT_YEAR), False, id="toml-date"),
        pytest.param("", "no expiry", True, id="no-expiry"),
        pytest.param(', expires = "soon"', "soon", True, id="invalid-expiry"),
    ],
)
def test_a_deps_waiver_is_reported_and_an_expired_one_too(
    renders: dict[str, Files], expires: str, until: str, expired: bool
) -> None:
    template = renders["defaults"]
    service = edited(template, PYPROJECT, waived(expires))
    issues = weakened_gates(template=template, service=service, today=TODAY)
    added = ("gates.waiver-added", PYPROJECT, "none", f"PYSEC-2024-1 until {until}")
    overdue = ("gates.waiver-expired", PYPROJECT, f"expires on or after {TODAY}", until)
    assert found(issues) == ([added, overdue] if expired else [added])
    assert all("PYSEC-2024-1" in issue.message for issue in issues)


def test_a_malformed_pyproject_is_reported_and_the_workflows_still_checked(
    renders: dict[str, Files],
) -> None:
    template = renders["defaults"]
    service = edited(template, PYPROJECT, lambda text: text.replace("[tool.gates]", "[tool.gates"))
    service = edited(
        service, GATES_YML, replaced("uv run gates tests", "uv run gates tests || exit 0")
    )
    issues = weakened_gates(template=template, service=service, today=TODAY)
    assert [(issue.id, issue.path) for issue in issues] == [
        ("input.malformed", PYPROJECT),
        ("gates.workflow-non-blocking", GATES_YML),
    ]
    assert "not valid TOML" in issues[0].message
    assert "line" in issues[0].message  # the parser's own words, with where it failed


@pytest.mark.parametrize(
    ("path", "content"),
    [
        (GATES_YML, b"jobs:\n  gate: [\n"),
        (GATES_YML, b"- a list\n- at the top\n"),
        (PRE_COMMIT, b"repos: {\n"),
        (PYPROJECT, b"\xff\xfe not utf-8"),
        ("ruff.toml", b"[lint\n"),
    ],
)
def test_an_unreadable_service_file_is_one_finding_and_the_rest_is_checked(
    renders: dict[str, Files], path: str, content: bytes
) -> None:
    template = renders["defaults"]
    service = {**template, path: content}
    service = edited(service, UPDATE_YML, replaced("gates all;", "gates all || true;"))
    issues = weakened_gates(template=template, service=service, today=TODAY)
    assert sorted((issue.id, issue.path) for issue in issues) == sorted(
        [("input.malformed", path), ("gates.workflow-non-blocking", UPDATE_YML)]
    )


@pytest.mark.parametrize(
    "edit",
    [
        replaced(ENABLED, 'enabled = "lint"\n'),
        replaced("total = 85", 'total = "high"'),
        replaced("[tool.gates.coverage.critical]\n", "[tool.gates.coverage.critical]\nx = 1\n"),
        replaced(WAIVER_EXAMPLE, 'waivers = "none"'),
    ],
)
def test_a_value_the_gate_itself_rejects_is_no_weakening(
    renders: dict[str, Files], edit: Edit
) -> None:
    """`gates` exits 2 on such a value, which fails CI loudly: nothing passes more easily."""
    template = renders["defaults"]
    service = edited(template, PYPROJECT, edit)
    assert weakened_gates(template=template, service=service, today=TODAY) == ()


def test_a_workflow_renamed_to_yaml_is_still_compared(renders: dict[str, Files]) -> None:
    template = renders["defaults"]
    service = {k: v for k, v in template.items() if k != GATES_YML}
    service[".github/workflows/gates.yaml"] = template[GATES_YML].replace(
        b"gates coverage", b"gates coverage || true"
    )
    issues = weakened_gates(template=template, service=service, today=TODAY)
    assert found(issues) == [
        (
            "gates.workflow-non-blocking",
            ".github/workflows/gates.yaml",
            "blocking",
            "uv run gates coverage || true",
        )
    ]


def ruff_toml(pyproject: str) -> str:
    """`[tool.ruff]` and its subtables as a ruff.toml holds them."""
    section = pyproject[pyproject.index("[tool.ruff]\n") : pyproject.index("[tool.mypy]")]
    return section.removeprefix("[tool.ruff]\n").replace("[tool.ruff.", "[")


def test_a_ruff_toml_takes_over_from_pyproject(renders: dict[str, Files]) -> None:
    template = renders["defaults"]
    faithful = ruff_toml(template[PYPROJECT].decode())
    assert (
        weakened_gates(
            template=template, service={**template, "ruff.toml": faithful.encode()}, today=TODAY
        )
        == ()
    )
    narrowed = faithful.replace('"C4", "ANN",', '"C4",').replace('"EM102",', '"EM102", "B",')
    issues = weakened_gates(
        template=template, service={**template, "ruff.toml": narrowed.encode()}, today=TODAY
    )
    assert found(issues) == [
        ("gates.lint-ignored", "ruff.toml", "ANN", "removed"),
        ("gates.lint-ignored", "ruff.toml", "none", "B"),
    ]


def test_a_template_that_does_not_parse_is_a_bug(renders: dict[str, Files]) -> None:
    template = renders["defaults"]
    with pytest.raises(ValueError, match="Expected"):
        weakened_gates(template={**template, PYPROJECT: b"[tool"}, service=template, today=TODAY)
    with pytest.raises(yaml.YAMLError):
        weakened_gates(
            template={**template, GATES_YML: b"jobs: [\n"}, service=template, today=TODAY
        )


@pytest.mark.parametrize(
    ("path", "read"),
    [
        (PYPROJECT, True),
        (PRE_COMMIT, True),
        ("ruff.toml", True),
        (".ruff.toml", True),
        (".github/workflows/release.yaml", True),
        (".github/workflows/README.md", False),
        (".github/workflows/templates/job.yml", False),
        ("src/my_service/pyproject.toml", False),
        ("tools/gates/pyproject.toml", False),
    ],
)
def test_the_audit_passes_only_the_files_that_configure_gates(path: str, read: bool) -> None:
    assert reads(path) is read
