"""Render a kustomization without kubectl: the subset of kustomize that k8s/ uses.

No maintained kustomize renderer installs from PyPI for Python 3.11 (the Go binary is not
on PyPI or npm), so CI renders with this. It fails closed: a field or a form it does not
implement is an error, never silently ignored, so k8s/ cannot drift into what only the
real kustomize would understand.

Implemented: ``resources`` (files and folders), ``components`` (kind Component),
``namespace``, ``labels`` (``pairs``; metadata only: ``includeSelectors`` and
``includeTemplates`` must be false or absent), ``images`` (``name``, ``newName``,
``newTag``), ``replicas``, ``patches`` (``path`` to one strategic-merge patch, targeted
by its kind and name) and ``configMapGenerator`` (``files``, ``literals``, ``behavior``
create/replace/merge; a content-hash suffix, with the references of pod templates
renamed). The hash is a stable content hash, not kustomize's exact algorithm.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

Object = dict[str, Any]

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
KUSTOMIZATION_API = "kustomize.config.k8s.io/v1beta1"
COMPONENT_API = "kustomize.config.k8s.io/v1alpha1"
FIELDS = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "namespace",
    "labels",
    "images",
    "replicas",
    "patches",
    "configMapGenerator",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"}
# The list fields of a pod spec that strategic merge patches merge by ``name``
# (their patchMergeKey); every other list is replaced by the patch's.
MERGE_BY_NAME = {
    "containers",
    "initContainers",
    "env",
    "volumes",
    "volumeMounts",
    "ports",
    "envFrom",
}
KIND_ORDER = [
    "Namespace",
    "ServiceAccount",
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
    "StatefulSet",
    "Job",
    "PodDisruptionBudget",
]


class KustomizeError(Exception):
    pass


GENERATED = "rcm.internal/generated-config-map"


def _load_yaml_documents(path: Path) -> list[Object]:
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as error:
        raise KustomizeError(f"{path}: {error}") from error
    for d in documents:
        if not isinstance(d, dict) or "kind" not in d or "apiVersion" not in d:
            raise KustomizeError(f"{path}: not a Kubernetes object")
    return documents


def _kustomization_file(folder: Path) -> Path:
    for name in KUSTOMIZATION_FILES:
        if (folder / name).is_file():
            return folder / name
    raise KustomizeError(f"{folder}: no kustomization.yaml")


def _key(obj: Object) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def _inside(root: Path, path: Path) -> Path:
    resolved = path.resolve()
    if root.resolve() not in (resolved, *resolved.parents):
        # kustomize's default load restrictor: files only from under the kustomization.
        raise KustomizeError(f"{path}: outside the kustomization root {root}")
    return resolved


def strategic_merge(base: Any, patch: Any, key: str = "") -> Any:
    """A strategic merge patch of the forms k8s/ uses: maps merge, the lists of
    ``MERGE_BY_NAME`` merge element by element on ``name``, other lists are replaced,
    a null deletes the field."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for k, v in patch.items():
            if isinstance(k, str) and k.startswith("$"):
                raise KustomizeError(f"strategic merge directive {k} is not supported")
            if v is None:
                merged.pop(k, None)
            elif k in merged:
                merged[k] = strategic_merge(merged[k], v, k)
            else:
                merged[k] = copy.deepcopy(v)
        return merged
    if isinstance(base, list) and isinstance(patch, list) and key in MERGE_BY_NAME:
        merged_list = [copy.deepcopy(item) for item in base]
        for item in patch:
            if not isinstance(item, dict) or "name" not in item:
                if key == "envFrom":
                    merged_list.append(copy.deepcopy(item))
                    continue
                raise KustomizeError(f"an element of {key} without a name")
            for i, existing in enumerate(merged_list):
                if isinstance(existing, dict) and existing.get("name") == item["name"]:
                    merged_list[i] = strategic_merge(existing, item, key)
                    break
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _hash(kind: str, name: str, data: dict[str, str]) -> str:
    encoded = json.dumps({"kind": kind, "name": name, "data": data}, sort_keys=True)
    return hashlib.sha256(encoded.encode()).hexdigest()[:10]


