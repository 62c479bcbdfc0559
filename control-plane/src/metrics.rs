//! Prometheus metrics, served at `/metrics` on the admin host.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    site: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    signups: Counter,
    provisioning: Family<ResultLabels, Counter>,
    provisioning_seconds: Histogram,
    tenants: Family<StatusLabels, Gauge>,
    running_instances: Gauge,
    domain_checks: Family<ResultLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ordo");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by site and status", requests.clone());
        let signups = Counter::default();
        registry.register("signups", "Trial sign-ups recorded", signups.clone());
        let provisioning = Family::<ResultLabels, Counter>::default();
        registry.register("provisioning_runs", "Provisioning runs by outcome", provisioning.clone());
        let provisioning_seconds = Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]);
        registry.register("provisioning_duration_seconds", "Time from request to ready", provisioning_seconds.clone());
        let tenants = Family::<StatusLabels, Gauge>::default();
        registry.register("tenants", "Tenants by status", tenants.clone());
        let running_instances = Gauge::default();
        registry.register("local_instances", "Tenant portals served by this process", running_instances.clone());
        let domain_checks = Family::<ResultLabels, Counter>::default();
        registry.register(
            "custom_domain_checks",
            "DNS checks of brokers' own domains by outcome",
            domain_checks.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            signups,
            provisioning,
            provisioning_seconds,
            tenants,
            running_instances,
            domain_checks,
        }
    }
}

impl Metrics {
    pub fn request(&self, site: &'static str, status: u16) {
        self.requests.get_or_create(&RequestLabels { site, status }).inc();
    }

    pub fn signup(&self) {
        self.signups.inc();
    }

    pub fn provisioning_finished(&self, result: &'static str, elapsed: Duration) {
        self.provisioning.get_or_create(&ResultLabels { result }).inc();
        self.provisioning_seconds.observe(elapsed.as_secs_f64());
    }

    pub fn domain_checked(&self, passed: bool) {
        self.domain_checks.get_or_create(&ResultLabels { result: if passed { "passed" } else { "failed" } }).inc();
    }

    /// Sets the gauges read from the database, then encodes everything.
    pub fn render(&self, tenants_by_status: &[(String, i64)], running_instances: usize) -> String {
        for (status, count) in tenants_by_status {
            self.tenants.get_or_create(&StatusLabels { status: status.clone() }).set(*count);
        }
        self.running_instances.set(running_instances as i64);
        let mut out = String::new();
        let registry = self.registry.lock().expect("metrics lock poisoned");
        prometheus_client::encoding::text::encode(&mut out, &registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let metrics = Metrics::default();
        metrics.request("public", 200);
        metrics.signup();
        metrics.domain_checked(false);
        metrics.provisioning_finished("ready", Duration::from_millis(120));
        let text = metrics.render(&[("ready".into(), 3)], 3);
        assert!(text.contains("ordo_http_requests_total{site=\"public\",status=\"200\"} 1"));
        assert!(text.contains("ordo_signups_total 1"));
        assert!(text.contains("ordo_custom_domain_checks_total{result=\"failed\"} 1"));
        assert!(text.contains("ordo_tenants{status=\"ready\"} 3"));
        assert!(text.contains("ordo_provisioning_duration_seconds_count 1"));
    }
}
