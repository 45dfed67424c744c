"""The gates paved-gates knows: name, module, and whether `gates all` runs it by default."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from ._config import Table
from ._errors import ToolError
from ._result import GateResult

__all__ = ["GATES", "Gate", "GateModule", "get"]


class GateModule(Protocol):
    """What a gate module (`paved_gates._<name>`) provides; see README "Adding a gate"."""

    def configure(self, table: Table, /) -> object:
        """Validate `[tool.gates.<name>]` into the gate's frozen config dataclass."""
        ...

    def run(self, *, config: object, project: Path, results: Path) -> GateResult:
        """Run the gate in `project`, keeping artifacts in `results`, and decide."""
        ...


@dataclass(frozen=True, kw_only=True)
class Gate:
    """One registry entry. Its configuration table is `[tool.gates.<name>]`."""

    name: str
    module: str
    summary: str
    default_enabled: bool = True

    @property
    def table(self) -> str:
        return f"tool.gates.{self.name}"

    def load(self) -> GateModule:
        """Import the gate's module (lazily, so one broken gate never breaks the others)."""
        try:
            module = importlib.import_module(self.module)
        except ModuleNotFoundError as exc:
            if exc.name != self.module:
                raise ToolError(tool=self.name, message=f"cannot be imported: {exc}") from exc
            raise ToolError(tool=self.name, message="gate is not installed") from None
        except Exception as exc:
            raise ToolError(tool=self.name, message=f"cannot be imported: {exc!r}") from exc
        return cast(GateModule, module)


# Order matters: it is the default order of `gates all` (tests writes the coverage data
# that coverage reads).
GATES: dict[str, Gate] = {
    gate.name: gate
    for gate in (
        Gate(
            name="lint",
            module="paved_gates._lint",
            summary="ruff check, ruff format --check, mypy --strict, zizmor on workflows",
        ),
        Gate(
            name="tests",
            module="paved_gates._tests",
            summary="pytest in random order with branch coverage, JUnit and report log",
        ),
        Gate(
            name="coverage",
            module="paved_gates._coverage",
            summary="total, critical-path and patch coverage against thresholds",
        ),
        Gate(
            name="migrations",
            module="paved_gates._migrations",
            summary="models and migrations in sync; upgrade, downgrade, upgrade round trip",
            default_enabled=False,
        ),
        Gate(
            name="deps",
            module="paved_gates._deps",
            summary="known vulnerabilities in the locked dependencies, waivers, SBOM",
            default_enabled=False,
        ),
        Gate(
            name="flake",
            module="paved_gates._flake",
            summary="reruns the suite with different seeds; flaky tests and quarantine",
            default_enabled=False,
        ),
        Gate(
            name="api-compat",
            module="paved_gates._api_compat",
            summary="OpenAPI, GraphQL and proto against the base branch; breaking changes",
            default_enabled=False,
        ),
    )
}


def get(name: str) -> Gate:
    """The registry entry called `name` (callers validate names first)."""
    return GATES[name]
