"""The benchmarks' command lines: what they accept and how they refuse."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from benchmarks import in_process, throughput


def test_a_subset_of_the_endpoints_is_measured_in_the_order_given() -> None:
    args = ["--endpoints", "POST create,GET item", "--databases", "sqlite"]
    plan = throughput.plan_of(throughput.command_line().parse_args(args))
    assert (plan.endpoints, plan.databases) == (("POST create", "GET item"), ("sqlite",))


@pytest.mark.parametrize(
    ("command_line", "argv", "refusal"),
    [
        (
            throughput.command_line,
            ["--endpoints", "get"],
            "unknown 'get'; choose from GET item, list 20, POST create",
        ),
        (
            throughput.command_line,
            ["--databases", "sqlite,mysql"],
            "unknown 'mysql'; choose from sqlite, postgresql",
        ),
        (in_process.command_line, ["--auth", "oidc"], "unknown 'oidc'; choose from jwt, api_key"),
    ],
)
def test_an_unknown_name_is_refused_with_the_choices(
    command_line: Callable[[], argparse.ArgumentParser],
    argv: list[str],
    refusal: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        command_line().parse_args(argv)
    assert exited.value.code == 2
    assert refusal in capsys.readouterr().err


def test_in_process_measures_each_authentication_asked_for() -> None:
    args = in_process.command_line().parse_args(
        ["--auth", "jwt,api_key", "--database", "postgresql"]
    )
    assert (args.auth, args.database) == (("jwt", "api_key"), "postgresql")
