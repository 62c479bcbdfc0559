"""Checks the TOML file a Helm render mounts at ORDO_CONFIG.

serde ignores keys it does not know, so a misspelt key in the chart would be
dropped without a word and the default used instead. This parses the file
with tomllib and compares its keys with the fields of the Rust structs they
fill (control-plane/src/config.rs, provisioning/kubernetes/settings.rs), in
both directions: every rendered key exists, and every setting is rendered.

usage: helm-config-keys.py RENDER.yaml (local|kubernetes) RELEASE_NAMESPACE SERVICE_NAME
"""

import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "control-plane/src/config/kubernetes.rs"
CONFIG = ROOT / "control-plane/src/config/mod.rs"
JOBS = ROOT / "control-plane/src/config/jobs.rs"
BILLING = ROOT / "control-plane/src/config/billing.rs"
# Optional keys the chart renders only when set.
OPTIONAL = {"billing.contract_template"}


def struct_fields(source: str, name: str) -> dict[str, str]:
    """`pub field: Type` of one struct, in order."""
    body = re.search(r"pub struct " + name + r" \{(.*?)\n\}", source, re.S)
    if not body:
        sys.exit(f"struct {name} not found")
    return dict(re.findall(r"^\s*pub (\w+): ([^,\n]+),", body.group(1), re.M))


def expected_kubernetes_keys() -> set[str]:
    source = SETTINGS.read_text()
    nested = {name: struct_fields(source, name) for name in ("EgressTarget", "PlanSizes", "PodSize")}
    keys = set()
    for field, kind in struct_fields(source, "KubernetesSettings").items():
        keys.add(f"kubernetes.{field}")
        if kind == "EgressTarget":
            keys |= {f"kubernetes.{field}.{sub}" for sub in nested["EgressTarget"]}
        elif kind == "PlanSizes":
            for plan, plan_kind in nested["PlanSizes"].items():
                assert plan_kind == "PodSize", plan_kind
                keys.add(f"kubernetes.{field}.{plan}")
                keys |= {f"kubernetes.{field}.{plan}.{sub}" for sub in nested["PodSize"]}
    return keys


def flatten(table: dict, prefix: str = "", free: tuple = ()) -> set[str]:
    """Dotted key paths; maps of free-form keys (labels, annotations) are not descended."""
    keys = set()
    for key, value in table.items():
        path = f"{prefix}{key}"
        keys.add(path)
        if isinstance(value, dict) and path not in free:
            keys |= flatten(value, path + ".", free)
    return keys


def main() -> None:
    render, provisioner, namespace, service = sys.argv[1:5]
    config_fields = struct_fields(CONFIG.read_text(), "Config")
    for key in ("provisioner", "reconcile_interval_secs", "kubernetes", "jobs", "billing"):
        if key not in config_fields:
            sys.exit(f"Config has no field {key}: update this check and the chart")

    files = [
        doc["data"]["ordo.toml"]
        for doc in yaml.safe_load_all(Path(render).read_text())
        if doc and doc.get("kind") == "ConfigMap" and "ordo.toml" in doc.get("data", {})
    ]
    if len(files) != 1:
        sys.exit(f"expected one ConfigMap with ordo.toml, found {len(files)}")
    config = tomllib.loads(files[0])

    free = ("kubernetes.control_plane_pod_labels", "kubernetes.ingress_annotations")
    rendered = flatten(config, free=free)
    expected = {"provisioner", "reconcile_interval_secs", "jobs", "billing"}
    expected |= {f"jobs.{field}" for field in struct_fields(JOBS.read_text(), "JobSettings")}
    expected |= {f"billing.{field}" for field in struct_fields(BILLING.read_text(), "BillingSettings")}
    if provisioner == "kubernetes":
        expected |= {"kubernetes"} | expected_kubernetes_keys()
    unknown, missing = sorted(rendered - expected), sorted(expected - rendered - OPTIONAL)
    if unknown or missing:
        sys.exit(f"ordo.toml keys differ from the Rust settings:\n  unknown: {unknown}\n  missing: {missing}")

    if config["provisioner"] != provisioner:
        sys.exit(f"provisioner is {config['provisioner']!r}, expected {provisioner!r}")
    if not isinstance(config["reconcile_interval_secs"], int) or config["reconcile_interval_secs"] < 1:
        sys.exit("reconcile_interval_secs must be a positive integer")
    if provisioner == "kubernetes":
        k = config["kubernetes"]
        for key in ("control_plane_port", "request_timeout_ms", "max_attempts", "backoff_initial_ms",
                    "backoff_max_ms", "ready_timeout_secs", "poll_interval_ms"):
            if not isinstance(k[key], int):
                sys.exit(f"kubernetes.{key} must be an integer, is {k[key]!r}")
        for target in ("database", "smtp"):
            if not isinstance(k[target]["port"], int):
                sys.exit(f"kubernetes.{target}.port must be an integer")
            if bool(k[target]["cidr"]) == bool(k[target]["namespace"]):
                sys.exit(f"kubernetes.{target} needs exactly one of cidr or namespace")
        if (k["control_plane_namespace"], k["control_plane_service"]) != (namespace, service):
            sys.exit(f"control plane is {k['control_plane_namespace']}/{k['control_plane_service']}, "
                     f"expected {namespace}/{service}")
        # The tenants' NetworkPolicy admits the pods with these labels: they
        # must be the labels the chart's pods carry.
        pods = [doc for doc in yaml.safe_load_all(Path(render).read_text())
                if doc and doc.get("kind") == "Deployment"]
        pod_labels = pods[0]["spec"]["template"]["metadata"]["labels"]
        if not k["control_plane_pod_labels"] or any(
                pod_labels.get(key) != value for key, value in k["control_plane_pod_labels"].items()):
            sys.exit(f"control_plane_pod_labels {k['control_plane_pod_labels']} do not select the pods")
        services = [doc for doc in yaml.safe_load_all(Path(render).read_text())
                    if doc and doc.get("kind") == "Service"]
        if services[0]["spec"]["ports"][0]["port"] != k["control_plane_port"]:
            sys.exit("control_plane_port is not the Service's port")
    print(f"ordo.toml: {len(rendered)} keys, all known to the control plane ({provisioner})")


if __name__ == "__main__":
    main()
