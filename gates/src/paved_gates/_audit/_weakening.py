"""Weakened gates: a service's gate configuration, workflows and hooks against the template's."""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
import shlex
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from .._coverage import DEFAULT_CRITICAL, CoverageConfig
from .._flake import FlakeConfig
from .._lint import LintConfig
from .._registry import GATES
from ._model import Issue

__all__ = ["reads", "weakened_gates"]

PYPROJECT = "pyproject.toml"
PRE_COMMIT = ".pre-commit-config.yaml"
WORKFLOWS = ".github/workflows/"
#: Ruff prefers these to pyproject.toml: a service that adds one replaces `[tool.ruff]`.
RUFF_FILES = (".ruff.toml", "ruff.toml")

Document = Mapping[Any, Any]

#: libyaml's safe loader where PyYAML has it: parsing workflows is most of this check's time.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: What `gates all` runs when `[tool.gates] enabled` is absent.
_DEFAULT_ENABLED = tuple(name for name, gate in GATES.items() if gate.default_enabled)
#: A critical group's threshold when it names none (`_coverage._group`).
_GROUP_THRESHOLD = 90.0
#: Ruff's own selection when `select` is absent.
_RUFF_SELECT = ("E4", "E7", "E9", "F")


def reads(path: str) -> bool:
    """Whether `weakened_gates` reads `path` (the files an audit passes it, when present)."""
    return path in {PYPROJECT, PRE_COMMIT, *RUFF_FILES} or _is_workflow(path)


def weakened_gates(
    *, template: Mapping[str, bytes], service: Mapping[str, bytes], today: dt.date
) -> tuple[Issue, ...]:
    """Every way `service` runs its gates more weakly than `template` renders them.

    Both map posix paths to contents; a path the template renders and the service lacks was
    deleted. Tightening (a higher threshold, more rules, an extra step) is never reported. A
    service file that does not parse yields one `input.malformed` issue; the rest goes on.

    Raises:
        ValueError, yaml.YAMLError: the template's own render does not parse (a bug).
    """
    issues: list[Issue] = []
    if PYPROJECT in template:
        expected = _template_file(template[PYPROJECT], _toml)
        actual = _read(service, PYPROJECT, _toml, "TOML")
        if isinstance(actual, Issue):
            issues.append(actual)
        else:
            issues += _pyproject(expected, actual, today)
        issues += _ruff_settings(template, service, expected, actual)
    # Workflows and hooks are enforced files, mostly pristine: an unchanged one weakens nothing.
    for path in sorted(filter(_is_workflow, template)):
        if service.get(path) != template[path]:
            issues += _workflow_file(path, _template_file(template[path], _yaml), service)
    if PRE_COMMIT in template and service.get(PRE_COMMIT) != template[PRE_COMMIT]:
        actual = _read(service, PRE_COMMIT, _yaml, "YAML")
        if isinstance(actual, Issue):
            issues.append(actual)
        else:
            issues += _hooks(_template_file(template[PRE_COMMIT], _yaml), actual)
    return tuple(issues)


# Reading ---------------------------------------------------------------------------------


def _is_workflow(path: str) -> bool:
    name = path.removeprefix(WORKFLOWS)
    return name != path and "/" not in name and name.endswith((".yml", ".yaml"))


@functools.lru_cache(maxsize=256)
def _template_file(data: bytes, parse: Callable[[bytes], Document]) -> Document:
    """A template file parsed once for all the services rendered alike (and never changed)."""
    return parse(data)


def _toml(data: bytes) -> Document:
    return tomllib.loads(data.decode("utf-8"))


def _yaml(data: bytes) -> Document:
    document = yaml.load(data.decode("utf-8"), Loader=_SafeLoader)  # noqa: S506 (a safe loader)
    if document is None:
        return {}
    if not isinstance(document, dict):
        # A ValueError, as every parse failure: `_read` reports it as malformed input.
        raise ValueError(f"the top level is a {type(document).__name__}, not a mapping")  # noqa: TRY004
    return document


