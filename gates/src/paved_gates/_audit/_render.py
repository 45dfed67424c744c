"""The template at one release, rendered in process for many answer sets, as `copier copy` would.

`copier copy` clones the template, compiles every file afresh and writes a folder: about two
seconds a service. The fleet audit renders the same release for many services, so a
`TemplateRelease` reads the release's tree once through git (no checkout), compiles each
template file once, and renders an answer set in memory. Every step follows copier 9.19
(`copier._main.Worker`): its questionnaire (copier's own `Question` casts, defaults and
validates), its Jinja environment, context, path rendering, `_exclude` and `_subdirectory`.
`tests/test_audit_render.py` holds the output equal to `copier copy`, byte for byte.

Known differences, none of which the paved template meets: copier walks folders in the file
system's order where this walks them sorted (it matters only when two template files render
to one path); `_folder_name` is undefined (there is no destination folder); the user's copier
settings file is not read; `_external_data` files are empty, as in a fresh copy.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath
from types import MappingProxyType
from typing import Any
from unicodedata import normalize

from copier._jinja_ext import get_yield_context
from copier._main import _pathspec_pattern
from copier._template import DEFAULT_EXCLUDE, DEFAULT_TEMPLATES_SUFFIX, filter_config
from copier._tools import OS
from jinja2 import Template
from pathspec import PathSpec

from ._render_answers import REFUSALS, SETTINGS, Answered, Questionnaire, RenderError
from ._render_env import environment, load_config, reset_yield
from ._template_tree import ReleaseError, TemplateTree, TreeEscapeError

__all__ = ["ReleaseError", "RenderError", "Rendered", "TemplateRelease", "release"]

_LINEBREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, kw_only=True)
class Rendered:
    """What `copier copy` writes (tasks skipped), .copier-answers.yml included."""

    files: Mapping[str, bytes]  # posix path relative to the service -> content
    executable: frozenset[str] = frozenset()  # paths copier gives the executable bit


@dataclass(frozen=True, kw_only=True)
class _Source:
    """One entry of the template folder, as copier's walk meets it."""

    src: str  # path from the repository root through any symlinked folder: the Jinja name
    parts: tuple[str, ...]  # destination path, unrendered, the template suffix removed
    is_dir: bool
    is_template: bool
    executable: bool


