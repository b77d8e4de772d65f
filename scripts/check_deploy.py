"""Static checks of the deployment files: docker-compose.yml and k8s/.

    uv run --frozen python scripts/check_deploy.py

compose: the file validates against the Compose Specification JSON Schema (vendored in
deploy/schemas/); every command of the suite's image names a program of
deploy/image/rcm_run.py and its parser accepts the arguments (the real argparse parser,
run in-process with the service's environment, which also builds its settings); every
environment variable is one the program's settings class knows (or a key the mounted
tenant file names); every health check probes a route the program serves, on its port;
each service starts after its one-shot migration and healthy infrastructure; the mounted
tenant files validate.

k8s: every overlay renders (scripts/kustomize_render.py) and every object validates with
kubernetes-validate against Kubernetes ``K8S_VERSION``; the same command, environment and
probe checks on every container; every Deployment has liveness and readiness probes,
resources, the hardened security context, a Service, a PodDisruptionBudget, a
ServiceAccount and (for the five services) a migration Job; no Secret is defined with
data and no secret reaches a container except by reference.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib
import importlib.util
import io
import json
import os
import re
import runpy
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import kustomize_render  # noqa: E402

K8S_VERSION = "1.33.0"
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_SCHEMA = ROOT / "deploy" / "schemas" / "compose-spec.json"
RCM_RUN = ROOT / "deploy" / "image" / "rcm_run.py"
OVERLAYS = ROOT / "k8s" / "overlays"
SAMPLE_TENANT = ROOT / "contracts" / "samples" / "tenants" / "demo-bh.yaml"
BASE_TENANT = ROOT / "k8s" / "base" / "tenants" / "demo-bh.yaml"
SERVICES = ("attendance", "stays", "charges", "claims", "edi-gateway")
# Values that are secrets: they reach a container from a Secret (k8s) or a compose secret /
# the shell's environment, never as a literal in these files.
SECRET_NAMES = re.compile(r"DATABASE_URL|AMQP_URL|JWT_SECRET$|PASSWORD|PRIVATE_KEY|TOKEN")
PLACEHOLDER = "from-a-secret"
Object = dict[str, Any]


@dataclass
class Check:
    name: str
    problems: list[str] = field(default_factory=list)


def _load_rcm_run() -> Any:
    spec = importlib.util.spec_from_file_location("rcm_run", RCM_RUN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("rcm_run", module)
    spec.loader.exec_module(module)
    return module


rcm_run = _load_rcm_run()


# ---------------------------------------------------------------- programs of the image


class _ArgumentsAccepted(Exception):
    pass


def command_problem(command: list[str], environment: Mapping[str, str]) -> str | None:
    """Runs the program's real entry point in-process up to its argument parser, with
    ``environment`` as the whole environment; None when the arguments are accepted."""
    if not command:
        return "no command"
    name, args = command[0], command[1:]
    if name == "probe":
        return None if len(args) == 1 else "probe takes one URL"
    program = rcm_run.PROGRAMS.get(name)
    if program is None:
        return f"{name!r} is not a program of the image ({', '.join(rcm_run.PROGRAMS)})"
    parse_args = argparse.ArgumentParser.parse_args

    def parse_only(self: argparse.ArgumentParser, *a: Any, **k: Any) -> Any:
        parse_args(self, *a, **k)
        raise _ArgumentsAccepted

    stderr = io.StringIO()
    with (
        mock.patch.object(argparse.ArgumentParser, "parse_args", parse_only),
        mock.patch.dict(os.environ, dict(environment), clear=True),
        mock.patch.object(sys, "argv", [name, *args]),
        contextlib.redirect_stderr(stderr),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        try:
            if program.module is not None:
                runpy.run_module(program.module, run_name="__main__", alter_sys=False)
            else:
                runpy.run_path(str(ROOT / program.script), run_name="__main__")
        except _ArgumentsAccepted:
            return None
        except SystemExit as exit_:
            lines = stderr.getvalue().strip().splitlines()
            return f"`{' '.join(command)}` refused (exit {exit_.code}): {' '.join(lines[-1:])}"
        except Exception as error:  # settings that do not validate, a missing module
            return f"`{' '.join(command)}`: {type(error).__name__}: {error}"
    return f"`{' '.join(command)}` ran without parsing arguments"


def settings_class(name: str) -> Any | None:
    program = rcm_run.PROGRAMS.get(name)
    if program is None or program.settings is None:
        return None
    module, _, cls = program.settings.partition(":")
    return getattr(importlib.import_module(module), cls)


def known_environment(name: str) -> set[str]:
    """The variables the program's settings class reads (case-insensitive, no prefix)."""
    cls = settings_class(name)
    if cls is None:
        return set()
    prefix = str(cls.model_config.get("env_prefix", "")).upper()
    names = set()
    for field_name, info in cls.model_fields.items():
        names.add(prefix + field_name.upper())
        if isinstance(info.alias, str):
            names.add(info.alias.upper())
    return names