def _pod_templates(obj: Object) -> list[Object]:
    if obj["kind"] not in POD_TEMPLATE_KINDS:
        return []
    spec = obj.get("spec", {}).get("template", {}).get("spec")
    return [spec] if isinstance(spec, dict) else []


def _rename_config_maps(obj: Object, names: dict[str, str]) -> None:
    for pod in _pod_templates(obj):
        for volume in pod.get("volumes", []):
            if "configMap" in volume:
                ref = volume["configMap"]
                ref["name"] = names.get(ref["name"], ref["name"])
            for source in volume.get("projected", {}).get("sources", []):
                if "configMap" in source:
                    ref = source["configMap"]
                    ref["name"] = names.get(ref["name"], ref["name"])
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            for source in container.get("envFrom", []):
                if "configMapRef" in source:
                    ref = source["configMapRef"]
                    ref["name"] = names.get(ref["name"], ref["name"])
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("configMapKeyRef")
                if ref is not None:
                    ref["name"] = names.get(ref["name"], ref["name"])


class _Build:
    def __init__(self, folder: Path, *, component: bool) -> None:
        self.folder = folder
        self.file = _kustomization_file(folder)
        loaded = yaml.safe_load(self.file.read_text()) or {}
        if not isinstance(loaded, dict):
            raise KustomizeError(f"{self.file}: not a mapping")
        self.spec: Object = loaded
        unknown = set(self.spec) - FIELDS
        if unknown:
            raise KustomizeError(f"{self.file}: unsupported fields {sorted(unknown)}")
        expected = (
            ("Component", COMPONENT_API) if component else ("Kustomization", KUSTOMIZATION_API)
        )
        # kustomize reads a kustomization without kind/apiVersion as a Kustomization.
        written = (
            self.spec.get("kind", "Kustomization"),
            self.spec.get("apiVersion", KUSTOMIZATION_API),
        )
        if written != expected:
            raise KustomizeError(f"{self.file}: expected kind/apiVersion {expected}")

    def path(self, relative: str) -> Path:
        return _inside(self.folder, self.folder / relative)

    def accumulate(self, objects: list[Object]) -> None:
        """Add this kustomization's resources, then apply its transformations to everything
        accumulated so far (a Component transforms what its parent accumulated)."""
        for entry in self.spec.get("resources", []):
            target = (self.folder / entry).resolve()
            if target.is_dir():
                _Build(target, component=False).accumulate(objects)
            else:
                objects += _load_yaml_documents(self.path(entry))
        for generator in self.spec.get("configMapGenerator", []):
            self.generate(generator, objects)
        for entry in self.spec.get("components", []):
            _Build((self.folder / entry).resolve(), component=True).accumulate(objects)
        self.transform(objects)

    def generate(self, generator: Object, objects: list[Object]) -> None:
        allowed = {"name", "files", "literals", "behavior", "options"}
        if set(generator) - allowed:
            raise KustomizeError(f"{self.file}: configMapGenerator fields {sorted(generator)}")
        data: dict[str, str] = {}
        for entry in generator.get("files", []):
            key, _, source = entry.partition("=") if "=" in entry else ("", "", entry)
            path = self.path(source)
            data[key or path.name] = path.read_text()
        for literal in generator.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        name = generator["name"]
        behavior = generator.get("behavior", "create")
        labels = dict(generator.get("options", {}).get("labels", {}))
        existing = [
            o
            for o in objects
            if o["kind"] == "ConfigMap"
            and o["metadata"]["name"] == name
            and GENERATED in o["metadata"].get("annotations", {})
        ]
        if behavior == "create":
            if existing:
                raise KustomizeError(f"{self.file}: ConfigMap {name} generated twice")
            metadata: Object = {"name": name, "annotations": {GENERATED: "true"}}
            if labels:
                metadata["labels"] = labels
            objects.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata})
            objects[-1]["data"] = data
        elif behavior in ("replace", "merge"):
            if not existing:
                raise KustomizeError(f"{self.file}: no generated ConfigMap {name} to {behavior}")
            target = existing[0]
            target["data"] = {**target["data"], **data} if behavior == "merge" else data
            if labels:
                target["metadata"].setdefault("labels", {}).update(labels)
        else:
            raise KustomizeError(f"{self.file}: unknown behavior {behavior}")

    def transform(self, objects: list[Object]) -> None:
        for entry in self.spec.get("patches", []):
            if set(entry) != {"path"}:
                raise KustomizeError(f"{self.file}: only `patches: - path:` is supported")
            documents = _load_yaml_documents(self.path(entry["path"]))
            if len(documents) != 1:
                raise KustomizeError(f"{entry['path']}: one patch per file (as kustomize)")
            patch = documents[0]
            matches = [
                i
                for i, obj in enumerate(objects)
                if obj["kind"] == patch["kind"]
                and obj["metadata"]["name"] == patch["metadata"]["name"]
            ]
            if len(matches) != 1:
                raise KustomizeError(
                    f"{entry['path']}: {len(matches)} targets for "
                    f"{patch['kind']}/{patch['metadata']['name']}"
                )
            objects[matches[0]] = strategic_merge(objects[matches[0]], patch)
        for entry in self.spec.get("replicas", []):
            targets = [
                o
                for o in objects
                if o["metadata"]["name"] == entry["name"]
                and o["kind"] in ("Deployment", "StatefulSet", "ReplicaSet")
            ]
            if not targets:
                raise KustomizeError(f"{self.file}: replicas: no workload {entry['name']}")
            for o in targets:
                o["spec"]["replicas"] = int(entry["count"])
        for entry in self.spec.get("images", []):
            if set(entry) - {"name", "newName", "newTag"}:
                raise KustomizeError(f"{self.file}: images supports name, newName, newTag")
            for pod in [p for o in objects for p in _pod_templates(o)]:
                for container in pod.get("containers", []) + pod.get("initContainers", []):
                    image = container["image"]
                    name, _, tag = image.partition(":")
                    if name != entry["name"]:
                        continue
                    new_name = entry.get("newName", name)
                    new_tag = entry.get("newTag", tag)
                    container["image"] = f"{new_name}:{new_tag}" if new_tag else new_name
        for entry in self.spec.get("labels", []):
            if entry.get("includeSelectors") or entry.get("includeTemplates"):
                raise KustomizeError(f"{self.file}: labels only on metadata are supported")
            if set(entry) - {"pairs", "includeSelectors", "includeTemplates"}:
                raise KustomizeError(f"{self.file}: labels supports pairs only")
            for o in objects:
                o["metadata"].setdefault("labels", {}).update(entry["pairs"])
        namespace = self.spec.get("namespace")
        if namespace:
            for o in objects:
                if o["kind"] not in CLUSTER_SCOPED:
                    o["metadata"]["namespace"] = namespace


def _finish(objects: list[Object]) -> list[Object]:
    names: dict[str, str] = {}
    for o in objects:
        annotations = o["metadata"].get("annotations", {})
        if GENERATED in annotations:
            del annotations[GENERATED]
            if not annotations:
                del o["metadata"]["annotations"]
            name = o["metadata"]["name"]
            o["metadata"]["name"] = names[name] = f"{name}-{_hash(o['kind'], name, o['data'])}"
    for o in objects:
        _rename_config_maps(o, names)
    seen: set[tuple[str, str, str]] = set()
    for o in objects:
        if _key(o) in seen:
            raise KustomizeError(f"{'/'.join(_key(o))} defined twice")
        seen.add(_key(o))
    order = {kind: i for i, kind in enumerate(KIND_ORDER)}
    return sorted(objects, key=lambda o: (order.get(o["kind"], len(order)), o["metadata"]["name"]))


def render(folder: Path) -> list[Object]:
    """The objects ``kustomize build folder`` would print (in the subset above)."""
    objects: list[Object] = []
    _Build(folder, component=False).accumulate(objects)
    return _finish(objects)
