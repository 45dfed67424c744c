"""Gate `migrations` against a real Alembic project on SQLite: sync check and round trip."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from paved_gates._cli import main

from tests._gates import finding_ids, run_gate

PYPROJECT = """\
[tool.gates]
enabled = ["migrations"]

[tool.gates.migrations]
scratch-url = "sqlite:///{results}/scratch.db"
"""

ALEMBIC_INI = """\
[alembic]
script_location = migrations
"""

ENV_PY = """\
import os

from alembic import context
from sqlalchemy import create_engine

from models import metadata

engine = create_engine(os.environ["DATABASE_URL"])
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()
"""

MODELS = """\
from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()
items = Table(
    "items", metadata, Column("id", Integer, primary_key=True), Column("name", String(80))
)
"""

INITIAL = """\
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table(
        "items", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(80))
    )


def downgrade():
    op.drop_table("items")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    files = {
        "pyproject.toml": PYPROJECT,
        "alembic.ini": ALEMBIC_INI,
        "models.py": MODELS,
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": "",
        "migrations/versions/0001_initial.py": INITIAL,
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # env.py imports the project's models
    return tmp_path


def test_in_sync_history_with_a_clean_round_trip_passes(project: Path) -> None:
    code, result = run_gate("migrations", project)

    assert code == 0
    assert result["status"] == "passed"
    assert result["metrics"] == {"heads": 1.0, "in_sync": 1.0, "round_trip": 1.0}
    assert not (project / "gate-results" / "scratch.db").exists()


@pytest.mark.slow
def test_model_change_without_a_migration_fails_naming_the_change(project: Path) -> None:
    models = project / "models.py"
    models.write_text(
        models.read_text().replace("String(80))", 'String(80)), Column("price", Integer)')
    )

    code, result = run_gate("migrations", project)

    assert code == 1
    (finding,) = result["findings"]
    assert finding["id"] == "models-out-of-sync"
    assert "add_column" in finding["message"]
    assert "price" in finding["message"]
    assert result["metrics"]["round_trip"] == 1.0


@pytest.mark.slow
def test_downgrade_that_leaves_the_schema_behind_fails_the_round_trip(project: Path) -> None:
    initial = project / "migrations" / "versions" / "0001_initial.py"
    initial.write_text(initial.read_text().replace('op.drop_table("items")', "pass"))

    code, result = run_gate("migrations", project)

    assert code == 1
    (finding,) = result["findings"]
    assert finding["id"] == "upgrade-head-again-failed"
    assert "already exists" in finding["message"]


@pytest.mark.slow
def test_two_heads_fail_with_the_fix(project: Path) -> None:
    second = project / "migrations" / "versions" / "0002_branch.py"
    second.write_text(
        textwrap.dedent(
            """\
            revision = "0002"
            down_revision = None


            def upgrade():
                pass


            def downgrade():
                pass
            """
        )
    )

    code, result = run_gate("migrations", project)

    assert code == 1
    assert "multiple-heads" in finding_ids(result)


def test_unknown_key_is_a_configuration_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + 'scratch = "x"\n')

    assert main(["migrations"]) == 2
    assert "tool.gates.migrations.scratch" in capsys.readouterr().err
