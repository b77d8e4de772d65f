"""k8s/: every overlay renders, validates against the Kubernetes schemas, and every
workload is probed, sized, hardened and fed secrets by reference only."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import check_deploy
import kustomize_render
import pytest

Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def rendered() -> dict[str, Objects]:
    return check_deploy.render_overlays()


def deployment(objects: Objects, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == name)


def test_both_overlays_render(rendered):
    assert sorted(rendered) == ["dev", "prod"]


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_rendered_object_validates_against_kubernetes(rendered, overlay):
    assert check_deploy.schema_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_every_workload_has_probes_resources_and_the_hardened_security_context(rendered, overlay):
    assert check_deploy.workload_problems(rendered[overlay]) == []


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_no_secret_value_is_in_the_manifests(rendered, overlay):
    assert check_deploy.secret_problems(rendered[overlay]) == []


def test_the_base_tenant_config_is_the_sample_and_every_copy_validates():
    assert check_deploy.tenant_copy_problems() == []


def test_prod_runs_three_replicas_with_larger_requests_and_a_pinned_image(rendered):
    attendance = deployment(rendered["prod"], "rcm-attendance")
    container = attendance["spec"]["template"]["spec"]["containers"][0]
    assert attendance["spec"]["replicas"] == 3
    assert attendance["metadata"]["namespace"] == "rcm"
    assert container["resources"]["requests"] == {"cpu": "250m", "memory": "512Mi"}
    assert container["image"] == "registry.example.com/rcm/rcm-suite:0.1.0"


def test_dev_adds_the_sandbox_and_routes_the_tenant_to_it(rendered):
    names = {(o["kind"], o["metadata"]["name"]) for o in rendered["dev"]}
    assert ("Service", "clearinghouse-sandbox") in names
    config = next(o for o in rendered["dev"] if o["metadata"]["name"].startswith("rcm-tenant"))
    assert "clearinghouse_id: local-dev" not in config["data"]["demo-bh.yaml"]
    gateway = deployment(rendered["dev"], "rcm-edi-gateway")
    pod = gateway["spec"]["template"]["spec"]
    assert pod["volumes"][0]["configMap"]["name"] == config["metadata"]["name"]
    env = {e["name"] for e in pod["containers"][0]["env"]}
    assert "CLEARINGHOUSE_SFTP_PRIVATE_KEY" in env
    assert ("Service", "clearinghouse-sandbox") not in {
        (o["kind"], o["metadata"]["name"]) for o in rendered["prod"]
    }


def test_a_deployment_missing_its_readiness_probe_fails(rendered):
    objects = copy.deepcopy(rendered["prod"])
    container = deployment(objects, "rcm-claims")["spec"]["template"]["spec"]["containers"][0]
    del container["readinessProbe"]
    problems = check_deploy.workload_problems(objects)
    assert "Deployment/rcm-claims/claims: no readinessProbe (httpGet)" in problems


def test_a_liveness_probe_on_a_path_the_service_does_not_serve_fails(rendered):
    objects = copy.deepcopy(rendered["prod"])
    container = deployment(objects, "rcm-stays")["spec"]["template"]["spec"]["containers"][0]
    container["livenessProbe"]["httpGet"]["path"] = "/health"
    problems = check_deploy.workload_problems(objects)
    assert (
        "Deployment/rcm-stays/stays: livenessProbe path /health is not served by stays" in problems
    )


def test_a_writable_root_filesystem_and_missing_limits_fail(rendered):
    objects = copy.deepcopy(rendered["prod"])
    container = deployment(objects, "rcm-charges")["spec"]["template"]["spec"]["containers"][0]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    del container["resources"]["limits"]
    problems = check_deploy.workload_problems(objects)
    assert "Deployment/rcm-charges/charges: readOnlyRootFilesystem is not true" in problems
    assert "Deployment/rcm-charges/charges: no resources.limits.memory" in problems


def test_an_unknown_environment_variable_in_a_config_map_fails(rendered):
    objects = copy.deepcopy(rendered["prod"])
    config = next(o for o in objects if o["metadata"]["name"] == "rcm-claims-env")
    config["data"]["EDI_GATEWAY"] = "http://rcm-edi-gateway:8005"
    problems = check_deploy.workload_problems(objects)
    assert any("EDI_GATEWAY is not a setting" in p for p in problems)


def test_a_secret_with_data_or_a_literal_database_url_fails(rendered):
    objects = copy.deepcopy(rendered["prod"])
    objects.append(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"a": "Yg=="}}
    )
    container = deployment(objects, "rcm-claims")["spec"]["template"]["spec"]["containers"][0]
    container["env"][0] = {"name": "DATABASE_URL", "value": "postgresql+asyncpg://u:p@db/rcm"}
    problems = check_deploy.secret_problems(objects)
    assert "Secret/x: holds secret values (reference Secrets created out of band)" in problems
    assert "Deployment/rcm-claims: DATABASE_URL is a literal, not a secretKeyRef" in problems


def test_an_invalid_object_fails_the_kubernetes_schema(rendered):
    objects = copy.deepcopy(rendered["prod"])
    deployment(objects, "rcm-claims")["spec"]["replicas"] = "three"
    assert any(p.startswith("Deployment/rcm-claims") for p in check_deploy.schema_problems(objects))


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_renderer_merges_containers_by_name_and_renames_generated_config_maps(tmp_path):
    write(
        tmp_path / "base/kustomization.yaml",
        "resources: [app.yaml]\nconfigMapGenerator:\n- name: conf\n  literals: [A=1]\n",
    )
    write(
        tmp_path / "base/app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  template:\n"
        "    spec:\n      containers:\n      - {name: a, image: img, envFrom: "
        "[{configMapRef: {name: conf}}]}\n      - {name: b, image: img}\n",
    )
    write(
        tmp_path / "over/kustomization.yaml",
        "resources: [../base]\nnamespace: ns\npatches:\n- path: p.yaml\n"
        "images:\n- {name: img, newTag: '2'}\n",
    )
    write(
        tmp_path / "over/p.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  replicas: 2\n"
        "  template:\n    spec:\n      containers:\n      - {name: b, args: [x]}\n",
    )
    objects = kustomize_render.render(tmp_path / "over")
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    app = next(o for o in objects if o["kind"] == "Deployment")
    a, b = app["spec"]["template"]["spec"]["containers"]
    assert config["metadata"]["name"].startswith("conf-")
    assert config["metadata"]["namespace"] == app["metadata"]["namespace"] == "ns"
    assert a["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
    assert (b["image"], b["args"], app["spec"]["replicas"]) == ("img:2", ["x"], 2)


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path):
    write(tmp_path / "kustomization.yaml", "resources: []\nnamePrefix: x-\n")
    with pytest.raises(kustomize_render.KustomizeError, match="namePrefix"):
        kustomize_render.render(tmp_path)


def test_the_renderer_refuses_files_outside_the_kustomization(tmp_path):
    write(
        tmp_path / "k/kustomization.yaml", "configMapGenerator:\n- name: c\n  files: [../t.yaml]\n"
    )
    write(tmp_path / "t.yaml", "a: 1\n")
    with pytest.raises(kustomize_render.KustomizeError, match="outside"):
        kustomize_render.render(tmp_path / "k")