def tenant_secret_variables(tenant_texts: Iterable[str]) -> set[str]:
    """The environment variables tenant files name for SFTP private keys."""
    names = set()
    for text in tenant_texts:
        document = yaml.safe_load(text) or {}
        for clearinghouse in document.get("clearinghouses", []):
            variable = (clearinghouse.get("transport") or {}).get("private_key_env")
            if variable:
                names.add(str(variable).upper())
    return names


def environment_problems(
    name: str, variables: Iterable[str], tenant_texts: Iterable[str]
) -> list[str]:
    allowed = known_environment(name) | tenant_secret_variables(tenant_texts)
    return [
        f"{name}: {variable} is not a setting of the program"
        for variable in sorted(set(variables))
        if variable.upper() not in allowed
    ]


@functools.cache
def served_paths(name: str) -> frozenset[str]:
    """The HTTP paths the program's app serves (built, never started)."""
    if name == "clearinghouse-sandbox":
        from clearinghouse_sandbox.control_api import control_app
        from clearinghouse_sandbox.sandbox import Sandbox, SandboxConfig

        missing = Path("/nonexistent")
        app = control_app(
            Sandbox(SandboxConfig(root=missing, host_key=missing, authorized_keys=missing))
        )
    else:
        cls = settings_class(name)
        if cls is None:
            return frozenset()
        package = rcm_run.PROGRAMS[name].module
        bootstrap = importlib.import_module(f"{package}.bootstrap")
        with (
            mock.patch.dict(os.environ, {"JWT_SECRET": "route-listing-only"}, clear=True),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            app = bootstrap.build_runtime(cls()).create_app()
    return frozenset(str(getattr(route, "path", "")) for route in app.routes)


def http_port(name: str, environment: Mapping[str, str], args: list[str]) -> int | None:
    if name == "clearinghouse-sandbox":
        for arg in args:
            if arg.startswith("--control-port="):
                return int(arg.split("=", 1)[1])
        return 8099
    cls = settings_class(name)
    if cls is None:
        return None
    if "HTTP_PORT" in environment:
        return int(environment["HTTP_PORT"])
    return int(cls.model_fields["http_port"].default)


# ---------------------------------------------------------------- compose


_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\})")


def interpolate(value: Any, environment: Mapping[str, str]) -> Any:
    """Compose's ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}`` and ``$$``."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$$":
                return "$"
            return environment.get(match.group(1)) or (match.group(2) or "")

        return _VARIABLE.sub(substitute, value)
    if isinstance(value, dict):
        return {k: interpolate(v, environment) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, environment) for v in value]
    return value


def load_compose(path: Path = COMPOSE_FILE) -> Object:
    """The compose file as written (anchors and merge keys resolved, not interpolated)."""
    document = yaml.safe_load(path.read_text())
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a mapping")
    return document


def compose_schema_problems(document: Object) -> list[str]:
    document = interpolate(document, {})  # as compose does before validating
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]


def _command(service: Object) -> list[str]:
    command = service.get("command", [])
    return [str(c) for c in (command.split() if isinstance(command, str) else command)]


def _environment(service: Object) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()}


def _suite_services(document: Object) -> dict[str, Object]:
    """The services that run the suite's image (they have a build section)."""
    return {n: s for n, s in document.get("services", {}).items() if "build" in s}


def _compose_tenant_texts(service: Object, compose_dir: Path) -> list[str]:
    texts = []
    target = _environment(service).get("TENANT_CONFIG_DIR")
    for volume in service.get("volumes", []):
        if (
            isinstance(volume, dict)
            and volume.get("type") == "bind"
            and volume.get("target") == target
        ):
            folder = compose_dir / volume["source"]
            texts += [p.read_text() for p in sorted(folder.glob("*.yaml"))]
    return texts