class TemplateRelease:
    """The template at one ref of its repository, ready to render answer sets."""

    def __init__(self, *, repo: Path, ref: str, tree: TemplateTree, config: dict[str, Any]) -> None:
        self.repo = repo
        self.ref = ref
        self._tree = tree
        self.copier_yml: Mapping[str, Any] = MappingProxyType(config)
        settings, questions = filter_config(config)
        self._settings = settings
        self.questions = frozenset(questions)
        self._env = environment(tree, config, ref)
        self._yield = get_yield_context(self._env)
        self._suffix: str = settings.get("templates_suffix", DEFAULT_TEMPLATES_SUFFIX)
        if settings.get("preserve_symlinks"):
            raise ReleaseError(ref=ref, message="_preserve_symlinks is not supported")
        subdirectory = str(settings.get("subdirectory", ""))
        default_exclude = DEFAULT_EXCLUDE if PurePosixPath(subdirectory) == PurePosixPath() else ()
        self._exclude: tuple[str, ...] = tuple(settings.get("exclude", default_exclude))
        self._walks: dict[str, tuple[_Source, ...]] = {}
        self._existing: dict[str, bool] = {}
        self._verbatim: dict[str, bytes] = {}
        self._templates: dict[str, Template] = {}
        self._specs: dict[tuple[str, ...], Callable[[str], bool]] = {}
        self._questionnaire = Questionnaire(
            config=settings, questions=questions, env=self._env, conf=_conf(repo, ref, tree.commit)
        )
        if "{" not in subdirectory:
            self._walk(self._copy_root(subdirectory))  # read every file of the release now

    @classmethod
    def load(cls, repo: Path, ref: str) -> TemplateRelease:
        """The template at `ref` (tag or commit) of the git repository `repo` (bare or not).

        Raises:
            ReleaseError: no such repository or ref, or a template this audit cannot read.
        """
        tree = TemplateTree.read(repo, ref)
        return cls(repo=repo, ref=ref, tree=tree, config=load_config(tree, ref))

    # Paths

    def _copy_root(self, subdirectory: str) -> str:
        try:
            return self._tree.resolve(subdirectory)
        except TreeEscapeError as error:
            raise RenderError(path=subdirectory, message="outside the template") from error

    def _walk(self, root: str) -> tuple[_Source, ...]:
        """Copier's `scantree` of the template folder, symlinks followed, each folder sorted."""
        if root not in self._walks:
            if root and not self._tree.is_dir(root):
                raise ReleaseError(ref=self.ref, message=f"_subdirectory {root!r} is no folder")
            sources = tuple(self._scan(root, "", 0))
            self._tree.prefetch(
                self._tree.resolve(source.src) for source in sources if not source.is_dir
            )
            self._walks[root] = sources
        return self._walks[root]

    def _scan(self, root: str, folder: str, depth: int) -> Iterator[_Source]:
        if depth > 64:
            raise ReleaseError(ref=self.ref, message=f"{folder}: symlinks loop")
        real_folder = self._tree.resolve(posixpath.join(root, folder))
        for name in self._tree.names(real_folder):
            relpath = posixpath.join(folder, name)
            src = posixpath.join(root, relpath)
            try:
                is_dir = self._tree.is_dir(src)
            except TreeEscapeError as error:
                raise ReleaseError(ref=self.ref, message=str(error)) from error
            if not is_dir and not self._tree.is_file(src):
                raise ReleaseError(ref=self.ref, message=f"{src}: a dangling symlink or submodule")
            source = self._source(root, relpath, src, is_dir=is_dir)
            if source is not None:
                yield source
            if is_dir:
                yield from self._scan(root, relpath, depth + 1)

    def _source(self, root: str, relpath: str, src: str, *, is_dir: bool) -> _Source | None:
        """Copier's `_render_path` up to the rendering of the parts."""
        suffix = self._suffix
        if suffix and self._tree.exists(posixpath.join(root, relpath + suffix)):
            return None  # the templated sibling renders this path
        is_template = PurePosixPath(relpath).name.endswith(suffix)
        path = PurePosixPath(relpath)
        if suffix and is_template:
            path = path.with_suffix("")
        return _Source(
            src=src,
            parts=path.parts,
            is_dir=is_dir,
            is_template=is_template,
            executable=not is_dir and self._tree.executable(src),
        )

    def _render_string(self, source: str, context: Mapping[str, Any]) -> str:
        return self._env.from_string(source).render(context)

    def _render_part(self, part: str, answers: Answered, extra: dict[str, Any] | None) -> str:
        env = self._env
        reset_yield(self._yield)
        if (
            env.block_start_string not in part
            and env.variable_start_string not in part
            and env.comment_start_string not in part
            and env.line_statement_prefix is None
            and env.line_comment_prefix is None
        ):
            return part  # Jinja renders plain text to itself
        if not extra and part in answers.parts:
            return answers.parts[part]
        context = {**answers.context, **extra} if extra else answers.context
        text = self._render_string(part, context)
        if not extra and not self._yield.yield_name:
            answers.parts[part] = text
        return text

    def _destinations(
        self,
        source: _Source,
        answers: Answered,
        parts: tuple[str, ...],
        rendered: tuple[str, ...] = (),
        extra: dict[str, Any] | None = None,
    ) -> Iterator[tuple[str, dict[str, Any] | None]]:
        """Copier's `_render_parts`: destination paths (a `yield` tag makes several)."""
        if not parts:
            if any("/" in part or part == "." for part in rendered):
                path = str(PurePosixPath(*rendered))  # as copier's Path(*parts) reads them
            else:
                path = "/".join(rendered)
            if source.is_template or not self._exists(path + self._suffix):
                yield path, extra
            return
        try:
            text = self._render_part(parts[0], answers, extra)
            name, values = self._yield.yield_name, self._yield.yield_iterable
            each = [{**(extra or {}), name: value} for value in values or ()] if name else []
            texts = [self._render_part(parts[0], answers, again) for again in each]
        except REFUSALS as error:
            raise RenderError(path=source.src, message=f"path: {error}") from error
        if not name:
            texts, each = [text], [extra or {}]
        for text, again in zip(texts, each, strict=True):
            yield from self._next_part(
                source=source,
                answers=answers,
                parts=parts,
                rendered=rendered,
                text=text,
                extra=again or None,
            )

    def _exists(self, path: str) -> bool:
        if path not in self._existing:
            self._existing[path] = self._tree.exists(path)
        return self._existing[path]

    def _next_part(
        self,
        *,
        source: _Source,
        answers: Answered,
        parts: tuple[str, ...],
        rendered: tuple[str, ...],
        text: str,
        extra: dict[str, Any] | None,
    ) -> Iterator[tuple[str, dict[str, Any] | None]]:
        if text == answers.answers_path:
            yield answers.answers_path, extra
        elif text:  # an empty part skips the file or folder
            yield from self._destinations(source, answers, parts[1:], (*rendered, text), extra)

    def _excluded(self, context: Mapping[str, Any]) -> Callable[[str], bool]:
        """Copier's `match_exclude`: `_exclude` rendered for a copy, as gitignore patterns."""
        extra = {**context, "_copier_operation": "copy"}
        patterns = tuple(
            normalize("NFD", line)
            for exclusion in self._exclude
            for line in _LINEBREAK.split(self._render_string(exclusion, extra))
        )
        if patterns not in self._specs:
            spec = PathSpec.from_lines(_pathspec_pattern, patterns)
            self._specs[patterns] = functools.lru_cache(maxsize=8192)(spec.match_file)
        return self._specs[patterns]

    def _skipped(self, context: Mapping[str, Any]) -> Callable[[str], bool]:
        """Copier's `match_skip`: `_skip_if_exists` rendered, as gitignore patterns."""
        patterns = (
            normalize("NFD", self._render_string(pattern, context))
            for pattern in self._settings.get("skip_if_exists", ())
        )
        return PathSpec.from_lines(_pathspec_pattern, patterns).match_file

    # Files

    def _template(self, src: str) -> Template:
        template = self._templates.get(src)
        if template is None:
            template = self._templates[src] = self._env.get_template(src)
        return template

    def _content(self, source: _Source, context: Mapping[str, Any]) -> bytes:
        """Copier's `_render_file`, up to the write."""
        if not source.is_template:
            if source.src not in self._verbatim:
                self._verbatim[source.src] = self._tree.read_bytes(source.src)
            return self._verbatim[source.src]
        try:
            template = self._template(source.src)
        except UnicodeDecodeError as error:
            if self._suffix:
                raise RenderError(path=source.src, message=f"not UTF-8: {error}") from error
            return self._tree.read_bytes(source.src)
        reset_yield(self._yield)
        try:
            text = template.render(context)
        except REFUSALS as error:
            raise RenderError(path=source.src, message=str(error)) from error
        if self._yield.yield_name:
            raise RenderError(path=source.src, message="a yield tag in a file")
        return text.encode()

    def render(self, answers: Mapping[str, Any]) -> Rendered:
        """Every file `copier copy` writes for `answers`, tasks skipped.

        `answers` as read from a service's .copier-answers.yml: question answers, `_commit`
        and `_src_path` (recorded as given). Other `_`-keys and keys naming no question are
        ignored; a computed (`when: false`) answer is computed; a missing answer takes its
        default.

        Raises:
            RenderError: a validator refuses an answer (its message), an answer has the
                wrong type or is not a choice, or the template fails to render.
        """
        try:
            return self._render(answers)
        except RenderError:
            raise
        except REFUSALS as error:  # `_subdirectory`, `_exclude` or the answers file's name
            raise RenderError(message=str(error)) from error

    def _render(self, answers: Mapping[str, Any]) -> Rendered:
        resolved = self._questionnaire.answer(answers)
        context = resolved.context
        subdirectory = self._render_string(str(self._settings.get("subdirectory", "")), context)
        excluded = self._excluded(context)
        files: dict[str, bytes] = {}
        executable: set[str] = set()
        skipped: Callable[[str], bool] | None = None
        for source in self._walk(self._copy_root(subdirectory)):
            for path, extra in self._destinations(source, resolved, source.parts):
                _check_inside(path, source)
                if excluded(path) or source.is_dir:
                    continue
                content = self._content(source, {**context, **extra} if extra else context)
                if path in files and path != resolved.answers_path:
                    if files[path] == content and (path in executable) == source.executable:
                        continue  # copier: "identical"
                    skipped = skipped or self._skipped(context)
                    if skipped(path):
                        continue  # copier keeps the first of `_skip_if_exists`
                    raise RenderError(path=path, message="two template files render to it")
                files[path] = content
                (executable.add if source.executable else executable.discard)(path)
        return Rendered(files=files, executable=frozenset(executable))

    def render_string(
        self, source: str, answers: Mapping[str, Any], *, extra: Mapping[str, Any] | None = None
    ) -> str:
        """One Jinja string in the context files render in, plus `extra` (e.g. `_stage`).

        Raises:
            RenderError: as `render`, or the string fails to render.
        """
        context = self._questionnaire.answer(answers).context
        try:
            return self._render_string(source, {**context, **(extra or {})})
        except REFUSALS as error:
            raise RenderError(message=f"{source!r}: {error}") from error


