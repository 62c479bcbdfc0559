//! The bearer token of the internal API between a portal and the control plane.
//!
//! Both ends derive it from the tenant's secret (so no second secret has to be
//! handed around): the portal checks it, its domain directory client presents it,
//! the control plane checks it and the provisioner puts it into the tenant's Secret.

use crate::crypto::Key;

/// The internal API token of a portal with this secret.
pub fn internal_token(secret: &Key) -> String {
    hex::encode(secret.derive("internal api"))
}
