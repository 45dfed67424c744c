"""Delivery and operations files of a generated service, checked statically and offline."""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from tests._delivery_tools import kubernetes_errors, promql_errors, run_binary, schema_errors

pytestmark = pytest.mark.filterwarnings("ignore::copier.errors.DirtyLocalWarning")

REPO = Path(__file__).resolve().parent.parent
K8S_DIR = Path("deploy/kubernetes")
# Oldest Kubernetes minor the manifests support, and the newest the schemas know.
K8S_VERSIONS = ("1.32.0", "1.37.0")
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
DELIVERY_FILES = (
    "Dockerfile",
    ".dockerignore",
    "compose.yaml",
    "catalog-info.yaml",
    ".pre-commit-config.yaml",
    "deploy",
    "docs/adr",
    "ops",
    ".github",
)


@dataclass(frozen=True, kw_only=True)
class Service:
    """A service rendered from the working tree of the template."""

    root: Path
    answers: dict[str, Any]

    def yaml(self, path: str | Path) -> Any:
        return yaml.safe_load((self.root / path).read_text(encoding="utf-8"))

    def manifests(self) -> list[dict[str, Any]]:
        docs = []
        for path in sorted((self.root / K8S_DIR).glob("*.yaml")):
            if path.name != "kustomization.yaml":
                docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        return docs

    def only(self, kind: str) -> dict[str, Any]:
        found = [m for m in self.manifests() if m["kind"] == kind]
        assert len(found) == 1, f"expected one {kind}, found {len(found)}"
        return found[0]


def _render(src: Path, dst: Path, data: dict[str, Any]) -> Service:
    # vcs_ref="HEAD": copier folds uncommitted changes of a local checkout into the render.
    copier.run_copy(
        str(src),
        str(dst),
        data=data,
        defaults=True,
        unsafe=True,
        skip_tasks=True,
        quiet=True,
        vcs_ref="HEAD",
    )
    answers = yaml.safe_load((dst / ".copier-answers.yml").read_text(encoding="utf-8"))
    return Service(root=dst, answers=answers)


VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "orders-api": {
        "service_name": "orders-api",
        "owner": "team-orders",
        "description": "Orders: placing, paying and tracking them",
        "coverage_total": 90,
        "coverage_critical": 95,
    },
    "prometheus-compose": {"observability": "prometheus", "deploy": "compose"},
    "logs-kubernetes": {"observability": "logs", "deploy": "kubernetes"},
    "logs-none": {"observability": "logs", "deploy": "none"},
    "postgresql": {"database": "postgresql"},
    "mysql-compose-logs": {"database": "mysql", "deploy": "compose", "observability": "logs"},
    "redis": {"cache": "redis"},
    "redis-logs-compose": {"cache": "redis", "observability": "logs", "deploy": "compose"},
}


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Service:
    return _render(REPO, tmp_path_factory.mktemp("service"), VARIANTS[request.param])


def _has_kubernetes(answers: dict[str, Any]) -> bool:
    return bool(answers["deploy"] == "kubernetes")


def _has_container(answers: dict[str, Any]) -> bool:
    return answers["deploy"] in {"kubernetes", "compose"}


def _has_metrics(answers: dict[str, Any]) -> bool:
    return answers["observability"] in {"otel", "prometheus"}


def _has_tracing(answers: dict[str, Any]) -> bool:
    return bool(answers["observability"] == "otel")


def _has_redis(answers: dict[str, Any]) -> bool:
    return bool(answers["cache"] == "redis")


# Checks of optional files run where the answers generate them; whether they are generated
# at all is `test_files_follow_the_answers`.
@pytest.fixture
def kubernetes(service: Service) -> None:
    if not _has_kubernetes(service.answers):
        pytest.skip(f"deploy={service.answers['deploy']} generates no Kubernetes manifests")


@pytest.fixture
def container(service: Service) -> None:
    if not _has_container(service.answers):
        pytest.skip(f"deploy={service.answers['deploy']} generates no image")


@pytest.fixture
def metrics(service: Service) -> None:
    if not _has_metrics(service.answers):
        pytest.skip(f"observability={service.answers['observability']} generates no metrics")


