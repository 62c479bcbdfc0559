//! The tenant's NetworkPolicy: who may reach the portal (the ingress controller
//! and the control plane) and what the portal may reach (DNS, the database, the
//! SMTP server, the control plane, and public addresses for webhooks).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::config::{EgressTarget, KubernetesSettings};
use crate::provisioning::kubernetes::manifests::{PORT, PORTAL, meta, pod_selector};

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

/// Webhook deliveries go to the brokers' own systems on the public internet, on
/// whatever TCP port their URL names. The portal refuses non-public addresses
/// itself (`tenant_app::webhooks::guard`); the policy leaves out the private
/// ranges again, so that neither alone keeps a portal off the cluster's network.
fn public_internet() -> NetworkPolicyEgressRule {
    let block = |cidr: &str, except: &[&str]| NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.to_owned(),
            except: Some(except.iter().map(|range| (*range).to_owned()).collect()),
        }),
        ..NetworkPolicyPeer::default()
    };
    NetworkPolicyEgressRule {
        to: Some(vec![
            block(
                "0.0.0.0/0",
                &[
                    "0.0.0.0/8",
                    "10.0.0.0/8",
                    "100.64.0.0/10",
                    "127.0.0.0/8",
                    "169.254.0.0/16",
                    "172.16.0.0/12",
                    "192.168.0.0/16",
                ],
            ),
            block("::/0", &["::1/128", "fc00::/7", "fe80::/10"]),
        ]),
        ports: Some(vec![NetworkPolicyPort { protocol: Some("TCP".into()), ..NetworkPolicyPort::default() }]),
    }
}

pub(super) fn network_policy(
    ns: &str,
    labels: &BTreeMap<String, String>,
    settings: &KubernetesSettings,
) -> NetworkPolicy {
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
                public_internet(),
            ]),
        }),
    }
}
