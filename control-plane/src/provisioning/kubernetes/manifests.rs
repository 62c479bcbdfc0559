//! The objects that make up one tenant on Kubernetes, built as typed values
//! from the tenant's deployment and the settings. Pure: no API calls here, so
//! every manifest can be checked (and validated by kubernetes-validate) alone.
//!
//! One namespace per tenant holds: the quota and default limits, the Secret,
//! the documents volume, the portal Deployment and Service, a `maintenance`
//! Service pointing at the control plane, the NetworkPolicy and the Ingress.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvFromSource, EnvVar, HTTPGetAction, LimitRange,
    LimitRangeItem, LimitRangeSpec, Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceQuota,
    ResourceQuotaSpec, ResourceRequirements, SeccompProfile, Secret, SecretEnvSource, SecurityContext, Service,
    ServicePort, ServiceSpec, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, IPBlock, Ingress, IngressBackend, IngressRule, IngressServiceBackend,
    IngressSpec, IngressTLS, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{EgressTarget, KubernetesSettings, PodSize};
use crate::provisioning::TenantDeployment;

/// The name of every per-tenant object that exists once per namespace.
pub const PORTAL: &str = "portal";
pub const MAINTENANCE: &str = "maintenance";
pub const DOCUMENTS: &str = "documents";
const PORT: i32 = 8080;
const TLS_SECRET: &str = "portal-tls";
/// Served by the control plane on every portal host (web/broker_billing.rs).
const BILLING_PATH: &str = "/makler/abrechnung";
/// The tenant-app image's user (see tenant-app/Dockerfile).
const APP_USER: i64 = 10001;

/// What every tenant instance shares: the control plane's mail and product settings.
#[derive(Clone)]
pub struct InstanceEnvironment {
    pub operator_name: String,
    pub mail_from: String,
    pub whitelabel_mail_from: Option<String>,
    pub smtp_url: Option<SecretString>,
    pub max_upload_mib: usize,
    /// Requests one API key may make per minute in a portal's API.
    pub api_requests_per_minute: u32,
}

/// Whether the portal serves or is parked behind the maintenance page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Serving,
    Suspended,
}

/// Everything to apply for one tenant, in the order it is applied.
pub struct TenantObjects {
    pub namespace: Namespace,
    pub quota: ResourceQuota,
    pub limits: LimitRange,
    pub secret: Secret,
    pub documents: PersistentVolumeClaim,
    pub service: Service,
    pub maintenance: Service,
    pub network_policy: NetworkPolicy,
    pub deployment: Deployment,
    pub ingress: Ingress,
}

pub fn labels(deployment: &TenantDeployment) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "ordo-portal".to_owned()),
        ("app.kubernetes.io/managed-by".to_owned(), "ordo-control-plane".to_owned()),
        ("ordo/tenant-id".to_owned(), deployment.tenant_id.clone()),
        ("ordo/slug".to_owned(), deployment.slug.clone()),
        ("ordo/plan".to_owned(), deployment.entitlements.plan.as_str().to_owned()),
    ])
}

/// The pods' selector: stable across plan changes (selectors are immutable).
fn pod_selector() -> BTreeMap<String, String> {
    BTreeMap::from([("app.kubernetes.io/name".to_owned(), "ordo-portal".to_owned())])
}

fn meta(name: &str, namespace: &str, labels: &BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    }
}

fn quantities(pairs: &[(&str, &str)]) -> BTreeMap<String, Quantity> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), Quantity((*v).to_owned()))).collect()
}

/// The host names the portal answers on: its own and the verified custom domains.
pub fn hosts(deployment: &TenantDeployment) -> Vec<String> {
    let own = url::Url::parse(&deployment.public_url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| deployment.slug.clone());
    std::iter::once(own).chain(deployment.custom_domains.iter().cloned()).collect()
}

/// The tenant's namespace alone: applied first, before anything can live in it.
pub fn namespace_for(deployment: &TenantDeployment, settings: &KubernetesSettings) -> Namespace {
    namespace(&settings.namespace(&deployment.slug), &labels(deployment))
}

