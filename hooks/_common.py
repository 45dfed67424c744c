"""What the hooks share: merge conflicts, and the environment a service's own tools run in.

Standard library only: the hooks run under whichever Python runs copier. Copier runs them as
scripts (`python <template>/hooks/<hook>.py`), so each one puts this repository's root on
`sys.path` before importing this module as `hooks._common`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

__all__ = ["has_conflict_markers", "service_env", "unmerged_paths"]

#: A line git or copier writes around a conflict: `<<<<<<< before updating`, `=======`, ...
_MARKER = re.compile(r"^(<{7}|>{7}|={7})( |$)", re.MULTILINE)
#: Set by the environment copier itself may run in (`uv run copier ...` in another project);
#: the service's uv commands must use the service's own project and `.venv`.
_FOREIGN = frozenset({"VIRTUAL_ENV", "UV_PROJECT"})


def has_conflict_markers(text: str) -> bool:
    """Whether `text` holds a merge conflict's markers."""
    return _MARKER.search(text) is not None


def unmerged_paths(cwd: Path) -> list[str]:
    """Paths git marks unmerged in the repository at `cwd` (none outside a repository)."""
    listed = subprocess.run(
        ["git", "diff", "--name-only", "--diff-filter=U"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return listed.stdout.splitlines() if listed.returncode == 0 else []


def service_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """`environ` (default: this process's) for a command run in the service with its own uv."""
    source = os.environ if environ is None else environ
    return {key: value for key, value in source.items() if key not in _FOREIGN}
