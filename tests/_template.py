"""Render the template and drive rendered services: shared by this repo's tests."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import httpx
import yaml
from copier import run_copy
from jinja2 import Environment, FileSystemLoader

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template"

#: Markers of Jinja left unrendered in an output file.
JINJA_MARKERS = ("{{", "}}", "{%", "%}", "{#", "#}")


def render(dst: Path, answers: Mapping[str, object] | None = None, *, tasks: bool = True) -> Path:
    """Render the working tree of this repo into `dst` with defaults plus `answers`.

    With `tasks`, the post-copy task also runs (git init, `uv sync`, `api/openapi.json`), as
    for a user; checks of the rendered files alone skip it.
    """
    run_copy(
        str(ROOT),
        dst,
        data=dict(answers or {}),
        defaults=True,
        unsafe=True,
        skip_tasks=not tasks,
        vcs_ref="HEAD",  # copier folds uncommitted changes of a local HEAD into the render
        quiet=True,
    )
    return dst


def service_env(**extra: str) -> dict[str, str]:
    """Environment for commands run inside a rendered service, isolated from this repo's venv."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env.update(UV_PYTHON_DOWNLOADS="never", NO_COLOR="1", **extra)
    env.pop("GITHUB_STEP_SUMMARY", None)
    return env


#: A whole `gates all` of a generated service: its suite runs several times (tests, flake
#: reruns, e2e), slow on a loaded 2-core machine; a bound against hangs, not a target.
GATES_TIMEOUT_SECONDS = 1800


def run(
    args: Sequence[str],
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, fail with the tail of its output so the cause is visible."""
    proc = subprocess.run(
        list(args),
        cwd=cwd,
        env=dict(env) if env is not None else service_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and proc.returncode != 0:
        output = (proc.stdout + proc.stderr)[-6000:]
        raise AssertionError(f"{' '.join(args)} exited {proc.returncode} in {cwd}:\n{output}")
    return proc


def readme_section(readme: str, title: str) -> str:
    """The text of the README's `## title` section, up to the next `## ` heading."""
    return readme.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def make_run(service: Path, **env: str) -> Iterator[str]:
    """`make run` in `service`, as its README's quick start does; yields the HTTP base URL.

    The service listens on a free port (`PORT`); `env` adds to its environment. Its output
    goes to `<service>-make-run.log` beside `service` (a file: a long run never fills a pipe,
    and the service's tree stays as generated). It is stopped with SIGTERM, the whole process
    group, when the block ends.
    """
    port = free_port()
    log = service.with_name(f"{service.name}-make-run.log")
    with log.open("w") as output:
        proc = subprocess.Popen(
            ["make", "run"],
            cwd=service,
            env=service_env(PORT=str(port), **env),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(f"{base}/healthz", proc, log)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"make run exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {timeout}s:\n{log.read_text()}")


def text_files(root: Path) -> list[Path]:
    """Every rendered file that is text (the gates package's own files included)."""
    files = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or {".git", ".venv"} & set(path.parts):
            continue
        try:
            path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        files.append(path)
    return files


_QUESTIONS = [key for key in yaml.safe_load((ROOT / "copier.yml").read_text()) if key[0] != "_"]
#: A template variable or tag left in an output file (`${{ }}` of workflows, `{{ $labels }}` of
#: alert rules and Python's `{{` escapes are legitimate output, so only template names count).
_LEFTOVER = re.compile(
    r"\{\{-?\s*(_copier_\w+|" + "|".join(_QUESTIONS) + r")\b"
    r"|\{%-?\s*(if|elif|else|endif|for|endfor|raw|endraw|set|include|macro)\b"
)


def unrendered(root: Path) -> list[str]:
    """Everything in a rendered tree that Jinja should have consumed: leftovers, `.jinja` files,
    and paths whose names still hold braces."""
    found = [
        f"{path.relative_to(root)}:{n}: {line.strip()}"
        for path in text_files(root)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _LEFTOVER.search(line)
    ]
    found += [str(p.relative_to(root)) for p in root.rglob("*.jinja")]
    found += [str(p.relative_to(root)) for p in root.rglob("*") if "{" in p.name or "}" in p.name]
    return found


def destination_conflicts(dst: Path) -> set[str]:
    """What copier.yml's destination check (`hooks/destination.jinja`) finds in `dst`, rendered
    with copier's filters as copier renders it."""
    env = Environment(  # noqa: S701 (plain text, not HTML)
        loader=FileSystemLoader(ROOT),
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
    )
    listed: str = env.get_template("hooks/destination.jinja").module.conflicts(dst)  # type: ignore[attr-defined]
    return set(listed.split(", ")) - {""}