pub fn build(
    deployment: &TenantDeployment,
    settings: &KubernetesSettings,
    environment: &InstanceEnvironment,
    mode: Mode,
    storage: &str,
) -> TenantObjects {
    let ns = settings.namespace(&deployment.slug);
    let labels = labels(deployment);
    let size = settings.plans.of(deployment.entitlements.plan);
    TenantObjects {
        namespace: namespace(&ns, &labels),
        quota: quota(&ns, &labels, size, storage),
        limits: limit_range(&ns, &labels, size),
        secret: secret(&ns, &labels, deployment, environment),
        documents: documents(&ns, &labels, settings, storage),
        service: service(&ns, &labels),
        maintenance: maintenance(&ns, &labels, settings),
        network_policy: network_policy(&ns, &labels, settings),
        deployment: portal_deployment(&ns, &labels, deployment, settings, environment, size, mode),
        ingress: ingress(&ns, &labels, deployment, settings, mode),
    }
}

fn namespace(ns: &str, labels: &BTreeMap<String, String>) -> Namespace {
    let mut labels = labels.clone();
    // The pods already meet the "restricted" Pod Security Standard; enforcing it
    // keeps anything else from running in a tenant's namespace.
    labels.insert("pod-security.kubernetes.io/enforce".into(), "restricted".into());
    Namespace {
        metadata: ObjectMeta { name: Some(ns.to_owned()), labels: Some(labels), ..ObjectMeta::default() },
        ..Namespace::default()
    }
}

fn quota(ns: &str, labels: &BTreeMap<String, String>, size: &PodSize, storage: &str) -> ResourceQuota {
    // One portal pod, and room for a second while a replaced pod is still terminating.
    let twice = |quantity: &str| Quantity(scale(quantity, 2).unwrap_or_else(|| quantity.to_owned()));
    let hard = BTreeMap::from([
        ("pods".to_owned(), Quantity("2".into())),
        ("services".to_owned(), Quantity("2".into())),
        ("persistentvolumeclaims".to_owned(), Quantity("1".into())),
        ("requests.storage".to_owned(), Quantity(storage.to_owned())),
        ("requests.cpu".to_owned(), twice(&size.cpu_request)),
        ("requests.memory".to_owned(), twice(&size.memory_request)),
        ("limits.cpu".to_owned(), twice(&size.cpu_limit)),
        ("limits.memory".to_owned(), twice(&size.memory_limit)),
    ]);
    ResourceQuota {
        metadata: meta(PORTAL, ns, labels),
        spec: Some(ResourceQuotaSpec { hard: Some(hard), ..ResourceQuotaSpec::default() }),
        ..ResourceQuota::default()
    }
}

/// Multiplies a quantity such as `500m` or `256Mi` by `factor`, keeping its suffix.
fn scale(quantity: &str, factor: u64) -> Option<String> {
    let digits = quantity.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = quantity.split_at(digits);
    let number: u64 = number.parse().ok()?;
    Some(format!("{}{suffix}", number.checked_mul(factor)?))
}

fn limit_range(ns: &str, labels: &BTreeMap<String, String>, size: &PodSize) -> LimitRange {
    LimitRange {
        metadata: meta(PORTAL, ns, labels),
        spec: Some(LimitRangeSpec {
            limits: vec![LimitRangeItem {
                type_: "Container".into(),
                default: Some(quantities(&[("cpu", &size.cpu_limit), ("memory", &size.memory_limit)])),
                default_request: Some(quantities(&[("cpu", &size.cpu_request), ("memory", &size.memory_request)])),
                max: Some(quantities(&[("cpu", &size.cpu_limit), ("memory", &size.memory_limit)])),
                ..LimitRangeItem::default()
            }],
        }),
    }
}