def compose_consistency_problems(document: Object, compose_dir: Path = ROOT) -> list[str]:
    problems = []
    raw = document
    document = interpolate(raw, {})
    services = document.get("services", {})
    for service_name, service in _suite_services(document).items():
        command, environment = _command(service), _environment(service)
        written = _environment(raw["services"][service_name])
        if not command:
            problems.append(f"{service_name}: no command")
            continue
        program = command[0]
        problem = command_problem(command, environment)
        if problem:
            problems.append(f"{service_name}: {problem}")
        tenants = _compose_tenant_texts(service, compose_dir)
        problems += [
            f"{service_name}: {p}" for p in environment_problems(program, environment, tenants)
        ]
        for variable, value in written.items():
            # A secret comes from the shell's environment (${VAR}) or a mounted secret file.
            if SECRET_NAMES.search(variable) and "${" not in value:
                problems.append(f"{service_name}: {variable} is a literal; use ${{VAR}}")
        healthcheck = service.get("healthcheck")
        serves = command[1:2] == ["serve"]
        if serves:
            if not healthcheck:
                problems.append(f"{service_name}: serves without a health check")
            else:
                problems += [
                    f"{service_name}: {p}"
                    for p in _probe_problems(healthcheck, program, environment, command)
                ]
        if serves and program in SERVICES:
            depends = service.get("depends_on", {})
            migrations = [
                n
                for n, s in _suite_services(document).items()
                if _command(s)[:2] == [program, "migrate"]
            ]
            if not migrations:
                problems.append(f"{service_name}: no one-shot `{program} migrate` service")
            for migration in migrations:
                condition = (
                    depends.get(migration, {}).get("condition")
                    if isinstance(depends, dict)
                    else None
                )
                if condition != "service_completed_successfully":
                    problems.append(f"{service_name}: does not wait for {migration} to complete")
        depends = service.get("depends_on", {})
        for dependency in depends if isinstance(depends, (dict, list)) else []:
            if dependency not in services:
                problems.append(f"{service_name}: depends on unknown service {dependency}")
    return problems


def _probe_problems(
    healthcheck: Object, program: str, environment: Mapping[str, str], command: list[str]
) -> list[str]:
    test = healthcheck.get("test", [])
    if test[:3] != ["CMD", "rcm-run", "probe"] or len(test) != 4:
        return [f"health check {test} is not [CMD, rcm-run, probe, URL]"]
    match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)(/\S*)", test[3])
    if not match:
        return [f"health check URL {test[3]} is not http://127.0.0.1:PORT/PATH"]
    problems = []
    port, path = int(match.group(1)), match.group(2)
    if port != http_port(program, environment, command[1:]):
        problems.append(f"health check port {port} is not the program's HTTP port")
    if path not in served_paths(program):
        problems.append(f"health check path {path} is not served by {program}")
    if program in SERVICES and path != "/readyz":
        problems.append(f"health check should probe /readyz, not {path}")
    return problems


def compose_tenant_problems(document: Object, compose_dir: Path = ROOT) -> list[str]:
    from contracts.tenant import TenantConfigError, load_tenant_config

    document = interpolate(document, {})
    problems = []
    for service_name, service in _suite_services(document).items():
        targets = {
            (v["target"] if isinstance(v, dict) else str(v).split(":")[1])
            for v in service.get("volumes", [])
        }
        target = _environment(service).get("TENANT_CONFIG_DIR")
        if target and target not in targets:
            problems.append(f"{service_name}: TENANT_CONFIG_DIR {target} is not mounted")
        for volume in service.get("volumes", []):
            if not (isinstance(volume, dict) and volume.get("target") == target):
                continue
            if not volume.get("read_only"):
                problems.append(f"{service_name}: tenant config mounted writable")
            for file in sorted((compose_dir / volume["source"]).glob("*.yaml")):
                try:
                    config = load_tenant_config(file)
                except TenantConfigError as error:
                    problems += [f"{file.name}: {p}" for p in error.problems]
                    continue
                if _command(service)[:2] != ["edi-gateway", "serve"]:
                    continue  # only the gateway opens the clearinghouse's key files
                for clearinghouse in config.clearinghouses:
                    transport = clearinghouse.transport
                    for attribute in ("private_key_file", "host_key_file"):
                        path = getattr(transport, attribute, None)
                        if path and not any(str(path).startswith(t + "/") for t in targets):
                            problems.append(
                                f"{service_name}: {file.name} {clearinghouse.id}.{attribute} "
                                f"{path} is on no mounted volume"
                            )
    return problems


# ---------------------------------------------------------------- Kubernetes


