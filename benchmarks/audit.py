"""`gates audit` of a synthetic fleet, next to the naive way (a `copier copy` and diff per service).

The fleet: services generated from this project's releases (tests/_releases.py: 0.1.0, 0.2.0
and this tree as the next release), mixed answer sets from the option matrix's pairwise
cover, each with its own name; about 10% carry an edited enforced file and 5% a weakened
gate. They are written from the audit's renderer, which tests/test_audit_render.py holds
byte-identical to `copier copy`, so building 1000 takes a minute or two, not an hour; pass
`--fleet DIR` to keep and reuse them.

The audit runs as a platform team runs it (`gates audit --template ... --discover ...`, one
process, both cores). The naive way renders each service with `copier copy` at its release
and compares the files; it is timed on a sample and scaled to the fleet. Samples alternate,
so the machine's noise hits both alike.

    uv run python -m benchmarks.audit --services 1000 --repeat 3 --sample 10
"""

from __future__ import annotations

import argparse
import filecmp
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy
from paved_gates._audit._render import RenderError, release

from benchmarks._timing import clean_env
from tests._fleet_repos import write_service
from tests._releases import next_version, template_repo
from tests.test_matrix import COVER, DEFAULTS

GATES = str(Path(sys.executable).with_name("gates"))
ENFORCED_EDIT = "src/{pkg}/core/clock.py"


def _answer_sets() -> list[dict[str, Any]]:
    return [DEFAULTS, *COVER]


#: (tag, share of the fleet): most services recent, a tail on the oldest release.
RELEASES = ((f"v{next_version()}", 0.5), ("v0.2.0", 0.35), ("v0.1.0", 0.15))


def _commit(template: Path, tag: str) -> str:
    return subprocess.run(
        ["git", "-C", str(template), "rev-parse", f"{tag}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def build_fleet(template: Path, root: Path, count: int, seed: int) -> list[Path]:
    """`count` committed service repositories under `root` (see the module docstring)."""
    rng = random.Random(seed)
    tags = [tag for tag, _ in RELEASES]
    weights = [weight for _, weight in RELEASES]
    commits = {tag: _commit(template, tag) for tag in tags}
    repos = []
    started = time.monotonic()
    for index in range(count):
        tag = rng.choices(tags, weights)[0]
        files = _render_service(template, tag, commits[tag], index, rng)
        repos.append(write_service(root / f"svc-{index:04d}", _edited(files, index, rng)))
        if (index + 1) % 100 == 0:
            rate = (index + 1) / (time.monotonic() - started)
            print(f"fleet: {index + 1}/{count} services written, {rate:.0f}/s", file=sys.stderr)
    return repos


def _render_service(
    template: Path, tag: str, commit: str, index: int, rng: random.Random
) -> dict[str, bytes]:
    """A service at `tag` with a random answer set that release accepts (defaults otherwise)."""
    name = f"svc-{index:04d}"
    base = {"service_name": name, "_commit": tag, "_src_path": str(template)}
    for answers in rng.sample(_answer_sets(), 3):
        try:
            return dict(release(template, commit).render({**answers, **base}).files)
        except RenderError:  # an option that release did not offer yet
            continue
    return dict(release(template, commit).render(base).files)


def _edited(files: dict[str, bytes], index: int, rng: random.Random) -> dict[str, bytes]:
    roll = rng.random()
    package = f"svc_{index:04d}"
    if roll < 0.10:
        path = ENFORCED_EDIT.format(pkg=package)
        if path in files:
            files[path] += b"\n# local patch\nPATCHED = True\n"
    elif roll < 0.15:  # the flake gate switched off, the coverage bar lowered
        weakened = files["pyproject.toml"].replace(b'"flake", ', b"", 1)
        files["pyproject.toml"] = weakened.replace(b"total = 85", b"total = 60", 1)
    return files


def time_audit(template: Path, fleet: Path, out: Path) -> float:
    """Wall time of one `gates audit` of the whole fleet."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    proc = subprocess.run(
        [
            GATES,
            "audit",
            "--template",
            str(template),
            "--discover",
            str(fleet),
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in {0, 1}:
        raise SystemExit(f"gates audit exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed


def time_naive(template: Path, repos: list[Path], where: Path) -> float:
    """Mean seconds per service of `copier copy` at its release plus a comparison of files."""
    started = time.perf_counter()
    for repo in repos:
        answers = yaml.safe_load((repo / ".copier-answers.yml").read_text(encoding="utf-8"))
        dst = where / repo.name
        shutil.rmtree(dst, ignore_errors=True)
        run_copy(
            str(template),
            dst,
            data=_questions(answers),
            defaults=True,
            unsafe=True,
            skip_tasks=True,
            vcs_ref=answers["_commit"],
            quiet=True,
        )
        _differing(dst, repo)
    return (time.perf_counter() - started) / len(repos)


def _differing(rendered: Path, repo: Path) -> list[str]:
    """Rendered files whose content the service does not have."""
    return [
        str(path.relative_to(rendered))
        for path in rendered.rglob("*")
        if path.is_file()
        and not filecmp.cmp(path, repo / path.relative_to(rendered), shallow=False)
    ]


def _questions(answers: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def _fleet(root: Path, count: int, seed: int) -> tuple[Path, list[Path]]:
    """The template repository and the services under `root`, built unless already there."""
    template, services = root / "template", root / "services"
    built = sorted(services.glob("svc-*")) if services.exists() else []
    if len(built) == count and (template / ".git").exists():
        return template, built
    shutil.rmtree(root, ignore_errors=True)
    print(f"fleet: building {count} services in {services}", file=sys.stderr)
    template_repo(template)
    return template, build_fleet(template, services, count, seed)


def main(argv: list[str] | None = None) -> int:
    """Time the audit of the fleet against the naive way, `--repeat` rounds; print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=10, help="services timed the naive way")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fleet", type=Path, help="keep (or reuse) the fleet in this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as scratch:
        work = Path(scratch)
        template, services = _fleet(args.fleet or work / "fleet", args.services, args.seed)
        sample = random.Random(args.seed).sample(services, args.sample)
        audits, naive = [], []
        for round_ in range(args.repeat):
            audits.append(time_audit(template, services[0].parent, work / "out"))
            naive.append(time_naive(template, sample, work / "naive"))
            print(
                f"round {round_ + 1}: audit {audits[-1]:.1f} s, naive {naive[-1]:.2f} s/service",
                file=sys.stderr,
            )
        _report(args.services, audits, naive, args.sample)
    return 0


def _report(count: int, audits: list[float], naive: list[float], sample: int) -> None:
    audit = statistics.median(audits)
    per_service = statistics.median(naive)
    print(f"Fleet audit of {count} services (median of {len(audits)} runs, 2 cores):\n")
    print("| way | median wall s | per service ms | vs audit |")
    print("|---|---|---|---|")
    print(f"| `gates audit` (whole fleet) | {audit:.1f} | {audit / count * 1000:.1f} | 1.0x |")
    naive_total = per_service * count
    print(
        f"| naive: `copier copy` + diff per service (sample of {sample}, scaled) "
        f"| {naive_total:.0f} | {per_service * 1000:.0f} | {naive_total / audit:.0f}x |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