def test_files_follow_the_answers(service: Service) -> None:
    generated = {
        "deploy/kubernetes": _has_kubernetes(service.answers),
        "Dockerfile": _has_container(service.answers),
        ".dockerignore": _has_container(service.answers),
        "compose.yaml": _has_container(service.answers),
        "ops": _has_metrics(service.answers),
    }
    assert {path: (service.root / path).exists() for path in generated} == generated
    if not _has_kubernetes(service.answers):
        assert not (service.root / "deploy").exists()


def test_telemetry_settings_follow_observability(service: Service) -> None:
    tracing, metrics = _has_tracing(service.answers), _has_metrics(service.answers)
    if _has_container(service.answers):
        app = service.yaml("compose.yaml")["services"]["app"]
        assert ("OTEL_SERVICE_NAME" in app["environment"]) is tracing
    if _has_kubernetes(service.answers):
        config = service.only("ConfigMap")["data"]
        assert ("OTEL_EXPORTER_OTLP_ENDPOINT" in config) is tracing
        assert ("OTEL_SERVICE_NAME" in config) is tracing
        egress = {
            port["port"]
            for m in service.manifests()
            if m["kind"] == "NetworkPolicy"
            for rule in m["spec"].get("egress", [])
            for port in rule["ports"]
        }
        database_port = {"sqlite": set(), "postgresql": {5432}, "mysql": {3306}}
        redis = {6379} if _has_redis(service.answers) else set()
        expected = {53} | ({4317, 4318} if tracing else set())
        assert egress == expected | database_port[service.answers["database"]] | redis
        pod = service.only("Deployment")["spec"]["template"]["metadata"]
        scrape = pod.get("annotations", {}).get("prometheus.io/scrape")
        assert scrape == ("true" if metrics else None)
    catalog = service.yaml("catalog-info.yaml")["metadata"]["annotations"]
    assert ("paved.dev/runbooks" in catalog) is metrics
    assert ("backstage.io/kubernetes-id" in catalog) is _has_kubernetes(service.answers)