def render_overlays(overlays: Path = OVERLAYS) -> dict[str, list[Object]]:
    return {
        folder.name: kustomize_render.render(folder)
        for folder in sorted(overlays.iterdir())
        if folder.is_dir()
    }


def schema_problems(objects: list[Object], version: str = K8S_VERSION) -> list[str]:
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
        except (
            kubernetes_validate.SchemaNotFoundError,
            kubernetes_validate.InvalidSchemaError,
        ) as error:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {error}")
    return problems


def _pod_spec(obj: Object) -> Object:
    return dict(obj["spec"]["template"]["spec"])


def _named(objects: list[Object], kind: str) -> dict[str, Object]:
    return {o["metadata"]["name"]: o for o in objects if o["kind"] == kind}


def _container_environment(container: Object, config_maps: dict[str, Object]) -> dict[str, str]:
    environment: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            environment.update(config_maps.get(source["configMapRef"]["name"], {}).get("data", {}))
    for variable in container.get("env", []):
        environment[variable["name"]] = variable.get("value", PLACEHOLDER)
    return environment


def _tenant_texts(pod: Object, config_maps: dict[str, Object]) -> list[str]:
    texts: list[str] = []
    for volume in pod.get("volumes", []):
        if "configMap" in volume:
            data = config_maps.get(volume["configMap"]["name"], {}).get("data", {})
            texts += [v for k, v in data.items() if k.endswith((".yaml", ".yml"))]
    return texts


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def security_problems(where: str, pod: Object) -> list[str]:
    problems = []
    pod_context = pod.get("securityContext", {})
    for container in pod.get("containers", []) + pod.get("initContainers", []):
        context = container.get("securityContext", {})
        label = f"{where}/{container['name']}"
        if not (context.get("runAsNonRoot") or pod_context.get("runAsNonRoot")):
            problems.append(f"{label}: runAsNonRoot is not set")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{label}: readOnlyRootFilesystem is not true")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{label}: allowPrivilegeEscalation is not false")
        if "ALL" not in context.get("capabilities", {}).get("drop", []):
            problems.append(f"{label}: capabilities do not drop ALL")
        seccomp = context.get("seccompProfile") or pod_context.get("seccompProfile") or {}
        if seccomp.get("type") != "RuntimeDefault":
            problems.append(f"{label}: seccompProfile is not RuntimeDefault")
        resources = container.get("resources", {})
        for needed in ("requests.cpu", "requests.memory", "limits.memory"):
            group, _, key = needed.partition(".")
            if key not in resources.get(group, {}):
                problems.append(f"{label}: no resources.{needed}")
    return problems


def probe_problems(where: str, container: Object, program: str) -> list[str]:
    problems = []
    expected = {"livenessProbe": "/healthz", "readinessProbe": "/readyz"}
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", []) if "name" in p}
    for probe, path in expected.items():
        http = container.get(probe, {}).get("httpGet")
        if not http:
            problems.append(f"{where}: no {probe} (httpGet)")
            continue
        if http["path"] not in served_paths(program):
            problems.append(f"{where}: {probe} path {http['path']} is not served by {program}")
        if program in SERVICES and http["path"] != path:
            problems.append(f"{where}: {probe} should probe {path}, not {http['path']}")
        port = ports.get(http["port"], http["port"])
        if port not in ports.values():
            problems.append(f"{where}: {probe} port {http['port']} is not a container port")
    return problems


