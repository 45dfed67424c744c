"""The committed OpenAPI document: ``make api-spec`` writes it, the tests keep it current.

Committing it makes every API change visible in review, and lets ``gates api-compat`` judge
breaking changes against the base branch.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from fastapi import FastAPI

from .main import create_app
from .settings import get_settings

__all__ = ["DOCUMENT", "main", "render"]

#: Where the document lives, relative to the project root.
DOCUMENT = Path("api") / "openapi.json"


def render(app: FastAPI) -> str:
    """The application's OpenAPI document as stable, reviewable JSON."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write the document to the path given (default ``api/openapi.json``)."""
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0]) if args else DOCUMENT
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(create_app(get_settings())), encoding="utf-8")
    sys.stderr.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
