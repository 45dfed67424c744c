"""The OpenAPI differ on documents a real FastAPI app writes: nullable fields as `anyOf` with
`null`, `$ref`s inside them, discriminated `oneOf` unions, optional query parameters."""

# No `from __future__ import annotations`: FastAPI reads the endpoint's annotations at run time,
# and the request model is local to the function that builds each document.
from typing import Annotated, Any, Literal

import pytest
from fastapi import FastAPI, Query
from paved_gates._openapi_diff import Change, Severity, diff_openapi
from pydantic import BaseModel, Field, create_model


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: int = 9


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool = True


#: Field types by name: FastAPI writes `X | None` as `anyOf` with `null`, and a union of
#: models with a discriminator as `oneOf`.
TYPES: dict[str, Any] = {
    "str": str,
    "str|None": str | None,
    "int": int,
    "int|str": int | str,
    "cat": Cat | None,
    "cat|dog": Annotated[Cat | Dog, Field(discriminator="kind")] | None,
}
BASE = {
    "name_max": 80,
    "email_max": 80,
    "q_max": 50,
    "size": "int|str",
    "pet": "cat|dog",
    "public_pet": "cat",
    "public_name": "str",
}


def items_api(**changes: Any) -> dict[str, Any]:
    """The OpenAPI document of a small FastAPI items API; `changes` alter BASE's knobs."""
    knobs = {**BASE, **changes}
    owner = create_model("Owner", email=(str, Field(max_length=knobs["email_max"])))
    optional_owner: Any = owner | None
    update_fields: dict[str, Any] = {
        "name": (str | None, Field(default=None, max_length=knobs["name_max"])),
        "owner": (optional_owner, None),
        "size": (TYPES[knobs["size"]], 1),
        "pet": (TYPES[knobs["pet"]], None),
    }
    public_fields: dict[str, Any] = {
        "id": (int, ...),
        "name": (TYPES[knobs["public_name"]], ...),
        "owner": (optional_owner, None),
        "pet": (TYPES[knobs["public_pet"]], None),
    }
    update = create_model("ItemUpdate", **update_fields)
    public = create_model("ItemPublic", **public_fields)
    app = FastAPI(title="items", version="1.0.0")

    @app.patch("/v1/items/{item_id}", response_model=public)
    async def update_item(
        item_id: int,
        body: update,  # type: ignore[valid-type]  # a model built for this document
        q: Annotated[str | None, Query(max_length=knobs["q_max"])] = None,
    ) -> Any:
        """Never called: only the document matters."""

    document: dict[str, Any] = app.openapi()
    return document


def breaking(changes: list[Change]) -> list[tuple[str, str]]:
    return [(c.rule, c.message) for c in changes if c.severity is Severity.BREAKING]


OPERATION = "PATCH /v1/items/{item_id}"


def test_fastapi_documents_really_use_any_of_with_null_and_refs_inside() -> None:
    document = items_api()

    name = document["components"]["schemas"]["ItemUpdate"]["properties"]["name"]
    owner = document["components"]["schemas"]["ItemUpdate"]["properties"]["owner"]
    assert name["anyOf"] == [{"type": "string", "maxLength": 80}, {"type": "null"}]
    assert owner["anyOf"] == [{"$ref": "#/components/schemas/Owner"}, {"type": "null"}]


def test_the_same_fastapi_app_twice_is_no_change() -> None:
    assert diff_openapi(items_api(), items_api()) == []


@pytest.mark.parametrize(
    ("change", "rule", "detail"),
    [
        pytest.param(
            {"name_max": 40},
            "request-property-max-length-decreased",
            "request property name maxLength changed from 80 to 40",
            id="optional field maxLength tightened",
        ),
        pytest.param(
            {"email_max": 40},
            "request-property-max-length-decreased",
            "request property owner.email maxLength changed from 80 to 40",
            id="ref inside anyOf-null tightened",
        ),
        pytest.param(
            {"q_max": 20},
            "request-parameter-max-length-decreased",
            "query parameter q maxLength changed from 50 to 20",
            id="optional query parameter tightened",
        ),
        pytest.param(
            {"size": "int"},
            "request-property-type-changed",
            "request property size type changed from integer|string to integer",
            id="union narrowed to one type",
        ),
        pytest.param(
            {"pet": "cat"},
            "request-property-one-of-removed",
            "request property pet oneOf variant Dog removed",
            id="discriminated variant removed",
        ),
        pytest.param(
            {"public_name": "str|None"},
            "response-property-type-changed",
            "response 200 property name type changed from string to null|string",
            id="response field became nullable",
        ),
        pytest.param(
            {"public_pet": "cat|dog"},
            "response-property-one-of-added",
            "response 200 property pet oneOf variant Dog added",
            id="response variant added",
        ),
    ],
)
def test_breaking_changes_of_a_fastapi_app_are_reported(
    change: dict[str, Any], rule: str, detail: str
) -> None:
    assert breaking(diff_openapi(items_api(), items_api(**change))) == [
        (rule, f"{OPERATION}: {detail}")
    ]


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"name_max": 200}, id="optional field maxLength relaxed"),
        pytest.param({"email_max": 200}, id="ref inside anyOf-null relaxed"),
        pytest.param({"q_max": 100}, id="optional query parameter relaxed"),
    ],
)
def test_relaxed_constraints_of_a_fastapi_app_pass(change: dict[str, Any]) -> None:
    assert breaking(diff_openapi(items_api(), items_api(**change))) == []


def test_widening_a_request_union_passes_and_narrowing_a_response_union_passes() -> None:
    narrow = items_api(pet="cat", public_pet="cat|dog")
    wide = items_api(pet="cat|dog", public_pet="cat")

    assert breaking(diff_openapi(narrow, wide)) == []
