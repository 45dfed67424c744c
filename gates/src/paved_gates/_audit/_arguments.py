"""The arguments of `gates audit` and `gates audit-merge`, loaded with the `gates` CLI.

The audit itself (and what it needs from `paved-gates[audit]`) loads only when an audit
runs (`_cli.py`), so a service's own gates never need it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TypeVar

__all__ = ["COMMANDS", "DEFAULT_OUTPUT", "add_parsers"]

_P = TypeVar("_P", bound=argparse.ArgumentParser)

COMMANDS = ("audit", "audit-merge")
DEFAULT_OUTPUT = Path("audit-results")


def add_parsers(commands: argparse._SubParsersAction[_P]) -> None:
    """Add `audit` and `audit-merge` to the `gates` subcommands."""
    audit = commands.add_parser(
        "audit",
        help="platform team: report template drift across a fleet of services",
        description="Audit service repositories against the template they were generated "
        "from: release, enforced files, weakened gates, update risk, policy (docs/audit.md).",
        epilog="exit codes: 0 within policy, 1 a policy violation, 2 usage or configuration "
        "error, 3 internal error",
    )
    audit.add_argument("repos", nargs="*", metavar="REPO", help="service repository (path or URL)")
    audit.add_argument("--manifest", type=Path, metavar="FILE", help="YAML list of services")
    audit.add_argument("--discover", type=Path, metavar="DIR", help="audit every service under DIR")
    audit.add_argument(
        "--template",
        metavar="SRC",
        help="the template repository (default: each service's recorded _src_path)",
    )
    audit.add_argument("--policy", type=Path, metavar="FILE", help="policy file (TOML)")
    audit.add_argument("--shard", metavar="I/N", help="audit only shard I of N (1-based)")
    audit.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        metavar="DIR",
        help=f"where the reports go (default: {DEFAULT_OUTPUT})",
    )
    audit.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: cores)")
    merge = commands.add_parser(
        "audit-merge",
        help="platform team: fold the audit.json of each shard into one report",
    )
    merge.add_argument("parts", nargs="+", metavar="PART", help="an audit.json or its folder")
    merge.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, metavar="DIR")
