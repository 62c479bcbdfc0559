//! The production provisioner: every tenant is its own namespace running the
//! tenant-app image (docs/deploy-kubernetes.md).
//!
//! Every object is written with server-side apply under one field manager, so
//! applying the same tenant again is a no-op, and applying it after someone
//! deleted or edited an object restores it: the reconcile loop
//! (`provisioning::reconcile_all`) relies on that for drift repair. Each API
//! request has a timeout and is retried with exponential backoff on conflicts,
//! throttling, server errors and lost connections.

pub mod manifests;

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Event, EventSource, Namespace, ObjectReference, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use self::manifests::{InstanceEnvironment, Mode, PORTAL};
use crate::config::KubernetesSettings;
use crate::provisioning::{Deployed, Provisioner, TenantDeployment};

/// The one field manager that owns every field Ordo writes.
pub const FIELD_MANAGER: &str = "ordo-control-plane";

pub struct KubernetesProvisioner {
    client: Client,
    settings: KubernetesSettings,
    environment: InstanceEnvironment,
    /// What each object looked like after our last apply: the hash of what we
    /// asked for and the object's identity and generation. An object whose
    /// identity or generation moved while we asked for the same thing was
    /// deleted or edited by someone else: drift, repaired by the apply.
    seen: Mutex<HashMap<String, Seen>>,
}

#[derive(Clone, PartialEq, Eq)]
struct Seen {
    desired: [u8; 32],
    version: String,
}

/// What one apply of a tenant changed.
#[derive(Default)]
struct Changes {
    /// Objects created or changed because we asked for something new.
    configured: Vec<String>,
    /// Objects restored because someone else deleted or edited them.
    repaired: Vec<String>,
}

impl KubernetesProvisioner {
    /// Connects to the cluster from in-cluster config or the kubeconfig
    /// (`KUBECONFIG`, `~/.kube/config`), as kube's default client does.
    pub async fn connect(
        settings: KubernetesSettings,
        environment: InstanceEnvironment,
    ) -> anyhow::Result<KubernetesProvisioner> {
        let client = Client::try_default().await.context("connecting to the Kubernetes API")?;
        Ok(KubernetesProvisioner::new(client, settings, environment))
    }

    pub fn new(
        client: Client,
        settings: KubernetesSettings,
        environment: InstanceEnvironment,
    ) -> KubernetesProvisioner {
        KubernetesProvisioner { client, settings, environment, seen: Mutex::new(HashMap::new()) }
    }

    pub fn settings(&self) -> &KubernetesSettings {
        &self.settings
    }

    /// One API request with a timeout, retried with backoff while the error is
    /// one that waiting can cure.
    async fn call<T, F, Fut>(&self, what: &str, mut request: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut delay = Duration::from_millis(self.settings.backoff_initial_ms);
        let max_delay = Duration::from_millis(self.settings.backoff_max_ms);
        let mut attempt = 1;
        loop {
            let error = match tokio::time::timeout(self.settings.request_timeout(), request()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) if !retryable(&error) => return Err(anyhow!(error).context(what.to_owned())),
                Ok(Err(error)) => anyhow!(error),
                Err(_) => anyhow!("no answer within {} ms", self.settings.request_timeout_ms),
            };
            if attempt >= self.settings.max_attempts {
                return Err(error.context(format!("{what} (gave up after {attempt} attempts)")));
            }
            tracing::warn!(what, attempt, error = format!("{error:#}"), "Kubernetes API request failed; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(max_delay);
            attempt += 1;
        }
    }

