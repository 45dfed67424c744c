"""Gate `api-compat`: the OpenAPI differ as pure logic, then the gate on real git repositories
with real graphql-core and buf."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from paved_gates._cli import main
from paved_gates._openapi_diff import Change, Severity, diff_openapi

from tests._gates import finding_ids as ids
from tests._gates import gate_markdown, run_gate

FIXTURES = Path(__file__).parent / "fixtures" / "api_compat"
BASE_DOC: dict[str, Any] = json.loads((FIXTURES / "openapi.json").read_text())
GRAPHQL = (FIXTURES / "schema.graphql").read_text()
PROTO = FIXTURES / "proto"
ITEMS_PROTO = "proto/acme/items/v1/items.proto"

#: A patch operation: the path of keys to a value, and the new value (`REMOVE` deletes it;
#: an index one past a list's end appends).
Op = tuple[tuple[str | int, ...], Any]
REMOVE = object()

ITEMS = ("paths", "/v1/items")
ITEM = ("paths", "/v1/items/{item_id}")
CREATE = ("components", "schemas", "ItemCreate")
PUBLIC = ("components", "schemas", "ItemPublic")


def patched(doc: dict[str, Any], *ops: Op) -> dict[str, Any]:
    """A deep copy of `doc` with `ops` applied."""
    result = copy.deepcopy(doc)
    for keys, value in ops:
        node: Any = result
        for key in keys[:-1]:
            node = node[key]
        last = keys[-1]
        if value is REMOVE:
            del node[last]
        elif isinstance(node, list) and last == len(node):
            node.append(copy.deepcopy(value))
        else:
            node[last] = copy.deepcopy(value)
    return result


def breaking(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.severity is Severity.BREAKING]


# The OpenAPI differ, no I/O. Each case: a patch of the fixture document giving the base
# (usually none), one giving the current version, the one rule it must trip, and a message.
RULE_CASES: list[tuple[str, Sequence[Op], Sequence[Op], str, str]] = [
    (
        "path removed",
        [],
        [(ITEM, REMOVE)],
        "api-path-removed",
        "/v1/items/{item_id}: path removed (GET, DELETE)",
    ),
    (
        "operation removed",
        [],
        [((*ITEMS, "post"), REMOVE)],
        "api-removed",
        "POST /v1/items: operation removed",
    ),
    (
        "success status removed",
        [],
        [((*ITEMS, "post", "responses"), {"202": {"description": "accepted"}})],
        "response-success-status-removed",
        "POST /v1/items: response 201 removed",
    ),
    (
        "required parameter added",
        [],
        [
            (
                (*ITEMS, "get", "parameters", 1),
                {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}},
            )
        ],
        "new-required-request-parameter",
        "GET /v1/items: query parameter tenant added as required",
    ),
    (
        "optional parameter became required",
        [],
        [((*ITEMS, "get", "parameters", 0, "required"), True)],
        "request-parameter-became-required",
        "GET /v1/items: query parameter limit became required",
    ),
    (
        "parameter type changed",
        [],
        [((*ITEMS, "get", "parameters", 0, "schema"), {"type": "string"})],
        "request-parameter-type-changed",
        "GET /v1/items: query parameter limit type changed from integer to string",
    ),
    (
        "parameter maximum lowered",
        [],
        [((*ITEMS, "get", "parameters", 0, "schema", "maximum"), 50)],
        "request-parameter-max-decreased",
        "GET /v1/items: query parameter limit maximum changed from 100 to 50",
    ),
    (
        "request body became required",
        [((*ITEMS, "post", "requestBody", "required"), False)],
        [],
        "request-body-became-required",
        "POST /v1/items: request body became required",
    ),
    (
        "required request body added",
        [],
        [
            (
                (*ITEM, "delete", "requestBody"),
                {"required": True, "content": {"application/json": {"schema": {}}}},
            )
        ],
        "added-required-request-body",
        "DELETE /v1/items/{item_id}: required request body added",
    ),
    (
        "required request property added",
        [],
        [
            ((*CREATE, "properties", "sku"), {"type": "string"}),
            ((*CREATE, "required", 1), "sku"),
        ],
        "new-required-request-property",
        "POST /v1/items: request property sku added as required",
    ),
    (
        "optional request property became required",
        [],
        [((*CREATE, "required", 1), "price")],
        "request-property-became-required",
        "POST /v1/items: request property price became required",
    ),
    (
        "request property type narrowed",
        [],
        [((*CREATE, "properties", "price"), {"type": "integer"})],
        "request-property-type-changed",
        "POST /v1/items: request property price type changed from string to integer",
    ),
    (
        "request array item type changed",
        [],
        [((*CREATE, "properties", "tags", "items"), {"type": "integer"})],
        "request-property-type-changed",
        "POST /v1/items: request property tags[] type changed from string to integer",
    ),
    (
        "request enum value removed",
        [],
        [(("components", "schemas", "Status", "enum"), ["draft", "active"])],
        "request-property-enum-value-removed",
        'POST /v1/items: request property status enum values removed: "archived"',
    ),
    (
        "request maxLength lowered",
        [],
        [((*CREATE, "properties", "name", "maxLength"), 40)],
        "request-property-max-length-decreased",
        "POST /v1/items: request property name maxLength changed from 80 to 40",
    ),
    (
        "request minLength set",
        [],
        [((*CREATE, "properties", "name", "minLength"), 3)],
        "request-property-min-length-increased",
        "POST /v1/items: request property name minLength changed from none to 3",
    ),
    (
        "response property removed",
        [],
        [((*PUBLIC, "properties", "name"), REMOVE), ((*PUBLIC, "required"), ["id", "status"])],
        "response-property-removed",
        "GET /v1/items: response 200 property items[].name removed",
    ),
    (
        "response property type changed",
        [],
        [((*PUBLIC, "properties", "id"), {"type": "integer"})],
        "response-property-type-changed",
        "GET /v1/items/{item_id}: response 200 property id type changed from string to integer",
    ),
    (
        "response property became nullable",
        [],
        [(("components", "schemas", "Status", "type"), ["string", "null"])],
        "response-property-type-changed",
        (
            "GET /v1/items: response 200 property items[].status type changed from string to "
            "null|string"
        ),
    ),
    (
        "required response property became optional",
        [],
        [((*PUBLIC, "required"), ["id", "name"])],
        "response-required-property-became-optional",
        "POST /v1/items: response 201 property status became optional",
    ),
    (
        "security added to an open operation",
        [],
        [((*ITEM, "get", "security"), [{"bearerAuth": []}])],
        "api-security-added",
        "GET /v1/items/{item_id}: security requirement added (bearerAuth)",
    ),
]


@pytest.mark.parametrize(
    ("before", "after", "rule", "message"),
    [pytest.param(*case[1:], id=case[0]) for case in RULE_CASES],
)
def test_differ_reports_each_breaking_change_under_its_rule(
    before: Sequence[Op], after: Sequence[Op], rule: str, message: str
) -> None:
    found = breaking(diff_openapi(patched(BASE_DOC, *before), patched(BASE_DOC, *after)))

    assert {c.rule for c in found} == {rule}
    assert message in [c.message for c in found]


ADDITIVE_CASES: list[tuple[str, Sequence[Op], str]] = [
    (
        "new path",
        [(("paths", "/v1/tags"), {"get": {"responses": {"200": {"description": "tags"}}}})],
        "endpoint-added",
    ),
    ("new operation", [((*ITEM, "patch"), {"responses": {"200": {"description": "ok"}}})], ""),
    (
        "new optional parameter",
        [
            (
                (*ITEMS, "get", "parameters", 1),
                {"name": "q", "in": "query", "schema": {"type": "string"}},
            )
        ],
        "new-optional-request-parameter",
    ),
    (
        "new optional request property",
        [((*CREATE, "properties", "note"), {"type": "string"})],
        "new-optional-request-property",
    ),
    (
        "new response property",
        [((*PUBLIC, "properties", "created_at"), {"type": "string", "format": "date-time"})],
        "response-property-added",
    ),
    (
        "request limit widened",
        [((*ITEMS, "get", "parameters", 0, "schema"), {"type": "number"})],
        "",
    ),
    ("request maxLength raised", [((*CREATE, "properties", "name", "maxLength"), 200)], ""),
    ("required response property added", [((*PUBLIC, "required", 3), "parent")], ""),
    ("request property became optional", [((*CREATE, "required"), [])], ""),
    ("request property removed", [((*CREATE, "properties", "tags"), REMOVE)], ""),
    ("error status removed", [((*ITEM, "get", "responses", "404"), REMOVE)], ""),
    (
        "path parameter renamed",
        [
            (("paths", "/v1/items/{id}"), BASE_DOC["paths"]["/v1/items/{item_id}"]),
            (ITEM, REMOVE),
            (("paths", "/v1/items/{id}", "parameters", 0, "name"), "id"),
        ],
        "",
    ),
    (
        "required readOnly property added",
        [
            ((*CREATE, "properties", "id"), {"type": "string", "readOnly": True}),
            ((*CREATE, "required", 1), "id"),
        ],
        "",
    ),
    (
        "security removed",
        [((*ITEMS, "post", "security"), [])],
        "",
    ),
]


@pytest.mark.parametrize(
    ("after", "rule"), [pytest.param(*case[1:], id=case[0]) for case in ADDITIVE_CASES]
)
def test_differ_lets_compatible_changes_pass(after: Sequence[Op], rule: str) -> None:
    changes = diff_openapi(BASE_DOC, patched(BASE_DOC, *after))

    assert breaking(changes) == []
    if rule:
        assert rule in {c.rule for c in changes if c.severity is Severity.ADDITIVE}


def test_differ_finds_nothing_between_identical_documents() -> None:
    assert diff_openapi(BASE_DOC, copy.deepcopy(BASE_DOC)) == []


def test_response_enum_value_added_is_a_note_not_a_break() -> None:
    after = patched(BASE_DOC, (("components", "schemas", "Status", "enum", 3), "deleted"))

    changes = diff_openapi(BASE_DOC, after)

    assert breaking(changes) == []
    notes = [c for c in changes if c.severity is Severity.INFO]
    assert {c.rule for c in notes} == {"response-property-enum-value-added"}
    assert 'GET /v1/items/{item_id}: response 200 property status enum values added: "deleted"' in [
        c.message for c in notes
    ]


def test_write_only_property_removed_from_a_shared_schema_does_not_break_responses() -> None:
    secret = ((*PUBLIC, "properties", "secret"), {"type": "string", "writeOnly": True})
    before = patched(BASE_DOC, secret)

    assert breaking(diff_openapi(before, BASE_DOC)) == []
    visible = patched(BASE_DOC, (secret[0], {"type": "string"}))
    assert {c.rule for c in breaking(diff_openapi(visible, BASE_DOC))} == {
        "response-property-removed"
    }


def test_recursive_schemas_are_compared_through_each_level_and_terminate() -> None:
    tree = {"$ref": "#/components/schemas/Node"}
    doc = {
        "openapi": "3.0.3",
        "paths": {
            "/tree": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "",
                            "content": {"application/json": {"schema": tree}},
                        }
                    }
                }
            }
        },
        "components": {
            "schemas": {
                "Node": {
                    "type": "object",
                    "properties": {
                        "label": {"type": "string"},
                        "children": {"type": "array", "items": tree},
                        "self": tree,
                    },
                }
            }
        },
    }
    after = patched(doc, (("components", "schemas", "Node", "properties", "label"), REMOVE))

    changes = breaking(diff_openapi(doc, after))

    assert [c.message for c in changes] == ["GET /tree: response 200 property label removed"]


def test_all_of_members_are_merged_before_comparing() -> None:
    doc = patched(
        BASE_DOC,
        (
            PUBLIC,
            {
                "allOf": [
                    {"$ref": "#/components/schemas/ItemCreate"},
                    {
                        "type": "object",
                        "required": ["id"],
                        "properties": {"id": {"type": "string"}},
                    },
                ]
            },
        ),
    )
    after = patched(doc, ((*CREATE, "properties", "price"), REMOVE))

    messages = [c.message for c in breaking(diff_openapi(doc, after))]

    assert "GET /v1/items/{item_id}: response 200 property price removed" in messages


def test_operation_security_falls_back_to_the_document_security() -> None:
    before = patched(BASE_DOC, (("security",), [{"bearerAuth": []}]))
    after = patched(before, ((*ITEM, "get", "security"), [{"bearerAuth": []}]))

    assert breaking(diff_openapi(before, after)) == []
    opened = patched(before, (("security",), REMOVE))
    secured_again = breaking(diff_openapi(opened, before))
    assert {c.rule for c in secured_again} == {"api-security-added"}
    assert len(secured_again) == 2  # the two GETs, which had no security of their own


# The gate, on a real git repository: `main` holds the base descriptions, a branch changes them.

PYPROJECT = """\
[project]
name = "svc"
version = "0"