def _conf(repo: Path, ref: str, commit: str) -> dict[str, Any]:
    """Copier's `_copier_conf`, as `run_copy` with --defaults, --trust and --skip-tasks sets it.

    With --overwrite too: the audit writes nowhere, so no check of a destination's existing
    files (the template's first validator) may refuse the answers; into an empty folder, an
    overwriting copy writes the same files.
    """
    return {
        "src_path": PurePath(repo),
        "dst_path": PurePath(),
        "vcs_ref": ref,
        "vcs_ref_hash": commit,
        "settings": SETTINGS,
        "exclude": (),
        "use_prereleases": False,
        "skip_if_exists": (),
        "cleanup_on_error": True,
        "defaults": True,
        "user_defaults": {},
        "overwrite": True,
        "pretend": False,
        "quiet": True,
        "conflict": "inline",
        "context_lines": 3,
        "unsafe": True,
        "skip_answered": False,
        "skip_tasks": True,
        "sep": os.sep,
        "os": OS,
    }


def _check_inside(path: str, source: _Source) -> None:
    """Copier's ForbiddenPathError: a rendered path must stay in the service."""
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith(("/", "../")):
        raise RenderError(path=source.src, message=f"renders outside the service: {path}")


@functools.lru_cache(maxsize=16)
def release(repo: Path, ref: str) -> TemplateRelease:
    """`TemplateRelease.load`, once per process for each repository and ref."""
    return TemplateRelease.load(repo, ref)
