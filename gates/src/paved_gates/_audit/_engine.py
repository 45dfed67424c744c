"""One service audited end to end: its answers, release, enforced files, gates and update risk."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from ._drift import OWNERSHIP, classify, drift_issues, enforced_paths, unknown_files
from ._gitrepo import RepoError, RepoReader
from ._model import Issue, ServiceAudit, UpdateRisk, VersionInfo
from ._policy import Policy, apply_policy
from ._releases import History, Release
from ._render import RenderError, release
from ._risk import moves, predict_update
from ._sources import ServiceSource, local_path
from ._template_tree import ReleaseError
from ._weakening import reads, weakened_gates

__all__ = ["Context", "audit_service"]

ANSWERS = ".copier-answers.yml"
CATALOG = "catalog-info.yaml"
RESULTS = "gate-results/"
_VERSION_ANNOTATION = "paved.dev/template-version"
#: libyaml's safe loader where PyYAML has it (several times faster), else the pure one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, kw_only=True)
class Context:
    """What auditing any service needs; sent once to each worker process."""

    template: str | None  # the template repository, else each service's `_src_path`
    cache: Path  # clones of remote services and templates
    today: dt.date
    policy: Policy


class _UnauditableError(Exception):
    """The audit of a service cannot go further; `issue` says why."""

    def __init__(self, issue: Issue) -> None:
        self.issue = issue
        super().__init__(issue.message)


@dataclass(frozen=True, kw_only=True)
class _Subject:
    """A readable service: its repository, its answers and the template release they name."""

    reader: RepoReader
    answers: Mapping[str, Any]
    history: History
    release: Release  # the release its `_commit` is, or is based on
    commit: str  # the template commit to render

    def render(self, at: Release | None = None) -> Mapping[str, bytes]:
        """The template's files for these answers, at `at` or at the recorded commit."""
        if at is None:
            return _render(self.history.repo, self.commit, self.answers)
        answers = {**self.answers, "_commit": at.tag}
        return _render(self.history.repo, at.commit, answers)

    def older_renders(self) -> Iterator[tuple[str, Mapping[str, bytes]]]:
        """(release, render) of each earlier release these answers fit, newest first."""
        for older in self.history.older(self.release):
            try:
                yield older.name, self.render(older)
            except RenderError:  # answers that release refuses: it cannot be their source
                continue


def audit_service(source: ServiceSource, context: Context) -> ServiceAudit:
    """Everything the audit finds about one service; bad input becomes findings, never errors."""
    name = Path(source.location.rstrip("/")).name.removesuffix(".git")
    service = ServiceAudit(name=name, source=source.location, team=source.team)
    try:
        with _reader(source, context.cache) as reader:
            service = _audit(reader, service, context)
    except _UnauditableError as stop:
        service = replace(service, issues=(*service.issues, stop.issue))
    except Exception as exc:  # noqa: BLE001 - one broken service never stops the fleet's audit
        issue = Issue(id="input.internal-error", message=f"{type(exc).__name__}: {exc}")
        service = replace(service, issues=(*service.issues, issue))
    return apply_policy(service, context.policy, context.today)


@contextmanager
def _reader(source: ServiceSource, cache: Path) -> Iterator[RepoReader]:
    try:
        reader = RepoReader(local_path(source, cache))
    except (OSError, RepoError) as exc:
        raise _UnauditableError(Issue(id="input.not-a-repository", message=str(exc))) from None
    with reader:
        yield reader


def _audit(reader: RepoReader, service: ServiceAudit, context: Context) -> ServiceAudit:
    answers = _answers(reader)
    catalog = _catalog_metadata(reader)
    service = replace(
        service,
        name=_text(catalog.get("name")) or str(answers.get("service_name") or service.name),
        team=service.team or _text(answers.get("owner")),
        gate_results=_gate_results(reader),
    )
    history = _history(context.template or _text(answers.get("_src_path")), context.cache)
    _check_template(answers, history)
    recorded = str(answers.get("_commit") or "")
    resolution = history.resolve(recorded) if recorded else None
    version = _version(recorded, resolution.release if resolution else None, history)
    service = replace(service, version=version)
    issues = [
        *_version_issues(version),
        *_catalog_issues(catalog, recorded),
        *_unknown_questions(answers, history),
    ]
    if resolution is None or resolution.commit is None or resolution.release is None:
        unknown = unknown_files(reader.files, reader.read([OWNERSHIP]))
        return replace(service, files=unknown, issues=(*service.issues, *issues))
    subject = _Subject(
        reader=reader,
        answers=answers,
        history=history,
        release=resolution.release,
        commit=resolution.commit,
    )
    try:
        service = _compare(subject, service, context.today)
    except ReleaseError as exc:
        issues.append(Issue(id="input.template-unavailable", message=str(exc)))
        service = replace(service, files=unknown_files(reader.files, reader.read([OWNERSHIP])))
    except RenderError as exc:
        issues.append(Issue(id="input.invalid-answers", path=ANSWERS, message=str(exc)))
        service = replace(service, files=unknown_files(reader.files, reader.read([OWNERSHIP])))
    return replace(service, issues=(*service.issues, *issues))


