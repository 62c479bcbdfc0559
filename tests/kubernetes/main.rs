//! The Kubernetes provisioner against an in-memory API server behind kube's
//! mock service: the exact requests of first provisioning, drift repair,
//! suspend and resume, delete, retries, and a restart half-way; and every
//! manifest it writes validated against the Kubernetes schemas.

mod fake_api;
mod manifests;

use std::time::Duration;

use control_plane::config::KubernetesSettings;
use control_plane::provisioning::kubernetes::KubernetesProvisioner;
use control_plane::provisioning::kubernetes::manifests::InstanceEnvironment;
use control_plane::provisioning::{Provisioner, TenantDeployment};
use fake_api::{FakeApi, Fault};
use secrecy::SecretString;
use tenant_app::crypto::Key;
use tenant_app::plans::Plan;
use tenant_app::portal::Entitlements;

const NS: &str = "ordo-muster-makler";
const APPLY: &str = "?&force=true&fieldManager=ordo-control-plane";

fn path(kind: &str) -> String {
    match kind {
        "namespace" => format!("/api/v1/namespaces/{NS}"),
        "quota" => format!("/api/v1/namespaces/{NS}/resourcequotas/portal"),
        "limits" => format!("/api/v1/namespaces/{NS}/limitranges/portal"),
        "secret" => format!("/api/v1/namespaces/{NS}/secrets/portal"),
        "documents" => format!("/api/v1/namespaces/{NS}/persistentvolumeclaims/documents"),
        "service" => format!("/api/v1/namespaces/{NS}/services/portal"),
        "maintenance" => format!("/api/v1/namespaces/{NS}/services/maintenance"),
        "policy" => format!("/apis/networking.k8s.io/v1/namespaces/{NS}/networkpolicies/portal"),
        "deployment" => format!("/apis/apps/v1/namespaces/{NS}/deployments/portal"),
        "ingress" => format!("/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses/portal"),
        "events" => format!("/api/v1/namespaces/{NS}/events"),
        other => panic!("unknown kind {other}"),
    }
}

fn apply(kind: &str) -> String {
    format!("PATCH {}{APPLY}", path(kind))
}

fn get(kind: &str) -> String {
    format!("GET {}", path(kind))
}

/// Every object of a tenant, applied in order (after reading the volume's size).
fn apply_all() -> Vec<String> {
    let mut requests = vec![apply("namespace"), get("documents")];
    requests.extend(
        ["quota", "limits", "secret", "documents", "service", "maintenance", "policy", "deployment", "ingress"]
            .map(apply),
    );
    requests
}

fn event() -> String {
    format!("POST {}?", path("events"))
}

fn settings() -> KubernetesSettings {
    KubernetesSettings {
        image: "registry.example.com/ordo/tenant-app:0.1.0".into(),
        cluster_issuer: Some("letsencrypt".into()),
        request_timeout_ms: 200,
        backoff_initial_ms: 10,
        backoff_max_ms: 40,
        poll_interval_ms: 10,
        ready_timeout_secs: 5,
        ..KubernetesSettings::default()
    }
}

pub fn environment() -> InstanceEnvironment {
    InstanceEnvironment {
        operator_name: "Ordo".into(),
        mail_from: "noreply@ordo.example".into(),
        whitelabel_mail_from: Some("portal@mail.example".into()),
        smtp_url: Some(SecretString::from("smtp://mailer:secret@smtp.example:587")),
        max_upload_mib: 20,
        api_requests_per_minute: 600,
    }
}

pub fn tenant(plan: Plan, custom_domains: &[&str]) -> TenantDeployment {
    TenantDeployment {
        tenant_id: "0193a3b4-0000-7000-8000-000000000001".into(),
        slug: "muster-makler".into(),
        display_name: "Muster Makler".into(),
        public_url: "https://muster-makler.ordo.example".into(),
        database_url: SecretString::from("postgres://ordo_t_1:pw@db.example:5432/ordo_t_1"),
        session_key: Key::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap(),
        entitlements: Entitlements { plan, whitelabel: false, trial_ended: false },
        custom_domains: custom_domains.iter().map(|d| d.to_string()).collect(),
    }
}

fn provisioner(api: &FakeApi) -> KubernetesProvisioner {
    KubernetesProvisioner::new(api.client(), settings(), environment())
}

