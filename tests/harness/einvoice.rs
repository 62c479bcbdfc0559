//! Runs `tests/einvoice/validate.py` (the factur-x library) on an invoice the
//! control plane stored, when `ORDO_TEST_FACTURX_PYTHONPATH` names the library
//! (`.ci/run` installs it). Without it the check is skipped, except in CI,
//! where it fails ([`crate::require_or_skip`]).

use std::process::Command;

use control_plane::billing::einvoice::{Flavour, cii_xml};
use control_plane::billing::invoices::{self, Invoice};

use crate::TestApp;

/// Validates the Factur-X XML, the XRechnung and the PDF/A-3 (with its
/// embedded XML) of a stored invoice or credit note.
pub async fn validate_stored(app: &TestApp, invoice: &Invoice) {
    let Some(pythonpath) = crate::require_or_skip("e-invoice validation", "ORDO_TEST_FACTURX_PYTHONPATH") else {
        return;
    };
    let state = &app.state;
    let document = invoices::document(state, invoice).await.expect("invoice document");
    let dir = tempfile::tempdir().expect("temp dir");
    let facturx = dir.path().join("factur-x.xml");
    let xrechnung = dir.path().join("xrechnung.xml");
    let pdf = dir.path().join("invoice.pdf");
    std::fs::write(&facturx, cii_xml(&document, Flavour::FacturX).expect("Factur-X XML")).unwrap();
    std::fs::write(&xrechnung, invoices::xrechnung(state, invoice).await.expect("XRechnung")).unwrap();
    std::fs::write(&pdf, invoices::pdf(state, invoice).await.expect("PDF")).unwrap();
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
