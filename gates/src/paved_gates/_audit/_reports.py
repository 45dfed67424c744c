"""The audit's report files: audit.json, audit.md, audit.html and Tech Insights facts."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from paved_gates._audit._insights import facts
from paved_gates._audit._model import SCHEMA_VERSION, FleetAudit
from paved_gates._audit._report_html import html
from paved_gates._audit._report_markdown import markdown
from paved_gates._errors import ConfigError

__all__ = ["read_fleet", "write_reports"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def write_reports(fleet: FleetAudit, output: Path) -> list[Path]:
    """Write every report of `fleet` into `output` (created if missing); return the paths.

    `insights/` ends up holding exactly one `<service>.json` per service: fact files of
    services no longer in the fleet are removed.
    """
    output.mkdir(parents=True, exist_ok=True)
    written = [
        _write(output / "audit.json", _json(fleet.as_dict())),
        _write(output / "audit.md", markdown(fleet)),
        _write(output / "audit.html", html(fleet)),
    ]
    insights = output / "insights"
    insights.mkdir(exist_ok=True)
    fact_files = [
        _write(insights / name, _json(facts(service, timestamp=fleet.generated_at)))
        for name, service in zip(_file_names(fleet), fleet.services, strict=True)
    ]
    for leftover in set(insights.glob("*.json")) - set(fact_files):
        leftover.unlink()
    return written + fact_files


def read_fleet(path: Path) -> FleetAudit:
    """The audit stored in `path`, an audit.json; ConfigError if it is not one this reads."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(message=f"cannot read the audit report {path}: {error}") from error
    except ValueError as error:
        raise ConfigError(message=f"{path} is not JSON: {error}") from error
    version = data.get("schema_version") if isinstance(data, dict) else None
    if type(version) is not int:
        raise ConfigError(message=f"{path} is not an audit report: it has no schema_version")
    if version != SCHEMA_VERSION:
        raise ConfigError(
            message=f"{path} has schema_version {version}; this paved-gates reads version "
            f"{SCHEMA_VERSION}: audit again with a paved-gates of the same release"
        )
    try:
        return FleetAudit.from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ConfigError(message=f"{path} is a malformed audit report: {error!r}") from error


def _file_names(fleet: FleetAudit) -> list[str]:
    """A file name per service: its name where that is safe and unique, else made so."""
    names: list[str] = []
    seen: set[str] = set()  # casefolded: some file systems ignore case
    for service in fleet.services:
        name = service.name
        if _UNSAFE.search(name) or name.startswith(".") or name.casefold() in seen:
            digest = hashlib.sha256(f"{name}\0{service.source}".encode()).hexdigest()[:10]
            name = f"{_UNSAFE.sub('_', name).lstrip('.')[:80]}-{digest}"
        names.append(f"{name}.json")
        seen.add(name.casefold())
    return names


def _json(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
