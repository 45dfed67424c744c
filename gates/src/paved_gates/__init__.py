"""Quality gates of the paved road."""

from ._cli import main
from ._errors import ConfigError, GateError, ToolError
from ._result import Finding, GateResult, Skip, Status, gates_version

__all__ = [
    "ConfigError",
    "Finding",
    "GateError",
    "GateResult",
    "Skip",
    "Status",
    "ToolError",
    "gates_version",
    "main",
]