def _read(
    files: Mapping[str, bytes], path: str, parse: Callable[[bytes], Document], kind: str
) -> Document | Issue:
    """A service file parsed: empty when deleted, an `input.malformed` issue when unreadable."""
    data = files.get(path)
    if data is None:
        return {}
    try:
        return parse(data)
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        return Issue(id="input.malformed", path=path, message=f"{path} is not valid {kind}: {exc}")


def _table(document: object, *keys: str) -> Mapping[Any, Any]:
    """The table at `keys`, empty when absent or not a table."""
    for key in keys:
        document = document.get(key) if isinstance(document, Mapping) else None
    return document if isinstance(document, Mapping) else {}


def _strings(value: object) -> tuple[str, ...] | None:
    """A list of strings; None for anything else (the gate rejects it, so nothing weakens)."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _shown(value: object) -> str:
    """A configuration value as the file spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


def _issue(rule: str, message: str, expected: str, actual: str, path: str = PYPROJECT) -> Issue:
    return Issue(id=f"gates.{rule}", message=message, path=path, expected=expected, actual=actual)


# pyproject.toml: [tool.gates], [tool.mypy], [tool.pytest], [tool.coverage] ----------------


def _pyproject(template: Document, service: Document, today: dt.date) -> Iterator[Issue]:
    for check in (_enabled, _api_compat, _limits, _critical, _lint_paths, _mypy):
        yield from check(template, service)
    yield from _deps_waivers(template, service, today)
    yield from _coverage_exclusions(template, service)
    yield from _pytest_waivers(template, service)


def _gates(document: Document, gate: str = "") -> Mapping[Any, Any]:
    return _table(document, "tool", "gates", gate) if gate else _table(document, "tool", "gates")


def _enabled(template: Document, service: Document) -> Iterator[Issue]:
    default = list(_DEFAULT_ENABLED)
    expected = _strings(_gates(template).get("enabled", default)) or ()
    actual = _strings(_gates(service).get("enabled", default))
    for gate in expected:
        if actual is not None and gate not in actual:
            message = f"gate {gate} is no longer in [tool.gates] enabled: `gates all` skips it"
            yield _issue("disabled", message, "enabled", "disabled")


def _api_compat(template: Document, service: Document) -> Iterator[Issue]:
    """A description the template compares and the service unset is no longer checked."""
    expected, actual = _gates(template, "api-compat"), _gates(service, "api-compat")
    for key in ("openapi", "graphql", "proto"):
        if expected.get(key) and not actual.get(key):
            message = f"the api-compat gate no longer compares {key} ([tool.gates.api-compat])"
            yield _issue("disabled", message, f"{key} = {_shown(expected[key])}", "removed")


@dataclass(frozen=True, kw_only=True)
class _Limit:
    """A number in `[tool.gates.<gate>]` that a team may move one way only."""

    id: str
    gate: str
    key: str
    default: float
    higher_is_stricter: bool = True

    def weaker(self, expected: float, actual: float) -> bool:
        return actual < expected if self.higher_is_stricter else actual > expected


_LIMITS = (
    _Limit(id="threshold-lowered", gate="coverage", key="total", default=CoverageConfig.total),
    _Limit(id="threshold-lowered", gate="coverage", key="patch", default=CoverageConfig.patch),
    _Limit(id="flake-runs-lowered", gate="flake", key="runs", default=FlakeConfig.runs),
    _Limit(
        id="flake-budget-raised",
        gate="flake",
        key="budget",
        default=FlakeConfig.budget,
        higher_is_stricter=False,
    ),
)


def _limits(template: Document, service: Document) -> Iterator[Issue]:
    for limit in _LIMITS:
        expected = _number(_gates(template, limit.gate).get(limit.key, limit.default))
        actual = _number(_gates(service, limit.gate).get(limit.key, limit.default))
        if expected is None or actual is None or not limit.weaker(expected, actual):
            continue
        moved = "lowered" if limit.higher_is_stricter else "raised"
        message = f"[tool.gates.{limit.gate}] {limit.key} {moved} from {expected:g} to {actual:g}"
        yield _issue(limit.id, message, f"{expected:g}", f"{actual:g}")


