//! The `kubernetes.*` settings: where tenant instances run and how they are
//! shaped. Every key is documented in docs/configuration.md.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use tenant_app::plans::Plan;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KubernetesSettings {
    /// The tenant-app image, e.g. `registry.example.com/ordo/tenant-app:0.1.0`; required.
    pub image: String,
    pub image_pull_policy: String,
    /// Tenant namespaces are named `<prefix><slug>`.
    pub namespace_prefix: String,
    /// Where the control plane runs: its pods may reach tenant pods, tenant pods
    /// may reach it, and suspended portals are routed to its Service.
    pub control_plane_namespace: String,
    pub control_plane_service: String,
    pub control_plane_port: u16,
    /// Pod labels of the control plane, for the tenants' NetworkPolicy.
    pub control_plane_pod_labels: BTreeMap<String, String>,
    /// The namespace of the ingress controller, the only other client of a tenant pod.
    pub ingress_namespace: String,
    #[serde(deserialize_with = "empty_is_none")]
    pub ingress_class: Option<String>,
    /// Extra annotations on every tenant Ingress.
    pub ingress_annotations: BTreeMap<String, String>,
    /// cert-manager ClusterIssuer for the tenant host names; unset: no TLS section.
    #[serde(deserialize_with = "empty_is_none")]
    pub cluster_issuer: Option<String>,
    /// Where tenant pods may open connections besides DNS and the control plane.
    pub database: EgressTarget,
    pub smtp: EgressTarget,
    /// The documents volume's storage class; unset: the cluster default.
    #[serde(deserialize_with = "empty_is_none")]
    pub storage_class: Option<String>,
    pub plans: PlanSizes,
    /// Per API request; a request that takes longer counts as failed and is retried.
    pub request_timeout_ms: u64,
    /// Attempts per API request before the step fails (and the reconcile loop retries later).
    pub max_attempts: u32,
    pub backoff_initial_ms: u64,
    pub backoff_max_ms: u64,
    /// How long a new Deployment may take to become available.
    pub ready_timeout_secs: u64,
    /// How often readiness and namespace deletion are polled.
    pub poll_interval_ms: u64,
}

/// A peer outside the cluster (a CIDR) or inside it (a namespace), on one port.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EgressTarget {
    #[serde(default, deserialize_with = "empty_is_none")]
    pub cidr: Option<String>,
    #[serde(default, deserialize_with = "empty_is_none")]
    pub namespace: Option<String>,
    pub port: u16,
}

/// Reads an empty string as unset. Configuration layers merge key by key and
/// TOML has no null, so without this a file could never clear an optional key
/// whose default is set: `database = { namespace = "postgres", cidr = "" }`
/// replaces the default CIDR, and `ingress_class = ""` uses the cluster's
/// default IngressClass.
fn empty_is_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(deserializer)?.filter(|value| !value.trim().is_empty()))
}

/// Requests, limits and volume size by plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanSizes {
    pub trial: PodSize,
    pub pay_per_use: PodSize,
    pub premium_starter: PodSize,
    pub premium: PodSize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PodSize {
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
    /// The documents volume. It only ever grows: a smaller value keeps the current size.
    pub storage: String,
}

impl PlanSizes {
    pub fn of(&self, plan: Plan) -> &PodSize {
        match plan {
            Plan::Trial => &self.trial,
            Plan::PayPerUse => &self.pay_per_use,
            Plan::PremiumStarter => &self.premium_starter,
            Plan::Premium => &self.premium,
        }
    }
}

fn size(cpu_request: &str, cpu_limit: &str, memory_request: &str, memory_limit: &str, storage: &str) -> PodSize {
    PodSize {
        cpu_request: cpu_request.into(),
        cpu_limit: cpu_limit.into(),
        memory_request: memory_request.into(),
        memory_limit: memory_limit.into(),
        storage: storage.into(),
    }
}

impl Default for KubernetesSettings {
    fn default() -> Self {
        KubernetesSettings {
            image: String::new(),
            image_pull_policy: "IfNotPresent".into(),
            namespace_prefix: "ordo-".into(),
            control_plane_namespace: "ordo".into(),
            control_plane_service: "ordo".into(),
            control_plane_port: 80,
            control_plane_pod_labels: BTreeMap::from([("app.kubernetes.io/name".into(), "ordo".into())]),
            ingress_namespace: "ingress-nginx".into(),
            ingress_class: Some("nginx".into()),
            ingress_annotations: BTreeMap::new(),
            cluster_issuer: None,
            database: EgressTarget { cidr: Some("10.0.0.0/8".into()), namespace: None, port: 5432 },
            smtp: EgressTarget { cidr: Some("0.0.0.0/0".into()), namespace: None, port: 587 },
            storage_class: None,
            plans: PlanSizes {
                // The portal itself idles at a few MiB; the limits leave room for
                // uploads being checked and PDF previews.
                trial: size("25m", "500m", "48Mi", "256Mi", "5Gi"),
                pay_per_use: size("50m", "1", "64Mi", "512Mi", "50Gi"),
                premium_starter: size("25m", "500m", "48Mi", "256Mi", "2Gi"),
                premium: size("50m", "1", "64Mi", "512Mi", "30Gi"),
            },
            request_timeout_ms: 10_000,
            max_attempts: 6,
            backoff_initial_ms: 200,
            backoff_max_ms: 10_000,
            ready_timeout_secs: 300,
            poll_interval_ms: 2_000,
        }
    }
}

impl KubernetesSettings {
    pub fn namespace(&self, slug: &str) -> String {
        format!("{}{slug}", self.namespace_prefix)
    }

    /// The control plane's in-cluster host name, where suspended portals are sent.
    pub fn control_plane_host(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.control_plane_service, self.control_plane_namespace)
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.image.trim().is_empty() {
            return Err("kubernetes.image must name the tenant-app image".into());
        }
        // Namespace names are DNS labels: the prefix plus a 40-character slug must fit in 63.
        let prefix_ok = self.namespace_prefix.len() <= 63 - crate::slug::MAX_LEN
            && self.namespace_prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && self.namespace_prefix.starts_with(|c: char| c.is_ascii_lowercase());
        if !prefix_ok {
            return Err("kubernetes.namespace_prefix must be lowercase letters, digits or '-', at most 23".into());
        }
        for (name, target) in [("database", &self.database), ("smtp", &self.smtp)] {
            if target.cidr.is_none() == target.namespace.is_none() {
                return Err(format!("kubernetes.{name} needs exactly one of cidr or namespace"));
            }
        }
        if self.max_attempts == 0 {
            return Err("kubernetes.max_attempts must be at least 1".into());
        }
        Ok(())
    }
}
