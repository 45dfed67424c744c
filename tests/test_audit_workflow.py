"""The platform repository's fleet-audit workflow, manifest and policy, checked statically."""

from __future__ import annotations

import subprocess
from typing import Any

import yaml
from paved_gates._audit._policy import Policy, load_policy
from paved_gates._audit._sources import from_manifest

from tests._template import ROOT

WORKFLOW = ROOT / ".github" / "workflows" / "fleet-audit.yml"


def _workflow() -> dict[str, Any]:
    workflow: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    return workflow


def test_zizmor_pedantic_finds_nothing() -> None:
    proc = subprocess.run(
        ["zizmor", "--offline", "--pedantic", "--no-progress", str(WORKFLOW.parent)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_shard_matrix_covers_every_shard_once() -> None:
    workflow = _workflow()
    shards = int(workflow["env"]["SHARDS"])
    assert workflow["jobs"]["audit"]["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))


def test_the_jobs_run_the_documented_commands() -> None:
    jobs = _workflow()["jobs"]
    audit = "\n".join(step.get("run", "") for step in jobs["audit"]["steps"])
    merge = "\n".join(step.get("run", "") for step in jobs["merge"]["steps"])
    assert "gates audit --template . --manifest fleet.yaml --policy audit-policy.toml" in audit
    assert '--shard "$SHARD/$SHARDS"' in audit
    assert "gates audit-merge --output audit-results shards/shard-*" in merge
    assert jobs["merge"]["needs"] == "audit"


def test_the_committed_policy_and_manifest_load() -> None:
    policy = load_policy(ROOT / "audit-policy.toml")
    assert policy == Policy(update_conflicts=True)
    assert from_manifest(ROOT / "fleet.yaml") == []