_Groups = dict[str, tuple[tuple[str, ...], float | None] | None]


def _groups(document: Document) -> _Groups | None:
    """Critical groups: name -> (globs, threshold), None for a group the gate rejects.

    None for a `critical` that is not a table (the gate rejects it too).
    """
    coverage = _gates(document, "coverage")
    if "critical" not in coverage:
        return {group.name: (group.globs, group.threshold) for group in DEFAULT_CRITICAL}
    if not isinstance(coverage["critical"], Mapping):
        return None
    groups: _Groups = {}
    for name, group in coverage["critical"].items():
        globs = _strings(group.get("globs")) if isinstance(group, Mapping) else None
        if globs is None:
            groups[str(name)] = None
        else:
            groups[str(name)] = (globs, _number(group.get("threshold", _GROUP_THRESHOLD)))
    return groups


def _critical(template: Document, service: Document) -> Iterator[Issue]:
    actual_groups = _groups(service)
    if actual_groups is None:
        return
    for name, expected in (_groups(template) or {}).items():
        if expected is None or (name in actual_groups and actual_groups[name] is None):
            continue
        globs, threshold = expected
        where = f"[tool.gates.coverage.critical] {name}"
        actual = actual_groups.get(name)
        if actual is None:
            message = f"critical group {name} removed: its paths have no threshold of their own"
            yield _issue("critical-removed", message, ", ".join(globs), "removed")
            continue
        missing = [glob for glob in globs if glob not in actual[0]]
        if missing:
            message = f"{where} no longer covers {', '.join(missing)}"
            yield _issue("critical-removed", message, ", ".join(globs), ", ".join(actual[0]))
        if threshold is not None and actual[1] is not None and actual[1] < threshold:
            message = f"{where} threshold lowered from {threshold:g} to {actual[1]:g}"
            yield _issue("threshold-lowered", message, f"{threshold:g}", f"{actual[1]:g}")


def _lint_paths(template: Document, service: Document) -> Iterator[Issue]:
    expected, actual = _gates(template, "lint"), _gates(service, "lint")
    default = list(LintConfig.paths)
    actual_paths = _strings(actual.get("paths", default))
    for path in _strings(expected.get("paths", default)) or ():
        if actual_paths is not None and path not in actual_paths:
            message = f"{path} removed from [tool.gates.lint] paths: ruff and mypy skip it"
            yield _issue("lint-ignored", message, path, "removed")
    workflows = _folder(expected.get("workflows", LintConfig.workflows))
    moved = _folder(actual.get("workflows", LintConfig.workflows))
    if workflows and moved and moved != workflows:
        message = f"[tool.gates.lint] workflows moved: zizmor checks {moved}, not {workflows}"
        yield _issue("lint-ignored", message, workflows, moved)


