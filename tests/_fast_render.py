"""Render many combinations quickly: from a plain copy of the template, reusing compiled Jinja.

`tests._template.render` renders as a user does: copier clones this repository at HEAD, then
compiles every path and file template afresh, about 2.5 s a service. The option matrix renders
every offered combination, so it renders from a snapshot of the working tree (no clone) and
reuses Jinja's compiled code across renders (about 0.5 s). The compiled code of a template
depends only on its source and the environment's syntax settings, which make up the key.
Copier also asks git, for each file whose mode it sets, whether the destination's index needs
the mode; a fresh directory has no index, so those matrix renders skip the question. And it
rebuilds the answers to remember for every path and file it renders, though they no longer
change once files render: those renders build them once (a quarter of a render's time).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any

import copier._main
from copier import run_copy
from jinja2 import Environment

from tests._template import ROOT

__all__ = ["render_from", "snapshot"]

#: What a render reads from this repository; symlinks in `template/` point into it.
_SOURCES = ("copier.yml", "template", "hooks", "gates", "ownership.yml")
_JUNK = shutil.ignore_patterns(".venv", "__pycache__", "*.py[cod]", ".*_cache", "*.egg-info")
#: Environment attributes the Jinja compiler reads.
_SYNTAX = (
    "block_start_string",
    "block_end_string",
    "variable_start_string",
    "variable_end_string",
    "comment_start_string",
    "comment_end_string",
    "line_statement_prefix",
    "line_comment_prefix",
    "trim_blocks",
    "lstrip_blocks",
    "newline_sequence",
    "keep_trailing_newline",
    "optimized",
    "autoescape",
    "finalize",
)
_compiled: dict[tuple[Any, ...], str | CodeType] = {}
#: Keys a render keeps on copier's `Worker`: files are rendering; the answers they remember.
_RENDERING, _ANSWERS = "_paved_rendering_files", "_paved_answers_to_remember"


def snapshot(dst: Path) -> Path:
    """Copy the template's working tree (uncommitted changes included) to `dst`."""
    for name in _SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dst / name, symlinks=True, ignore=_JUNK)
        else:
            shutil.copy2(source, dst / name)
    return dst


@contextmanager
def _fast_copier() -> Iterator[None]:
    original = Environment.compile

    def compile_once(self: Environment, source: Any, *args: Any) -> str | CodeType:
        # `source` is a str, or a parsed template that nothing keys: compile that as it comes.
        if not isinstance(source, str):
            compiled: str | CodeType = original(self, source, *args)
            return compiled
        syntax = tuple(getattr(self, attribute) for attribute in _SYNTAX)
        key = (type(self), syntax, tuple(sorted(self.extensions)), source, *args)
        if key not in _compiled:
            _compiled[key] = original(self, source, *args)
        return _compiled[key]

    worker = copier._main.Worker
    render_template, answers_to_remember = worker._render_template, worker._answers_to_remember

    def render_files(self: Any) -> None:
        self.__dict__[_RENDERING] = True  # every question is answered by now
        render_template(self)

    def answers_once(self: Any) -> Any:
        if not self.__dict__.get(_RENDERING):
            return answers_to_remember(self)
        if _ANSWERS not in self.__dict__:
            self.__dict__[_ANSWERS] = answers_to_remember(self)
        return self.__dict__[_ANSWERS]

    # All are swapped for the duration of one render, and restored: jinja2's overloaded
    # `compile` and copier's private methods have no typed way to be replaced.
    Environment.compile = compile_once  # type: ignore[method-assign,assignment]
    git_available = copier._main.is_git_available  # type: ignore[attr-defined]
    copier._main.is_git_available = lambda: False  # type: ignore[attr-defined]
    worker._render_template = render_files  # type: ignore[method-assign]
    worker._answers_to_remember = answers_once  # type: ignore[method-assign]
    try:
        yield
    finally:
        Environment.compile = original  # type: ignore[method-assign]
        copier._main.is_git_available = git_available  # type: ignore[attr-defined]
        worker._render_template = render_template  # type: ignore[method-assign]
        worker._answers_to_remember = answers_to_remember  # type: ignore[method-assign]


def render_from(
    source: Path, dst: Path, answers: Mapping[str, object], *, vcs_ref: str | None = None
) -> Path:
    """Render the template at `source` into `dst` with defaults plus `answers`.

    `source` is a snapshot, or a template repository rendered at its tag or commit `vcs_ref`.
    """
    with _fast_copier():
        run_copy(
            str(source),
            dst,
            data=dict(answers),
            vcs_ref=vcs_ref,
            defaults=True,
            unsafe=True,
            skip_tasks=True,
            quiet=True,
        )
    return dst
