"""Errors of paved-gates: one root, each also the stdlib class that fits."""

from __future__ import annotations

__all__ = ["ConfigError", "GateError", "ToolError"]


class GateError(Exception):
    """Root of every error paved-gates raises on purpose."""


class ConfigError(ValueError, GateError):
    """The gate configuration or the command line is wrong (exit code 2)."""

    def __init__(self, *, message: str, key: str | None = None) -> None:
        self.key = key
        super().__init__(f"{key}: {message}" if key else message)


class ToolError(RuntimeError, GateError):
    """A tool a gate drives could not run at all (exit code 3)."""

    def __init__(self, *, tool: str, message: str) -> None:
        self.tool = tool
        super().__init__(f"{tool}: {message}")
