"""The platform team's policy: which findings are violations, and the waivers that excuse them."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from .._config import Table
from .._errors import ConfigError
from ._model import FileState, Issue, ServiceAudit

__all__ = ["RULES", "Policy", "Waiver", "apply_policy", "load_policy"]

#: Every rule a policy sets and a waiver may name, with what breaking it means.
RULES = {
    "unreadable": "the audit could not read or render the service",
    "releases-behind": "more releases behind the latest than the policy allows",
    "unsupported-release": "on a release that is no longer supported",
    "enforced-edits": "template-owned (enforced) files edited, deleted, stale or added to",
    "weakened-gates": "a quality gate switched off or weakened",
    "update-conflicts": "an update to the latest release would conflict",
}


@dataclass(frozen=True, kw_only=True)
class Waiver:
    """An accepted exception: one service, one rule (or `*`), a reason and an expiry."""

    service: str
    rule: str
    reason: str
    expires: dt.date


@dataclass(frozen=True, kw_only=True)
class Policy:
    """What the fleet must hold to; the defaults are the paved road's own."""

    max_releases_behind: int = 2
    unsupported_release: bool = False  # allowed?
    enforced_edits: bool = False
    weakened_gates: bool = False
    update_conflicts: bool = True
    waivers: tuple[Waiver, ...] = ()


def load_policy(path: Path | None) -> Policy:
    """The policy in `path` (TOML, docs/audit.md), or the defaults when there is none.

    Raises:
        ConfigError: the file is missing or malformed, or names an unknown key or rule.
    """
    if path is None:
        return Policy()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(message=f"policy {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(message=f"policy {path} is not valid TOML: {exc}") from None
    table = Table(data, name=f"policy {path}:")
    defaults = Policy()
    policy = Policy(
        max_releases_behind=table.integer(
            "max-releases-behind", defaults.max_releases_behind, minimum=0
        ),
        unsupported_release=_allowed(
            table, "unsupported-release", default=defaults.unsupported_release
        ),
        enforced_edits=_allowed(table, "enforced-edits", default=defaults.enforced_edits),
        weakened_gates=_allowed(table, "weakened-gates", default=defaults.weakened_gates),
        update_conflicts=_allowed(table, "update-conflicts", default=defaults.update_conflicts),
        waivers=tuple(_waiver(item) for item in table.tables("waivers")),
    )
    table.check_unknown()
    return policy


def _allowed(table: Table, key: str, *, default: bool) -> bool:
    """`allow` or `deny`."""
    value = table.string(key, "allow" if default else "deny")
    if value not in {"allow", "deny"}:
        raise table.error(key, f"must be allow or deny, got {value!r}")
    return value == "allow"


def _waiver(table: Table) -> Waiver:
    rule = table.required_string("rule")
    if rule != "*" and rule not in RULES:
        raise table.error("rule", f"unknown rule {rule!r} (known: *, {', '.join(RULES)})")
    waiver = Waiver(
        service=table.required_string("service"),
        rule=rule,
        reason=table.required_string("reason"),
        expires=table.date("expires"),
    )
    table.check_unknown()
    return waiver


def apply_policy(service: ServiceAudit, policy: Policy, today: dt.date) -> ServiceAudit:
    """`service` with a `policy.<rule>` issue for each rule it breaks that no live waiver covers.

    An expired waiver excuses nothing and is itself reported (`policy.waiver-expired`).
    """
    waivers = [w for w in policy.waivers if w.service == service.name]
    live = {w.rule for w in waivers if w.expires >= today}
    issues = [
        Issue(id=f"policy.{rule}", message=f"{RULES[rule]}: {detail}")
        for rule, detail in _broken(service, policy)
        if rule not in live and "*" not in live
    ]
    issues += [
        Issue(
            id="policy.waiver-expired",
            message=f"the waiver of {w.rule} ({w.reason}) expired on {w.expires.isoformat()}",
        )
        for w in waivers
        if w.expires < today
    ]
    return replace(service, issues=(*service.issues, *issues))


def _broken(service: ServiceAudit, policy: Policy) -> list[tuple[str, str]]:
    """(rule, detail) of each rule `service` breaks, waivers aside."""
    broken = []
    unreadable = [issue.message for issue in service.issues if issue.category == "input"]
    if service.version is None or not service.version.known or unreadable:
        broken.append(("unreadable", "; ".join(unreadable) or "its release is unknown"))
    version = service.version
    behind = version.releases_behind if version else None
    if behind is not None and behind > policy.max_releases_behind:
        detail = f"{behind} behind (at most {policy.max_releases_behind})"
        broken.append(("releases-behind", detail))
    if version and version.known and not version.supported and not policy.unsupported_release:
        broken.append(("unsupported-release", f"{version.release or version.commit}"))
    drifted = [f for f in service.files if f.state is not FileState.UNKNOWN]
    if drifted and not policy.enforced_edits:
        broken.append(("enforced-edits", ", ".join(sorted(f.path for f in drifted))))
    weakened = sorted({issue.id for issue in service.issues if issue.category == "gates"})
    if weakened and not policy.weakened_gates:
        broken.append(("weakened-gates", ", ".join(weakened)))
    if service.risk and service.risk.conflicts and not policy.update_conflicts:
        broken.append(("update-conflicts", ", ".join(service.risk.conflicts)))
    return broken
