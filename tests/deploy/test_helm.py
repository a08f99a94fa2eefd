"""deploy/helm/mmtriton, validated offline with the real tools (no cluster exists here):
`helm lint --strict` and `helm template` with helm 3 and helm 4 for every values example at two
Kubernetes versions; every rendered object against the Kubernetes schemas in strict mode
(kubernetes-validate); the custom resources with the npm kubernetes-models validators; checkov
with the committed skip list; and the invariants the chart promises, read from the rendered YAML.
The tools come from the package registries through scripts/deploy-tools.sh (`make setup`)."""

from __future__ import annotations

import json
import re
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HELM_DIR = ROOT / "deploy" / "helm"
CHART = HELM_DIR / "mmtriton"
TOOLS = ROOT / ".tools" / "bin"
EXAMPLES = sorted((HELM_DIR / "examples").glob("*.yaml"))
VALUE_SETS = [None, *EXAMPLES]  # None: the chart's defaults
KUBE_VERSIONS = ("1.30.0", "1.34.0")
HELMS = ("helm3", "helm4")
CUSTOM = {("monitoring.coreos.com/v1", "PodMonitor"), ("monitoring.coreos.com/v1", "PrometheusRule"),
          ("keda.sh/v1alpha1", "ScaledObject")}
API_VERSIONS = ("monitoring.coreos.com/v1", "keda.sh/v1alpha1")
NAMESPACE = "inference"


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make setup` (scripts/deploy-tools.sh installs the chart validators)")
    return path


def ids(values: Path | None) -> str:
    return "defaults" if values is None else values.stem


@lru_cache(maxsize=None)
def render_text(values: Path | None = None, kube: str = KUBE_VERSIONS[-1], helm: str = "helm3",
                sets: tuple[str, ...] = ()) -> str:
    args = [str(tool(helm)), "template", "mm", str(CHART), "--namespace", NAMESPACE, "--kube-version", kube]
    args += [a for v in API_VERSIONS for a in ("--api-versions", v)]
    args += ["-f", str(values)] if values else []
    args += [a for s in sets for a in ("--set", s)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if proc.returncode:
        raise RuntimeError(proc.stderr.strip())
    return proc.stdout


def render(values: Path | None = None, **kw: Any) -> list[dict]:
    return [d for d in yaml.safe_load_all(render_text(values, **kw)) if d]


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def merge(base: dict, over: dict) -> dict:
    """Helm's coalescing of a values file over the chart's: maps merge, everything else replaces."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def values_of(values: Path | None) -> dict:
    merged = yaml.safe_load((CHART / "values.yaml").read_text())
    return merge(merged, yaml.safe_load(values.read_text())) if values else merged


# --- the real tools -------------------------------------------------------------------------

@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("values", VALUE_SETS, ids=ids)
def test_helm_lint_strict(helm, values):
    args = [str(tool(helm)), "lint", "--strict", str(CHART), "--namespace", NAMESPACE]
    args += ["-f", str(values)] if values else []
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 chart(s) failed" in proc.stdout


@pytest.mark.parametrize("helm", HELMS)
@pytest.mark.parametrize("kube", KUBE_VERSIONS)
@pytest.mark.parametrize("values", VALUE_SETS, ids=ids)
def test_every_object_validates_against_the_kubernetes_schemas(values, kube, helm):
    import kubernetes_validate

    docs = render(values, kube=kube, helm=helm)
    assert docs, "nothing rendered"
    for doc in docs:
        if (doc["apiVersion"], doc["kind"]) in CUSTOM:
            continue  # no Kubernetes schema: test_custom_resources_validate
        kubernetes_validate.validate(doc, kube, strict=True)


def test_kubernetes_validate_is_strict_and_knows_no_custom_kinds():
    """The probe above can fail: an unknown field and a kind without a schema are both refused."""
    import kubernetes_validate

    deployment = of_kind(render(), "Deployment")[0]
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSIONS[0], strict=True)
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(of_kind(render(), "PodMonitor")[0], KUBE_VERSIONS[0], strict=True)


def validate_custom(docs: list[dict]) -> dict:
    proc = subprocess.run(["node", str(HELM_DIR / "tools" / "validate-crds.mjs")], input=yaml.safe_dump_all(docs),
                          capture_output=True, text=True, timeout=120, cwd=HELM_DIR / "tools")
    if not (HELM_DIR / "tools" / "node_modules").is_dir():
        pytest.fail("deploy/helm/tools/node_modules is missing: run `make setup`")
    assert proc.stdout, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


def test_custom_resources_validate_with_kubernetes_models():
    docs = [d for v in VALUE_SETS for d in render(v) if (d["apiVersion"], d["kind"]) in CUSTOM]
    kinds = {d["kind"] for d in docs}
    assert kinds == {"PodMonitor", "PrometheusRule", "ScaledObject"}, kinds
    result = validate_custom(docs)
    assert result == {"checked": len(docs), "problems": []}


def test_the_custom_resource_check_refuses_typos_and_unknown_kinds():
    monitor = of_kind(render(), "PodMonitor")[0]
    monitor["spec"]["podMetricEndpoints"] = monitor["spec"].pop("podMetricsEndpoints")
    scaled = of_kind(render(sets=("autoscaling.engine=keda",)), "ScaledObject")[0]
    del scaled["spec"]["scaleTargetRef"]
    stranger = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    problems = validate_custom([monitor, scaled, stranger])["problems"]
    assert any("podMetricEndpoints: unknown field" in p for p in problems), problems
    assert any(p.startswith("ScaledObject/") and "scaleTargetRef" in p for p in problems), problems
    assert any("Widget" in p and "not an allow-listed" in p for p in problems), problems


def checkov_skips() -> dict[str, str]:
    return yaml.safe_load((HELM_DIR / "checkov-skips.yaml").read_text())


def test_every_checkov_skip_gives_a_reason():
    skips = checkov_skips()
    assert skips and all(re.fullmatch(r"CKV2?_K8S_\d+", k) for k in skips), skips
    assert all(isinstance(r, str) and len(r.split()) >= 8 for r in skips.values()), skips


def test_checkov_finds_nothing_beyond_the_committed_skips(tmp_path):
    for values in VALUE_SETS:
        (tmp_path / f"{ids(values)}.yaml").write_text(render_text(values))
    proc = subprocess.run([str(tool("checkov")), "-d", str(tmp_path), "--framework", "kubernetes", "--quiet",
                           "--compact", "--skip-download", "-o", "json", "--skip-check", ",".join(checkov_skips())],
                          capture_output=True, text=True, timeout=600)
    reports = json.loads(proc.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [(c["check_id"], c["resource"]) for r in reports for c in r["results"]["failed_checks"]]
    assert failed == [] and proc.returncode == 0, failed or proc.stderr[-2000:]
    assert sum(r["summary"]["passed"] for r in reports) > 100


def test_checkov_would_flag_a_privileged_container(tmp_path):
    """The scan above can fail: the same rendering with a privileged, root server is flagged."""
    text = render_text().replace("privileged: false", "privileged: true").replace("runAsNonRoot: true", "runAsNonRoot: false")
    (tmp_path / "bad.yaml").write_text(text)
    proc = subprocess.run([str(tool("checkov")), "-f", str(tmp_path / "bad.yaml"), "--framework", "kubernetes",
                           "--quiet", "--compact", "--skip-download", "-o", "json",
                           "--skip-check", ",".join(checkov_skips())], capture_output=True, text=True, timeout=600)
    failed = {c["check_id"] for c in json.loads(proc.stdout)["results"]["failed_checks"]}
    assert {"CKV_K8S_16", "CKV_K8S_23"} & failed, failed


# --- what the chart promises ------------------------------------------------------------------

def test_default_values_render_every_part():
    kinds = sorted(d["kind"] for d in render())
    assert kinds == sorted(["Job", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy", "NetworkPolicy",
                            "PodMonitor", "PrometheusRule", "HorizontalPodAutoscaler", "Secret",
                            "PersistentVolumeClaim"]), kinds


def scalers(docs: list[dict]) -> list[tuple[str, str]]:
    """(kind, target Deployment) of every autoscaler."""
    return [(d["kind"], d["spec"]["scaleTargetRef"]["name"]) for d in docs
            if d["kind"] in ("HorizontalPodAutoscaler", "ScaledObject")]


@pytest.mark.parametrize("values", VALUE_SETS, ids=ids)
def test_one_autoscaler_per_deployment_of_the_chosen_kind(values):
    docs, engine = render(values), values_of(values)["autoscaling"]["engine"]
    deployments = sorted(d["metadata"]["name"] for d in of_kind(docs, "Deployment"))
    found = scalers(docs)
    if engine == "none":
        assert found == [] and all("replicas" in d["spec"] for d in of_kind(docs, "Deployment"))
        return
    kind = {"hpa": "HorizontalPodAutoscaler", "keda": "ScaledObject"}[engine]
    assert sorted(t for _, t in found) == deployments and {k for k, _ in found} == {kind}
    assert all("replicas" not in d["spec"] for d in of_kind(docs, "Deployment")), "the autoscaler owns replicas"


def test_an_autoscaler_kind_outside_hpa_keda_none_is_refused():
    with pytest.raises(RuntimeError, match="one of hpa, keda, none"):
        render_text(sets=("autoscaling.engine=both",))


def pod_of(doc: dict) -> dict:
    return doc["spec"]["template"]["spec"]


def cache_args(args: list[str]) -> dict[str, str]:
    return {args[i]: args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--cache", "--release", "--product", "--precision")}


@pytest.mark.parametrize("values", VALUE_SETS, ids=ids)
def test_each_pool_builds_and_serves_on_its_own_gpu_product(values):
    docs, vals = render(values), values_of(values)
    jobs = {j["metadata"]["labels"]["mmtriton.dev/pool"]: j for j in of_kind(docs, "Job")}
    deps = {d["metadata"]["labels"]["mmtriton.dev/pool"]: d for d in of_kind(docs, "Deployment")}
    assert set(jobs) == set(deps) == {p["name"] for p in vals["pools"]}
    for pool in vals["pools"]:
        job, dep = pod_of(jobs[pool["name"]]), pod_of(deps[pool["name"]])
        assert job["nodeSelector"] == dep["nodeSelector"] == {"nvidia.com/gpu.product": pool["gpuProduct"]}
        assert jobs[pool["name"]]["metadata"]["labels"]["app.kubernetes.io/instance"] == \
            deps[pool["name"]]["metadata"]["labels"]["app.kubernetes.io/instance"] == "mm"
        key = {"--cache": "/cache", "--release": vals["ngcRelease"], "--product": pool["gpuProduct"],
               "--precision": vals["model"]["precision"]}
        assert cache_args(job["containers"][0]["args"]) == key
        init = dep["initContainers"][0]["args"]
        assert cache_args(init) == key and init[:2] == ["engine-cache", "fetch"]
        assert (["--build", vals["model"]["pin"]] == init[-2:]) == bool(vals["model"]["pin"])
        for pod in (job, dep):
            assert pod_of_limits(pod)["nvidia.com/gpu"] == 1, "one GPU per pod"


def pod_of_limits(pod: dict) -> dict:
    return pod["containers"][0]["resources"]["limits"]


def test_build_jobs_are_hooks_that_run_before_the_servers():
    docs = render()
    job = of_kind(docs, "Job")[0]
    assert set(job["metadata"]["annotations"]["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    pvc = of_kind(docs, "PersistentVolumeClaim")[0]["metadata"]["annotations"]
    assert pvc["helm.sh/resource-policy"] == "keep" and int(pvc["helm.sh/hook-weight"]) < 0
    volumes = {v["name"]: v for v in pod_of(of_kind(docs, "Deployment")[0])["volumes"]}
    assert volumes["cache"]["persistentVolumeClaim"]["readOnly"] is True, "servers mount the cache read-only"


def test_build_jobs_can_be_left_out_and_have_stable_bounded_names():
    docs = render(sets=("build.enabled=false",))
    assert not of_kind(docs, "Job") and len(of_kind(docs, "NetworkPolicy")) == 1 and of_kind(docs, "Deployment")
    names = [j["metadata"]["name"] for j in of_kind(render(), "Job")]
    assert names == ["mm-mmtriton-h100-build"], "the same name every revision: before-hook-creation replaces it"
    long = of_kind(render(sets=("pools[0].name=abcdefghijklmnopqrst", "pools[0].gpuProduct=NVIDIA-L4")), "Job")[0]["metadata"]["name"]
    assert len(long) <= 63 and long.endswith("-build")
    job = of_kind(render(), "Job")[0]
    assert job["spec"]["ttlSecondsAfterFinished"] > 0
    env = {e["name"]: e["value"] for e in pod_of(job)["containers"][0]["env"]}
    assert env["MMTRITON_ENGINES"].endswith("/NVIDIA-H100-80GB-HBM3"), "engines and timing cache per GPU product"


def test_keda_reports_missing_metrics_instead_of_reading_zero():
    scaled = of_kind(render(sets=("autoscaling.engine=keda",)), "ScaledObject")[0]["spec"]
    assert scaled["triggers"][0]["metadata"]["ignoreNullValues"] == "false"
    assert scaled["fallback"]["replicas"] >= scaled["minReplicaCount"]


def server(doc: dict) -> dict:
    return next(c for c in pod_of(doc)["containers"] if c["name"] == "triton")


@pytest.mark.parametrize("values", VALUE_SETS, ids=ids)
def test_servers_carry_the_compose_hardening(values):
    vals = values_of(values)
    for dep in of_kind(render(values), "Deployment"):
        pod, c = pod_of(dep), server(dep)
        assert pod["securityContext"]["runAsUser"] == 1000 and pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        assert pod["automountServiceAccountToken"] is False
        for container in pod["containers"] + pod["initContainers"]:
            sc = container["securityContext"]
            assert sc["capabilities"]["drop"] == ["ALL"] and sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
        shm = next(v for v in pod["volumes"] if v["name"] == "dshm")["emptyDir"]
        assert shm["medium"] == "Memory" and gib(shm["sizeLimit"]) >= 2
        assert any(m["mountPath"] == "/dev/shm" for m in c["volumeMounts"])
        exit_timeout = int(next(e["value"] for e in c["env"] if e["name"] == "TRITON_EXIT_TIMEOUT"))
        assert exit_timeout == vals["server"]["exitTimeoutSeconds"]
        assert pod["terminationGracePeriodSeconds"] > exit_timeout + vals["server"]["preStopSeconds"]
        assert c["resources"]["requests"] and c["resources"]["limits"]["memory"]


def gib(quantity: str) -> float:
    units = {"Gi": 1, "Mi": 1 / 1024, "Ti": 1024}
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Gi|Mi|Ti)", quantity).groups()
    return float(number) * units[unit]


@pytest.mark.parametrize("values", VALUE_SETS, ids=ids)
def test_probes_startup_ready_live(values):
    vals = values_of(values)
    for dep in of_kind(render(values), "Deployment"):
        c = server(dep)
        startup = c["startupProbe"]
        assert startup["httpGet"]["path"] == "/v2/health/ready"
        assert startup["periodSeconds"] * startup["failureThreshold"] >= vals["server"]["startupSeconds"]
        ready, live = c["readinessProbe"], c["livenessProbe"]
        if vals["server"]["deepReadiness"]:
            assert ready["exec"]["command"][:4] == ["mmtriton", "probe", "--mode", "ready"], "a real inference"
            assert live["exec"]["command"][:4] == ["mmtriton", "probe", "--mode", "live"], "/v2/health/live + stubs"
            assert min(ready["timeoutSeconds"], live["timeoutSeconds"]) > 10, "longer than the probe's deadline"
        else:
            assert ready["httpGet"]["path"] == "/v2/health/ready" and live["httpGet"]["path"] == "/v2/health/live"
        assert c["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", str(vals["server"]["preStopSeconds"])]


def test_grace_period_must_exceed_the_exit_timeout():
    with pytest.raises(RuntimeError, match="must exceed server.preStopSeconds \\+ server.exitTimeoutSeconds"):
        render_text(sets=("server.exitTimeoutSeconds=50", "server.terminationGracePeriodSeconds=60"))


@pytest.mark.parametrize("values", VALUE_SETS, ids=ids)
def test_the_admin_key_only_ever_comes_from_a_secret(values):
    docs, vals = render(values), values_of(values)
    secret = vals["adminKey"]["existingSecret"] or "mm-mmtriton-admin"
    assert bool(of_kind(docs, "Secret")) != bool(vals["adminKey"]["existingSecret"])
    for dep in of_kind(docs, "Deployment"):
        c, pod = server(dep), pod_of(dep)
        assert not [e for e in c["env"] if "ADMIN_KEY" in e["name"] and e["name"] != "TRITON_ADMIN_KEY_FILE"]
        key_file = next(e["value"] for e in c["env"] if e["name"] == "TRITON_ADMIN_KEY_FILE")
        volume = next(v for v in pod["volumes"] if "secret" in v)
        assert volume["secret"]["secretName"] == secret
        mount = next(m for m in c["volumeMounts"] if m["name"] == volume["name"])
        assert key_file.startswith(mount["mountPath"] + "/") and mount["readOnly"] is True
    assert "admin-key=" not in render_text(values), "the key never appears in a rendered flag"


def test_service_is_cluster_ip_over_http_and_grpc_only():
    svc = of_kind(render(), "Service")[0]["spec"]
    assert svc["type"] == "ClusterIP"
    assert {p["name"]: p["port"] for p in svc["ports"]} == {"http": 8000, "grpc": 8001}


def test_the_metrics_port_is_open_only_to_the_monitoring_namespace():
    policy = next(d for d in of_kind(render(EXAMPLES[0]), "NetworkPolicy") if d["metadata"]["name"] == "mm-mmtriton")
    by_port: dict[int, list] = {}
    for rule in policy["spec"]["ingress"]:
        for port in rule["ports"]:
            by_port.setdefault(port["port"], []).extend(rule["from"])
    assert by_port[8002] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACE}}} in by_port[8000]


def test_pod_monitor_labels_pod_namespace_and_pool():
    endpoint = of_kind(render(), "PodMonitor")[0]["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "metrics"
    targets = {r["targetLabel"]: r["sourceLabels"] for r in endpoint["relabelings"]}
    assert targets == {"pod": ["__meta_kubernetes_pod_name"], "namespace": ["__meta_kubernetes_namespace"],
                       "pool": ["__meta_kubernetes_pod_label_mmtriton_dev_pool"]}


def test_prometheus_rule_is_the_generated_rule_file_and_the_scalers_use_it():
    from mmtriton.repository.monitoring import RECORD

    docs = render(sets=("autoscaling.engine=keda",))
    rule_file = (CHART / "files" / "rules.yaml").read_text()
    scoped = yaml.safe_load(rule_file.replace('{model=~"', f'{{namespace="{NAMESPACE}",model=~"'))
    assert of_kind(docs, "PrometheusRule")[0]["spec"] == scoped, "the rule file, limited to the release namespace"
    assert scoped != yaml.safe_load(rule_file)
    trigger = of_kind(docs, "ScaledObject")[0]["spec"]["triggers"][0]
    assert trigger["metricType"] == "AverageValue" and RECORD in trigger["metadata"]["query"]
    adapter = yaml.safe_load((HELM_DIR / "prometheus-adapter-values.yaml").read_text())["rules"]["custom"][0]
    hpa = of_kind(render(), "HorizontalPodAutoscaler")[0]["spec"]["metrics"][0]["pods"]
    assert RECORD in adapter["seriesQuery"] and adapter["name"]["as"] == hpa["metric"]["name"]
    assert hpa["target"]["averageValue"] == f"{int(values_of(None)['autoscaling']['target'] * 1000)}m"
