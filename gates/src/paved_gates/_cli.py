"""The `gates` command line: run one gate, every enabled gate, or list them."""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
import os
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn, assert_never

from . import _console
from ._audit import _arguments as _audit_arguments
from ._config import Table, load_gates_table
from ._errors import ConfigError, GateError, ToolError
from ._registry import GATES, Gate, GateModule
from ._result import Finding, GateResult, Status, gates_version

__all__ = ["main"]

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_ERROR = 3


#: A skip is not a failure: the result file and the status line say what was not judged.
_EXIT_CODES = {
    Status.PASSED: EXIT_PASSED,
    Status.SKIPPED: EXIT_PASSED,
    Status.FAILED: EXIT_FAILED,
    Status.ERROR: EXIT_ERROR,
}


class Format(enum.StrEnum):
    """What goes to stdout: nothing but the status lines (text), or the result JSON."""

    TEXT = "text"
    JSON = "json"


class _UsageError(ConfigError):
    """The command line is wrong (exit code 2, like any configuration error)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message=f"{message} (see `{self.prog} --help`)")


def _parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--project",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="the project to check, holding pyproject.toml (default: the current directory)",
    )
    common.add_argument(
        "--results",
        type=Path,
        default=None,
        metavar="DIR",
        help="where result files go (default: DIR/gate-results)",
    )
    common.add_argument(
        "--format",
        type=Format,
        choices=list(Format),
        default=Format.TEXT,
        help="json also prints the result JSON on stdout (default: text)",
    )
    parser = _Parser(
        prog="gates",
        description="Quality gates of the paved road; the same on a laptop and in CI.",
        epilog="exit codes: 0 passed, 1 a gate failed, 2 usage or configuration error, "
        "3 internal error",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {gates_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "all", parents=[common], help="run every enabled gate, in order, even after failures"
    )
    commands.add_parser("list", parents=[common], help="list the gates and which are enabled")
    for gate in GATES.values():
        commands.add_parser(gate.name, parents=[common], help=gate.summary)
    _audit_arguments.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `gates` command; return its exit code (see `gates --help`)."""
    try:
        args = _parser().parse_args(argv)
        return _dispatch(args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_PASSED
    except ConfigError as exc:
        kind = "usage error" if isinstance(exc, _UsageError) else "configuration error"
        print(f"gates: {kind}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gates: interrupted", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # noqa: BLE001 - the one place that maps every error to 3
        _internal_error(exc)
        return EXIT_ERROR


def _internal_error(exc: BaseException) -> None:
    if os.environ.get("GATES_DEBUG") == "1":
        traceback.print_exception(exc, file=sys.stderr)
    kind = "" if isinstance(exc, GateError) else f"{type(exc).__name__}: "
    print(f"gates: internal error: {kind}{exc}", file=sys.stderr)
    if os.environ.get("GATES_DEBUG") != "1":
        print("gates: set GATES_DEBUG=1 for the traceback", file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command in _audit_arguments.COMMANDS:
        return _run_audit(args)
    project: Path = args.project.resolve()
    results: Path = (args.results or project / "gate-results").resolve()
    fmt: Format = args.format
    root = load_gates_table(project)
    enabled = _enabled(root)
    if args.command == "list":
        return _list(enabled, fmt)
    names = enabled if args.command == "all" else (args.command,)
    configured = [_configure(GATES[name], root) for name in names]
    if args.command != "all" and args.command not in enabled:
        _console.progress(args.command, "not in tool.gates.enabled; running it as asked")
    outcomes = [_run(gate, module, config, project, results) for gate, module, config in configured]
    if args.command == "all":
        return _finish_all(outcomes, results, fmt)
    result, code = outcomes[0]
    _summary_append(result.to_markdown())
    match fmt:
        case Format.TEXT:
            pass
        case Format.JSON:
            sys.stdout.write(result.to_json())
        case _:
            assert_never(fmt)
    return code


def _run_audit(args: argparse.Namespace) -> int:
    """The platform-side audit, loaded only when asked for (it needs `paved-gates[audit]`)."""
    try:
        from ._audit import _cli as audit_cli  # noqa: PLC0415
    except ImportError as exc:  # a dependency of the extra, or the package in a service
        raise ToolError(
            tool="audit",
            message=f"needs paved-gates[audit], where the template is ({exc.name} is missing)",
        ) from None
    return audit_cli.run(args)


def _enabled(root: Table) -> tuple[str, ...]:
    default = tuple(gate.name for gate in GATES.values() if gate.default_enabled)
    enabled = root.strings("enabled", default)
    for name in enabled:
        if name not in GATES:
            known = ", ".join(GATES)
            raise root.error("enabled", f"unknown gate {name!r} (known: {known})")
    if len(set(enabled)) != len(enabled):
        raise root.error("enabled", "lists a gate twice")
    root.check_unknown(allowed=tuple(GATES))
    return enabled


def _configure(gate: Gate, root: Table) -> tuple[Gate, GateModule | GateError, object]:
    """Load a gate and validate its table; a gate that cannot load is reported when run."""
    try:
        module = gate.load()
    except GateError as exc:
        return gate, exc, None
    table = root.table(gate.name)
    config = module.configure(table)
    table.check_unknown()
    return gate, module, config


def _run(
    gate: Gate, module: GateModule | GateError, config: object, project: Path, results: Path
) -> tuple[GateResult, int]:
    started = time.monotonic()
    try:
        result = _decide(module, config, project, results)
        code = _EXIT_CODES[result.status]
    except ConfigError as exc:
        result = _error_result(gate.name, "config-error", str(exc))
        code = EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - a broken gate must not stop `gates all`
        if os.environ.get("GATES_DEBUG") == "1":
            traceback.print_exception(exc, file=sys.stderr)
        kind = "" if isinstance(exc, GateError) else f"{type(exc).__name__}: "
        result = _error_result(gate.name, "internal-error", f"{kind}{exc}")
        code = EXIT_ERROR
    result = dataclasses.replace(result, duration_s=time.monotonic() - started)
    result.write(results)
    _console.report(result)
    return result, code


def _decide(
    module: GateModule | GateError, config: object, project: Path, results: Path
) -> GateResult:
    """The gate's result; a gate that could not load raises its error here, when it runs."""
    if isinstance(module, GateError):
        raise module
    results.mkdir(parents=True, exist_ok=True)
    return module.run(config=config, project=project, results=results)


def _error_result(gate: str, finding_id: str, message: str) -> GateResult:
    return GateResult(
        gate=gate,
        status=Status.ERROR,
        findings=(Finding(id=finding_id, message=message),),
        summary="the gate could not decide",
    )


def _finish_all(outcomes: list[tuple[GateResult, int]], results: Path, fmt: Format) -> int:
    gate_results = [result for result, _ in outcomes]
    if not gate_results:
        print("gates: no gate is enabled (tool.gates.enabled is empty)", file=sys.stderr)
    else:
        _console.summary_table(gate_results)
    results.mkdir(parents=True, exist_ok=True)
    text = json.dumps([r.as_dict() for r in gate_results], indent=2, sort_keys=True) + "\n"
    (results / "all.json").write_text(text, encoding="utf-8")
    markdown = _all_markdown(gate_results)
    (results / "all.md").write_text(markdown, encoding="utf-8")
    _summary_append(markdown)
    match fmt:
        case Format.TEXT:
            pass
        case Format.JSON:
            sys.stdout.write(text)
        case _:
            assert_never(fmt)
    return max((code for _, code in outcomes), default=EXIT_PASSED)


def _all_markdown(results: list[GateResult]) -> str:
    lines = [
        "## Quality gates",
        "",
        "| gate | status | findings | time | skipped |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {result.gate} | {result.status.value} | {len(result.findings)} "
        f"| {result.duration_s:.1f} s | {result.skipped_checks} |"
        for result in results
    ]
    sections = [result.to_markdown() for result in results]
    return "\n".join([*lines, "", *sections]).rstrip() + "\n"


def _summary_append(markdown: str) -> None:
    """Append to the GitHub Actions job summary when running there."""
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with Path(path).open("a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")


def _list(enabled: tuple[str, ...], fmt: Format) -> int:
    rows = [
        {"gate": gate.name, "enabled": gate.name in enabled, "summary": gate.summary}
        for gate in GATES.values()
    ]
    match fmt:
        case Format.TEXT:
            for row in rows:
                mark = "enabled" if row["enabled"] else "-"
                print(f"{row['gate']:<10} {mark:<8} {row['summary']}")
        case Format.JSON:
            print(json.dumps(rows, indent=2))
        case _:
            assert_never(fmt)
    return EXIT_PASSED
