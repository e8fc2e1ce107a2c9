"""deploy/ as a cluster would take it: every manifest against Kubernetes' own schemas
(kubernetes-validate bundles them), the Dagster instance config loaded and checked by Dagster
and dagster-k8s / dagster-postgres themselves, and the names that tie the files together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes_validate
import pytest
import yaml

from linksyn_dagster.settings import LinkSynSettings
from linksyn_dagster_tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
K8S_VERSION = "1.30.0"  # the oldest Kubernetes the manifests target


def _manifests() -> list[tuple[Path, int, dict[str, Any]]]:
    docs = []
    for path in sorted((DEPLOY / "k8s").glob("*.yaml")):
        for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc is not None:
                docs.append((path, index, doc))
    return docs


def _by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for _, _, doc in _manifests() if doc["kind"] == kind}


def _instance() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "dagster.yaml").read_text())


def _values() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())


@pytest.mark.parametrize("manifest", _manifests(), ids=lambda m: f"{m[0].name}#{m[1]}")
def test_manifest_is_valid_kubernetes(manifest) -> None:
    path, index, doc = manifest
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{path.relative_to(PROJECT_ROOT)} document {index} ({doc.get('kind')}): {exc.message} "
                    f"at {'/'.join(map(str, exc.path))}", pytrace=False)
    assert doc["metadata"].get("namespace", "linksyn") == "linksyn" or doc["kind"] == "Namespace"


def test_the_validator_rejects_a_broken_manifest() -> None:
    # the check above can fail: a misspelt field in a real manifest is caught
    deployment = next(doc for _, _, doc in _manifests() if doc["kind"] == "StatefulSet")
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replica"] = broken["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_instance_config_loads_in_dagster_and_its_classes_accept_their_config(tmp_path) -> None:
    import importlib

    from dagster._config import validate_config
    from dagster._core.instance.config import dagster_instance_config
    from dagster._serdes.config_class import class_from_code_pointer

    (tmp_path / "dagster.yaml").write_text((DEPLOY / "dagster.yaml").read_text())
    config, _ = dagster_instance_config(str(tmp_path))  # Dagster's own schema for dagster.yaml
    assert set(config) >= {"storage", "run_launcher", "run_coordinator"}
    sections = {"run_launcher": config["run_launcher"], "run_coordinator": config["run_coordinator"]}
    storage = importlib.import_module("dagster_postgres").DagsterPostgresStorage
    for name, section in sections.items():
        cls = class_from_code_pointer(section["module"], section["class"])  # as the instance loads it
        result = validate_config(cls.config_type(), section["config"])
        assert result.success, f"deploy/dagster.yaml {name}: {[e.message for e in result.errors]}"
    result = validate_config(storage.config_type(), config["storage"]["postgres"])
    assert result.success, f"deploy/dagster.yaml storage: {[e.message for e in result.errors]}"
    # and a wrong key is refused by the same check
    bad = {**sections["run_launcher"]["config"], "job_namepsace": "linksyn"}
    launcher = getattr(importlib.import_module("dagster_k8s"), "K8sRunLauncher")
    assert not validate_config(launcher.config_type(), bad).success


def test_settings_configmap_names_real_settings_and_loads(monkeypatch) -> None:
    data = _by_kind("ConfigMap")["linksyn-settings"]["data"]
    secret_keys = set(_by_kind("Secret")["linksyn-secrets"]["stringData"])
    for key in [*data, *(k for k in secret_keys if k.startswith("LINKSYN_"))]:
        if not key.startswith("LINKSYN_"):
            continue
        model: Any = LinkSynSettings
        for part in key.removeprefix("LINKSYN_").lower().split("__"):
            assert part in model.model_fields, f"{key}: no such setting"
            model = model.model_fields[part].annotation
    for name in list(__import__("os").environ):
        if name.startswith("LINKSYN_"):
            monkeypatch.delenv(name)
    for key, value in data.items():
        monkeypatch.setenv(key, value)
    settings = LinkSynSettings()
    assert settings.executor == "k8s"
    assert len(settings.llm.api_bases) == 3 and settings.llm.concurrency == 64


def test_k8s_executor_is_what_the_deployment_runs(monkeypatch) -> None:
    from dagster_k8s import k8s_job_executor

    from linksyn_dagster.definitions import defs

    monkeypatch.setenv("LINKSYN_EXECUTOR", "k8s")
    assert defs().executor is k8s_job_executor
    monkeypatch.setenv("LINKSYN_EXECUTOR", "in_process")
    assert defs().executor is dg.in_process_executor
    # the local default stays Dagster's own: runs (and `dagster asset materialize`) may still
    # choose in_process in their run config
    monkeypatch.delenv("LINKSYN_EXECUTOR")
    assert defs().executor is dg.multi_or_in_process_executor


def test_files_refer_to_objects_that_exist_and_agree() -> None:
    configmaps, secrets = set(_by_kind("ConfigMap")), set(_by_kind("Secret"))
    claims, accounts = set(_by_kind("PersistentVolumeClaim")), set(_by_kind("ServiceAccount"))
    instance, values = _instance(), _values()
    launcher = instance["run_launcher"]["config"]
    assert set(launcher["env_config_maps"]) <= configmaps and set(launcher["env_secrets"]) <= secrets
    assert {v["persistentVolumeClaim"]["claimName"] for v in launcher["volumes"]} <= claims
    assert launcher["service_account_name"] in accounts
    k8s = values["runLauncher"]["config"]["k8sRunLauncher"]
    user = values["dagster-user-deployments"]["deployments"][0]
    for block in (k8s, user):
        assert {c["name"] for c in block["envConfigMaps"]} <= configmaps
        assert {s["name"] for s in block["envSecrets"]} <= secrets
        assert {v["persistentVolumeClaim"]["claimName"] for v in block["volumes"]} <= claims
    assert values["global"]["serviceAccountName"] in accounts
    # the chart renders the same queue as deploy/dagster.yaml
    queue = values["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    assert queue["maxConcurrentRuns"] == instance["run_coordinator"]["config"]["max_concurrent_runs"]
    assert queue["tagConcurrencyLimits"] == instance["run_coordinator"]["config"]["tag_concurrency_limits"]
    assert queue["dequeueUseThreads"] == instance["run_coordinator"]["config"]["dequeue_use_threads"]
    assert queue["dequeueNumWorkers"] == instance["run_coordinator"]["config"]["dequeue_num_workers"]
    retries = values["dagsterDaemon"]["runRetries"]
    assert instance["run_retries"] == {"enabled": retries["enabled"], "max_retries": retries["maxRetries"],
                                       "retry_on_asset_or_op_failure": retries["retryOnAssetOrOpFailure"]}
    assert instance["run_retries"]["enabled"] and instance["run_retries"]["max_retries"] > 0
    assert values["postgresql"]["postgresqlScheme"] == instance["storage"]["postgres"]["postgres_db"]["scheme"]
    assert k8s["labels"] == launcher["labels"]
    # the egress policy selects the run pods by the label the launcher gives them
    policy = next(doc for _, _, doc in _manifests() if doc["kind"] == "NetworkPolicy")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= launcher["labels"].items()
    # the Router's endpoints are the vLLM StatefulSet's pods, one by one
    vllm = _by_kind("StatefulSet")["vllm"]
    data = _by_kind("ConfigMap")["linksyn-settings"]["data"]
    bases = [data["LINKSYN_LLM__API_BASE"], *yaml.safe_load(data["LINKSYN_LLM__API_BASES"])]
    assert bases == [f"http://vllm-{i}.vllm.linksyn.svc.cluster.local:8000/v1"
                     for i in range(vllm["spec"]["replicas"])]
    # no secret value is written in any file
    assert all(value == "" for value in _by_kind("Secret")["linksyn-secrets"]["stringData"].values())