    /// An Api for a kind that lives in the tenant's namespace.
    fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: Resource<Scope = NamespaceResourceScope>,
        K::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    async fn apply<K>(
        &self,
        api: Api<K>,
        object: &K,
        changes: &mut Changes,
        tracks_generation: bool,
    ) -> anyhow::Result<K>
    where
        K: Resource<DynamicType = ()> + Clone + Serialize + DeserializeOwned + Debug,
    {
        let name = object.name_any();
        let label = format!("{}/{name}", K::kind(&()));
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(object);
        let applied = self.call(&format!("applying {label}"), || api.patch(&name, &params, &patch)).await?;

        let desired: [u8; 32] = Sha256::digest(serde_json::to_vec(object)?).into();
        let meta = applied.meta();
        // Quotas and volumes change their resourceVersion with every status
        // update, so for them only a new uid (deleted and recreated) counts.
        let version = match (tracks_generation, meta.generation) {
            (true, Some(generation)) => format!("{}#{generation}", meta.uid.as_deref().unwrap_or_default()),
            (true, None) => {
                format!(
                    "{}@{}",
                    meta.uid.as_deref().unwrap_or_default(),
                    meta.resource_version.as_deref().unwrap_or("")
                )
            }
            (false, _) => meta.uid.clone().unwrap_or_default(),
        };
        let key = format!("{}/{label}", object.meta().namespace.as_deref().unwrap_or(""));
        let now = Seen { desired, version };
        let before = self.seen.lock().expect("seen lock poisoned").insert(key, now.clone());
        match before {
            Some(before) if before == now => {}
            Some(before) if before.desired == now.desired => changes.repaired.push(label),
            _ => changes.configured.push(label),
        }
        Ok(applied)
    }

    /// The documents volume only ever grows: asking for less than it has is an error.
    async fn storage_for(&self, namespace: &str, wanted: &str) -> anyhow::Result<String> {
        let api: Api<PersistentVolumeClaim> = Api::namespaced(self.client.clone(), namespace);
        let current = self.call("reading the documents volume", || api.get_opt(manifests::DOCUMENTS)).await?;
        let current = current
            .and_then(|pvc| pvc.spec)
            .and_then(|spec| spec.resources)
            .and_then(|resources| resources.requests)
            .and_then(|mut requests| requests.remove("storage"))
            .map(|quantity| quantity.0);
        Ok(match current {
            Some(current) if manifests::storage_bytes(&current) > manifests::storage_bytes(wanted) => current,
            _ => wanted.to_owned(),
        })
    }

    async fn apply_tenant(&self, deployment: &TenantDeployment, mode: Mode) -> anyhow::Result<(Changes, Deployment)> {
        let namespace = self.settings.namespace(&deployment.slug);
        let size = self.settings.plans.of(deployment.entitlements.plan);
        let mut changes = Changes::default();
        // The namespace first: everything else lives in it. Then the volume's
        // current size, which the claim must not ask to shrink.
        self.apply(
            Api::all(self.client.clone()),
            &manifests::namespace_for(deployment, &self.settings),
            &mut changes,
            true,
        )
        .await?;
        let storage = self.storage_for(&namespace, &size.storage).await?;
        let objects = manifests::build(deployment, &self.settings, &self.environment, mode, &storage);
        let ns = namespace.as_str();
        self.apply(self.api(ns), &objects.quota, &mut changes, false).await?;
        self.apply(self.api(ns), &objects.limits, &mut changes, true).await?;
        self.apply(self.api(ns), &objects.secret, &mut changes, true).await?;
        self.apply(self.api(ns), &objects.documents, &mut changes, false).await?;
        self.apply(self.api(ns), &objects.service, &mut changes, true).await?;
        self.apply(self.api(ns), &objects.maintenance, &mut changes, true).await?;
        self.apply(self.api(ns), &objects.network_policy, &mut changes, true).await?;
        let applied = self.apply(self.api(ns), &objects.deployment, &mut changes, true).await?;
        self.apply(self.api(ns), &objects.ingress, &mut changes, true).await?;
        Ok((changes, applied))
    }

