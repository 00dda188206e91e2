"""deploy/: the compose file against the compose specification's JSON schema, the kustomize
output against Kubernetes' schemas (both shipped in packages, no network), and as data: the
seed's topology, ports and variable names, a healthcheck or probes everywhere, and environment
names that the modules' Settings really read."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import deploy_data as dd
import jsonschema
import kubernetes_validate
import pytest
import yaml

BASE = dd.DEPLOY / "k8s" / "base"
PRODUCTION = dd.DEPLOY / "k8s" / "overlays" / "production"
SECRETISH = re.compile(r"(PASSWORD|SECRET|TOKEN|_PEM)$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dd.load_compose()


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    return {"base": dd.kustomize(BASE), "production": dd.kustomize(PRODUCTION)}


# -- compose ---------------------------------------------------------------------------------

def test_compose_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def test_compose_is_the_seeds_topology(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["avadmin-backend"]["ports"] == ["8000:8000"]
    assert "NEON_DATABASE_URL" in services["avadmin-backend"]["environment"]
    assert "postgres-avadmin" in services["avadmin-backend"]["environment"]["NEON_DATABASE_URL"]
    for module, port in (("stocktech", "5433:5432"), ("lucrum", "5434:5432")):
        db = services[f"postgres-{module}"]
        assert db["ports"] == [port]
        assert db["environment"]["POSTGRES_DB"] == module
        backend = services[f"{module}-backend"]
        assert backend["environment"]["AVADMIN_API_URL"] == "http://avadmin-backend:8000"
        assert backend["depends_on"]["avadmin-backend"]["condition"] == "service_healthy"
        assert backend["depends_on"][f"{module}-migrate"]["condition"] == \
            "service_completed_successfully"
    assert "redis" in services
    for module in ("avadmin", "stocktech", "lucrum"):
        assert services[f"{module}-migrate"]["command"] == ["migrate"]
        assert services[f"{module}-backend"]["command"] == ["serve"]


def test_every_compose_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck", {})
        if service.get("restart") == "no":  # a one-shot job: it exits, nothing to probe
            assert check.get("disable") is True, name
        else:
            assert check.get("test"), f"{name} has no healthcheck"


def test_compose_environment_names_are_read_by_the_code(compose: dict[str, Any]) -> None:
    every = dd.all_module_names()
    for name, package in dd.COMPOSE_MODULE.items():
        own = dd.names_read(package)
        for key in compose["services"][name]["environment"]:
            # The setup job hands the consuming modules' own secrets to their registration.
            allowed = every if name == "avadmin-setup" else own
            assert key in allowed | dd.PLATFORM_NAMES, f"{name}: {key} is read by no Settings"


def test_compose_secrets_come_only_from_the_env_file(compose: dict[str, Any]) -> None:
    text = dd.COMPOSE.read_text()
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = dd.env_example()
    assert used <= set(example), used - set(example)
    for service in compose["services"].values():
        for key, value in (service.get("environment") or {}).items():
            if SECRETISH.search(key):
                assert str(value).startswith("${"), f"{key} is set in the compose file"
    ignored = subprocess.run(["git", "check-ignore", "-q", "deploy/.env"], cwd=dd.ROOT,  # noqa: S607
                             check=False)
    assert ignored.returncode == 0, "deploy/.env must be ignored by git"


# -- Kubernetes ------------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["base", "production"])
def test_manifests_match_the_kubernetes_schemas(rendered: dict[str, list[dict[str, Any]]],
                                                which: str) -> None:
    version = kubernetes_validate.latest_version()
    for doc in rendered[which]:
        kubernetes_validate.validate(doc, version, strict=True)


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def test_every_module_has_probes_resources_and_a_stable_replica_name(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["production"]
    deployments = _by_kind(docs, "Deployment")
    assert set(deployments) == {"avadmin", "stocktech", "lucrum"}
    services = _by_kind(docs, "Service")
    for name, dep in deployments.items():
        (container,) = dep["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["serve"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        assert container["resources"]["requests"] and container["resources"]["limits"]
        pod_name = [e for e in container["env"] if e["name"] == "POD_NAME"]
        assert pod_name[0]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert name in services
        assert dep["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True


def test_scaling_disruption_migrations_and_schedules(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["production"]
    hpas = _by_kind(docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {"stocktech", "lucrum"}
    pdbs = _by_kind(docs, "PodDisruptionBudget")
    assert set(pdbs) == {"avadmin", "stocktech", "lucrum"}
    jobs = _by_kind(docs, "Job")
    for module in ("avadmin", "stocktech", "lucrum"):
        (container,) = jobs[f"{module}-migrate"]["spec"]["template"]["spec"]["containers"]
        assert container["args"] == ["migrate"]
    crons = {name: dd.pod_spec(c)["containers"][0]["args"]  # type: ignore[index]
             for name, c in _by_kind(docs, "CronJob").items()}
    assert crons["avadmin-prune-outbox"][0] == "prune-outbox"
    assert crons["stocktech-prune-idempotency"] == ["prune-idempotency"]
    assert crons["lucrum-check-balances"] == ["check-balances"]
    assert crons["avadmin-dunning"] == ["dunning"]
    for module in ("avadmin", "stocktech", "lucrum"):
        assert crons[f"{module}-backup"][0] == "backup"
    schedules = {n: c["spec"]["schedule"] for n, c in _by_kind(docs, "CronJob").items()}
    assert schedules["avadmin-backup"] != schedules["stocktech-backup"]  # AvAdmin more often


def test_only_the_modules_reach_avadmin(rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["production"]
    policies = _by_kind(docs, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}
    rule = policies["avadmin-from-modules"]["spec"]["ingress"]
    pod_selectors = [peer["podSelector"]["matchLabels"] for r in rule for peer in r["from"]
                     if "podSelector" in peer]
    assert pod_selectors == [{"avelarsys.com.br/avadmin-client": "true"}]
    labels = {n: d["spec"]["template"]["metadata"]["labels"]
              for n, d in _by_kind(docs, "Deployment").items()}
    assert labels["stocktech"].get("avelarsys.com.br/avadmin-client") == "true"
    assert labels["lucrum"].get("avelarsys.com.br/avadmin-client") == "true"
    assert "avelarsys.com.br/avadmin-client" not in labels["avadmin"]


def test_manifest_environment_names_are_read_by_the_code_and_secrets_are_references(
        rendered: dict[str, list[dict[str, Any]]]) -> None:
    docs = rendered["production"]
    assert not _by_kind(docs, "Secret"), "secrets are created outside the repository"
    configmaps = _by_kind(docs, "ConfigMap")
    every = dd.all_module_names()
    for doc in docs:
        spec = dd.pod_spec(doc)
        if spec is None:
            continue
        package = doc["metadata"]["labels"]["app.kubernetes.io/name"]
        allowed = (every if doc["metadata"]["name"] == "avadmin-setup"
                   else dd.names_read(package)) | dd.PLATFORM_NAMES
        for container in spec["containers"]:
            for ref in container.get("envFrom", []):
                for key in configmaps[ref["configMapRef"]["name"]]["data"]:
                    assert key in allowed, f"{doc['metadata']['name']}: {key}"
            for item in container.get("env", []):
                assert item["name"] in allowed, f"{doc['metadata']['name']}: {item['name']}"
                if SECRETISH.search(item["name"]) or item["name"].endswith("DATABASE_URL"):
                    assert "secretKeyRef" in item["valueFrom"], item


# -- Dockerfile (no Docker engine here: lint and structure) -----------------------------------

def test_dockerfile_lints_clean_and_has_a_target_per_module() -> None:
    dockerfile = dd.DEPLOY / "Dockerfile"
    hadolint = Path(sys.executable).parent / "hadolint"
    proc = subprocess.run([str(hadolint), "--no-color", str(dockerfile)],  # noqa: S603
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = dockerfile.read_text()
    stages = re.findall(r"^FROM \S+ AS (\S+)$", text, flags=re.M)
    assert {"avadmin", "stocktech", "lucrum", "runtime"} <= set(stages)
    runtime = text[text.index("AS runtime"):text.index("AS avadmin")]
    assert re.search(r"^USER 10001", runtime, flags=re.M), "the runtime runs as a non-root user"
    assert "HEALTHCHECK" in runtime
    for module in ("avadmin", "stocktech", "lucrum"):
        block = text[text.index(f"AS {module}\n"):]
        assert f'ENTRYPOINT ["{module}"]' in block and 'CMD ["serve"]' in block
    for line in text.splitlines():
        if line.startswith(("ENV", "ARG")) or line.startswith("    "):
            assert not re.search(r"(PASSWORD|SECRET|_PEM)\s*=", line), line
    ignore = (dd.ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignore and ".avelar" in ignore


def test_compose_and_manifests_are_plain_yaml_documents() -> None:
    for path in [dd.COMPOSE, *sorted((dd.DEPLOY / "k8s").rglob("*.yaml"))]:
        assert list(yaml.safe_load_all(path.read_text())), path