#[tokio::test]
async fn first_provisioning_applies_every_object_and_waits_for_the_portal() {
    let api = FakeApi::default();
    let deployed = provisioner(&api).deploy(&tenant(Plan::Trial, &["portal.makler-muster.de"])).await.unwrap();
    assert!(deployed.repaired.is_empty());

    let mut expected = apply_all();
    expected.push(get("deployment")); // not yet available after the apply: read until it is
    expected.push(event());
    assert_eq!(api.take_log(), expected);

    let namespace = api.object(&path("namespace")).unwrap();
    assert_eq!(namespace["metadata"]["labels"]["ordo/tenant-id"], "0193a3b4-0000-7000-8000-000000000001");
    assert_eq!(namespace["metadata"]["labels"]["ordo/plan"], "trial");
    assert_eq!(namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"], "restricted");

    let secret = api.object(&path("secret")).unwrap();
    let keys: Vec<&str> = secret["data"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["ORDO_DATABASE_URL", "ORDO_INTERNAL_TOKEN", "ORDO_SESSION_KEY", "ORDO_SMTP_URL"]);

    let deployment = api.object(&path("deployment")).unwrap();
    assert_eq!(deployment["spec"]["replicas"], 1);
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert_eq!(pod["automountServiceAccountToken"], false);
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "registry.example.com/ordo/tenant-app:0.1.0");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(container["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["resources"]["limits"]["memory"], "256Mi");
    assert_eq!(container["envFrom"][0]["secretRef"]["name"], "portal");
    let env =
        |name: &str| container["env"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["value"].clone();
    assert_eq!(env("ORDO_CONTROL_PLANE_URL"), "http://ordo.ordo.svc.cluster.local:80");
    assert_eq!(env("ORDO_PLAN"), "trial");
    assert!(!deployment.to_string().contains("secret@smtp"), "secrets stay in the Secret");

    let ingress = api.object(&path("ingress")).unwrap();
    let hosts: Vec<&str> =
        ingress["spec"]["rules"].as_array().unwrap().iter().map(|r| r["host"].as_str().unwrap()).collect();
    assert_eq!(hosts, ["muster-makler.ordo.example", "portal.makler-muster.de"]);
    assert_eq!(ingress["spec"]["tls"][0]["hosts"][1], "portal.makler-muster.de");
    assert_eq!(ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"], "letsencrypt");
    assert_eq!(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], "portal");
    let billing = &ingress["spec"]["rules"][1]["http"]["paths"][1];
    assert_eq!(billing["path"], "/makler/abrechnung");
    assert_eq!(billing["backend"]["service"]["name"], "maintenance", "the billing area goes to the control plane");

    let policy = api.object(&path("policy")).unwrap();
    assert_eq!(policy["spec"]["policyTypes"], serde_json::json!(["Ingress", "Egress"]));
    let from = &policy["spec"]["ingress"][0]["from"];
    assert_eq!(from[0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "ingress-nginx");
    assert_eq!(from[1]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "ordo");

    let events = api.events(NS);
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].0.as_str(), events[0].1.as_str()), ("Normal", "Deployed"));
}

#[tokio::test]
async fn applying_again_changes_nothing_and_repairs_drift() {
    let api = FakeApi::default();
    let provisioner = provisioner(&api);
    let tenant = tenant(Plan::Premium, &[]);
    provisioner.deploy(&tenant).await.unwrap();
    api.take_log();

    // Nothing changed: the same applies, no waiting, no event.
    let deployed = provisioner.deploy(&tenant).await.unwrap();
    assert!(deployed.repaired.is_empty());
    assert_eq!(api.take_log(), apply_all());
    assert_eq!(api.events(NS).len(), 1);

    // Someone deletes the Service and scales the Deployment by hand.
    api.delete_object(&path("service"));
    api.edit_object(&path("deployment"), |d| d["spec"]["replicas"] = 3.into());
    let deployed = provisioner.deploy(&tenant).await.unwrap();
    assert_eq!(deployed.repaired, ["Service/portal", "Deployment/portal"]);
    let mut expected = apply_all();
    expected.push(get("deployment"));
    expected.push(event());
    assert_eq!(api.take_log(), expected);
    assert!(api.object(&path("service")).is_some(), "the Service is back");
    assert_eq!(api.object(&path("deployment")).unwrap()["spec"]["replicas"], 1);
    let events = api.events(NS);
    let drift = events.iter().find(|e| e.1 == "DriftRepaired").expect("a drift event");
    assert_eq!(drift.0, "Warning");
    assert!(drift.2.contains("Service/portal") && drift.2.contains("Deployment/portal"), "{}", drift.2);
}

#[tokio::test]
async fn suspend_scales_to_zero_behind_the_maintenance_page_and_resume_reverses_it() {
    let api = FakeApi::default();
    let provisioner = provisioner(&api);
    let tenant = tenant(Plan::PayPerUse, &[]);
    provisioner.deploy(&tenant).await.unwrap();
    api.take_log();

    provisioner.suspend(&tenant).await.unwrap();
    let mut expected = apply_all();
    expected.push(event()); // no waiting: nothing has to come up
    assert_eq!(api.take_log(), expected);
    assert_eq!(api.object(&path("deployment")).unwrap()["spec"]["replicas"], 0);
    let ingress = api.object(&path("ingress")).unwrap();
    let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    assert_eq!(backend["name"], "maintenance");
    assert_eq!(backend["port"]["number"], 80);
    let maintenance = api.object(&path("maintenance")).unwrap();
    assert_eq!(maintenance["spec"]["type"], "ExternalName");
    assert_eq!(maintenance["spec"]["externalName"], "ordo.ordo.svc.cluster.local");
    assert!(api.events(NS).iter().any(|e| e.1 == "Suspended"));
    // The data stays: the volume and the Secret are still there.
    assert!(api.object(&path("documents")).is_some() && api.object(&path("secret")).is_some());

    provisioner.deploy(&tenant).await.unwrap();
    let mut expected = apply_all();
    expected.push(get("deployment"));
    expected.push(event());
    assert_eq!(api.take_log(), expected);
    assert_eq!(api.object(&path("deployment")).unwrap()["spec"]["replicas"], 1);
    let ingress = api.object(&path("ingress")).unwrap();
    assert_eq!(ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"], "portal");
}

#[tokio::test]
async fn delete_removes_the_namespace_and_waits_until_it_is_gone() {
    let api = FakeApi::default();
    let provisioner = provisioner(&api);
    let tenant = tenant(Plan::Trial, &[]);
    provisioner.deploy(&tenant).await.unwrap();
    api.take_log();

    provisioner.remove(&tenant.tenant_id, &tenant.slug).await.unwrap();
    let delete = format!("DELETE {}?", path("namespace"));
    // Terminating for two reads, then gone.
    assert_eq!(api.take_log(), [delete, get("namespace"), get("namespace"), get("namespace")]);
    assert!(api.object(&path("namespace")).is_none());
    assert!(api.object(&path("deployment")).is_none(), "everything in it went too");

    // Deleting what is already gone succeeds.
    provisioner.remove(&tenant.tenant_id, &tenant.slug).await.unwrap();
}

#[tokio::test]
async fn conflicts_server_errors_and_timeouts_are_retried() {
    let api = FakeApi::default();
    api.fail_next(&apply("namespace"), Fault::Status(409));
    api.fail_next(&apply("secret"), Fault::Status(503));
    api.fail_next(&apply("secret"), Fault::Status(500));
    api.fail_next(&apply("service"), Fault::Silence);
    api.fail_next(&get("deployment"), Fault::Status(429));
    provisioner(&api).deploy(&tenant(Plan::Trial, &[])).await.unwrap();

    let mut expected = apply_all();
    let at = |expected: &Vec<String>, request: String| expected.iter().position(|r| *r == request).unwrap();
    let i = at(&expected, apply("namespace"));
    expected.insert(i, apply("namespace"));
    let i = at(&expected, apply("secret"));
    expected.insert(i, apply("secret"));
    expected.insert(i, apply("secret"));
    let i = at(&expected, apply("service"));
    expected.insert(i, apply("service"));
    expected.extend([get("deployment"), get("deployment"), event()]);
    assert_eq!(api.take_log(), expected);
}

#[tokio::test]
async fn errors_that_waiting_cannot_cure_fail_at_once_and_retries_end() {
    let api = FakeApi::default();
    api.fail_next(&apply("deployment"), Fault::Status(422));
    let error = provisioner(&api).deploy(&tenant(Plan::Trial, &[])).await.unwrap_err();
    assert!(format!("{error:#}").contains("applying Deployment/portal"), "{error:#}");
    let log = api.take_log();
    assert_eq!(log.iter().filter(|r| **r == apply("deployment")).count(), 1, "a 422 is not retried");
    assert_eq!(log.last().unwrap(), &apply("deployment"), "nothing after the failed step");

    for _ in 0..6 {
        api.fail_next(&apply("namespace"), Fault::Status(500));
    }
    let error = provisioner(&api).deploy(&tenant(Plan::Trial, &[])).await.unwrap_err();
    assert!(format!("{error:#}").contains("gave up after 6 attempts"), "{error:#}");
    assert_eq!(api.take_log(), vec![apply("namespace"); 6]);
}

#[tokio::test]
async fn a_restart_in_the_middle_of_provisioning_finishes_the_job() {
    let api = FakeApi::default();
    // The control plane dies while the Deployment is being applied.
    api.fail_next(&apply("deployment"), Fault::Silence);
    let slow = KubernetesProvisioner::new(
        api.client(),
        KubernetesSettings { request_timeout_ms: 60_000, ..settings() },
        environment(),
    );
    let tenant = tenant(Plan::Trial, &[]);
    let crashing = tenant.clone();
    let first = tokio::spawn(async move { slow.deploy(&crashing).await });
    for _ in 0..500 {
        if api.log().contains(&apply("deployment")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.abort();
    let _ = first.await;
    let before = api.take_log();
    assert_eq!(before.last().unwrap(), &apply("deployment"), "{before:?}");
    assert!(api.object(&path("ingress")).is_none());

    // A new process, with nothing in memory, provisions the same tenant again.
    provisioner(&api).deploy(&tenant).await.unwrap();
    let mut expected = apply_all();
    expected.extend([get("deployment"), event()]);
    assert_eq!(api.take_log(), expected);
    assert!(api.object(&path("ingress")).is_some());
}