    /// Waits until the portal Deployment reports an available replica of its
    /// current generation.
    async fn wait_available(&self, namespace: &str, mut latest: Deployment) -> anyhow::Result<()> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), namespace);
        let deadline = Instant::now() + Duration::from_secs(self.settings.ready_timeout_secs);
        loop {
            if available(&latest) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                anyhow::bail!("the portal did not become available within {} s", self.settings.ready_timeout_secs);
            }
            tokio::time::sleep(self.settings.poll_interval()).await;
            latest = self.call("reading the portal Deployment", || api.get(PORTAL)).await?;
        }
    }

    /// Records a Kubernetes Event on the tenant's portal Deployment, for
    /// `kubectl describe` and `kubectl get events`.
    async fn event(&self, namespace: &str, reason: &str, warning: bool, message: String) -> anyhow::Result<()> {
        let now = Time(k8s_openapi::jiff::Timestamp::now());
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!("{PORTAL}.")),
                namespace: Some(namespace.to_owned()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                api_version: Some("apps/v1".into()),
                kind: Some("Deployment".into()),
                name: Some(PORTAL.into()),
                namespace: Some(namespace.to_owned()),
                ..ObjectReference::default()
            },
            reason: Some(reason.to_owned()),
            message: Some(message),
            type_: Some(if warning { "Warning" } else { "Normal" }.into()),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            source: Some(EventSource { component: Some(FIELD_MANAGER.into()), ..EventSource::default() }),
            reporting_component: Some(FIELD_MANAGER.into()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), namespace);
        let params = PostParams::default();
        self.call("recording an event", || api.create(&params, &event)).await?;
        Ok(())
    }

    async fn report(&self, namespace: &str, changes: &Changes, reason: &str) -> anyhow::Result<()> {
        if !changes.repaired.is_empty() {
            let message = format!("Restored after outside changes: {}", changes.repaired.join(", "));
            self.event(namespace, "DriftRepaired", true, message).await?;
        }
        if !changes.configured.is_empty() {
            self.event(namespace, reason, false, format!("Applied {}", changes.configured.join(", "))).await?;
        }
        Ok(())
    }
}

fn retryable(error: &kube::Error) -> bool {
    match error {
        // Conflicts (another writer), throttling, and the server's own trouble.
        kube::Error::Api(status) => matches!(status.code, 409 | 429 | 500..=599),
        // The connection broke or could not be made.
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

fn available(deployment: &Deployment) -> bool {
    let generation = deployment.metadata.generation.unwrap_or(0);
    deployment.status.as_ref().is_some_and(|status| {
        status.observed_generation.unwrap_or(0) >= generation && status.available_replicas.unwrap_or(0) >= 1
    })
}

#[async_trait]
impl Provisioner for KubernetesProvisioner {
    fn kind(&self) -> &'static str {
        "kubernetes"
    }

    async fn deploy(&self, deployment: &TenantDeployment) -> anyhow::Result<Deployed> {
        let namespace = self.settings.namespace(&deployment.slug);
        let (changes, applied) = self.apply_tenant(deployment, Mode::Serving).await?;
        self.wait_available(&namespace, applied).await?;
        self.report(&namespace, &changes, "Deployed").await?;
        Ok(Deployed { repaired: changes.repaired })
    }

    /// The tenant's Service inside the cluster; the NetworkPolicy admits the control plane.
    fn internal_url(&self, slug: &str) -> Option<String> {
        Some(format!("http://{}.{}.svc.cluster.local", PORTAL, self.settings.namespace(slug)))
    }

    async fn suspend(&self, deployment: &TenantDeployment) -> anyhow::Result<Deployed> {
        let namespace = self.settings.namespace(&deployment.slug);
        let (changes, _) = self.apply_tenant(deployment, Mode::Suspended).await?;
        self.report(&namespace, &changes, "Suspended").await?;
        Ok(Deployed { repaired: changes.repaired })
    }

    async fn remove(&self, _tenant_id: &str, slug: &str) -> anyhow::Result<()> {
        let namespace = self.settings.namespace(slug);
        let api: Api<Namespace> = Api::all(self.client.clone());
        let params = DeleteParams::foreground();
        let deleted = self.call("deleting the namespace", || api.delete(&namespace, &params)).await;
        if let Err(error) = deleted {
            let gone =
                error.downcast_ref::<kube::Error>().is_some_and(|e| matches!(e, kube::Error::Api(s) if s.code == 404));
            if !gone {
                return Err(error);
            }
        }
        // Deletion is asynchronous: the namespace stays, terminating, until
        // everything in it is gone.
        let deadline = Instant::now() + Duration::from_secs(self.settings.ready_timeout_secs);
        while self.call("waiting for the namespace to go", || api.get_opt(&namespace)).await?.is_some() {
            if Instant::now() >= deadline {
                anyhow::bail!("namespace {namespace} still exists after {} s", self.settings.ready_timeout_secs);
            }
            tokio::time::sleep(self.settings.poll_interval()).await;
        }
        self.seen.lock().expect("seen lock poisoned").retain(|key, _| !key.starts_with(&format!("{namespace}/")));
        Ok(())
    }
}
