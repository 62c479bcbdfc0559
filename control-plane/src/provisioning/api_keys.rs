//! API keys the operator makes in a tenant's portal while setting up an
//! integration. The key lives in the portal's database like the broker's own
//! keys; the control plane reaches it where the portal runs: in this process
//! (the embedded default) directly, or through the portal's internal API
//! (`POST /internal/api-keys`, with the tenant's internal token) where it runs
//! as its own process (Kubernetes). Both end in the same portal function.

use tenant_app::api_keys::remote::{self, CreateRequest, CreatedKey, RemoteError};
use tenant_app::api_keys::{KeyError, parse_name};
use tenant_app::security::internal_api::internal_token;

use crate::state::AppState;
use crate::tenants::{Tenant, TenantStatus};

#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The name or the number of keys was refused; the portal's German message.
    #[error("{0}")]
    Refused(String),
    /// The portal is not serving (not ready yet, suspended, stopped).
    #[error("the tenant's portal is not running")]
    NotRunning,
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

/// Makes a write key named `name` in the tenant's portal; `operator` is who at
/// the operator did it, for the portal's audit trail.
pub async fn issue(app: &AppState, tenant: &Tenant, name: &str, operator: &str) -> Result<CreatedKey, IssueError> {
    let name = parse_name(name).map_err(|message| IssueError::Refused(message.to_owned()))?;
    if tenant.status != TenantStatus::Ready || tenant.suspended_at.is_some() {
        return Err(IssueError::NotRunning);
    }
    if let Some(running) = app.registry.by_tenant_id(&tenant.id) {
        return tenant_app::portal::issue_for_operator(&running.portal, &name, operator).await.map_err(
            |err| match err {
                KeyError::Database(err) => IssueError::Failed(anyhow::Error::new(err).context("making an API key")),
                refused => IssueError::Refused(refused.to_string()),
            },
        );
    }
    let Some(base_url) = app.provisioner.internal_url(&tenant.slug) else {
        return Err(IssueError::NotRunning);
    };
    let key = tenant.session_key(&app.master_key).map_err(|err| anyhow::Error::new(err).context("session key"))?;
    let request = CreateRequest { name, operator: operator.to_owned() };
    remote::create(&base_url, &internal_token(&key), &request).await.map_err(|err| match err {
        RemoteError::Refused(message) => IssueError::Refused(message),
        RemoteError::Unavailable(reason) => IssueError::Failed(anyhow::anyhow!("portal internal API: {reason}")),
    })
}
