"""Generate the Python modules of ``proto/`` (``make proto``): messages, services, typed stubs.

Each ``proto/<package>/<feature>/v<N>/<name>.proto`` becomes ``src/<package>/<feature>/v<N>/``
``<name>_pb2.py`` and ``<name>_pb2_grpc.py``, with ``.pyi`` stubs from mypy-protobuf so that
``mypy --strict`` checks the code that uses them. The output is committed; a test holds it
equal to what ``proto/`` generates. Needs the dev dependencies (grpcio-tools, mypy-protobuf).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from grpc_tools import protoc

__all__ = ["generate", "main"]

_INIT = '"""Generated from {source} by `make proto`: do not edit."""\n'


def _plugin(name: str) -> str:
    executable = Path(sys.executable).parent / name
    return f"--plugin={name}={executable}"


def generate(*, proto_root: Path, out: Path) -> list[Path]:
    """Generate the modules of every ``.proto`` under ``proto_root`` into ``out``.

    Returns:
        The generated files, ``__init__.py`` of each proto directory included.

    Raises:
        RuntimeError: protoc rejected a file (its message is on stderr).
    """
    protos = sorted(proto_root.rglob("*.proto"))
    well_known = resources.files("grpc_tools") / "_proto"
    arguments = [
        "protoc",
        f"--proto_path={proto_root}",
        f"--proto_path={well_known}",
        _plugin("protoc-gen-mypy"),
        _plugin("protoc-gen-mypy_grpc"),
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *(str(proto) for proto in protos),
    ]
    if protoc.main(arguments) != 0:
        raise RuntimeError(f"protoc failed on {proto_root}")
    generated: list[Path] = []
    for proto in protos:
        relative = proto.relative_to(proto_root)
        folder = out / relative.parent
        init = folder / "__init__.py"
        init.write_text(_INIT.format(source=(Path(proto_root.name) / relative.parent).as_posix()))
        generated.append(init)
        suffixes = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")
        generated.extend(folder / f"{relative.stem}{suffix}" for suffix in suffixes)
    return sorted(set(generated))


def main(argv: Sequence[str] | None = None) -> int:
    """Regenerate ``src/`` from ``proto/`` in the current directory (the project's root)."""
    argparse.ArgumentParser(
        prog=f"python -m {__package__}.codegen",
        description="Regenerate src/ from proto/ in the project's root (what `make proto` runs).",
    ).parse_args(argv)
    for path in generate(proto_root=Path("proto"), out=Path("src")):
        print(path)  # noqa: T201 - the command's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