def _containers(pod_spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from pod_spec.get("initContainers", [])
    yield from pod_spec["containers"]


def _pod_spec(service: Service) -> dict[str, Any]:
    spec: dict[str, Any] = service.only("Deployment")["spec"]["template"]["spec"]
    return spec


# Kubernetes


@pytest.mark.usefixtures("kubernetes")
def test_kustomization_lists_every_manifest(service: Service) -> None:
    kustomization = service.yaml(K8S_DIR / "kustomization.yaml")
    on_disk = {p.name for p in (service.root / K8S_DIR).glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(kustomization["resources"]) == sorted(on_disk)
    # The release pipeline retags through `images`: it must name the Deployment's image.
    ((name, tag),) = {tuple(c["image"].split(":")) for c in _containers(_pod_spec(service))}
    assert name == service.answers["service_name"]
    assert kustomization["images"] == [{"name": name, "newTag": tag}]


@pytest.mark.usefixtures("kubernetes")
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_manifests_validate_against_kubernetes_schemas(service: Service, version: str) -> None:
    files = sorted(
        p for p in (service.root / K8S_DIR).glob("*.yaml") if p.name != "kustomization.yaml"
    )
    assert kubernetes_errors(files, version) == []


@pytest.mark.usefixtures("kubernetes")
def test_pods_are_probed_on_the_health_endpoints(service: Service) -> None:
    spec = _pod_spec(service)
    (app,) = spec["containers"]
    ports = {p["name"]: p["containerPort"] for p in app["ports"]}
    assert ports == {"http": 8000}
    expected = {
        "startupProbe": "/healthz",
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
    }
    for probe, path in expected.items():
        assert app[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    # Liveness must not restart a pod that is still booting: the startup probe covers boot.
    startup = app["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 30


@pytest.mark.usefixtures("kubernetes")
def test_every_container_has_requests_and_limits(service: Service) -> None:
    for container in _containers(_pod_spec(service)):
        resources = container["resources"]
        for bound in ("requests", "limits"):
            assert set(resources[bound]) == {"cpu", "memory"}, (container["name"], bound)


@pytest.mark.usefixtures("kubernetes")
def test_every_container_runs_unprivileged(service: Service) -> None:
    spec = _pod_spec(service)
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["runAsUser"] > 0
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    for container in _containers(spec):
        ctx = container["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False, container["name"]
        assert ctx["readOnlyRootFilesystem"] is True, container["name"]
        assert ctx["capabilities"] == {"drop": ["ALL"]}, container["name"]
        assert ctx.get("privileged", False) is False, container["name"]
        assert ctx.get("runAsUser", pod["runAsUser"]) > 0, container["name"]


@pytest.mark.usefixtures("kubernetes")
def test_writable_paths_are_volumes(service: Service) -> None:
    spec = _pod_spec(service)
    volumes = {v["name"]: v for v in spec["volumes"]}
    # Only the SQLite file needs a volume that outlives pods; a server database needs none.
    sqlite = service.answers["database"] == "sqlite"
    writable = {"/tmp", "/app/var"} if sqlite else {"/tmp"}  # noqa: S108
    for container in _containers(spec):
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert set(mounts) == writable, container["name"]
        assert set(mounts.values()) <= set(volumes), container["name"]
    assert "emptyDir" in volumes["tmp"]
    claims = [m for m in service.manifests() if m["kind"] == "PersistentVolumeClaim"]
    if sqlite:
        claim = volumes["data"]["persistentVolumeClaim"]["claimName"]
        assert [c["metadata"]["name"] for c in claims] == [claim]
    else:
        assert set(volumes) == {"tmp"}
        assert claims == []


@pytest.mark.usefixtures("kubernetes")
def test_secrets_come_from_a_secret_object(service: Service) -> None:
    spec = _pod_spec(service)
    secret_names = {"JWT_SECRET", "ADMIN_PASSWORD"}
    for container in _containers(spec):
        env = {e["name"]: e for e in container.get("env", [])}
        assert "value" not in env["JWT_SECRET"]
        assert env["JWT_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "JWT_SECRET"
        assert not any("value" in env[name] for name in secret_names & set(env))
    config = service.only("ConfigMap")
    assert not secret_names & set(config["data"])
    assert config["data"]["ENVIRONMENT"] == "production"
    if service.answers["database"] != "sqlite":  # the server's credentials are in the URL
        for container in _containers(spec):
            env = {e["name"]: e for e in container.get("env", [])}
            assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_URL"
        assert "DATABASE_URL" not in config["data"]
    assert not [m for m in service.manifests() if m["kind"] == "Secret"], "secret committed"


def _setting_default(settings: str, name: str) -> float:
    """The default of a setting as `core/settings.py` states it, or 0 when it has none."""
    stated = re.search(rf"^    {name}: \w+ = Field\(default=([\d.]+)", settings, re.MULTILINE)
    return float(stated.group(1)) if stated else 0.0


@pytest.mark.usefixtures("kubernetes")
def test_graceful_shutdown_fits_the_grace_period(service: Service) -> None:
    spec = _pod_spec(service)
    (app,) = spec["containers"]
    # The service drains on SIGTERM itself: a preStop sleep would only delay it.
    assert "preStop" not in app.get("lifecycle", {})
    core = service.root / "src" / service.answers["package_name"] / "core" / "settings.py"
    settings = core.read_text(encoding="utf-8")
    # The manifests run in production, where an unset drain is PRODUCTION_DRAIN_SECONDS.
    assert service.only("ConfigMap")["data"]["ENVIRONMENT"] == "production"
    production_drain = re.search(r"^PRODUCTION_DRAIN_SECONDS = ([\d.]+)$", settings, re.MULTILINE)
    assert production_drain is not None
    drain = float(production_drain.group(1))
    http_grace = _setting_default(settings, "shutdown_grace_seconds")
    grpc_grace = _setting_default(settings, "grpc_shutdown_grace_seconds")
    assert drain > 0
    assert http_grace > 0
    assert spec["terminationGracePeriodSeconds"] >= drain + http_grace + grpc_grace + 5


@pytest.mark.usefixtures("kubernetes")
def test_objects_target_the_deployment(service: Service) -> None:
    deployment = service.only("Deployment")
    name = service.answers["service_name"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    spec = deployment["spec"]["template"]["spec"]

    def selects(selector: dict[str, str]) -> bool:
        return bool(selector) and selector.items() <= labels.items()

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    svc = service.only("Service")
    assert selects(svc["spec"]["selector"])
    assert [p["targetPort"] for p in svc["spec"]["ports"]] == ["http"]
    assert selects(service.only("PodDisruptionBudget")["spec"]["selector"]["matchLabels"])
    hpa = service.only("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    account = service.only("ServiceAccount")
    assert spec["serviceAccountName"] == account["metadata"]["name"] == name
    assert account["automountServiceAccountToken"] is False
    config_refs = {
        ref["configMapRef"]["name"] for c in _containers(spec) for ref in c.get("envFrom", [])
    }
    assert config_refs == {service.only("ConfigMap")["metadata"]["name"]}
    images = {c["image"] for c in _containers(spec)}
    assert len(images) == 1
    (image,) = images
    assert image.startswith(f"{name}:")
    assert not image.endswith(":latest")


@pytest.mark.usefixtures("kubernetes")
def test_sqlite_keeps_a_single_writer(service: Service) -> None:
    if service.answers["database"] != "sqlite":
        pytest.skip("a server database has no single-writer file")
    deployment = service.only("Deployment")
    # Two pods must never write the same SQLite file: no rolling overlap, no scale-out.
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert "replicas" not in deployment["spec"], "replicas belong to the autoscaler"
    hpa = service.only("HorizontalPodAutoscaler")["spec"]
    assert hpa["minReplicas"] == hpa["maxReplicas"] == 1
    pvc = service.only("PersistentVolumeClaim")["spec"]
    assert pvc["accessModes"] == ["ReadWriteOnce"]
    # With one replica, a budget demanding one available pod would block node drains forever.
    pdb = service.only("PodDisruptionBudget")["spec"]
    assert "minAvailable" not in pdb
    assert pdb["maxUnavailable"] == 1


@pytest.mark.usefixtures("kubernetes")
def test_a_server_database_lets_the_service_scale_out(service: Service) -> None:
    if service.answers["database"] not in {"postgresql", "mysql"}:
        pytest.skip("only a server database is shared by replicas")
    deployment = service.only("Deployment")
    # A new pod serves before an old one goes: no gap at a rollout.
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    assert "replicas" not in deployment["spec"], "replicas belong to the autoscaler"
    hpa = service.only("HorizontalPodAutoscaler")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 4)
    # Two replicas and one eviction at a time: a drain always leaves one serving.
    pdb = service.only("PodDisruptionBudget")["spec"]
    assert "minAvailable" not in pdb
    assert pdb["maxUnavailable"] == 1


@pytest.mark.usefixtures("kubernetes")
def test_network_policy_denies_by_default_and_admits_http(service: Service) -> None:
    policies = [m for m in service.manifests() if m["kind"] == "NetworkPolicy"]
    labels = service.only("Deployment")["spec"]["template"]["metadata"]["labels"]
    for policy in policies:
        assert policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    deny = [
        p["spec"]
        for p in policies
        if set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and "ingress" not in p["spec"]
        and "egress" not in p["spec"]
    ]
    assert deny, "no default-deny policy"
    ingress_ports = [
        port for p in policies for rule in p["spec"].get("ingress", []) for port in rule["ports"]
    ]
    assert ingress_ports == [{"port": 8000, "protocol": "TCP"}]


# Image


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", dockerfile)
    found = []
    for line in joined.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions:
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


@pytest.mark.usefixtures("container")
def test_dockerfile_is_multi_stage_built_with_uv(service: Service) -> None:
    instructions = _instructions((service.root / "Dockerfile").read_text(encoding="utf-8"))
    stages = _stages(instructions)
    assert len(stages) >= 3
    froms = [stage[0][1] for stage in stages]
    uv_image = froms[0]
    assert re.fullmatch(r"ghcr\.io/astral-sh/uv:\d+\.\d+\.\d+@sha256:[0-9a-f]{64} AS uv", uv_image)
    builder = " ".join(rest for _, rest in stages[1])
    assert "uv sync --frozen --no-dev" in builder
    runtime = stages[-1]
    runtime_text = " ".join(f"{k} {r}" for k, r in runtime)
    assert "uv" not in {r.split()[-1] for k, r in runtime if k == "COPY"}
    assert not re.search(r"apt-get install|gcc|build-essential|/uv\b", runtime_text)
    assert "COPY --from=builder /app/.venv /app/.venv" in runtime_text


@pytest.mark.usefixtures("container")
def test_dockerfile_pins_base_images(service: Service) -> None:
    instructions = _instructions((service.root / "Dockerfile").read_text(encoding="utf-8"))
    args = dict(
        rest.split("=", 1) for keyword, rest in instructions if keyword == "ARG" and "=" in rest
    )
    stage_names = {rest.split()[-1] for k, rest in instructions if k == "FROM" and " AS " in rest}
    for keyword, rest in instructions:
        if keyword != "FROM":
            continue
        image = rest.split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], image)
        if image in stage_names:
            continue
        assert ":" in image.split("/")[-1] or "@sha256:" in image, f"untagged image {image}"
        assert ":latest" not in image, image
        if image.startswith("python:"):
            assert image == f"python:{_copier_config()['python_version']['default']}-slim-trixie"


@pytest.mark.usefixtures("container")
def test_runtime_runs_the_service_as_non_root(service: Service) -> None:
    instructions = _instructions((service.root / "Dockerfile").read_text(encoding="utf-8"))
    runtime = dict(_stages(instructions)[-1][1:])
    user = [rest for keyword, rest in _stages(instructions)[-1] if keyword == "USER"]
    assert len(user) == 1
    uid, _, gid = user[0].partition(":")
    assert re.fullmatch(r"[1-9]\d*", uid), "numeric, non-zero uid"
    assert re.fullmatch(r"[1-9]\d*", gid), "numeric, non-zero gid"
    env = dict(item.split("=", 1) for item in shlex.split(runtime["ENV"]))
    assert env["HOST"] == "0.0.0.0"  # noqa: S104 - the container's only interface to the pod
    assert env["PORT"] == "8000"
    assert runtime["EXPOSE"] == "8000"
    assert json.loads(runtime["CMD"]) == ["python", "-m", service.answers["package_name"]]


@pytest.mark.usefixtures("container")
def test_dockerfile_copies_what_the_service_has(service: Service) -> None:
    instructions = _instructions((service.root / "Dockerfile").read_text(encoding="utf-8"))
    sources = {"pyproject.toml"}  # bind-mounted next to uv.lock, which `uv lock` creates
    for keyword, rest in instructions:
        if keyword == "COPY" and not rest.startswith("--"):
            sources.update(rest.split()[:-1])
    sources.discard(".")
    assert sources >= {"alembic.ini", "migrations"}
    assert [s for s in sorted(sources) if not (service.root / s).exists()] == []


@pytest.mark.usefixtures("container")
def test_dockerfile_passes_hadolint(service: Service) -> None:
    done = run_binary(
        "hadolint", "--no-color", "--failure-threshold", "style", "Dockerfile", cwd=service.root
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _ignored(patterns: list[str], path: str) -> bool:
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw.removeprefix("!").strip("/")
        candidates = [pattern, pattern.removeprefix("**/")]
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        hit = any(fnmatch.fnmatchcase(prefix, c) for prefix in prefixes for c in candidates)
        if pattern.startswith("**/"):
            hit = hit or any(fnmatch.fnmatchcase(part, pattern[3:]) for part in parts)
        if hit:
            ignored = not negate
    return ignored


@pytest.mark.usefixtures("container")
def test_dockerignore_keeps_secrets_out_and_sources_in(service: Service) -> None:
    patterns = [
        line.strip()
        for line in (service.root / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    package = service.answers["package_name"]
    needed = [
        "pyproject.toml",
        "uv.lock",
        "README.md",
        f"src/{package}/__init__.py",
        "alembic.ini",
        "migrations/env.py",
        "tools/gates/pyproject.toml",
    ]
    assert [p for p in needed if _ignored(patterns, p)] == []
    kept_out = [
        ".git/config",
        ".venv/bin/python",
        ".env",
        ".env.production",
        "var/app.db",
        f"src/{package}/__pycache__/x.pyc",
        "gate-results/lint.json",
        "tests/test_app.py",
    ]
    assert [p for p in kept_out if not _ignored(patterns, p)] == []


@pytest.mark.usefixtures("container")
def test_compose_runs_the_image_for_local_development(service: Service) -> None:
    assert schema_errors("vendor.compose-spec", [service.root / "compose.yaml"]) == []
    compose = service.yaml("compose.yaml")
    app = compose["services"]["app"]
    assert app["build"] == "."
    assert app["environment"]["ENVIRONMENT"] == "development"
    assert app["ports"] == ["127.0.0.1:8000:8000"]
    assert "data:/app/var" in app["volumes"]
    assert "data" in compose["volumes"]
    assert app["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    assert compose["services"]["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert not any(":latest" in s.get("image", "") for s in compose["services"].values())
    if service.answers["database"] != "sqlite":
        db = compose["services"]["db"]
        assert db["healthcheck"]["test"]
        assert "db:/var/lib/" in db["volumes"][0]
        for name in ("migrate", "app"):
            depends = compose["services"][name]["depends_on"]
            assert depends["db"] == {"condition": "service_healthy"}, name
        assert "@db:" in app["environment"]["DATABASE_URL"]


def test_redis_runs_wherever_the_service_needs_it(service: Service) -> None:
    redis = _has_redis(service.answers)
    jobs = _gates_workflow(service)["jobs"]
    for name in ("tests", "flake"):
        container = jobs[name].get("services", {}).get("redis")
        assert (container is not None) is redis, name
        if container:
            assert re.search(r"^redis:[\w.-]+@sha256:[0-9a-f]{64}$", container["image"])
    if _has_container(service.answers):
        compose = service.yaml("compose.yaml")["services"]
        assert ("redis" in compose) is redis
        if redis:
            assert compose["app"]["depends_on"]["redis"] == {"condition": "service_healthy"}
            assert compose["app"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
            assert "ports" not in compose["redis"], "Redis stays off the host's network"
    if _has_kubernetes(service.answers):
        for container in _containers(_pod_spec(service)):
            env = {e["name"]: e for e in container.get("env", [])}
            assert ("REDIS_URL" in env) is redis
            if redis:
                assert env["REDIS_URL"]["valueFrom"]["secretKeyRef"]["key"] == "REDIS_URL"
        assert "REDIS_URL" not in service.only("ConfigMap")["data"]


# CI and local hooks


def _workflows(service: Service) -> list[tuple[Path, dict[Any, Any]]]:
    paths = sorted((service.root / ".github/workflows").glob("*.y*ml"))
    assert paths
    return [(p, yaml.safe_load(p.read_text(encoding="utf-8"))) for p in paths]


def test_workflow_actions_are_pinned_by_commit(service: Service) -> None:
    for path, _ in _workflows(service):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "uses:" not in line:
                continue
            ref, _, comment = line.split("uses:", 1)[1].partition("#")
            assert SHA_PIN.match(ref.strip()), line
            assert re.fullmatch(r" v\d+(\.\d+)*", comment), f"no version comment: {line}"


def test_workflow_permissions_are_least(service: Service) -> None:
    for path, workflow in _workflows(service):
        assert workflow["permissions"] == {}, path.name
        assert workflow["concurrency"]["group"], path.name
        # Only the template-update job writes: it pushes a branch and opens a pull request.
        may_write = {"contents", "pull-requests"} if path.name == "template-update.yml" else set()
        for name, job in workflow["jobs"].items():
            writes = {scope for scope, access in job["permissions"].items() if access == "write"}
            assert writes <= may_write, name
            assert set(job["permissions"].values()) <= {"read", "write", "none"}, name
            assert 0 < job["timeout-minutes"] <= 60, name
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, name
                assert "${{" not in step.get("run", ""), f"expression in run: {name}"


def _gates_workflow(service: Service) -> dict[Any, Any]:
    path = service.root / ".github/workflows/gates.yml"
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def test_workflow_runs_every_enabled_gate_with_the_local_command(service: Service) -> None:
    workflow = _gates_workflow(service)
    triggers = workflow[True]  # PyYAML reads the `on:` key as YAML 1.1's boolean
    assert set(triggers) == {"pull_request", "push", "schedule", "workflow_dispatch"}
    assert triggers["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    runs = {
        name: [step["run"] for step in job["steps"] if "run" in step] for name, job in jobs.items()
    }
    assert runs == {
        "gate": ["uv sync --locked", 'uv run gates "$GATE"'],
        "tests": ["uv sync --locked", "uv run gates tests", "uv run gates coverage"],
        "flake": ["uv sync --locked", "uv run gates flake"],
    }
    in_ci = {*jobs["gate"]["strategy"]["matrix"]["gate"], "tests", "coverage", "flake"}
    pyproject = tomllib.loads((service.root / "pyproject.toml").read_text(encoding="utf-8"))
    assert in_ci == set(pyproject["tool"]["gates"]["enabled"])
    for job in jobs.values():
        uploads = [s for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
        assert len(uploads) == 1
        assert uploads[0]["if"] == "always()"
        assert uploads[0]["with"]["path"] == "gate-results/"
    for name in ("gate", "tests"):
        checkout = jobs[name]["steps"][0]
        assert checkout["with"]["fetch-depth"] == 0, f"{name} compares with the base commit"
    assert "pull_request.base.sha" in workflow["env"]["GATES_BASE"]
    flake_env = jobs["flake"]["steps"][-2]["env"]
    assert "schedule" in flake_env["GATES_FLAKE_RUNS"], "the nightly run reruns more"


def test_workflows_match_the_github_schema(service: Service) -> None:
    paths = [p for p, _ in _workflows(service)]
    assert schema_errors("vendor.github-workflows", paths) == []


def test_zizmor_pedantic_finds_nothing(service: Service) -> None:
    done = run_binary(
        "zizmor", "--offline", "--pedantic", "--no-progress", ".github/workflows", cwd=service.root
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No findings" in done.stdout + done.stderr


def test_pre_commit_hooks_are_local_and_locked(service: Service) -> None:
    done = run_binary("pre-commit", "validate-config", ".pre-commit-config.yaml", cwd=service.root)
    assert done.returncode == 0, done.stdout + done.stderr
    config = service.yaml(".pre-commit-config.yaml")
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = config["repos"][0]["hooks"]
    assert {h["id"] for h in hooks} >= {"ruff-format", "ruff-check", "gates-lint"}
    for hook in hooks:
        assert hook["language"] == "system", hook["id"]
        assert hook["entry"].startswith("uv run --frozen "), hook["id"]


# Catalog and decisions


def test_catalog_records_the_template_version(service: Service) -> None:
    catalog = service.yaml("catalog-info.yaml")
    assert catalog["apiVersion"] == "backstage.io/v1alpha1"
    assert catalog["kind"] == "Component"
    assert catalog["metadata"]["name"] == service.answers["service_name"]
    assert catalog["metadata"]["description"] == service.answers["description"]
    assert catalog["spec"]["owner"] == service.answers["owner"]
    assert catalog["spec"]["type"] == "service"
    annotations = catalog["metadata"]["annotations"]
    assert annotations["paved.dev/template-version"] == str(service.answers["_commit"])
    assert annotations["paved.dev/template-source"] == service.answers["_src_path"]


def test_catalog_renders_from_a_template_without_history(
    tmp_path: Path,
) -> None:
    source = tmp_path / "paved"
    shutil.copytree(
        REPO,
        source,
        symlinks=True,
        ignore=shutil.ignore_patterns(".git", ".venv", "*cache*", "__pycache__", "node_modules"),
    )
    service = _render(source, tmp_path / "service", {"description": "Orders: 'quoted', #1"})
    assert "_commit" not in service.answers
    catalog = service.yaml("catalog-info.yaml")
    assert catalog["metadata"]["annotations"]["paved.dev/template-version"] == "unversioned"
    assert catalog["metadata"]["description"] == "Orders: 'quoted', #1"


def _copier_config() -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / "copier.yml").read_text(encoding="utf-8"))
    return config


def _questions() -> dict[str, dict[str, Any]]:
    return {
        key: value
        for key, value in _copier_config().items()
        if not key.startswith("_") and isinstance(value, dict) and value.get("when") is not False
    }


def test_adr_lists_every_answer(service: Service) -> None:
    adr = (service.root / "docs/adr/0001-service-choices.md").read_text(encoding="utf-8")
    table = {
        m.group(1): m.group(2).strip()
        for m in re.finditer(r"^\| `(\w+)` \| (.+) \|$", adr, flags=re.MULTILINE)
    }
    questions = _questions()
    assert set(questions) <= set(table), sorted(set(questions) - set(table))
    for key in questions:
        value = service.answers[key]
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        assert shown in table[key], key
    assert (service.root / "docs/adr/README.md").is_file()
    assert (service.root / "docs/adr/template.md").is_file()
    # Every option chosen has its reasons written down, not an empty section.
    sections = re.split(r"^### ", adr, flags=re.MULTILINE)[1:]
    assert all(len(section.split("\n", 1)[1].strip()) > 100 for section in sections), sections


# Operations


def _rules(service: Service) -> list[dict[str, Any]]:
    rules = service.yaml("ops/prometheus/alerts.yaml")
    return [rule for group in rules["groups"] for rule in group["rules"]]


@pytest.mark.usefixtures("metrics")
def test_every_alert_links_an_existing_runbook(service: Service) -> None:
    alerts = [r for r in _rules(service) if "alert" in r]
    assert alerts
    linked = set()
    for alert in alerts:
        runbook = service.root / alert["annotations"]["runbook_url"]
        assert runbook.is_file(), alert["alert"]
        assert runbook.read_text(encoding="utf-8").startswith(f"# {alert['alert']}\n")
        assert alert["labels"]["severity"] in {"page", "ticket"}, alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]
        linked.add(runbook.name)
    on_disk = {p.name for p in (service.root / "ops/runbooks").glob("*.md")}
    assert on_disk == linked, "runbooks without an alert"


@pytest.mark.usefixtures("metrics")
def test_runbooks_name_only_what_the_service_runs(service: Service) -> None:
    for runbook in sorted((service.root / "ops/runbooks").glob("*.md")):
        text = runbook.read_text(encoding="utf-8")
        if not _has_kubernetes(service.answers):
            assert "kubectl" not in text, runbook.name
            assert "deploy/kubernetes" not in text, runbook.name
        if not _has_tracing(service.answers):
            assert "trace" not in text.lower(), runbook.name


@pytest.mark.usefixtures("metrics")
def test_alert_rules_are_valid_promql_on_the_service_metrics(service: Service) -> None:
    rules = _rules(service)
    assert promql_errors([r["expr"] for r in rules]) == []
    recorded = {r["record"] for r in rules if "record" in r}
    exprs = "\n".join(r["expr"] for r in rules)
    used = set(re.findall(r"\b([a-z_]+:slo_[a-z_]+:ratio_rate\w+)\b", exprs))
    assert used == recorded, used ^ recorded
    metrics = set(re.findall(r"\b(http_[a-z_]+)\{", exprs))
    assert metrics == {"http_requests_total", "http_request_duration_seconds_bucket"}
    assert len(recorded) == 14, "availability and latency ratios over 7 windows each"
    job = f'job="{service.answers["service_name"]}"'
    assert all(job in r["expr"] for r in rules)
    slos = {r["labels"]["slo"] for r in rules if "alert" in r and "slo" in r["labels"]}
    assert slos == {"availability", "latency"}


@pytest.mark.usefixtures("metrics")
def test_dashboard_shows_red_panels_for_the_service(service: Service) -> None:
    dashboard = json.loads((service.root / "ops/grafana/dashboard.json").read_text("utf-8"))
    name = service.answers["service_name"]
    assert dashboard["uid"] == name
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    exprs = [t["expr"] for p in panels for t in p.get("targets", [])]
    grafana_vars = {"$__rate_interval": "5m", "$__range": "1d"}
    concrete = [re.sub(r"\$__\w+", lambda m: grafana_vars[m.group(0)], e) for e in exprs]
    assert promql_errors(concrete) == []
    assert all(f'job="{name}"' in e for e in exprs)
    joined = "\n".join(exprs)
    assert "rate(http_requests_total" in joined  # rate
    assert 'status=~"5.."' in joined  # errors
    assert "histogram_quantile(" in joined  # duration


def test_no_template_syntax_left(service: Service) -> None:
    optional = {
        "Dockerfile": _has_container(service.answers),
        ".dockerignore": _has_container(service.answers),
        "compose.yaml": _has_container(service.answers),
        "deploy": _has_kubernetes(service.answers),
        "ops": _has_metrics(service.answers),
    }
    for entry in DELIVERY_FILES:
        if not optional.get(entry, True):
            continue
        root = service.root / entry
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        assert paths, entry
        for path in paths:
            text = path.read_text(encoding="utf-8")
            assert "{%" not in text, path
            assert not re.search(r"(?<!\$)\{\{", text), path
            if service.answers["service_name"] != "my-service":
                assert "my-service" not in text, f"default name hard-coded in {path}"
