"""Copier's copier.yml loading and Jinja environment, rebuilt over a template tree in memory."""

from __future__ import annotations

import re
from collections import ChainMap, defaultdict
from collections.abc import Callable, MutableMapping
from functools import partial
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any, Literal, NoReturn

import jinja2
import yaml
from copier._jinja_ext import SandboxedEnvironment, YieldContext, YieldExtension
from copier._types import LazyDict
from jinja2 import StrictUndefined, Template, Undefined, nodes
from jinja2.exceptions import TemplateNotFound
from jinja2.loaders import BaseLoader, split_template_path
from pydantic_core import to_jsonable_python

from ._template_tree import ReleaseError, TemplateTree, TreeEscapeError

__all__ = ["Environment", "environment", "load_config", "reset_yield"]

#: Options copier gathers from every document of copier.yml instead of taking the last.
_MERGED = ("_exclude", "_jinja_extensions", "_secret_questions", "_skip_if_exists")
_UNDEFINED: dict[str, type[Undefined]] = {
    "jinja2.Undefined": Undefined,
    "jinja2.StrictUndefined": StrictUndefined,
}
_PATHS = {"posix": PurePosixPath, "windows": PureWindowsPath, "native": PurePath}


class _ConfigLoader(yaml.SafeLoader):
    """copier.yml's loader: `!include` would read files by glob, which this audit does not."""


def _include(loader: yaml.SafeLoader, node: yaml.Node) -> NoReturn:
    raise yaml.constructor.ConstructorError(
        None, None, "`!include` in copier.yml is not supported by the audit", node.start_mark
    )


_ConfigLoader.add_constructor("!include", _include)


def _flatten(items: object) -> list[Any]:
    if not isinstance(items, list | tuple):
        return [items]
    return [leaf for item in items for leaf in _flatten(item)]


def load_config(tree: TemplateTree, ref: str) -> dict[str, Any]:
    """copier.yml (or copier.yaml) as copier reads it: documents merged, list options joined.

    Raises:
        ReleaseError: no single config file, or one that is not YAML.
    """
    found = [
        name
        for name in tree.names("")
        if name.startswith("copier.")
        and re.match(r"\.ya?ml", PurePosixPath(name).suffix, re.IGNORECASE)
        and tree.is_file(name)
    ]
    if len(found) > 1:
        raise ReleaseError(ref=ref, message=f"more than one config file: {', '.join(found)}")
    if not found:
        return {}
    try:
        documents = list(yaml.load_all(tree.read_bytes(found[0]), Loader=_ConfigLoader))
    except yaml.YAMLError as error:
        raise ReleaseError(ref=ref, message=f"{found[0]}: {error}") from error
    flattened = [doc for doc in _flatten([doc for doc in documents if doc]) if doc]
    merged: dict[str, list[Any]] = defaultdict(list)
    for option in _MERGED:
        for document in flattened:
            if option in document:
                merged[option].extend(document[option])
    return dict(ChainMap(dict(merged), *reversed(flattened)))


class Environment(SandboxedEnvironment):
    """Copier's sandbox that compiles each source string once: renders reuse the code."""

    def __init__(self, **options: Any) -> None:  # noqa: ANN401 - Jinja's options, each its own type
        super().__init__(**options)
        self._strings: dict[str, Template] = {}

    def from_string(
        self,
        source: str | nodes.Template,
        globals: MutableMapping[str, Any] | None = None,  # noqa: A002 - Jinja's parameter name
        template_class: type[Template] | None = None,
    ) -> Template:
        """Jinja's `from_string`, memoized for plain sources (copier compiles afresh each time)."""
        if not isinstance(source, str) or globals is not None or template_class is not None:
            return super().from_string(source, globals, template_class)
        template = self._strings.get(source)
        if template is None:
            template = self._strings[source] = super().from_string(source)
        return template


def reset_yield(context: YieldContext) -> None:
    """Forget a `{% yield %}` seen last: copier's compile step does this, a reused template not."""
    context.yield_name = None
    context.yield_iterable = None


class _TreeLoader(BaseLoader):
    """Copier's loader (template names are paths from the repository root), over the tree."""

    def __init__(self, tree: TemplateTree) -> None:
        self._tree = tree

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        path = "/".join(split_template_path(template))
        try:
            content = self._tree.read_bytes(path)
        except (FileNotFoundError, TreeEscapeError) as error:
            raise TemplateNotFound(template) from error
        return content.decode("utf-8"), path, lambda: True


def _to_json_fallback(value: object) -> object:
    if isinstance(value, LazyDict):
        return dict(value)
    if isinstance(value, PurePath):
        return str(value)
    return value


def _pathjoin(*path: str, mode: Literal["posix", "windows", "native"] = "posix") -> str:
    return str(_PATHS[mode](*path))


def environment(tree: TemplateTree, config: dict[str, Any], ref: str) -> Environment:
    """The Jinja environment copier's `Worker.jinja_env` builds for this template.

    Raises:
        ReleaseError: `_envops` names an undefined class copier refuses, or an extension
            of `_jinja_extensions` is not installed.
    """
    envops = dict(config.get("_envops", {}))
    envops.setdefault("keep_trailing_newline", True)
    if undefined := envops.get("undefined"):
        if undefined not in _UNDEFINED:
            raise ReleaseError(ref=ref, message=f"unsupported _envops.undefined: {undefined}")
        envops["undefined"] = _UNDEFINED[undefined]
    extensions = [
        "jinja2_ansible_filters.AnsibleCoreFiltersExtension",
        YieldExtension,
        *config.get("_jinja_extensions", ()),
    ]
    try:
        env = Environment(loader=_TreeLoader(tree), extensions=extensions, **envops)
    except (ImportError, AttributeError, TypeError) as error:
        raise ReleaseError(ref=ref, message=f"Jinja environment: {error}") from error
    env.filters["to_json"] = partial(
        env.filters["to_json"], default=partial(to_jsonable_python, fallback=_to_json_fallback)
    )
    env.globals["pathjoin"] = _pathjoin
    return env