fn secret(
    ns: &str,
    labels: &BTreeMap<String, String>,
    deployment: &TenantDeployment,
    environment: &InstanceEnvironment,
) -> Secret {
    let mut data = BTreeMap::from([
        ("ORDO_DATABASE_URL".to_owned(), ByteString(deployment.database_url.expose_secret().as_bytes().to_vec())),
        ("ORDO_SESSION_KEY".to_owned(), ByteString(deployment.session_key.to_base64().into_bytes())),
        (
            "ORDO_INTERNAL_TOKEN".to_owned(),
            ByteString(tenant_app::security::internal_api::internal_token(&deployment.session_key).into_bytes()),
        ),
    ]);
    if let Some(smtp) = &environment.smtp_url {
        data.insert("ORDO_SMTP_URL".into(), ByteString(smtp.expose_secret().as_bytes().to_vec()));
    }
    Secret { metadata: meta(PORTAL, ns, labels), data: Some(data), type_: Some("Opaque".into()), ..Secret::default() }
}

fn documents(
    ns: &str,
    labels: &BTreeMap<String, String>,
    settings: &KubernetesSettings,
    storage: &str,
) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: meta(DOCUMENTS, ns, labels),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(quantities(&[("storage", storage)])),
                ..VolumeResourceRequirements::default()
            }),
            storage_class_name: settings.storage_class.clone(),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

fn service(ns: &str, labels: &BTreeMap<String, String>) -> Service {
    Service {
        metadata: meta(PORTAL, ns, labels),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(pod_selector()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: 80,
                target_port: Some(IntOrString::String("http".into())),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// Where the Ingress sends a suspended tenant's hosts: the control plane, which
/// answers them with the maintenance page.
fn maintenance(ns: &str, labels: &BTreeMap<String, String>, settings: &KubernetesSettings) -> Service {
    Service {
        metadata: meta(MAINTENANCE, ns, labels),
        spec: Some(ServiceSpec {
            type_: Some("ExternalName".into()),
            external_name: Some(settings.control_plane_host()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: i32::from(settings.control_plane_port),
                protocol: Some("TCP".into()),
                ..ServicePort::default()
            }]),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn namespace_named(name: &str) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([("kubernetes.io/metadata.name".to_owned(), name.to_owned())])),
        ..LabelSelector::default()
    }
}

fn tcp(port: i32) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(port)),
        protocol: Some("TCP".into()),
        ..NetworkPolicyPort::default()
    }
}

fn egress_to(target: &EgressTarget) -> NetworkPolicyEgressRule {
    let peer = match (&target.cidr, &target.namespace) {
        (Some(cidr), _) => NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.clone(), ..IPBlock::default() }),
            ..NetworkPolicyPeer::default()
        },
        (None, namespace) => NetworkPolicyPeer {
            namespace_selector: Some(namespace_named(namespace.as_deref().unwrap_or_default())),
            ..NetworkPolicyPeer::default()
        },
    };
    NetworkPolicyEgressRule { to: Some(vec![peer]), ports: Some(vec![tcp(i32::from(target.port))]) }
}

fn network_policy(ns: &str, labels: &BTreeMap<String, String>, settings: &KubernetesSettings) -> NetworkPolicy {
    let control_plane = NetworkPolicyPeer {
        namespace_selector: Some(namespace_named(&settings.control_plane_namespace)),
        pod_selector: Some(LabelSelector {
            match_labels: Some(settings.control_plane_pod_labels.clone()),
            ..LabelSelector::default()
        }),
        ..NetworkPolicyPeer::default()
    };
    let ingress_controller = NetworkPolicyPeer {
        namespace_selector: Some(namespace_named(&settings.ingress_namespace)),
        ..NetworkPolicyPeer::default()
    };
    let dns = NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(namespace_named("kube-system")),
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("k8s-app".to_owned(), "kube-dns".to_owned())])),
                ..LabelSelector::default()
            }),
            ..NetworkPolicyPeer::default()
        }]),
        ports: Some(vec![
            NetworkPolicyPort {
                port: Some(IntOrString::Int(53)),
                protocol: Some("UDP".into()),
                ..NetworkPolicyPort::default()
            },
            tcp(53),
        ]),
    };
    NetworkPolicy {
        metadata: meta(PORTAL, ns, labels),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(pod_selector()), ..LabelSelector::default() }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule {
                from: Some(vec![ingress_controller, control_plane.clone()]),
                ports: Some(vec![tcp(PORT)]),
            }]),
            egress: Some(vec![
                dns,
                egress_to(&settings.database),
                egress_to(&settings.smtp),
                NetworkPolicyEgressRule { to: Some(vec![control_plane]), ports: None },
            ]),
        }),
    }
}

