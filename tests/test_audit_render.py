"""The fleet audit's renderer writes what `copier copy` writes, byte for byte, at every release.

A pristine service must never look drifted, so for every answer set of the option matrix's
pairwise cover the in-process render of a release equals `copier copy --vcs-ref <tag>` of
that release: the same paths, the same bytes, the same executable bits. Where copier refuses
an answer set (an option a release does not offer yet), the renderer refuses it too. The fast
tier checks the defaults and a few varied rows; the full tier (`-m ''`) every row of the cover
at every supported release and at this working tree.
"""

from __future__ import annotations

import difflib
import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from copier import run_copy
from paved_gates._audit._render import (
    ReleaseError,
    Rendered,
    RenderError,
    TemplateRelease,
    release,
)

from tests._fast_render import render_from
from tests._releases import next_version, supported, template_repo
from tests.test_matrix import COVER, DEFAULTS, EVERY_STYLE

pytestmark = pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")

OLDEST = supported()[0].tag
NEWEST = f"v{next_version()}"  # the working tree, tagged by template_repo
TAGS = [*(entry.tag for entry in supported()), NEWEST]


def _first(predicate: Callable[[Mapping[str, Any]], bool]) -> dict[str, Any]:
    return next(row for row in COVER if predicate(row))


def _name(row: Mapping[str, Any]) -> str:
    return "-".join(
        "+".join(value) if isinstance(value, list) else str(value) for value in row.values()
    )


#: Beside the defaults, rows that between them switch on every optional part of a service,
#: and one that answers the free-text and numeric questions too (a package other than the
#: default's, a non-ASCII description, thresholds that are not the defaults).
VARIED = [
    _first(lambda row: row["database"] == "none"),
    _first(lambda row: row["api"] == ["grpc"] and row["auth"] == "api_key"),
    {
        **EVERY_STYLE,
        "service_name": "billing-api",
        "description": "Bills customers; prices in €, names like Zoë",
        "owner": "payments",
        "coverage_total": 90,
        "coverage_critical": 95,
        "flake_runs": 7,
        "flake_budget": 0.05,
    },
]


@dataclass(frozen=True)
class _Copy:
    """What `copier copy` wrote, or why it refused."""

    files: dict[str, bytes]
    executable: frozenset[str]
    refusal: str = ""


_Copier = Callable[[str, Mapping[str, Any]], _Copy]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return template_repo(tmp_path_factory.mktemp("template") / "paved")