def workload_problems(objects: list[Object]) -> list[str]:
    problems = []
    config_maps = _named(objects, "ConfigMap")
    accounts = _named(objects, "ServiceAccount")
    jobs = _named(objects, "Job")
    for kind in ("Deployment", "Job"):
        for name, obj in _named(objects, kind).items():
            pod = _pod_spec(obj)
            where = f"{kind}/{name}"
            problems += security_problems(where, pod)
            if pod.get("serviceAccountName") not in accounts:
                problems.append(
                    f"{where}: ServiceAccount {pod.get('serviceAccountName')} is not defined"
                )
            if pod.get("automountServiceAccountToken") is not False:
                problems.append(f"{where}: automountServiceAccountToken is not false")
            tenants = _tenant_texts(pod, config_maps)
            for container in pod.get("containers", []):
                args = [str(a) for a in container.get("args", [])]
                environment = _container_environment(container, config_maps)
                label = f"{where}/{container['name']}"
                problem = command_problem(args, environment)
                if problem:
                    problems.append(f"{label}: {problem}")
                if args:
                    problems += [
                        f"{label}: {p}" for p in environment_problems(args[0], environment, tenants)
                    ]
                if kind == "Deployment" and args:
                    problems += probe_problems(label, container, args[0])
                if (
                    kind == "Deployment"
                    and args[:1]
                    and args[0] in SERVICES
                    and f"{name}-migrate" not in jobs
                ):
                    problems.append(f"{where}: no migration Job {name}-migrate")
    labels_of = {
        name: obj["spec"]["template"]["metadata"].get("labels", {})
        for name, obj in _named(objects, "Deployment").items()
    }
    for name, labels in labels_of.items():
        services = [
            s
            for s in _named(objects, "Service").values()
            if _selects(s["spec"].get("selector", {}), labels)
        ]
        if not services:
            problems.append(f"Deployment/{name}: no Service selects it")
        budgets = [
            b
            for b in _named(objects, "PodDisruptionBudget").values()
            if _selects(b["spec"]["selector"].get("matchLabels", {}), labels)
        ]
        if not budgets and name.startswith("rcm-"):
            problems.append(f"Deployment/{name}: no PodDisruptionBudget")
    return problems


def secret_problems(objects: list[Object]) -> list[str]:
    problems = []
    for obj in objects:
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "Secret" and (obj.get("data") or obj.get("stringData")):
            problems.append(f"{where}: holds secret values (reference Secrets created out of band)")
        if obj["kind"] == "ConfigMap":
            problems += [
                f"{where}: {k} is a secret" for k in obj.get("data", {}) if SECRET_NAMES.search(k)
            ]
        if obj["kind"] in kustomize_render.POD_TEMPLATE_KINDS:
            for container in _pod_spec(obj).get("containers", []):
                for variable in container.get("env", []):
                    if SECRET_NAMES.search(variable["name"]) and "value" in variable:
                        problems.append(
                            f"{where}: {variable['name']} is a literal, not a secretKeyRef"
                        )
    return problems


def tenant_copy_problems() -> list[str]:
    from contracts.tenant import TenantConfigError, load_tenant_config

    problems = []
    if BASE_TENANT.read_text() != SAMPLE_TENANT.read_text():
        problems.append(
            f"{BASE_TENANT.relative_to(ROOT)} differs from {SAMPLE_TENANT.relative_to(ROOT)}"
        )
    for file in sorted((ROOT / "k8s").rglob("tenants/*.yaml")):
        try:
            load_tenant_config(file)
        except TenantConfigError as error:
            problems += [f"{file.relative_to(ROOT)}: {p}" for p in error.problems]
    return problems


# ---------------------------------------------------------------- all of it


def run_checks() -> list[Check]:
    checks: list[tuple[str, Callable[[], list[str]]]] = []
    compose = load_compose()
    checks += [
        (
            f"compose: {COMPOSE_FILE.name} validates against the Compose Specification schema",
            lambda: compose_schema_problems(compose),
        ),
        (
            "compose: commands, environment, health checks, migrations first",
            lambda: compose_consistency_problems(compose),
        ),
        (
            "compose: mounted tenant files validate, their key files are mounted",
            lambda: compose_tenant_problems(compose),
        ),
        (
            "k8s: tenant ConfigMap sources (base copy equals the sample; all validate)",
            tenant_copy_problems,
        ),
    ]
    rendered = render_overlays()
    for overlay, objects in rendered.items():
        checks += [
            (
                f"k8s/{overlay}: {len(objects)} objects validate against Kubernetes {K8S_VERSION}",
                functools.partial(schema_problems, objects),
            ),
            (
                f"k8s/{overlay}: probes, resources, security context, commands, environment, "
                "Service, PDB, ServiceAccount, migration Job",
                functools.partial(workload_problems, objects),
            ),
            (f"k8s/{overlay}: no secret values", functools.partial(secret_problems, objects)),
        ]
    return [Check(name, run()) for name, run in checks]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--render", metavar="OVERLAY", help="print an overlay's rendered objects and exit"
    )
    args = parser.parse_args(argv)
    if args.render:
        print(
            yaml.safe_dump_all(kustomize_render.render(OVERLAYS / args.render), sort_keys=False),
            end="",
        )
        return 0
    failed = 0
    for check in run_checks():
        print(f"{'ok  ' if not check.problems else 'FAIL'} {check.name}")
        for problem in check.problems:
            print(f"       {problem}")
        failed += bool(check.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