fn env(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar { name: name.to_owned(), value: Some(value.into()), ..EnvVar::default() }
}

fn http_probe(path: &str, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_owned()),
            port: IntOrString::String("http".into()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(2),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn portal_deployment(
    ns: &str,
    labels: &BTreeMap<String, String>,
    deployment: &TenantDeployment,
    settings: &KubernetesSettings,
    environment: &InstanceEnvironment,
    size: &PodSize,
    mode: Mode,
) -> Deployment {
    let mut pod_labels = labels.clone();
    pod_labels.extend(pod_selector());
    let mut env_vars = vec![
        env("ORDO_TENANT_ID", &deployment.tenant_id),
        env("ORDO_SLUG", &deployment.slug),
        env("ORDO_DISPLAY_NAME", &deployment.display_name),
        env("ORDO_PUBLIC_URL", &deployment.public_url),
        env("ORDO_OPERATOR_NAME", &environment.operator_name),
        env("ORDO_PLAN", deployment.entitlements.plan.as_str()),
        env("ORDO_WHITELABEL", deployment.entitlements.whitelabel.to_string()),
        env("ORDO_TRIAL_ENDED", deployment.entitlements.trial_ended.to_string()),
        env("ORDO_LISTEN", format!("0.0.0.0:{PORT}")),
        env("ORDO_FILES_DIR", "/data/files"),
        env("ORDO_MAIL_DIR", "/data/mail"),
        env("ORDO_MAIL_FROM", &environment.mail_from),
        env("ORDO_MAX_UPLOAD_MIB", environment.max_upload_mib.to_string()),
        env("ORDO_API_REQUESTS_PER_MINUTE", environment.api_requests_per_minute.to_string()),
        env("ORDO_TRUST_PROXY", "true"),
        // The portal reaches the control plane (own domains) inside the cluster.
        env(
            "ORDO_CONTROL_PLANE_URL",
            format!("http://{}:{}", settings.control_plane_host(), settings.control_plane_port),
        ),
        env("ORDO_LOG_FORMAT", "json"),
    ];
    if let Some(address) = &environment.whitelabel_mail_from {
        env_vars.push(env("ORDO_WHITELABEL_MAIL_FROM", address));
    }
    let container = Container {
        name: "tenant-app".into(),
        image: Some(settings.image.clone()),
        image_pull_policy: Some(settings.image_pull_policy.clone()),
        ports: Some(vec![ContainerPort {
            name: Some("http".into()),
            container_port: PORT,
            protocol: Some("TCP".into()),
            ..ContainerPort::default()
        }]),
        env: Some(env_vars),
        env_from: Some(vec![EnvFromSource {
            secret_ref: Some(SecretEnvSource { name: PORTAL.into(), optional: Some(false) }),
            ..EnvFromSource::default()
        }]),
        readiness_probe: Some(http_probe("/readyz", 5, 3)),
        liveness_probe: Some(http_probe("/healthz", 10, 6)),
        resources: Some(ResourceRequirements {
            requests: Some(quantities(&[("cpu", &size.cpu_request), ("memory", &size.memory_request)])),
            limits: Some(quantities(&[("cpu", &size.cpu_limit), ("memory", &size.memory_limit)])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(SecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(APP_USER),
            run_as_group: Some(APP_USER),
            read_only_root_filesystem: Some(true),
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Capabilities::default() }),
            seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..SeccompProfile::default() }),
            ..SecurityContext::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount { name: DOCUMENTS.into(), mount_path: "/data".into(), ..VolumeMount::default() },
            VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..VolumeMount::default() },
        ]),
        ..Container::default()
    };
    Deployment {
        metadata: meta(PORTAL, ns, labels),
        spec: Some(DeploymentSpec {
            replicas: Some(if mode == Mode::Suspended { 0 } else { 1 }),
            selector: LabelSelector { match_labels: Some(pod_selector()), ..LabelSelector::default() },
            // The documents volume is ReadWriteOnce: the old pod lets go before the new one starts.
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), ..DeploymentStrategy::default() }),
            revision_history_limit: Some(3),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(pod_labels), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(APP_USER),
                        run_as_group: Some(APP_USER),
                        fs_group: Some(APP_USER),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            ..SeccompProfile::default()
                        }),
                        ..PodSecurityContext::default()
                    }),
                    volumes: Some(vec![
                        Volume {
                            name: DOCUMENTS.into(),
                            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                                claim_name: DOCUMENTS.into(),
                                ..PersistentVolumeClaimVolumeSource::default()
                            }),
                            ..Volume::default()
                        },
                        Volume {
                            name: "tmp".into(),
                            empty_dir: Some(EmptyDirVolumeSource {
                                size_limit: Some(Quantity("64Mi".into())),
                                ..EmptyDirVolumeSource::default()
                            }),
                            ..Volume::default()
                        },
                    ]),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

