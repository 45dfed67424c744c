"""Breaking changes between two OpenAPI 3.x documents, with rule ids modelled on oasdiff's.

Pure logic over parsed documents (no I/O): `diff_openapi(base, current)` lists every change it
knows, each with a rule id and a severity. A change is breaking when a client written against
`base` can stop working against `current`: the server accepts less in a request, or promises
less in a response. `$ref`s are followed anywhere in the document and are cycle-safe; `allOf`
is merged; an `anyOf`/`oneOf` of one schema and `null` (FastAPI's `X | None`) is that schema,
nullable; other unions are compared variant by variant. `additionalProperties` and headers are
not compared.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Change", "Severity", "diff_openapi"]

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_DEPTH = 64
#: Where a normalised union schema keeps its variants: the keyword and (key, schema node) pairs.
_VARIANTS = "x-paved-variants"
_NULL = frozenset({"null"})
_NONE: frozenset[str] = frozenset()


class Severity(enum.StrEnum):
    """How a change affects existing clients."""

    BREAKING = "breaking"
    #: Worth a note, not breaking by default (e.g. a response enum value added).
    INFO = "info"
    #: Something new that existing clients can ignore.
    ADDITIVE = "additive"


@dataclass(frozen=True, kw_only=True)
class Change:
    """One difference: `rule` (oasdiff-style id), where it is, and what happened."""

    rule: str
    severity: Severity
    #: `GET /v1/items`, or the bare path for path-level changes.
    operation: str
    #: What changed there, e.g. `response 200 property items[].name removed`.
    detail: str

    @property
    def message(self) -> str:
        return f"{self.operation}: {self.detail}"


class _Direction(enum.Enum):
    """Requests break when the server accepts less; responses when it promises less."""

    REQUEST = "request"
    RESPONSE = "response"


# (keyword, tighter when the new value is lower, rule suffix): request constraints only.
_CONSTRAINTS = (
    ("maxLength", True, "max-length-decreased"),
    ("maximum", True, "max-decreased"),
    ("maxItems", True, "max-items-decreased"),
    ("minLength", False, "min-length-increased"),
    ("minimum", False, "min-increased"),
    ("minItems", False, "min-items-increased"),
)


def diff_openapi(base: Mapping[str, Any], current: Mapping[str, Any]) -> list[Change]:
    """Every change from `base` to `current` that this differ knows, in document order."""
    return list(_Differ(_Doc(base), _Doc(current)).changes())


class _Doc:
    """A parsed document and its `$ref` resolution (local JSON pointers only)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def resolve(self, node: object) -> tuple[Mapping[str, Any], str | None]:
        """The object behind `node`'s `$ref` chain, and the last ref followed (or None)."""
        ref: str | None = None
        seen: set[str] = set()
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:  # a ref that points at itself: nothing to compare
                return {}, ref
            seen.add(ref)
            node = self._pointer(ref)
        return (node if isinstance(node, Mapping) else {}), ref

    def _pointer(self, ref: str) -> object:
        if not ref.startswith("#/"):
            return {}  # external refs are not followed
        node: Any = self.data
        for escaped in ref[2:].split("/"):
            part = escaped.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return {}
            node = node[part]
        return node

    def schema(self, node: object, depth: int = 0) -> tuple[dict[str, Any], str | None]:
        """A schema with refs resolved, `allOf` merged, and `anyOf`/`oneOf` normalised."""
        resolved, ref = self.resolve(node)
        unions = ("allOf", "anyOf", "oneOf")
        merged = {key: value for key, value in resolved.items() if key not in unions}
        members = resolved.get("allOf") if depth < _MAX_DEPTH else None
        for member in members or ():
            part, _ = self.schema(member, depth + 1)
            properties = {**(part.get("properties") or {}), **(merged.get("properties") or {})}
            required = [*(part.get("required") or ()), *(merged.get("required") or ())]
            merged = {**part, **merged}
            if properties:
                merged["properties"] = properties
            if required:
                merged["required"] = list(dict.fromkeys(required))
        if "const" in merged and "enum" not in merged:
            merged["enum"] = [merged["const"]]
        for keyword in ("anyOf", "oneOf"):
            variants = resolved.get(keyword)
            if isinstance(variants, list) and variants and depth < _MAX_DEPTH:
                merged, ref = self._union(merged, ref, keyword, variants, depth)
        return merged, ref

    def _union(
        self, outer: dict[str, Any], ref: str | None, keyword: str, nodes: list[Any], depth: int
    ) -> tuple[dict[str, Any], str | None]:
        """`X | None` becomes X, nullable; a wider union keeps its keyed variants."""
        members = [(node, *self.schema(node, depth + 1)) for node in nodes]
        nullable = any(_types(schema) == _NULL for _, schema, _ in members)
        others = [member for member in members if _types(member[1]) != _NULL]
        if len(others) == 1:
            _, schema, member_ref = others[0]
            merged = {**outer, **schema}
            return (_with_null(merged) if nullable else merged), member_ref or ref
        merged = dict(outer)
        types = [t for _, schema, _ in others if (t := _types(schema)) is not None]
        if len(types) == len(others):  # an untyped variant makes the union accept anything
            merged["type"] = sorted(frozenset().union(*types) | (_NULL if nullable else _NONE))
        keys: list[tuple[str, Any]] = []
        for node, schema, member_ref in others:
            key = _variant_key(schema, member_ref)
            taken = sum(1 for existing, _ in keys if existing.split("#")[0] == key)
            keys.append((f"{key}#{taken + 1}" if taken else key, node))
        merged[_VARIANTS] = (keyword, keys)
        return merged, ref

    def operations(self) -> dict[str, tuple[str, dict[str, Mapping[str, Any]]]]:
        """Paths keyed by their template with parameter names blanked (`/items/{}`)."""
        paths = self.data.get("paths") or {}
        found: dict[str, tuple[str, dict[str, Mapping[str, Any]]]] = {}
        for path, item in paths.items():
            resolved, _ = self.resolve(item)
            operations = {
                method: op for method in _METHODS if isinstance(op := resolved.get(method), Mapping)
            }
            found[re.sub(r"\{[^}]*\}", "{}", path)] = (path, operations)
        return found

    def parameters(self, path: str, operation: Mapping[str, Any]) -> dict[tuple[str, str], Any]:
        """The operation's parameters by (location, name), path-level ones included.

        Path parameters are keyed by their position in the template instead, so renaming
        `{id}` to `{item_id}` is no change.
        """
        item, _ = self.resolve((self.data.get("paths") or {}).get(path, {}))
        template = re.findall(r"\{([^}]*)\}", path)
        params: dict[tuple[str, str], Any] = {}
        for node in [*(item.get("parameters") or ()), *(operation.get("parameters") or ())]:
            param, _ = self.resolve(node)
            if "name" not in param or "in" not in param:
                continue
            where, name = str(param["in"]), str(param["name"])
            if where == "path" and name in template:
                name = "{" + str(template.index(name)) + "}"  # the position, as {0}
            params[(where, name)] = param
        return params

    def security(self, operation: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The requirements in force for the operation (its own, else the document's)."""
        security = operation.get("security", self.data.get("security"))
        return list(security or [])


class _Differ:
    def __init__(self, base: _Doc, current: _Doc) -> None:
        self.base = base
        self.current = current

    def changes(self) -> Iterator[Change]:
        base_paths = self.base.operations()
        current_paths = self.current.operations()
        for key, (path, operations) in base_paths.items():
            if key not in current_paths:
                methods = ", ".join(m.upper() for m in operations)
                yield _breaking("api-path-removed", path, f"path removed ({methods})")
                continue
            current_path, current_operations = current_paths[key]
            for method, operation in operations.items():
                name = f"{method.upper()} {current_path}"
                if method not in current_operations:
                    yield _breaking("api-removed", name, "operation removed")
                    continue
                yield from self._operation(
                    name, (path, operation), (current_path, current_operations[method])
                )
            for method in current_operations:
                if method not in operations:
                    yield _additive("endpoint-added", f"{method.upper()} {current_path}", "added")
        for key, (path, operations) in current_paths.items():
            if key not in base_paths:
                for method in operations:
                    yield _additive("endpoint-added", f"{method.upper()} {path}", "added")

    def _operation(
        self,
        name: str,
        base: tuple[str, Mapping[str, Any]],
        current: tuple[str, Mapping[str, Any]],
    ) -> Iterator[Change]:
        (base_path, base_op), (current_path, current_op) = base, current
        yield from self._security(name, base_op, current_op)
        yield from self._parameters(
            name,
            self.base.parameters(base_path, base_op),
            self.current.parameters(current_path, current_op),
        )
        yield from self._request_body(name, base_op, current_op)
        yield from self._responses(name, base_op, current_op)

    def _security(
        self, name: str, base_op: Mapping[str, Any], current_op: Mapping[str, Any]
    ) -> Iterator[Change]:
        base = self.base.security(base_op)
        current = self.current.security(current_op)
        open_before = not base or any(not requirement for requirement in base)
        open_now = not current or any(not requirement for requirement in current)
        if open_before and not open_now:
            schemes = sorted({scheme for requirement in current for scheme in requirement})
            yield _breaking(
                "api-security-added", name, f"security requirement added ({', '.join(schemes)})"
            )

    def _parameters(
        self,
        name: str,
        base: dict[tuple[str, str], Any],
        current: dict[tuple[str, str], Any],
    ) -> Iterator[Change]:
        for key, param in current.items():
            where = f"{key[0]} parameter {param['name']}"
            required = bool(param.get("required")) or key[0] == "path"
            if key not in base:
                if required:
                    yield _breaking(
                        "new-required-request-parameter", name, f"{where} added as required"
                    )
                else:
                    yield _additive("new-optional-request-parameter", name, f"{where} added")
                continue
            old = base[key]
            if required and not (old.get("required") or key[0] == "path"):
                yield _breaking(
                    "request-parameter-became-required", name, f"{where} became required"
                )
            if "schema" in old and "schema" in param:
                yield from _SchemaDiff(
                    self,
                    name,
                    direction=_Direction.REQUEST,
                    context=where,
                    root=where,
                    prefix="request-parameter",
                ).compare(old["schema"], param["schema"])

    def _request_body(
        self, name: str, base_op: Mapping[str, Any], current_op: Mapping[str, Any]
    ) -> Iterator[Change]:
        base, _ = self.base.resolve(base_op.get("requestBody"))
        current, _ = self.current.resolve(current_op.get("requestBody"))
        if not current:
            return
        if current.get("required") and not base:
            yield _breaking("added-required-request-body", name, "required request body added")
            return
        if current.get("required") and not base.get("required"):
            yield _breaking("request-body-became-required", name, "request body became required")
        base_content = base.get("content") or {}
        current_content = current.get("content") or {}
        for media_type, media in base_content.items():
            if media_type not in current_content:
                yield _breaking(
                    "request-body-media-type-removed",
                    name,
                    f"request media type {media_type} removed",
                )
                continue
            old, new = media.get("schema"), current_content[media_type].get("schema")
            if old is not None and new is not None:
                yield from _SchemaDiff(
                    self,
                    name,
                    direction=_Direction.REQUEST,
                    context="request",
                    root="request body",
                    prefix="request-body",
                ).compare(old, new)

    def _responses(
        self, name: str, base_op: Mapping[str, Any], current_op: Mapping[str, Any]
    ) -> Iterator[Change]:
        # YAML reads `200:` as an integer key
        base = {str(code): node for code, node in (base_op.get("responses") or {}).items()}
        current = {str(code): node for code, node in (current_op.get("responses") or {}).items()}
        for status, node in base.items():
            if status not in current:
                if status.startswith("2"):
                    yield _breaking(
                        "response-success-status-removed", name, f"response {status} removed"
                    )
                continue
            old, _ = self.base.resolve(node)
            new, _ = self.current.resolve(current[status])
            new_content = new.get("content") or {}
            for media_type, media in (old.get("content") or {}).items():
                if media_type not in new_content:
                    if status.startswith("2"):
                        yield _breaking(
                            "response-media-type-removed",
                            name,
                            f"response {status} media type {media_type} removed",
                        )
                    continue
                old_schema = media.get("schema")
                new_schema = new_content[media_type].get("schema")
                if old_schema is not None and new_schema is not None:
                    yield from _SchemaDiff(
                        self,
                        name,
                        direction=_Direction.RESPONSE,
                        context=f"response {status}",
                        root=f"response {status} body",
                        prefix="response-body",
                    ).compare(old_schema, new_schema)


class _SchemaDiff:
    """One schema comparison in one direction, following each pair of refs once per branch.

    Places are named from a `context` (`request`, `response 200`, `query parameter limit`)
    and a property pointer such as `items[].name` (empty at the root, named `root`).
    """

    def __init__(
        self,
        differ: _Differ,
        operation: str,
        *,
        direction: _Direction,
        context: str,
        root: str,
        prefix: str,
    ) -> None:
        self.differ = differ
        self.operation = operation
        self.request = direction is _Direction.REQUEST
        self.context = context
        self.root = root
        self.root_prefix = prefix
        self.stack: set[tuple[str | None, str | None]] = set()

    def compare(self, base: object, current: object, pointer: str = "") -> Iterator[Change]:
        old, old_ref = self.differ.base.schema(base)
        new, new_ref = self.differ.current.schema(current)
        key = (old_ref, new_ref)
        followed = old_ref is not None or new_ref is not None
        if (followed and key in self.stack) or len(self.stack) > _MAX_DEPTH:
            return  # a recursive schema, already being compared further up
        if followed:
            self.stack.add(key)
        try:
            yield from self._compare(old, new, pointer, refs=key)
        finally:
            if followed:
                self.stack.discard(key)

    def _where(self, pointer: str) -> str:
        return f"{self.context} property {pointer}" if pointer else self.root

    def _prefix(self, pointer: str) -> str:
        if not pointer:
            return self.root_prefix
        return "request-property" if self.request else "response-property"

    def _compare(
        self,
        old: dict[str, Any],
        new: dict[str, Any],
        pointer: str,
        *,
        refs: tuple[str | None, str | None],
    ) -> Iterator[Change]:
        where, prefix = self._where(pointer), self._prefix(pointer)
        old_types, new_types = _types(old), _types(new)
        if self.request:
            narrowed = not _accepts(new_types, old_types)
        else:
            narrowed = not _accepts(old_types, new_types)
        if narrowed:
            yield self._breaking(
                f"{prefix}-type-changed",
                f"{where} type changed from {_show(old_types)} to {_show(new_types)}",
            )
            return  # the rest of the schema no longer compares meaningfully
        if _VARIANTS in old or _VARIANTS in new:
            yield from self._variants((old, refs[0]), (new, refs[1]), pointer)
            return  # each variant pair was compared in full
        yield from self._enum(old, new, where, prefix)
        if self.request:
            yield from self._constraints(old, new, where, prefix)
        yield from self._properties(old, new, pointer)
        if "items" in old and "items" in new:
            yield from self.compare(old["items"], new["items"], f"{pointer}[]")

    def _variants(
        self,
        old: tuple[dict[str, Any], str | None],
        new: tuple[dict[str, Any], str | None],
        pointer: str,
    ) -> Iterator[Change]:
        """Pair the variants of a union (a plain schema is one variant) and compare each pair.

        A request breaks when one of its old variants has no counterpart; a response when one
        of its new variants has none. Variants pair by `$ref` name or type, else by the first
        unpaired variant whose types accept them.
        """
        keyword = str((old[0].get(_VARIANTS) or new[0][_VARIANTS])[0])
        rule = "any-of" if keyword == "anyOf" else "one-of"
        before, after = _keyed_variants(*old), _keyed_variants(*new)
        # requests keep accepting every old variant; responses return only known ones
        wanted, offered = (before, after) if self.request else (after, before)
        unpaired = dict(offered)
        for key, node in wanted.items():
            partner = unpaired.pop(key, None)
            if partner is None:
                partner = self._accepting(node, unpaired, wanted_doc=self.request)
            if partner is None:
                change = "removed" if self.request else "added"
                yield self._breaking(
                    f"{self._prefix(pointer)}-{rule}-{change}",
                    f"{self._where(pointer)} {keyword} variant {key.split('#')[0]} {change}",
                )
                continue
            pair = (node, partner) if self.request else (partner, node)
            yield from self.compare(*pair, pointer)

    def _accepting(
        self, node: object, candidates: dict[str, object], *, wanted_doc: bool
    ) -> object:
        """Pop and return the first candidate whose types cover `node`'s (None if none does)."""
        wanted = (self.differ.base if wanted_doc else self.differ.current).schema(node)[0]
        offered = self.differ.current if wanted_doc else self.differ.base
        for key, candidate in candidates.items():
            if _accepts(_types(offered.schema(candidate)[0]), _types(wanted)):
                return candidates.pop(key)
        return None

    def _enum(
        self, old: dict[str, Any], new: dict[str, Any], where: str, prefix: str
    ) -> Iterator[Change]:
        if "enum" not in new:
            return
        new_values = {_canonical(v): v for v in new["enum"]}
        if "enum" not in old:
            if self.request:
                yield self._breaking(f"{prefix}-became-enum", f"{where} restricted to an enum")
            return
        old_values = {_canonical(v): v for v in old["enum"]}
        if self.request:
            removed = [value for key, value in old_values.items() if key not in new_values]
            if removed:
                yield self._breaking(
                    f"{prefix}-enum-value-removed", f"{where} enum values removed: {_list(removed)}"
                )
            return
        added = [value for key, value in new_values.items() if key not in old_values]
        if added:
            yield Change(
                rule=f"{prefix}-enum-value-added",
                severity=Severity.INFO,
                operation=self.operation,
                detail=f"{where} enum values added: {_list(added)}",
            )

    def _constraints(
        self, old: dict[str, Any], new: dict[str, Any], where: str, prefix: str
    ) -> Iterator[Change]:
        for keyword, lower_is_tighter, suffix in _CONSTRAINTS:
            before, after = old.get(keyword), new.get(keyword)
            if not _is_number(after) or (before is not None and not _is_number(before)):
                continue
            if before is None:
                tighter = True  # a bound where there was none
            else:
                tighter = after < before if lower_is_tighter else after > before
            if tighter:
                shown = "none" if before is None else f"{before:g}"
                yield self._breaking(
                    f"{prefix}-{suffix}", f"{where} {keyword} changed from {shown} to {after:g}"
                )

    def _properties(
        self, old: dict[str, Any], new: dict[str, Any], pointer: str
    ) -> Iterator[Change]:
        old_props: Mapping[str, Any] = old.get("properties") or {}
        new_props: Mapping[str, Any] = new.get("properties") or {}
        old_required = set(old.get("required") or ())
        new_required = set(new.get("required") or ())
        for name, node in new_props.items():
            if self._hidden(node, self.differ.current):
                continue
            child = f"{pointer}.{name}" if pointer else name
            where = self._where(child)
            if name not in old_props:
                if self.request and name in new_required:
                    yield self._breaking(
                        "new-required-request-property", f"{where} added as required"
                    )
                else:
                    rule = (
                        "new-optional-request-property"
                        if self.request
                        else "response-property-added"
                    )
                    yield Change(
                        rule=rule,
                        severity=Severity.ADDITIVE,
                        operation=self.operation,
                        detail=f"{where} added",
                    )
                continue
            if self.request and name in new_required and name not in old_required:
                yield self._breaking("request-property-became-required", f"{where} became required")
            if not self.request and name in old_required and name not in new_required:
                yield self._breaking(
                    "response-required-property-became-optional", f"{where} became optional"
                )
            yield from self.compare(old_props[name], node, child)
        if self.request:
            return  # a property the server stops reading is not a client's problem
        for name, node in old_props.items():
            if name not in new_props and not self._hidden(node, self.differ.base):
                child = f"{pointer}.{name}" if pointer else name
                yield self._breaking("response-property-removed", f"{self._where(child)} removed")

    def _hidden(self, node: object, doc: _Doc) -> bool:
        """Whether `node` is hidden here: readOnly in requests, writeOnly in responses."""
        schema, _ = doc.schema(node)
        return bool(schema.get("readOnly" if self.request else "writeOnly"))

    def _breaking(self, rule: str, detail: str) -> Change:
        return _breaking(rule, self.operation, detail)


def _breaking(rule: str, operation: str, detail: str) -> Change:
    return Change(rule=rule, severity=Severity.BREAKING, operation=operation, detail=detail)


def _additive(rule: str, operation: str, detail: str) -> Change:
    return Change(rule=rule, severity=Severity.ADDITIVE, operation=operation, detail=detail)


def _types(schema: Mapping[str, Any]) -> frozenset[str] | None:
    """The JSON types a schema allows (None: any); OpenAPI 3.0 `nullable` adds null."""
    declared = schema.get("type")
    if declared is None:  # an untyped schema with properties or items means an object or array
        if "properties" in schema:
            declared = "object"
        elif "items" in schema:
            declared = "array"
        else:
            return None
    types = {declared} if isinstance(declared, str) else set(declared)
    if schema.get("nullable") is True:
        types.add("null")
    return frozenset(types)


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, also allowing null (as `X | None` does)."""
    declared = schema.get("type")
    if isinstance(declared, str):
        return {**schema, "type": [declared, "null"]}
    if isinstance(declared, list):
        return {**schema, "type": list(dict.fromkeys([*declared, "null"]))}
    return {**schema, "nullable": True}


def _variant_key(schema: Mapping[str, Any], ref: str | None) -> str:
    """How a union variant is recognised on the other side: its schema name, else its type."""
    return ref.rsplit("/", 1)[-1] if ref else _show(_types(schema))


def _keyed_variants(schema: dict[str, Any], ref: str | None) -> dict[str, Any]:
    """A union's variants by key; a plain schema is a union of itself (null aside, as in one)."""
    union = schema.get(_VARIANTS)
    if union:
        return dict(union[1])
    variant = {key: value for key, value in schema.items() if key != "nullable"}
    declared = variant.get("type")
    if isinstance(declared, list):
        variant["type"] = [name for name in declared if name != "null"]
    return {_variant_key(variant, ref): variant}


def _accepts(wide: frozenset[str] | None, narrow: frozenset[str] | None) -> bool:
    """Whether every value of type `narrow` is also one of `wide` (integers are numbers)."""
    if wide is None:
        return True
    if narrow is None:
        return False
    return all(t in wide or (t == "integer" and "number" in wide) for t in narrow)


def _show(types: frozenset[str] | None) -> str:
    return "any" if types is None else "|".join(sorted(types))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True)


def _list(values: list[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)
