"""The committed API documents: ``make api-spec`` writes them, the tests keep them current.

``api/openapi.json`` always, and ``api/schema.graphql`` when the service serves GraphQL.
Committing them makes every API change visible in review, and lets ``gates api-compat`` judge
breaking changes against the base branch.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from .main import create_app
from .settings import get_settings

__all__ = ["DOCUMENT", "GRAPHQL_SCHEMA", "main", "render"]

#: Where the document lives, relative to the project root.
DOCUMENT = Path("api") / "openapi.json"
#: Where the GraphQL schema lives, beside it.
GRAPHQL_SCHEMA = Path("api") / "schema.graphql"


def render(app: FastAPI) -> str:
    """The application's OpenAPI document as stable, reviewable JSON."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the document to the path given (default ``api/openapi.json``).

    The GraphQL schema, if the service serves one, goes to ``schema.graphql`` beside it.
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}.openapi",
        description="Write the API documents the code serves (what `make api-spec` runs).",
    )
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=DOCUMENT,
        help=f"the OpenAPI document (default: {DOCUMENT}); a GraphQL schema goes beside it",
    )
    path: Path = parser.parse_args(argv).path
    path.parent.mkdir(parents=True, exist_ok=True)
    app = create_app(get_settings())
    path.write_text(render(app), encoding="utf-8")
    sys.stderr.write(f"wrote {path}\n")
    schema: str | None = getattr(app.state, "graphql_schema", None)
    if schema is not None:
        graphql = path.with_name(GRAPHQL_SCHEMA.name)
        graphql.write_text(schema, encoding="utf-8")
        sys.stderr.write(f"wrote {graphql}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
