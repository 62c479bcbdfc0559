//! Every manifest the provisioner writes, for every plan, serving and
//! suspended, with and without TLS and custom domains, written to
//! `tests/artifacts/kubernetes/` and validated against the Kubernetes API
//! schemas with `kubernetes-validate --strict` when `ORDO_TEST_KUBERNETES_VALIDATE`
//! names the command (`.ci/run` sets it to `.ci/kubernetes-validate`).

use std::path::PathBuf;
use std::process::Command;

use control_plane::config::KubernetesSettings;
use control_plane::provisioning::kubernetes::manifests::{self, Mode, TenantObjects};
use serde::Serialize;
use tenant_app::plans::Plan;

use crate::{environment, tenant};

fn documents(objects: &TenantObjects) -> String {
    fn doc(object: &impl Serialize) -> String {
        format!("---\n{}\n", serde_json::to_string_pretty(object).expect("manifest as JSON"))
    }
    [
        doc(&objects.namespace),
        doc(&objects.quota),
        doc(&objects.limits),
        doc(&objects.secret),
        doc(&objects.documents),
        doc(&objects.service),
        doc(&objects.maintenance),
        doc(&objects.network_policy),
        doc(&objects.deployment),
        doc(&objects.ingress),
    ]
    .concat()
}

#[test]
fn every_manifest_is_valid_kubernetes() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts/kubernetes");
    std::fs::create_dir_all(&dir).unwrap();
    let plain = KubernetesSettings { image: "registry.example.com/ordo/tenant-app:0.1.0".into(), ..Default::default() };
    let full = KubernetesSettings {
        cluster_issuer: Some("letsencrypt".into()),
        storage_class: Some("fast-ssd".into()),
        database: control_plane::config::EgressTarget { cidr: None, namespace: Some("postgres".into()), port: 5432 },
        ..plain.clone()
    };
    let mut files = Vec::new();
    for plan in [Plan::Trial, Plan::PayPerUse, Plan::PremiumStarter, Plan::Premium] {
        for (mode, mode_name) in [(Mode::Serving, "serving"), (Mode::Suspended, "suspended")] {
            for (settings, variant) in [(&plain, "plain"), (&full, "tls")] {
                let domains: &[&str] = if variant == "tls" { &["portal.makler-muster.de"] } else { &[] };
                let tenant = tenant(plan, domains);
                let size = settings.plans.of(plan).storage.clone();
                let objects = manifests::build(&tenant, settings, &environment(), mode, &size);
                let file = dir.join(format!("{}-{mode_name}-{variant}.yaml", plan.as_str()));
                std::fs::write(&file, documents(&objects)).unwrap();
                files.push(file);
            }
        }
    }
    let Some(validate) = ordo_tests::require_or_skip("manifest validation", "ORDO_TEST_KUBERNETES_VALIDATE") else {
        return;
    };
    // The oldest Kubernetes the typed objects target (k8s-openapi v1_33) and the newest known.
    for version in ["1.33.0", "1.37.0"] {
        let output = Command::new(&validate)
            .args(["--strict", "--kubernetes-version", version])
            .args(&files)
            .output()
            .expect("running kubernetes-validate");
        assert!(
            output.status.success(),
            "kubernetes-validate {version} failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