@pytest.fixture(scope="module")
def copier_copy(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> _Copier:
    """`copier copy` of `repo` at a tag with defaults plus answers, each copied once."""
    where = tmp_path_factory.mktemp("copies")
    copies: dict[str, _Copy] = {}

    def copy(tag: str, answers: Mapping[str, Any]) -> _Copy:
        key = json.dumps([tag, answers], sort_keys=True)
        if key not in copies:
            dst = where / str(len(copies))
            try:
                render_from(repo, dst, answers, vcs_ref=tag)
            except ValueError as error:
                copies[key] = _Copy(files={}, executable=frozenset(), refusal=str(error))
            else:
                copies[key] = _read(dst)
        return copies[key]

    return copy


def _read(root: Path) -> _Copy:
    paths = [path for path in sorted(root.rglob("*")) if not path.is_dir()]
    assert not [path for path in paths if path.is_symlink()], "copier follows symlinks"
    return _Copy(
        files={path.relative_to(root).as_posix(): path.read_bytes() for path in paths},
        executable=frozenset(
            path.relative_to(root).as_posix() for path in paths if path.stat().st_mode & 0o111
        ),
    )


def _recorded(repo: Path, tag: str, answers: Mapping[str, Any]) -> dict[str, Any]:
    """`answers` as a service generated from `repo` at `tag` records them."""
    return {"_commit": tag, "_src_path": str(repo), **answers}


def _differences(expected: _Copy, rendered: Rendered) -> str:
    """What differs, for the assertion message: paths, then a diff of the first file."""
    copied, written = expected.files.keys(), rendered.files.keys()
    lines = [f"only copier wrote: {path}" for path in sorted(copied - written)]
    lines += [f"only the renderer wrote: {path}" for path in sorted(written - copied)]
    changed = sorted(p for p in copied & written if expected.files[p] != rendered.files[p])
    lines += [f"content differs: {path}" for path in changed]
    if changed:
        lines += difflib.unified_diff(
            expected.files[changed[0]].decode(errors="replace").splitlines(),
            rendered.files[changed[0]].decode(errors="replace").splitlines(),
            "copier",
            "renderer",
            lineterm="",
        )
    if expected.executable != rendered.executable:
        lines.append(f"executable: {sorted(expected.executable)} != {sorted(rendered.executable)}")
    return "\n".join(lines)


def _check(repo: Path, copier_copy: _Copier, tag: str, answers: Mapping[str, Any]) -> None:
    expected = copier_copy(tag, answers)
    template = release(repo, tag)
    if expected.refusal:
        with pytest.raises(RenderError) as refused:
            template.render(_recorded(repo, tag, answers))
        message = expected.refusal.partition("': ")[2] or expected.refusal
        assert message in str(refused.value)
        return
    rendered = template.render(_recorded(repo, tag, answers))
    assert not _differences(expected, rendered), _differences(expected, rendered)
    assert expected.files  # a copy that wrote nothing would equal anything


# The render equals copier's


def test_the_defaults_render_as_copier_copies_them_at_the_newest_release(
    repo: Path, copier_copy: _Copier
) -> None:
    _check(repo, copier_copy, NEWEST, DEFAULTS)


def test_the_defaults_render_as_copier_copies_them_at_the_oldest_release(
    repo: Path, copier_copy: _Copier
) -> None:
    _check(repo, copier_copy, OLDEST, DEFAULTS)


@pytest.mark.parametrize(
    "answers", VARIED, ids=["no-database", "grpc-api-keys", "every-style-custom"]
)
def test_varied_answers_render_as_copier_copies_them(
    repo: Path, copier_copy: _Copier, answers: dict[str, Any]
) -> None:
    _check(repo, copier_copy, NEWEST, answers)


def test_an_option_the_release_does_not_offer_is_refused_as_copier_refuses_it(
    repo: Path, copier_copy: _Copier
) -> None:
    grpc = _first(lambda row: row["api"] == ["grpc"])
    assert copier_copy(OLDEST, grpc).refusal, "0.1.0 offered REST only"
    _check(repo, copier_copy, OLDEST, grpc)


@pytest.mark.slow
@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("answers", [DEFAULTS, *COVER], ids=_name)
def test_every_row_of_the_cover_renders_as_copier_copies_it(
    repo: Path, copier_copy: _Copier, tag: str, answers: dict[str, Any]
) -> None:
    _check(repo, copier_copy, tag, answers)


# Every path rule copier has, on a template made for it

_TINY_CONFIG = """\
_subdirectory: tpl
_templates_suffix: .jinja
_envops:
  keep_trailing_newline: true
  undefined: jinja2.StrictUndefined
_exclude:
  - "*.bak"
  - "{% if not with_docs %}docs{% endif %}"
name:
  type: str
  default: demo
with_docs:
  type: bool
  default: false
modules:
  type: str
  multiselect: true
  choices: [alpha, beta, gamma]
  default: [alpha, gamma]
token:
  type: str
  secret: true
  default: s3cret
"""

#: Paths under tpl/ and what they hold: a templated sibling hides a plain file, an empty path
#: part skips, a `yield` tag makes a folder per value, Jinja normalises line ends.
_TINY_FILES = {
    "README.md.jinja": "# {{ name }}\n{{ modules | join(', ') }}\n",
    "README.md": "hidden by README.md.jinja\n",
    "{% if with_docs %}guide.md{% endif %}": "guide\n",
    "{% if not with_docs %}plain{% endif %}/note.txt": "no docs\n",
    "docs/index.md.jinja": "{{ name }} docs\n",
    "notes.bak": "excluded\n",
    "{% yield m from modules %}{{ m }}{% endyield %}/__init__.py.jinja": "{{ m }} of {{ name }}\n",
    "crlf.txt.jinja": "a\r\nb {{ name }}\r\n",
    "crlf-verbatim.txt": "a\r\nb\r\n",
    "{{ _copier_conf.answers_file }}.jinja": "{{ _copier_answers | to_nice_yaml }}",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository tagged v1.0.0 that uses every path rule copier has."""
    repo = tmp_path_factory.mktemp("tiny") / "tiny"
    (repo / "tpl").mkdir(parents=True)
    (repo / "copier.yml").write_text(_TINY_CONFIG, encoding="utf-8")
    for name, text in _TINY_FILES.items():
        path = repo / "tpl" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode())
    (repo / "tpl" / "run.sh").write_text("#!/bin/sh\necho run\n", encoding="utf-8")
    (repo / "tpl" / "run.sh").chmod(0o755)
    (repo / "tpl" / "logo.bin").write_bytes(bytes(range(256)))
    (repo / "shared").mkdir()
    (repo / "shared" / "common.txt").write_text("shared\n", encoding="utf-8")
    (repo / "tpl" / "common.txt").symlink_to("../shared/common.txt")
    (repo / "tpl" / "linked").symlink_to("../shared")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "tiny"], ["tag", "v1.0.0"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


@pytest.mark.parametrize(
    "answers",
    [{}, {"name": "other", "with_docs": True, "modules": ["beta"], "token": "t"}],
    ids=["defaults", "answered"],
)
def test_a_template_of_every_path_rule_renders_as_copier_copies_it(
    tiny: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    # Plain copier: the reused compilation of render_from skips the reset of a `yield` tag.
    run_copy(
        str(tiny),
        tmp_path / "copy",
        data=dict(answers),
        vcs_ref="v1.0.0",
        defaults=True,
        skip_tasks=True,
        quiet=True,
    )
    expected = _read(tmp_path / "copy")
    rendered = TemplateRelease.load(tiny, "v1.0.0").render(_recorded(tiny, "v1.0.0", answers))
    assert not _differences(expected, rendered), _differences(expected, rendered)
    assert rendered.executable == {"run.sh"}
    with_docs = bool(answers.get("with_docs"))
    assert ("guide.md" in rendered.files, "plain/note.txt" in rendered.files) == (
        with_docs,
        not with_docs,
    )
    assert rendered.files["linked/common.txt"] == b"shared\n"
    assert b"token" not in rendered.files[".copier-answers.yml"]  # a secret is not recorded


# Answers as an answers file holds them


def _answers_file(rendered: Rendered) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(rendered.files[".copier-answers.yml"])
    return data


def test_a_validator_refusal_names_the_question_and_says_the_validators_message(repo: Path) -> None:
    template = release(repo, NEWEST)
    with pytest.raises(RenderError, match="service_name must be 3-40 characters") as refused:
        template.render(_recorded(repo, NEWEST, {"service_name": "Bad Name"}))
    assert refused.value.question == "service_name"
    assert str(refused.value).startswith("service_name: ")


@pytest.mark.parametrize(
    ("answers", "question", "message"),
    [
        ({"coverage_total": "many"}, "coverage_total", "invalid literal for int"),
        ({"database": "oracle"}, "database", "Invalid choice for 'database'"),
        ({"api": []}, "api", "api needs at least one API style"),
        ({"coverage_total": 60, "coverage_critical": 50}, "coverage_critical", "between"),
    ],
)
def test_an_answer_of_the_wrong_type_or_out_of_range_is_refused(
    repo: Path, answers: dict[str, Any], question: str, message: str
) -> None:
    with pytest.raises(RenderError, match=message) as refused:
        release(repo, NEWEST).render(_recorded(repo, NEWEST, answers))
    assert refused.value.question == question


def test_answers_are_cast_to_their_questions_types(repo: Path) -> None:
    template = release(repo, NEWEST)
    as_text = template.render(_recorded(repo, NEWEST, {"coverage_total": "90", "flake_runs": "7"}))
    as_numbers = template.render(_recorded(repo, NEWEST, {"coverage_total": 90, "flake_runs": 7}))
    assert as_text.files == as_numbers.files
    assert _answers_file(as_text)["coverage_total"] == 90


def test_unknown_keys_are_ignored_and_computed_answers_are_computed(repo: Path) -> None:
    template = release(repo, NEWEST)
    plain = template.render(_recorded(repo, NEWEST, DEFAULTS))
    noisy = template.render(
        {
            **_recorded(repo, NEWEST, DEFAULTS),
            "favourite_colour": "blue",  # a question no release asked
            "_external": "x",  # not an answer
            "has_kubernetes": False,  # computed from `deploy`, never taken from the file
        }
    )
    assert noisy.files == plain.files
    assert any(path.startswith("deploy/") for path in noisy.files)


def test_the_recorded_commit_and_source_are_written_as_given(repo: Path) -> None:
    rendered = release(repo, NEWEST).render(
        {"_commit": "v0.2.0-3-gabc1234", "_src_path": "gh:acme/paved", "service_name": "orders"}
    )
    recorded = _answers_file(rendered)
    assert (recorded["_commit"], recorded["_src_path"]) == ("v0.2.0-3-gabc1234", "gh:acme/paved")
    assert recorded["package_name"] == "orders"  # a default computed from the given answer
    assert "has_tracing" not in recorded  # computed answers stay out of the file
    catalog = rendered.files["catalog-info.yaml"].decode()
    assert "paved.dev/template-version: 'v0.2.0-3-gabc1234'" in catalog


def test_the_folder_the_audit_runs_in_is_no_destination_to_guard(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # copy's first validator refuses a destination holding files of a service; the audit,
    # run from such a folder (a service, or this repository), writes nowhere.
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("")
    monkeypatch.chdir(tmp_path)
    answers = {"_commit": NEWEST, "_src_path": str(repo), "service_name": "orders"}
    rendered = release(repo, NEWEST).render(answers)
    assert "pyproject.toml" in rendered.files


def test_questions_list_every_key_of_the_releases_copier_yml(repo: Path) -> None:
    newest = release(repo, NEWEST)
    assert {"service_name", "api", "has_tracing", "database_label"} <= newest.questions
    assert not {key for key in newest.questions if key.startswith("_")}
    assert "database_label" not in release(repo, OLDEST).questions  # added in 0.2.0
    assert "proto/**" in newest.copier_yml["_skip_if_exists"]
    assert newest.copier_yml["_subdirectory"] == "template"


def test_render_string_renders_a_path_with_the_answers(repo: Path) -> None:
    template = release(repo, NEWEST)
    answers = _recorded(repo, NEWEST, {"service_name": "billing-api"})
    assert template.render_string("src/{{ package_name }}/main.py", answers) == (
        "src/billing_api/main.py"
    )
    assert template.render_string("{{ _stage }}", answers, extra={"_stage": "after"}) == "after"
    with pytest.raises(RenderError, match="undefined"):
        template.render_string("{{ no_such_answer }}", answers)


# Releases


def test_a_release_loads_once_per_process(repo: Path) -> None:
    assert release(repo, NEWEST) is release(repo, NEWEST)


def test_a_bare_mirror_renders_as_the_clone(repo: Path, tmp_path: Path) -> None:
    bare = tmp_path / "paved.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(repo), str(bare)], check=True)
    answers = _recorded(repo, NEWEST, DEFAULTS)
    assert TemplateRelease.load(bare, NEWEST).render(answers) == release(repo, NEWEST).render(
        answers
    )


def test_symlinked_folders_are_rendered_with_the_files_they_point_to(repo: Path) -> None:
    rendered = release(repo, NEWEST).render(_recorded(repo, NEWEST, DEFAULTS))
    assert rendered.files[".paved/ownership.yml"] == (repo / "ownership.yml").read_bytes()
    assert (
        rendered.files["tools/gates/pyproject.toml"]
        == (repo / "gates" / "pyproject.toml").read_bytes()
    )


@pytest.mark.parametrize("ref", ["v9.9.9", "0" * 40, "--output=x"])
def test_an_unknown_ref_is_a_release_error(repo: Path, ref: str) -> None:
    with pytest.raises(ReleaseError, match=ref.lstrip("-")):
        TemplateRelease.load(repo, ref)


def test_a_folder_that_is_no_repository_is_a_release_error(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError):
        TemplateRelease.load(tmp_path, "v0.1.0")