fn ingress(
    ns: &str,
    labels: &BTreeMap<String, String>,
    deployment: &TenantDeployment,
    settings: &KubernetesSettings,
    mode: Mode,
) -> Ingress {
    let hosts = hosts(deployment);
    let (backend_name, backend_port) = match mode {
        Mode::Serving => (PORTAL, 80),
        Mode::Suspended => (MAINTENANCE, i32::from(settings.control_plane_port)),
    };
    let backend = |name: &str, port: i32| IngressBackend {
        service: Some(IngressServiceBackend {
            name: name.into(),
            port: Some(ServiceBackendPort { number: Some(port), ..ServiceBackendPort::default() }),
        }),
        ..IngressBackend::default()
    };
    let path = |prefix: &str, backend: IngressBackend| HTTPIngressPath {
        path: Some(prefix.into()),
        path_type: "Prefix".into(),
        backend,
    };
    // The billing area on the portal's host is the control plane's, also while
    // the portal is locked or suspended.
    let paths = vec![
        path("/", backend(backend_name, backend_port)),
        path(BILLING_PATH, backend(MAINTENANCE, i32::from(settings.control_plane_port))),
    ];
    let rules = hosts
        .iter()
        .map(|host| IngressRule { host: Some(host.clone()), http: Some(HTTPIngressRuleValue { paths: paths.clone() }) })
        .collect();
    let mut annotations = settings.ingress_annotations.clone();
    if let Some(issuer) = &settings.cluster_issuer {
        annotations.insert("cert-manager.io/cluster-issuer".into(), issuer.clone());
    }
    let mut metadata = meta(PORTAL, ns, labels);
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: settings.ingress_class.clone(),
            rules: Some(rules),
            tls: settings
                .cluster_issuer
                .as_ref()
                .map(|_| vec![IngressTLS { hosts: Some(hosts.clone()), secret_name: Some(TLS_SECRET.into()) }]),
            ..IngressSpec::default()
        }),
        ..Ingress::default()
    }
}

/// Parses a storage quantity (`5Gi`, `500M`, `1073741824`) into bytes, to keep
/// a volume from being asked to shrink.
pub fn storage_bytes(quantity: &str) -> Option<u128> {
    let digits = quantity.bytes().take_while(u8::is_ascii_digit).count();
    let (number, suffix) = quantity.split_at(digits);
    let number: u128 = number.parse().ok()?;
    let factor: u128 = match suffix {
        "" => 1,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    Some(number * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_scale_and_compare() {
        assert_eq!(scale("500m", 2).as_deref(), Some("1000m"));
        assert_eq!(scale("256Mi", 2).as_deref(), Some("512Mi"));
        assert_eq!(scale("1", 2).as_deref(), Some("2"));
        assert_eq!(storage_bytes("5Gi"), Some(5 << 30));
        assert_eq!(storage_bytes("2G"), Some(2_000_000_000));
        assert!(storage_bytes("30Gi") > storage_bytes("2Gi"));
        assert_eq!(storage_bytes("1.5Gi"), None);
    }
}
