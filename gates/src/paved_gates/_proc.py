"""Running the tools a gate drives, from the same environment as paved-gates itself."""

from __future__ import annotations

import codecs
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ._console import progress
from ._errors import ToolError

__all__ = ["ToolRun", "executable", "python_module", "run_tool"]


@dataclass(frozen=True, kw_only=True)
class ToolRun:
    """A finished tool process, its output captured."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float

    def tail(self, lines: int = 20) -> str:
        """The last lines of the combined output, for a finding or an error message."""
        text = (self.stdout + "\n" + self.stderr).strip()
        return "\n".join(text.splitlines()[-lines:])


def python_module(module: str, *, package: str | None = None) -> list[str]:
    """The command line that runs `python -m <module>` with this interpreter.

    Raises:
        ToolError: the module is not installed next to paved-gates.
    """
    if importlib.util.find_spec(module) is None:
        raise ToolError(tool=package or module, message="not installed in this environment")
    return [sys.executable, "-m", module]


def executable(name: str) -> str:
    """The path of a console script: the one next to this interpreter, else on PATH.

    Raises:
        ToolError: no such executable.
    """
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise ToolError(tool=name, message="not installed in this environment")
    return found


def run_tool(
    args: Sequence[str],
    *,
    cwd: Path,
    gate: str,
    label: str,
    env: Mapping[str, str] | None = None,
    quiet: bool = False,
    echo: bool = False,
) -> ToolRun:
    """Run one tool to completion in `cwd`, announcing it as `label`, output captured.

    `env` entries are added to (not substituted for) the current environment; `quiet`
    skips the progress line (for quick helper commands such as git plumbing); `echo` also
    copies the tool's output to stderr as it comes, so a long run shows its own progress
    (its stdout and stderr are then one stream, kept as `stdout`).

    Raises:
        ToolError: the executable could not be started at all.
    """
    if not quiet:
        progress(gate, f"running {label}")
    started = time.monotonic()
    environment = {**os.environ, **env} if env else None
    try:
        if echo:
            returncode, stdout, stderr = _echoed(args, cwd=cwd, env=environment)
        else:
            completed = subprocess.run(
                list(args),
                cwd=cwd,
                env=environment,
                capture_output=True,
                text=True,
                errors="replace",
                check=False,
            )
            returncode, stdout, stderr = completed.returncode, completed.stdout, completed.stderr
    except OSError as exc:
        raise ToolError(tool=label, message=f"cannot start: {exc}") from None
    return ToolRun(
        args=tuple(args),
        returncode=returncode,
        stdout=stdout,
        stderr=stderr,
        duration_s=time.monotonic() - started,
    )


def _echoed(
    args: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None
) -> tuple[int, str, str]:
    """Run to completion, copying the merged output to stderr chunk by chunk as it comes."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    chunks: list[str] = []
    with subprocess.Popen(
        list(args), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        stream = process.stdout  # a pipe, as asked
        while stream is not None and (data := os.read(stream.fileno(), 65536)):
            text = decoder.decode(data)
            chunks.append(text)
            sys.stderr.write(text)
            sys.stderr.flush()
        returncode = process.wait()
    chunks.append(decoder.decode(b"", final=True))
    return returncode, "".join(chunks), ""