[tool.gates]
enabled = ["api-compat"]

[tool.gates.api-compat]
base = "main"
"""


def git(project: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=project, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture(autouse=True)
def _no_base_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATES_BASE", raising=False)


@pytest.fixture
def service(tmp_path: Path) -> Callable[..., Path]:
    """A service repository whose `main` commits `files` and `config`; HEAD is branch `change`.

    With `monorepo`, the service is a subdirectory of the repository.
    """

    def make(
        files: dict[str, str], config: str, *, tree: Path | None = None, monorepo: bool = False
    ) -> Path:
        project = tmp_path / "svc"
        project.mkdir()
        (project / "pyproject.toml").write_text(PYPROJECT + config)
        for name, text in files.items():
            (project / name).parent.mkdir(parents=True, exist_ok=True)
            (project / name).write_text(text)
        if tree is not None:
            shutil.copytree(tree, project / tree.name)
        repo = project.parent if monorepo else project
        git(repo, "init", "--quiet", "--initial-branch=main")
        git(repo, "add", "-A")
        git(repo, "commit", "--quiet", "-m", "base")
        git(repo, "switch", "--quiet", "-c", "change")
        return project

    return make


@pytest.fixture
def openapi_service(service: Callable[..., Path]) -> Path:
    return service(
        {"api/openapi.json": json.dumps(BASE_DOC, indent=2)}, 'openapi = "api/openapi.json"\n'
    )


def write_doc(project: Path, doc: dict[str, Any], name: str = "api/openapi.json") -> None:
    (project / name).parent.mkdir(parents=True, exist_ok=True)
    (project / name).write_text(json.dumps(doc, indent=2))


def test_unchanged_openapi_passes(openapi_service: Path) -> None:
    code, result = run_gate("api-compat", openapi_service)

    assert code == 0
    assert result["status"] == "passed"
    assert result["metrics"]["breaking"] == 0
    assert result["metrics"]["openapi.breaking"] == 0
    assert result["thresholds"] == {"breaking": 0}
    assert result["findings"] == []


def test_additive_openapi_changes_pass_and_are_counted(openapi_service: Path) -> None:
    write_doc(
        openapi_service,
        patched(
            BASE_DOC,
            (("paths", "/v1/tags"), {"get": {"responses": {"200": {"description": "tags"}}}}),
            ((*CREATE, "properties", "note"), {"type": "string"}),
        ),
    )
    git(openapi_service, "commit", "--quiet", "-am", "additive")

    code, result = run_gate("api-compat", openapi_service)

    assert code == 0
    assert result["metrics"]["openapi.additive"] == 2
    assert result["findings"] == []


@pytest.mark.parametrize(
    ("after", "rule", "message"),
    [
        pytest.param(
            [((*ITEMS, "post"), REMOVE)],
            "api-removed",
            "POST /v1/items: operation removed",
            id="operation removed",
        ),
        pytest.param(
            [((*PUBLIC, "properties", "name"), REMOVE), ((*PUBLIC, "required"), ["id", "status"])],
            "response-property-removed",
            "GET /v1/items: response 200 property items[].name removed",
            id="response property removed",
        ),
        pytest.param(
            [((*CREATE, "properties", "price"), {"type": "integer"})],
            "request-property-type-changed",
            "POST /v1/items: request property price type changed from string to integer",
            id="request property narrowed",
        ),
        pytest.param(
            [
                ((*CREATE, "properties", "sku"), {"type": "string"}),
                ((*CREATE, "required", 1), "sku"),
            ],
            "new-required-request-property",
            "POST /v1/items: request property sku added as required",
            id="required request property added",
        ),
    ],
)
def test_breaking_openapi_change_fails_naming_it(
    openapi_service: Path,
    capsys: pytest.CaptureFixture[str],
    after: Sequence[Op],
    rule: str,
    message: str,
) -> None:
    write_doc(openapi_service, patched(BASE_DOC, *after))  # uncommitted: the working tree counts

    code, result = run_gate("api-compat", openapi_service)

    assert code == 1
    assert result["status"] == "failed"
    assert {f["id"] for f in result["findings"]} == {rule}
    assert message in [f["message"] for f in result["findings"]]
    assert {f["path"] for f in result["findings"]} == {"api/openapi.json"}
    assert result["metrics"]["breaking"] == len(result["findings"])
    assert message in capsys.readouterr().err


def test_major_version_bump_accepts_breaking_changes(openapi_service: Path) -> None:
    after = patched(BASE_DOC, ((*ITEMS, "post"), REMOVE), (("info", "version"), "2.0.0"))
    write_doc(openapi_service, after)

    code, result = run_gate("api-compat", openapi_service)

    assert code == 0
    assert ids(result) == ["accepted-api-removed"]
    assert "info.version 1 → 2" in result["findings"][0]["message"]
    assert result["metrics"]["accepted"] == 1
    assert result["metrics"]["breaking"] == 0


def test_minor_version_bump_does_not_accept_breaking_changes(openapi_service: Path) -> None:
    write_doc(
        openapi_service,
        patched(BASE_DOC, ((*ITEMS, "post"), REMOVE), (("info", "version"), "1.9.0")),
    )

    code, result = run_gate("api-compat", openapi_service)

    assert code == 1
    assert ids(result) == ["api-removed"]


def test_response_enum_value_added_passes_with_a_note(openapi_service: Path) -> None:
    write_doc(
        openapi_service, patched(BASE_DOC, (("components", "schemas", "Status", "enum", 3), "gone"))
    )

    code, result = run_gate("api-compat", openapi_service)

    assert code == 0
    assert set(ids(result)) == {"note-response-property-enum-value-added"}


def test_missing_base_ref_skips_the_gate_visibly(
    service: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    project = service(
        {"api/openapi.json": json.dumps(BASE_DOC)},
        'openapi = "api/openapi.json"\n',
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('base = "main"', 'base = "origin/main"'))
    write_doc(project, patched(BASE_DOC, ((*ITEMS, "post"), REMOVE)))

    code, result = run_gate("api-compat", project)

    assert code == 0
    assert result["status"] == "skipped"
    assert result["findings"] == []
    assert result["metrics"] == {}
    reason = "`api/openapi.json`: base `origin/main` does not exist here"
    assert result["skipped"] == [{"check": "openapi", "reason": reason}]
    err = capsys.readouterr().err
    assert re.search(r"^api-compat\.+Skipped$", err, flags=re.MULTILINE)
    assert f"- skipped openapi: {reason}" in err


def test_a_policy_that_requires_the_base_fails_without_it(service: Callable[..., Path]) -> None:
    project = service(
        {"api/openapi.json": json.dumps(BASE_DOC)},
        'openapi = "api/openapi.json"\nrequire-base = true\n',
    )
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('base = "main"', 'base = "origin/main"'))

    code, result = run_gate("api-compat", project)

    assert code == 1
    assert result["status"] == "failed"
    assert ids(result) == ["base-missing"]
    assert result["findings"][0]["message"].startswith(
        "openapi cannot be compared: base `origin/main` does not exist here"
    )


def test_base_env_overrides_the_configured_base(
    openapi_service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pyproject = openapi_service / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('base = "main"', 'base = "nowhere"'))
    write_doc(openapi_service, patched(BASE_DOC, ((*ITEMS, "post"), REMOVE)))
    monkeypatch.setenv("GATES_BASE", "main")

    code, result = run_gate("api-compat", openapi_service)

    assert code == 1
    assert ids(result) == ["api-removed"]


def test_an_api_new_since_base_is_skipped_while_the_others_are_compared(
    service: Callable[..., Path],
) -> None:
    project = service(
        {"api/schema.graphql": GRAPHQL},
        'graphql = "api/schema.graphql"\nopenapi = "api/openapi.json"\n',
    )
    write_doc(project, BASE_DOC)

    code, result = run_gate("api-compat", project)

    assert code == 0
    assert result["status"] == "passed"
    assert result["metrics"]["graphql.breaking"] == 0
    (skip,) = result["skipped"]
    assert skip["check"] == "openapi"
    assert "does not exist at `main` (a new API)" in skip["reason"]


@pytest.mark.parametrize("key", ["openapi", "graphql", "proto"])
def test_configured_description_missing_from_the_tree_is_a_configuration_error(
    service: Callable[..., Path], capsys: pytest.CaptureFixture[str], key: str
) -> None:
    project = service({"README.md": "svc\n"}, f'{key} = "api/nothing-here"\n')

    assert main(["api-compat", "--project", str(project)]) == 2
    err = capsys.readouterr().err
    assert f"tool.gates.api-compat.{key}" in err
    assert "api/nothing-here" in err


def test_invalid_openapi_in_the_tree_is_a_configuration_error(
    openapi_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (openapi_service / "api" / "openapi.json").write_text("{not json")

    assert main(["api-compat", "--project", str(openapi_service)]) == 2
    assert "tool.gates.api-compat.openapi: api/openapi.json is not valid JSON" in (
        capsys.readouterr().err
    )


def test_yaml_openapi_documents_are_compared(service: Callable[..., Path]) -> None:
    yaml = pytest.importorskip("yaml")
    project = service(
        {"api/openapi.yaml": yaml.safe_dump(BASE_DOC)}, 'openapi = "api/openapi.yaml"\n'
    )
    (project / "api" / "openapi.yaml").write_text(
        yaml.safe_dump(patched(BASE_DOC, ((*ITEMS, "post"), REMOVE)))
    )

    code, result = run_gate("api-compat", project)

    assert code == 1
    assert ids(result) == ["api-removed"]


def test_nothing_configured_is_skipped_with_a_note(service: Callable[..., Path]) -> None:
    project = service({"README.md": "svc\n"}, "")

    code, result = run_gate("api-compat", project)

    assert code == 0
    assert result["status"] == "skipped"
    assert result["findings"] == []
    assert "nothing to compare" in gate_markdown(project, "api-compat")


# GraphQL, through graphql-core's own comparison.


@pytest.fixture
def graphql_service(service: Callable[..., Path]) -> Path:
    return service({"api/schema.graphql": GRAPHQL}, 'graphql = "api/schema.graphql"\n')


def test_graphql_field_removed_fails_with_graphql_core_message(graphql_service: Path) -> None:
    schema = graphql_service / "api" / "schema.graphql"
    schema.write_text(GRAPHQL.replace("  name: String!\n", ""))

    code, result = run_gate("api-compat", graphql_service)

    assert code == 1
    (finding,) = result["findings"]
    assert finding["id"] == "graphql-field-removed"
    assert finding["message"] == "Field Item.name was removed."
    assert finding["path"] == "api/schema.graphql"
    assert result["metrics"]["graphql.breaking"] == 1


def test_graphql_field_added_passes_and_dangerous_changes_are_notes(graphql_service: Path) -> None:
    schema = graphql_service / "api" / "schema.graphql"
    schema.write_text(
        GRAPHQL.replace("  name: String!\n", "  name: String!\n  price: Int\n").replace(
            "  ACTIVE\n", "  ACTIVE\n  ARCHIVED\n"
        )
    )

    code, result = run_gate("api-compat", graphql_service)

    assert code == 0
    assert ids(result) == ["note-graphql-value-added-to-enum"]
    assert result["metrics"]["graphql.dangerous"] == 1


def test_graphql_api_version_bump_accepts_breaking_changes(graphql_service: Path) -> None:
    schema = graphql_service / "api" / "schema.graphql"
    schema.write_text(
        GRAPHQL.replace("# api-version: 1", "# api-version: 2").replace("  name: String!\n", "")
    )

    code, result = run_gate("api-compat", graphql_service)

    assert code == 0
    assert ids(result) == ["accepted-graphql-field-removed"]
    assert "api-version 1 → 2" in result["findings"][0]["message"]


def test_invalid_graphql_in_the_tree_is_a_configuration_error(
    graphql_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (graphql_service / "api" / "schema.graphql").write_text("type Query { item: Nope }\n")

    assert main(["api-compat", "--project", str(graphql_service)]) == 2
    assert "api/schema.graphql is not a valid GraphQL schema: Unknown type 'Nope'" in (
        capsys.readouterr().err
    )


# proto, through `buf breaking` with the FILE rules.


@pytest.fixture
def proto_service(service: Callable[..., Path]) -> Path:
    return service({}, 'proto = "proto"\n', tree=PROTO)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_proto_field_renumbered_fails(proto_service: Path) -> None:
    edit(proto_service / ITEMS_PROTO, "string name = 2;", "string name = 3;")

    code, result = run_gate("api-compat", proto_service)

    assert code == 1
    assert result["metrics"]["proto.breaking"] >= 1
    assert "proto-field-no-delete" in ids(result)
    finding = result["findings"][ids(result).index("proto-field-no-delete")]
    assert finding["path"] == ITEMS_PROTO
    assert finding["line"] == 5  # message Item
    assert '"2" with name "name"' in finding["message"]


def test_proto_field_added_passes(proto_service: Path) -> None:
    edit(proto_service / ITEMS_PROTO, "string name = 2;", "string name = 2;\n  int64 price = 3;")

    code, result = run_gate("api-compat", proto_service)

    assert code == 0
    assert result["findings"] == []
    assert result["metrics"]["proto.breaking"] == 0


def test_proto_package_major_bump_accepts_breaking_changes(proto_service: Path) -> None:
    v1 = proto_service / ITEMS_PROTO
    v2 = proto_service / "proto/acme/items/v2/items.proto"
    v2.parent.mkdir()
    v2.write_text(v1.read_text().replace("acme.items.v1", "acme.items.v2"))
    v1.unlink()

    code, result = run_gate("api-compat", proto_service)

    assert code == 0
    assert result["metrics"]["proto.accepted"] >= 1
    assert all(i.startswith("accepted-proto-") for i in ids(result))
    assert "package version 1 → 2" in result["findings"][0]["message"]


def test_proto_that_does_not_compile_is_a_configuration_error(
    proto_service: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(proto_service / ITEMS_PROTO, "string name = 2;", "strin name = 2;")

    assert main(["api-compat", "--project", str(proto_service)]) == 2
    err = capsys.readouterr().err
    assert "tool.gates.api-compat.proto: proto does not compile" in err
    assert ITEMS_PROTO in err


def test_all_formats_together_report_every_break(service: Callable[..., Path]) -> None:
    project = service(
        {"api/openapi.json": json.dumps(BASE_DOC), "api/schema.graphql": GRAPHQL},
        'openapi = "api/openapi.json"\ngraphql = "api/schema.graphql"\nproto = "proto"\n',
        tree=PROTO,
    )
    write_doc(project, patched(BASE_DOC, ((*ITEMS, "post"), REMOVE)))
    (project / "api" / "schema.graphql").write_text(GRAPHQL.replace("  name: String!\n", ""))
    edit(project / ITEMS_PROTO, "string name = 2;", "string name = 3;")

    code, result = run_gate("api-compat", project)

    assert code == 1
    metrics = result["metrics"]
    assert metrics["openapi.breaking"] == 1
    assert metrics["graphql.breaking"] == 1
    assert metrics["proto.breaking"] >= 1
    assert metrics["breaking"] == sum(
        metrics[f"{f}.breaking"] for f in ("openapi", "graphql", "proto")
    )


def test_service_in_a_subdirectory_of_the_repository_reads_its_own_paths(
    service: Callable[..., Path],
) -> None:
    project = service(
        {"api/openapi.json": json.dumps(BASE_DOC)},
        'openapi = "api/openapi.json"\nproto = "proto"\n',
        tree=PROTO,
        monorepo=True,
    )
    write_doc(project, patched(BASE_DOC, ((*ITEMS, "post"), REMOVE)))
    edit(project / ITEMS_PROTO, "string name = 2;", "string name = 3;")

    code, result = run_gate("api-compat", project)

    assert code == 1
    assert result["metrics"]["openapi.breaking"] == 1
    assert "proto-field-no-delete" in ids(result)
    assert result["skipped"] == []


def test_proto_without_buf_installed_is_an_internal_error_with_the_install_hint(
    proto_service: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git_dir = str(Path(shutil.which("git") or "/usr/bin/git").parent)
    monkeypatch.setattr(sys, "executable", str(proto_service / "no-venv" / "python"))
    monkeypatch.setenv("PATH", git_dir)
    assert shutil.which("buf") is None

    assert main(["api-compat", "--project", str(proto_service)]) == 3
    assert "paved-gates[proto]" in capsys.readouterr().err