def _compare(subject: _Subject, service: ServiceAudit, today: dt.date) -> ServiceAudit:
    """Enforced files, gates and update risk: the service against its release's render."""
    rendered = subject.render()
    latest = subject.history.latest
    target = subject.render(latest) if subject.commit != latest.commit else rendered
    enforced = enforced_paths(rendered)
    extra = {path for path in subject.reader.files if enforced(path)} - set(rendered)
    gate_files = [path for path in subject.reader.files if reads(path)]
    files = _service_files(subject.reader, (rendered, target), [*sorted(extra), *gate_files])
    pristine, statuses = classify(rendered, files, enforced, extra, older=subject.older_renders)
    gates = _weakened(rendered, files, today)
    risk = _risk(subject, rendered, target, files)
    return replace(
        service,
        pristine=pristine,
        files=statuses,
        risk=risk,
        issues=(*service.issues, *drift_issues(statuses), *gates),
    )


def _service_files(
    reader: RepoReader, renders: tuple[Mapping[str, bytes], ...], others: list[str]
) -> dict[str, bytes]:
    """The service's copy of every rendered path, and of `others`.

    A file whose blob id is that of a render's content holds that content: only the files
    that differ from every render are read from git, so a pristine service reads almost none.
    """
    files: dict[str, bytes] = {}
    for render in renders:
        for path, content in render.items():
            if path not in files and reader.files.get(path) == _blob_id(content):
                files[path] = content
    wanted = {path for render in renders for path in render} | set(others)
    files.update(reader.read(sorted(wanted - set(files))))
    return files


@functools.lru_cache(maxsize=4096)
def _blob_id(content: bytes) -> str:
    """Git's object id of a blob holding `content`."""
    header = f"blob {len(content)}\0".encode()
    return hashlib.sha1(header + content, usedforsecurity=False).hexdigest()


# Answers and identity