def _folder(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return value.strip().removeprefix("./").rstrip("/")


def _expiry(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _waivers(document: Document) -> list[Mapping[Any, Any]]:
    items = _gates(document, "deps").get("waivers")
    return [item for item in items if isinstance(item, Mapping)] if isinstance(items, list) else []


def _deps_waivers(template: Document, service: Document, today: dt.date) -> Iterator[Issue]:
    known = {str(waiver.get("id", "")).upper() for waiver in _waivers(template)}
    for waiver in _waivers(service):
        advisory = _shown(waiver.get("id", "(no id)"))
        raw = waiver.get("expires")
        expires = _expiry(raw)
        until = expires.isoformat() if expires else "no expiry" if raw is None else _shown(raw)
        if advisory.upper() not in known:
            message = f"deps waiver for {advisory} (until {until}): the deps gate lets it pass"
            yield _issue("waiver-added", message, "none", f"{advisory} until {until}")
        if expires is None or expires < today:
            state = f"expired on {until}" if expires else f"has no valid expiry ({until})"
            message = f"deps waiver for {advisory} {state}"
            yield _issue("waiver-expired", message, f"expires on or after {today}", until)


#: Coverage settings whose additions leave code unmeasured: (table, key).
_COVERAGE_EXCLUSIONS = (
    ("run", "omit"),
    ("report", "omit"),
    ("report", "exclude_lines"),
    ("report", "exclude_also"),
)


def _coverage_exclusions(template: Document, service: Document) -> Iterator[Issue]:
    for table, key in _COVERAGE_EXCLUSIONS:
        expected = _strings(_table(template, "tool", "coverage", table).get(key)) or ()
        actual = _strings(_table(service, "tool", "coverage", table).get(key)) or ()
        for added in (item for item in actual if item not in expected):
            message = f"[tool.coverage.{table}] {key} adds {added!r}: coverage no longer counts it"
            yield _issue("waiver-added", message, "none", f"{key} {added}")


#: pytest plugins the gates rely on; `-p no:<plugin>` switches one off.
_NEEDED_PLUGINS = frozenset(
    {"randomly", "cov", "reportlog", "junitxml", "timeout", "warnings", "paved_gates"}
)
_DESELECTING = ("--deselect", "--ignore-glob", "--ignore", "-k", "-m", "-p")


def _deselections(args: Iterable[str]) -> list[str]:
    """The options among `args` that leave tests out or switch a needed plugin off."""
    tokens, found = list(args), []
    for index, token in enumerate(tokens):
        for option in _DESELECTING:
            if token == option:
                value = tokens[index + 1] if index + 1 < len(tokens) else ""
            elif token.startswith(f"{option}=") or (len(option) == 2 and token[:2] == option):
                value = token[len(option) :].removeprefix("=")
            else:
                continue
            plugin = value.removeprefix("no:").removeprefix("pytest_")
            if option != "-p" or (value.startswith("no:") and plugin in _NEEDED_PLUGINS):
                found.append(f"{option} {value}")
            break
    return found


def _pytest(document: Document) -> Mapping[Any, Any]:
    """`pytest`'s settings: `[tool.pytest.ini_options]`, or pytest 9's native `[tool.pytest]`."""
    return {
        **_table(document, "tool", "pytest"),
        **_table(document, "tool", "pytest", "ini_options"),
    }


def _pytest_args(document: Document) -> dict[str, list[str]]:
    """Each place pytest arguments come from, with the deselecting ones found there."""
    addopts = _pytest(document).get("addopts", [])
    if isinstance(addopts, str):
        try:
            addopts = shlex.split(addopts)
        except ValueError:
            addopts = addopts.split()
    return {
        "[tool.pytest.ini_options] addopts": _deselections(_strings(addopts) or ()),
        "[tool.gates.tests] pytest-args": _deselections(
            _strings(_gates(document, "tests").get("pytest-args")) or ()
        ),
        "[tool.gates.flake] pytest-args": _deselections(
            _strings(_gates(document, "flake").get("pytest-args")) or ()
        ),
    }


def _pytest_waivers(template: Document, service: Document) -> Iterator[Issue]:
    expected_args = _pytest_args(template)
    for where, args in _pytest_args(service).items():
        for added in (arg for arg in args if arg not in expected_args[where]):
            message = f"{where} adds {added}: the tests it leaves out never run in a gate"
            yield _issue("waiver-added", message, "none", added)
    filters = {
        name: _strings(_pytest(document).get("filterwarnings")) or ()
        for name, document in (("template", template), ("service", service))
    }
    for entry in filters["template"]:
        if entry not in filters["service"]:
            message = f"pytest filterwarnings {entry!r} removed: such warnings no longer fail"
            yield _issue("waiver-added", message, f"filterwarnings {entry}", "removed")
    for entry in filters["service"]:
        if entry not in filters["template"] and not entry.startswith("error"):
            message = f"pytest filterwarnings adds {entry!r}: such warnings no longer fail"
            yield _issue("waiver-added", message, "none", f"filterwarnings {entry}")


# Typing: [tool.mypy] -----------------------------------------------------------------------

#: Options that `--strict` turns on, or that are on by default: false relaxes.
_STRICT_OPTION = re.compile(
    r"(strict|strict_\w+|disallow_\w+|warn_\w+|check_untyped_defs|no_implicit_reexport"
    r"|extra_checks|local_partial_types|no_implicit_optional)"
)
#: Options that relax when true.
_LAX_OPTIONS = frozenset(
    {
        "ignore_errors",
        "ignore_missing_imports",
        "implicit_reexport",
        "implicit_optional",
        "allow_untyped_globals",
    }
)
#: Options that relax whenever they differ from the template's.
_LISTED_OPTIONS = frozenset({"disable_error_code", "exclude", "untyped_calls_exclude"})


def _relaxes(option: str, value: object) -> bool:
    if _STRICT_OPTION.fullmatch(option):
        return value is False
    if option in _LAX_OPTIONS:
        return value is True
    if option == "follow_imports":
        return value in {"skip", "silent"}
    return option in _LISTED_OPTIONS and bool(value)


def _mypy_options(document: Document) -> dict[tuple[str, str], Any]:
    """(module pattern, option) -> value; `*` is the global section."""
    mypy = _table(document, "tool", "mypy")
    options = {("*", str(key)): value for key, value in mypy.items() if key != "overrides"}
    overrides = mypy.get("overrides")
    for override in overrides if isinstance(overrides, list) else []:
        if not isinstance(override, Mapping):
            continue
        modules = override.get("module")
        for module in [modules] if isinstance(modules, str) else _strings(modules) or ():
            for key, value in override.items():
                if key != "module":
                    options[module, str(key)] = value
    return options


def _unset(option: str) -> list[str] | str | bool:
    """An option's value where the template leaves it unset (under `strict = true`)."""
    if option in _LISTED_OPTIONS:
        return []
    if option == "follow_imports":
        return "normal"
    return _STRICT_OPTION.fullmatch(option) is not None


def _mypy(template: Document, service: Document) -> Iterator[Issue]:
    expected, actual = _mypy_options(template), _mypy_options(service)
    if expected.get(("*", "strict")) is True and ("*", "strict") not in actual:
        message = (
            "[tool.mypy] strict removed: the lint gate passes --strict; mypy run alone does not"
        )
        yield _issue("typing-relaxed", message, "strict = true", "strict unset")
    for (module, option), value in actual.items():
        before = expected.get((module, option), _unset(option))
        if not _relaxes(option, value) or value == before:
            continue
        now = f"{option} = {_shown(value)}"
        scope = "[tool.mypy]" if module == "*" else f"[[tool.mypy.overrides]] for {module}"
        if module == "*" and _STRICT_OPTION.fullmatch(option):
            effect = "the lint gate's --strict overrides it; mypy run alone does not"
        else:
            effect = "it holds under the lint gate's mypy --strict too"
        message = f"mypy {now} in {scope}: {effect}"
        yield _issue("typing-relaxed", message, f"{option} = {_shown(before)}", now)


# Lint: [tool.ruff] in pyproject.toml, or ruff.toml ---------------------------------------


def _ruff_settings(
    template: Mapping[str, bytes],
    service: Mapping[str, bytes],
    template_pyproject: Document,
    service_pyproject: Document | Issue,
) -> Iterator[Issue]:
    """Compare ruff's settings: from a ruff.toml where there is one, else `[tool.ruff]`."""
    path = _ruff_file(template)
    expected = (
        _template_file(template[path], _toml)
        if path
        else _table(template_pyproject, "tool", "ruff")
    )
    path = _ruff_file(service)
    if path is None:
        if not isinstance(service_pyproject, Issue):  # a malformed one is reported already
            yield from _ruff(PYPROJECT, expected, _table(service_pyproject, "tool", "ruff"))
        return
    actual = _read(service, path, _toml, "TOML")
    if isinstance(actual, Issue):
        yield actual
    else:
        yield from _ruff(path, expected, actual)


def _ruff_file(files: Mapping[str, bytes]) -> str | None:
    return next((path for path in RUFF_FILES if path in files), None)


def _ruff_codes(config: Document, *keys: str) -> tuple[str, ...]:
    lint = {**config, **_table(config, "lint")}
    return tuple(code for key in keys for code in _strings(lint.get(key)) or ())


def _ruff_per_file(config: Document) -> set[tuple[str, str]]:
    lint = {**config, **_table(config, "lint")}
    pairs = set()
    for key in ("per-file-ignores", "extend-per-file-ignores"):
        for pattern, codes in _table(lint, key).items():
            pairs |= {(str(pattern), code) for code in _strings(codes) or ()}
    return pairs


def _ruff(path: str, expected: Document, actual: Document) -> Iterator[Issue]:
    selected = _selection(actual)
    for code in _selection(expected):
        if not any(_covers(selector, code) for selector in selected):
            message = f"ruff rules {code} are no longer selected ({path})"
            yield _issue("lint-ignored", message, code, "removed", path)
    ignored = _ruff_codes(expected, "ignore", "extend-ignore")
    for code in _ruff_codes(actual, "ignore", "extend-ignore"):
        if not any(_covers(selector, code) for selector in ignored):
            message = f"ruff ignores {code} everywhere ({path})"
            yield _issue("lint-ignored", message, "none", code, path)
    per_file = _ruff_per_file(expected)
    for pattern, code in sorted(_ruff_per_file(actual) - per_file):
        message = f"ruff ignores {code} in {pattern} ({path} per-file-ignores)"
        yield _issue("lint-ignored", message, "none", f"{pattern}: {code}", path)
    excluded = _ruff_excludes(expected)
    for pattern in _ruff_excludes(actual):
        if pattern not in excluded:
            message = f"ruff excludes {pattern}: the lint gate skips what it matches ({path})"
            yield _issue("lint-ignored", message, "none", f"exclude {pattern}", path)


_RULE = re.compile(r"([A-Z]+)([0-9]*)")
#: Pylint's rules are PLC, PLE, PLR and PLW; `PL` selects them all.
_PYLINT = frozenset({"PLC", "PLE", "PLR", "PLW"})


def _covers(selector: str, code: str) -> bool:
    """Whether ruff's `selector` takes in every rule of `code` (`E` covers `E501`, not `EM`)."""
    if selector == "ALL":
        return True
    outer, inner = _RULE.fullmatch(selector), _RULE.fullmatch(code)
    if outer is None or inner is None:
        return selector == code
    (linter, number), (code_linter, code_number) = outer.groups(), inner.groups()
    same = linter == code_linter or (linter == "PL" and not number and code_linter in _PYLINT)
    return same and code_number.startswith(number)


def _selection(config: Document) -> tuple[str, ...]:
    selected = _ruff_codes(config, "select") or _RUFF_SELECT
    return (*selected, *_ruff_codes(config, "extend-select"))


def _ruff_excludes(config: Document) -> tuple[str, ...]:
    keys = ((config, "exclude"), (config, "extend-exclude"), (_table(config, "lint"), "exclude"))
    return tuple(item for table, key in keys for item in _strings(table.get(key)) or ())


# Workflows: .github/workflows/*.yml ------------------------------------------------------

#: A `run:` line that keeps a failing command from failing its step.
_SWALLOWS = re.compile(
    r"\|\|\s*(true\b|:|exit\s+0\b|echo\b)"  # cmd || true, || :, || exit 0, || echo ...
    r"|(;|^)\s*exit\s+0\b"  # cmd; exit 0, or a line of its own
    r"|\bset\s+(\+e|\+o\s+errexit)\b"  # carry on after a failing command
)
#: A gate's command in a `run:` (`uv run gates tests`, `uv run gates "$GATE"`, `gates all`).
_GATE_COMMAND = re.compile(
    r"\bgates\s+(?:\"?\$\{?\w+\}?\"?|" + "|".join(map(re.escape, ["all", *GATES])) + r")(?![\w-])"
)


def _workflow_file(path: str, expected: Document, service: Mapping[str, bytes]) -> Iterator[Issue]:
    stem = path.rpartition(".")[0]
    found = next((name for name in (path, f"{stem}.yml", f"{stem}.yaml") if name in service), None)
    if found is None:
        message = f"workflow {path} deleted: the gates it runs no longer run in CI"
        yield _issue("workflow-removed", message, path, "deleted", path)
        return
    actual = _read(service, found, _yaml, "YAML")
    if isinstance(actual, Issue):
        yield actual
        return
    yield from _triggers(found, expected, actual)
    jobs = _table(actual, "jobs")
    for job_id, job in _table(expected, "jobs").items():
        if not isinstance(jobs.get(job_id), Mapping):
            message = f"job {job_id} removed from {found}"
            yield _issue("workflow-job-removed", message, f"job {job_id}", "removed", found)
        elif isinstance(job, Mapping):
            yield from _job(found, f"job {job_id}", job, jobs[job_id])


def _events(workflow: Document) -> list[str]:
    # YAML 1.1 reads the key `on` as True.
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, str):
        return [on]
    return [str(event) for event in on] if isinstance(on, list | Mapping) else []


def _triggers(path: str, expected: Document, actual: Document) -> Iterator[Issue]:
    events = _events(actual)
    for event in _events(expected):
        if event not in events:
            message = f"{path} no longer runs on {event}"
            yield _issue("workflow-non-blocking", message, f"on {event}", "removed", path)


def _blocking(
    path: str, what: str, expected: Mapping[Any, Any], actual: Mapping[Any, Any]
) -> Iterator[Issue]:
    """`continue-on-error` or an `if:` that the service set on a job or step."""
    keep_going = actual.get("continue-on-error", False)
    if keep_going is not False and keep_going != expected.get("continue-on-error", False):
        message = f"{what} in {path} has continue-on-error: its failure no longer fails the run"
        shown = _shown(expected.get("continue-on-error", False))
        yield _issue("workflow-non-blocking", message, shown, _shown(keep_going), path)
    condition = _condition(actual.get("if"))
    if condition not in _NEVER_SKIPS and condition != _condition(expected.get("if")):
        condition = _shown(actual["if"])
        message = f"{what} in {path} runs only if {condition}"
        yield _issue(
            "workflow-non-blocking", message, _shown(expected.get("if", "none")), condition, path
        )


#: Conditions that run a job or step whatever happened before (or when nothing failed).
_NEVER_SKIPS = frozenset({"", "true", "always()", "success()", "!cancelled()"})


def _condition(value: object) -> str:
    """An `if:` as GitHub reads it: `${{ x }}` and `x` are the same condition."""
    text = _shown(value).strip() if value is not None else ""
    if text.startswith("${{") and text.endswith("}}"):
        text = text[3:-2]
    return " ".join(text.split())


def _job(
    path: str, what: str, expected: Mapping[Any, Any], actual: Mapping[Any, Any]
) -> Iterator[Issue]:
    yield from _blocking(path, what, expected, actual)
    yield from _matrix(
        path, what, _table(expected, "strategy", "matrix"), _table(actual, "strategy", "matrix")
    )
    steps = [step for step in _list(actual.get("steps")) if isinstance(step, Mapping)]
    for step in _list(expected.get("steps")):
        if not isinstance(step, Mapping):
            continue
        label = f"step {_label(step)!r} of {what}"
        match = _match(step, steps)
        if match is None:
            message = f"{label} removed from {path}"
            yield _issue("workflow-step-removed", message, _label(step), "removed", path)
            continue
        steps.remove(match)
        yield from _blocking(path, label, step, match)
        yield from _run(path, label, step.get("run"), match.get("run"))


def _matrix(
    path: str, what: str, expected: Mapping[Any, Any], actual: Mapping[Any, Any]
) -> Iterator[Issue]:
    """Matrix values (`gate: [lint, deps]`, `include` entries) dropped, or entries excluded."""
    for key, values in expected.items():
        kept = actual.get(key)
        if key == "exclude" or not isinstance(values, list) or not isinstance(kept, list):
            continue  # an expression, or not a list: nothing to compare item by item
        for value in values:
            if value not in kept:
                message = f"{what} in {path} no longer runs for {key} {_shown(value)}"
                shown = f"{key}: {_shown(value)}"
                yield _issue("workflow-job-removed", message, shown, "removed", path)
    excluded = _list(expected.get("exclude"))
    for exclude in _list(actual.get("exclude")):
        if exclude not in excluded:
            message = f"{what} in {path} no longer runs for matrix entries {_shown(exclude)}"
            shown = f"exclude {_shown(exclude)}"
            yield _issue("workflow-job-removed", message, "none", shown, path)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _label(step: Mapping[Any, Any]) -> str:
    for key in ("name", "uses", "run"):
        if isinstance(step.get(key), str) and step[key].strip():
            return str(step[key]).strip().splitlines()[0]
    return "(unnamed)"


def _step_keys(step: Mapping[Any, Any]) -> list[tuple[str, str]]:
    """What identifies a step, best first: its name, its action (any version), its command."""
    keys = []
    if isinstance(step.get("name"), str):
        keys.append(("name", step["name"].strip()))
    if isinstance(step.get("uses"), str):
        keys.append(("uses", step["uses"].partition("@")[0]))
    if isinstance(step.get("run"), str):
        keys.append(("run", " ".join(step["run"].split())))
    return keys


def _match(
    step: Mapping[Any, Any], candidates: list[Mapping[Any, Any]]
) -> Mapping[Any, Any] | None:
    for key in _step_keys(step):
        for candidate in candidates:
            if key in _step_keys(candidate):
                return candidate
    return None


def _commands(run: object) -> list[str]:
    """The lines of a `run:` script that do something (comments left out)."""
    lines = run.splitlines() if isinstance(run, str) else []
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def _gate_commands(lines: Iterable[str]) -> set[str]:
    return {" ".join(found.split()) for line in lines for found in _GATE_COMMAND.findall(line)}


def _run(path: str, label: str, expected: object, actual: object) -> Iterator[Issue]:
    expected_lines, actual_lines = _commands(expected), _commands(actual)
    shown = actual_lines[0] if actual_lines else "(no run)"
    kept = _gate_commands(actual_lines)
    for command in sorted(_gate_commands(expected_lines) - kept):
        message = f"{label} in {path} no longer runs `{command}`"
        yield _issue("workflow-step-removed", message, command, shown, path)
    swallowing = [
        line for line in actual_lines if _SWALLOWS.search(line) and line not in expected_lines
    ]
    if swallowing:
        message = f"{label} in {path} ignores a failure: `{swallowing[0]}`"
        yield _issue("workflow-non-blocking", message, "blocking", swallowing[0], path)


# Pre-commit hooks --------------------------------------------------------------------------


def _hook_ids(document: Document) -> list[str]:
    return [
        str(hook["id"])
        for repo in _list(document.get("repos"))
        if isinstance(repo, Mapping)
        for hook in _list(repo.get("hooks"))
        if isinstance(hook, Mapping) and "id" in hook
    ]


def _hooks(expected: Document, actual: Document) -> Iterator[Issue]:
    hooks = _hook_ids(actual)
    for hook in _hook_ids(expected):
        if hook not in hooks:
            message = f"pre-commit hook {hook} removed: it no longer runs before a commit or push"
            yield _issue("hook-removed", message, hook, "removed", PRE_COMMIT)
