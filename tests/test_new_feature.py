"""A second feature, copied from `items/` as a service's README says: it passes as it stands.

Full tier (`-m ''`): the README's commands run in generated services, then lint, types and
the services' own tests, the copy's included.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._template import readme_section, render, run, service_env

pytestmark = [
    pytest.mark.slow,
    pytest.mark.long,
    pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning"),
]

#: `main.py` edits the README asks for, by API style and for the store of a service without
#: a database: (a line there, what follows it).
#: The GraphQL schema is mounted once, with the merged types: that line is replaced.
REGISTRATIONS = {
    "rest": [
        (
            "from .items.api_rest import router as items_router\n",
            "from .orders.api_rest import router as orders_router\n",
        ),
        (
            '    app.include_router(items_router, prefix="/v1")\n',
            '    app.include_router(orders_router, prefix="/v1")\n',
        ),
    ],
    "graphql": [
        (
            "from .items.api_graphql import Mutation, Query\n",
            (
                "from .orders.api_graphql import Mutation as OrdersMutation, Query as OrdersQuery\n"
                "from strawberry.tools import merge_types\n"
            ),
        ),
        (
            "    mount_graphql(app, query=Query, mutation=Mutation, version=1)\n",
            (
                '    query, mutation = merge_types("Query", (Query, OrdersQuery)), merge_types(\n'
                '        "Mutation", (Mutation, OrdersMutation)\n'
                "    )\n"
                "    mount_graphql(app, query=query, mutation=mutation, version=1)\n"
            ),
        ),
    ],
    "memory": [  # a service without a database: the feature's store
        (
            "from .items.memory import InMemoryItemStore\n",
            "from .orders.memory import InMemoryOrderStore\n",
        ),
        (
            "    app.state.item_store = InMemoryItemStore()\n",
            "    app.state.order_store = InMemoryOrderStore()\n",
        ),
    ],
    "grpc": [
        (
            "from .items.api_grpc import add_items_service\n",
            "from .orders.api_grpc import add_orders_service\n",
        ),
        (
            "    add_items_service(app.state.grpc, app.state)\n",
            "    add_orders_service(app.state.grpc, app.state)\n",
        ),
    ],
}


def _shell_blocks(readme: str) -> list[str]:
    """The `sh` blocks of the README's *Add a feature* section, in order."""
    section = readme_section(readme, "Add a feature")
    return re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)


def _edit(path: Path, there: str, becomes: str) -> None:
    code = path.read_text(encoding="utf-8")
    assert code.count(there) == 1, there
    path.write_text(code.replace(there, becomes), encoding="utf-8")


def _register(service: Path, api: list[str], auth: str, *, database: bool) -> None:
    """Register the copy in `main.py` (its store too, without a database); with OIDC, give
    the tests' tokens its scopes."""
    main = service / "src" / "my_service" / "main.py"
    for part in [*api, *([] if database else ["memory"])]:
        for there, follows in REGISTRATIONS[part]:
            replaced = there.lstrip().startswith("mount_graphql")
            _edit(main, there, follows if replaced else there + follows)
    if auth == "oidc":
        scopes = '"items:read", "items:write"'
        _edit(
            service / "tests" / "identity_provider.py",
            f"SCOPES = ({scopes})",
            f'SCOPES = ({scopes}, "orders:read", "orders:write")',
        )


_MARIADB = ["mariadb", "-h", "127.0.0.1", "-u", "root", "-e"]
#: Per server database: the commands that create and drop one, and the service's URL of it.
_SERVERS = {
    "postgresql": (
        ["createdb", "-h", "127.0.0.1", "-U", "postgres", "{name}"],
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--force", "{name}"],
        "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}",
    ),
    "mysql": (
        [*_MARIADB, "CREATE DATABASE {name} CHARACTER SET utf8mb4"],
        [*_MARIADB, "DROP DATABASE {name}"],
        "mysql+aiomysql://root@127.0.0.1:3306/{name}?charset=utf8mb4",
    ),
}


@contextlib.contextmanager
def _development_database(database: str) -> Iterator[dict[str, str]]:
    """The environment of a service whose development database is a fresh one of its own.

    A server database is created on the local server, as the README has a developer do once,
    and dropped afterwards; SQLite's is a file the service creates itself.
    """
    if database not in _SERVERS:
        yield service_env()
        return
    create, drop, url = _SERVERS[database]
    name = f"paved_feature_{uuid.uuid4().hex[:12]}"
    run([arg.format(name=name) for arg in create], Path.cwd())
    try:
        yield service_env(DATABASE_URL=url.format(name=name))
    finally:
        run([arg.format(name=name) for arg in drop], Path.cwd())


@pytest.mark.parametrize(
    ("api", "answers"),
    [
        pytest.param(["rest"], {}, id="default"),
        pytest.param(
            ["graphql", "grpc"],
            {"database": "postgresql", "auth": "api_key"},
            id="graphql-grpc-postgresql-api_key",
        ),
        pytest.param(["rest"], {"database": "mysql", "auth": "oidc"}, id="rest-mysql-oidc"),
        pytest.param(["rest"], {"database": "none", "auth": "none"}, id="rest-none-none"),
    ],
)
def test_a_feature_copied_as_the_readme_says_passes_as_it_stands(
    api: list[str], answers: dict[str, str], tmp_path: Path
) -> None:
    service = render(tmp_path / "my-service", {"api": api, **answers})
    copy, finish = _shell_blocks((service / "README.md").read_text(encoding="utf-8"))
    assert finish.endswith("\nmake test"), finish

    with _development_database(answers.get("database", "sqlite")) as env:
        run(["bash", "-euo", "pipefail", "-c", copy], service, env=env)
        database = answers.get("database", "sqlite") != "none"
        _register(service, api, answers.get("auth", "jwt"), database=database)
        run(["bash", "-euo", "pipefail", "-c", finish.removesuffix("make test")], service, env=env)

    run(["uv", "run", "--frozen", "ruff", "format", "--check", "."], service)
    run(["uv", "run", "--frozen", "ruff", "check", "."], service)
    run(["uv", "run", "--frozen", "mypy", "--strict"], service)
    tests = run(["uv", "run", "--frozen", "pytest", "-v"], service).stdout  # make test, verbose
    copied = re.findall(r"^tests/\S*test_orders_\S+::\S+ PASSED", tests, flags=re.M)
    assert len(copied) >= 10, tests[-3000:]
    assert " failed" not in tests.splitlines()[-1]