def _answers(reader: RepoReader) -> Mapping[str, Any]:
    content = reader.read([ANSWERS]).get(ANSWERS)
    if content is None:
        raise _UnauditableError(
            Issue(id="input.no-answers", message=f"no {ANSWERS} at HEAD", path=ANSWERS)
        )
    try:
        answers = yaml.load(content, Loader=_Loader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        message = f"{ANSWERS} is not valid YAML: {exc}"
        raise _UnauditableError(
            Issue(id="input.malformed-answers", message=message, path=ANSWERS)
        ) from None
    if not isinstance(answers, dict):
        message = f"{ANSWERS} does not hold a mapping of answers"
        raise _UnauditableError(Issue(id="input.malformed-answers", message=message, path=ANSWERS))
    return answers


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _catalog_metadata(reader: RepoReader) -> dict[str, Any]:
    """`metadata` of the service's Backstage entity: its name keys the insights."""
    content = reader.read([CATALOG]).get(CATALOG)
    try:
        documents = list(yaml.load_all(content or b"", Loader=_Loader))
    except yaml.YAMLError:
        return {}
    for document in documents:
        metadata = document.get("metadata") if isinstance(document, dict) else None
        if isinstance(metadata, dict):
            return metadata
    return {}


def _catalog_issues(metadata: Mapping[str, Any], recorded: str) -> list[Issue]:
    """The catalog's `paved.dev/template-version` must name the release the answers record."""
    annotations = metadata.get("annotations")
    claimed = annotations.get(_VERSION_ANNOTATION) if isinstance(annotations, dict) else None
    if claimed is None or not recorded or str(claimed) == recorded:
        return []
    message = (
        f"{CATALOG} says {_VERSION_ANNOTATION} {claimed}, but {ANSWERS} records {recorded}: "
        "Backstage shows the wrong release"
    )
    return [
        Issue(
            id="version.catalog-mismatch",
            path=CATALOG,
            message=message,
            expected=recorded,
            actual=str(claimed),
        )
    ]


def _gate_results(reader: RepoReader) -> dict[str, str]:
    """Status of each gate in the `gate-results/` the service committed, if any."""
    names = [path for path in reader.files if path.startswith(RESULTS) and path.endswith(".json")]
    statuses = {}
    for content in reader.read(names).values():
        try:
            result = json.loads(content)
        except ValueError:
            continue
        if isinstance(result, dict) and {"gate", "status"} <= set(result):
            statuses[str(result["gate"])] = str(result["status"])
    return statuses


def _check_template(answers: Mapping[str, Any], history: History) -> None:
    """Answers that share no question with the template come from another template."""
    questions = release(history.repo, history.latest.commit).questions
    asked = {key for key in answers if not key.startswith("_")}
    if asked and not asked & questions:
        source = answers.get("_src_path", "an unknown source")
        message = f"answers come from another template ({source}): none of them is paved's"
        raise _UnauditableError(Issue(id="input.other-template", message=message, path=ANSWERS))


@functools.cache
def _history(source: str | None, cache: Path) -> History:
    if source is None:
        raise _UnauditableError(
            Issue(id="input.no-template", message=f"{ANSWERS} has no _src_path")
        )
    try:
        repo = local_path(ServiceSource(location=source), cache)
        return History(repo, source)
    except Exception as exc:  # noqa: BLE001 - any failure to read the template: this service cannot be judged
        message = f"the template {source} cannot be read: {exc}"
        raise _UnauditableError(Issue(id="input.template-unavailable", message=message)) from None


# Version


def _version(recorded: str, base: Release | None, history: History) -> VersionInfo:
    latest = history.latest
    return VersionInfo(
        commit=recorded,
        release=base.name if base else None,
        latest=latest.name,
        releases_behind=history.behind(base) if base else None,
        days_behind=max(0, (latest.date - base.date).days) if base else None,
        supported=base.supported if base else False,
        known=base is not None,
    )


def _version_issues(version: VersionInfo) -> list[Issue]:
    if not version.commit:
        return [Issue(id="version.unversioned", message=f"{ANSWERS} records no _commit")]
    if not version.known:
        message = f"_commit {version.commit} is not a release in the template's history"
        return [Issue(id="version.unknown-commit", message=message, actual=version.commit)]
    issues = []
    if version.releases_behind:
        message = (
            f"{version.releases_behind} release(s), {version.days_behind} day(s) behind "
            f"{version.latest}"
        )
        issues.append(
            Issue(
                id="version.behind",
                message=message,
                expected=version.latest,
                actual=version.release,
            )
        )
    if not version.supported:
        message = f"release {version.release} is no longer supported (releases.toml)"
        issues.append(Issue(id="version.unsupported", message=message, actual=version.release))
    return issues


def _unknown_questions(answers: Mapping[str, Any], history: History) -> list[Issue]:
    """Answers to questions the latest release no longer asks."""
    questions = release(history.repo, history.latest.commit).questions
    return [
        Issue(
            id="version.unknown-question",
            path=ANSWERS,
            message=f"answers `{key}`, a question the template no longer asks "
            f"({history.latest.name})",
            actual=key,
        )
        for key in sorted(answers)
        if not key.startswith("_") and key not in questions
    ]


# Rendering


def _render(repo: Path, commit: str, answers: Mapping[str, Any]) -> Mapping[str, bytes]:
    return _render_cached(repo, commit, json.dumps(answers, sort_keys=True, default=str))


@functools.lru_cache(maxsize=64)
def _render_cached(repo: Path, commit: str, answers: str) -> Mapping[str, bytes]:
    """Services with the same release and answers share one render."""
    return release(repo, commit).render(json.loads(answers)).files


# Gates and update risk


def _weakened(
    rendered: Mapping[str, bytes], files: Mapping[str, bytes], today: dt.date
) -> tuple[Issue, ...]:
    """Weakened gates; a service whose gate files are the template's skips the parsing."""
    template = {path: content for path, content in rendered.items() if reads(path)}
    service = {path: content for path, content in files.items() if reads(path)}
    if template == service:
        return ()
    return weakened_gates(template=template, service=service, today=today)


def _risk(
    subject: _Subject,
    rendered: Mapping[str, bytes],
    target: Mapping[str, bytes],
    files: Mapping[str, bytes],
) -> UpdateRisk:
    latest = subject.history.latest
    if subject.commit == latest.commit:
        return UpdateRisk(target=latest.name)
    template = release(subject.history.repo, latest.commit)
    answers = {**subject.answers, "_commit": latest.tag}

    def render(source: str) -> str:
        return template.render_string(source, answers, extra={"_copier_operation": "update"})

    def patterns(key: str) -> list[str]:
        rendered_patterns = (render(str(p)) for p in template.copier_yml.get(key, []))
        return [pattern for pattern in rendered_patterns if pattern.strip()]

    return predict_update(
        base=rendered,
        target=target,
        service=files,
        skip_if_exists=patterns("_skip_if_exists"),
        exclude=patterns("_exclude"),
        moves=moves(
            template.copier_yml, after=subject.release.version, upto=latest.version, render=render
        ),
        target_release=latest.name,
    )
