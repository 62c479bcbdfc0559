//! File imports through the broker's pages: GDV files generated from the
//! layout (tests/harness/gdv.rs), CSV with both separators and encodings, an
//! Excel workbook; preview, confirm, progress, re-import, refusals, resume.

use ordo_tests::gdv::{GdvContract, GdvFile, GdvPackage, GdvPerson, latin1, record, windows_1252};
use ordo_tests::{Backend, PortalSession, TestApp, both_backends, hidden_field, location};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

both_backends!(
    gdv_file_is_previewed_confirmed_and_reimported,
    every_release_header_and_refusals,
    csv_and_excel_exports_are_mapped_and_imported,
    an_interrupted_import_resumes_after_a_restart
);

/// Uploads a file on the import page; returns the answer's status, location and body.
async fn upload(
    broker: &PortalSession,
    format: &str,
    source: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (StatusCode, String, String) {
    let (_, page) = broker.page("/makler/import").await;
    let form = Form::new()
        .text("_csrf", hidden_field(&page, "_csrf"))
        .text("format", format.to_owned())
        .text("source", source.to_owned())
        .part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let response = broker.client.post(broker.url("/makler/import")).multipart(form).send().await.unwrap();
    let status = response.status();
    let target = location(&response);
    (status, target, response.text().await.unwrap())
}

/// Follows an import's page until it stops refreshing itself; returns its HTML.
async fn settled(broker: &PortalSession, path: &str) -> String {
    for _ in 0..400 {
        let (status, html) = broker.page(path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        if !html.contains("http-equiv=\"refresh\"") {
            return html;
        }
        assert!(html.contains("<progress"), "a running import shows its progress");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("import {path} did not finish");
}

/// The counts table: (customers, contracts), each (created, updated, unchanged).
fn counts(html: &str) -> ((i64, i64, i64), (i64, i64, i64)) {
    let cell = |id: &str| -> i64 {
        let re = regex_lite::Regex::new(&format!(r#"id="{id}">(\d+)<"#)).unwrap();
        re.captures(html).unwrap_or_else(|| panic!("no {id} in {html}"))[1].parse().unwrap()
    };
    (
        (cell("customers-created"), cell("customers-updated"), cell("customers-unchanged")),
        (cell("contracts-created"), cell("contracts-updated"), cell("contracts-unchanged")),
    )
}

fn has_problem(html: &str, line: usize, record: &str, text: &str) -> bool {
    let re = regex_lite::Regex::new(&format!(r"<tr><td>{line}</td><td>{record}</td><td>([^<]*)</td>")).unwrap();
    re.captures_iter(html).any(|c| c[1].contains(text))
}

/// Confirms a preview and waits for the run.
async fn confirm(broker: &PortalSession, path: &str) -> String {
    let confirmed = broker.submit(path, &format!("{path}/bestaetigen"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert!(location(&confirmed).starts_with(path));
    let html = settled(broker, path).await;
    assert!(html.contains("abgeschlossen"), "{html}");
    html
}

/// Customers listed under /makler/kunden, by the text of their links.
async fn customer_names(broker: &PortalSession) -> Vec<String> {
    let (_, html) = broker.page("/makler/kunden").await;
    let re = regex_lite::Regex::new(r#"<a href="/makler/kunden/([0-9a-f]{32})">([^<]+)</a>"#).unwrap();
    re.captures_iter(&html).map(|c| c[2].replace("&#38;", "&")).collect()
}

async fn customer_page(broker: &PortalSession, name: &str) -> String {
    let (_, html) = broker.page("/makler/kunden").await;
    let shown = name.replace('&', "&#38;");
    let re = regex_lite::Regex::new(&format!(
        r#"<a href="/makler/kunden/([0-9a-f]{{32}})">{}</a>"#,
        regex_lite::escape(&shown)
    ))
    .unwrap();
    let id = re.captures(&html).unwrap_or_else(|| panic!("no customer {name}"))[1].to_owned();
    broker.page(&format!("/makler/kunden/{id}")).await.1
}

fn erika() -> GdvPerson {
    let mut person = GdvPerson::new('2', "Müßig", "Erika", "12031970").number("K-1");
    person.title = "Dr.".into();
    person
}

fn first_book() -> GdvFile {
    let mut south = GdvPackage::new("9001", "Süd Versicherung AG");
    let mut unfall = GdvContract::new(erika(), "030", "U-100", 2550);
    unfall.product = "Unfall Plus".into();
    unfall.frequency = '8';
    south.contracts.push(unfall);
    south.contracts.push(GdvContract::new(erika(), "130", "H-200", 9900));
    let mut company = GdvPerson::new('3', "Bäckerei Schön GmbH", "", "00000000").number("K-2");
    company.name2 = "& Co. KG".into();
    let mut liability = GdvContract::new(company, "040", "B-300", 45_000);
    liability.status = '4';
    south.contracts.push(liability);
    south.contracts.push(GdvContract::new(GdvPerson::new('1', "Weiß", "Hans", "01011960"), "999", "X-400", 1200));
    // A contract record whose start date does not exist.
    let broken = record(
        &[
            (1, 4, "0200"),
            (5, 9, "9001"),
            (11, 13, "030"),
            (14, 30, "            X-500"),
            (44, 51, "31022024"),
            (68, 68, "1"),
            (69, 69, "1"),
        ],
        '1',
    );
    south.raw_lines.push((3, broken));
    south.wrong_count = Some(3);
    let mut north = GdvPackage::new("9002", "Nord Leben");
    north.version = "2.1".into();
    north.contracts.push(GdvContract::new(erika(), "010", "L-1", 5000));
    GdvFile { packages: vec![south, north], crlf: true, shorten: true }
}

async fn gdv_file_is_previewed_confirmed_and_reimported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let (_, nav) = broker.page("/makler/kunden").await;
    assert!(nav.contains(r#"href="/makler/import""#), "the broker's navigation links the import");

    let (status, path, _) = upload(&broker, "gdv", "", "bestand.gdv", first_book().to_bytes()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let preview = settled(&broker, &path).await;
    assert!(preview.contains("Vorschau") && preview.contains("Import bestätigen"), "{preview}");
    // Erika three times (two packages) is one customer; the company and Hans make three.
    assert_eq!(counts(&preview), ((3, 0, 0), (5, 0, 0)));
    // Lines: 0001 = 1, five records per contract, the broken record after the fourth (22), 9999 = 23.
    assert!(has_problem(&preview, 17, "0100", "Sparte 999"), "{preview}");
    assert!(has_problem(&preview, 22, "0200", "kein gültiges Datum"), "{preview}");
    assert!(has_problem(&preview, 23, "9999", "nennt 3 Sätze, das Datenpaket enthält 23"), "{preview}");
    assert!(customer_names(&broker).await.is_empty(), "a preview writes nothing");

    let done = confirm(&broker, &path).await;
    assert_eq!(counts(&done), ((3, 0, 0), (5, 0, 0)));
    let mut names = customer_names(&broker).await;
    names.sort();
    assert_eq!(names, ["Bäckerei Schön GmbH & Co. KG", "Müßig, Erika", "Weiß, Hans"]);
    let erika_page = customer_page(&broker, "Müßig, Erika").await;
    assert!(erika_page.contains("K-1") && erika_page.contains("Frau"), "Anrede and customer number are kept");
    for policy in ["U-100", "H-200", "L-1"] {
        assert!(erika_page.contains(policy), "{policy} belongs to Erika");
    }
    assert!(
        erika_page.contains("Süd Versicherung AG") && erika_page.contains("Nord Leben"),
        "insurers from the 0001 sender"
    );
    let company = customer_page(&broker, "Bäckerei Schön GmbH & Co. KG").await;
    assert!(company.contains("Firma") && company.contains("gekündigt"), "a company customer; status 4 is cancelled");
    let hans = customer_page(&broker, "Weiß, Hans").await;
    assert!(hans.contains("Sonstige"), "an unknown Sparte files under Sonstige");

    // The next day's file: a new premium, a moved company, one more contract.
    let mut next = first_book();
    next.packages[0].contracts[0].premium_cents = 2990;
    next.packages[0].contracts[2].person.city = "Düsseldorf".into();
    next.packages[0].contracts.push(GdvContract::new(
        GdvPerson::new('1', "Weiß", "Hans", "01011960"),
        "070",
        "R-600",
        3100,
    ));
    next.packages[0].raw_lines.clear();
    next.packages[0].wrong_count = None;
    next.crlf = false;
    let (_, path2, _) = upload(&broker, "gdv", "", "bestand-2.gdv", next.to_bytes()).await;
    let preview = settled(&broker, &path2).await;
    assert_eq!(counts(&preview), ((0, 1, 2), (1, 1, 4)));
    assert!(preview.contains("Beitrag: 25,50 € → 29,90 €"), "{preview}");
    assert!(preview.contains("Ort: Köln → Düsseldorf"), "{preview}");
    let done = confirm(&broker, &path2).await;
    assert_eq!(counts(&done), ((0, 1, 2), (1, 1, 4)));
    assert_eq!(customer_names(&broker).await.len(), 3, "nothing is created twice");
    assert!(customer_page(&broker, "Weiß, Hans").await.contains("R-600"));

    // The history names both runs; the audit trail has them.
    let (_, history) = broker.page("/makler/import").await;
    assert!(history.contains("bestand.gdv") && history.contains("bestand-2.gdv") && history.contains("Erika Muster"));
    let portal =
        app.state.registry.get(broker.origin.split("//").nth(1).unwrap().split('.').next().unwrap()).unwrap().portal;
    let (trail, _) = tenant_app::audit::page(portal.db(), 1, 50).await.unwrap();
    let finished: Vec<_> = trail.iter().filter(|e| e.action == "import_finished").collect();
    assert_eq!(finished.len(), 2);
    assert!(finished.iter().all(|e| e.actor_name == "Erika Muster" && e.subject.starts_with("import:")));
    assert!(finished.iter().any(|e| e.detail.contains("Verträge 1 neu, 1 geändert, 4 unverändert")), "{finished:?}");
    app.stop().await;
}

async fn every_release_header_and_refusals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    // One data package per release, 2009 to 2023, each with its own Vorsatz version.
    let mut file = GdvFile::default();
    for (n, year) in (2009..=2023).enumerate() {
        let mut package = GdvPackage::new(&format!("{}", 9100 + n), &format!("Versicherer {year}"));
        package.version = format!("{}.{}", 1 + n / 10, n % 10);
        package.created_from = format!("0101{year}");
        package.created_to = format!("3112{year}");
        let person = GdvPerson::new('1', "Jahr", &year.to_string(), "01011980").number(&format!("J-{year}"));
        package.contracts.push(GdvContract::new(person, "040", &format!("R-{year}"), 1000));
        file.packages.push(package);
    }
    let (status, path, _) = upload(&broker, "gdv", "", "releases.gdv", file.to_bytes()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let preview = settled(&broker, &path).await;
    assert_eq!(counts(&preview), ((15, 0, 0), (15, 0, 0)));
    assert!(preview.contains("Probleme (0)"), "{preview}");

    // Not GDV at all, no Vorsatz, empty, too large: one clear message each, nothing queued.
    let refusals: [(&str, Vec<u8>, &str); 4] = [
        ("kunden.csv", b"Name;Vorname\nMuster;Max\n".to_vec(), "keine GDV-Datei"),
        ("ohne-vorsatz.gdv", latin1(&record(&[(1, 4, "0100"), (44, 73, "Muster")], '1')), "Vorsatz (Satzart 0001)"),
        ("leer.gdv", Vec::new(), "Bitte wählen Sie eine Datei aus."),
        ("riesig.gdv", vec![b'0'; 21 * 1024 * 1024], "zu groß"),
    ];
    for (name, bytes, message) in refusals {
        let (status, _, html) = upload(&broker, "gdv", "", name, bytes).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{name}");
        assert!(html.contains(message), "{name}: {html}");
    }
    let (_, history) = broker.page("/makler/import").await;
    assert!(!history.contains("ohne-vorsatz.gdv") && !history.contains("kunden.csv"));

    // Without the form's token nothing is read; without a broker's login nothing is shown.
    let form = Form::new().text("format", "gdv").part("file", Part::bytes(file.to_bytes()).file_name("x.gdv"));
    let response = broker.client.post(broker.url("/makler/import")).multipart(form).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let stranger = app.client();
    let response = stranger.get(broker.url(&path)).send().await.unwrap();
    assert_eq!((response.status(), location(&response)), (StatusCode::SEE_OTHER, "/anmelden".to_owned()));
    let customer = broker.create_customer("Max", "Mustermann", "max@example.de").await;
    let customer = broker.invite(&app, &customer, "max@example.de", "kunden passwort 1").await;
    assert_eq!(customer.page(&path).await.0, StatusCode::FORBIDDEN);
    assert_eq!(customer.page("/makler/import").await.0, StatusCode::FORBIDDEN);
    app.stop().await;
}

/// Posts the mapping page's proposal, with some fields set otherwise.
async fn map(broker: &PortalSession, mapping_path: &str, overrides: &[(&str, &str)]) -> String {
    let (status, html) = broker.page(mapping_path).await;
    assert_eq!(status, StatusCode::OK, "{mapping_path}");
    let re = regex_lite::Regex::new(r#"<select id="feld_(\w+)" name="feld_\w+">(?s:.*?)</select>"#).unwrap();
    let selected = regex_lite::Regex::new(r#"<option value="([^"]*)" selected>"#).unwrap();
    let mut fields: Vec<(String, String)> = re
        .captures_iter(&html)
        .map(|c| (format!("feld_{}", &c[1]), selected.captures(&c[0]).map(|s| s[1].to_owned()).unwrap_or_default()))
        .collect();
    for (field, column) in overrides {
        fields.retain(|(f, _)| f != &format!("feld_{field}"));
        fields.push((format!("feld_{field}"), (*column).to_owned()));
    }
    let source = hidden_value(&html, "source");
    fields.push(("source".into(), source));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let path = mapping_path.split('?').next().unwrap();
    let response = ordo_tests::post_form(&broker.client, &broker.url(path), &html, &borrowed).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{}", response.text().await.unwrap_or_default());
    location(&response)
}

fn hidden_value(html: &str, id: &str) -> String {
    let re = regex_lite::Regex::new(&format!(r#"id="{id}" name="{id}" type="text" maxlength="100" value="([^"]*)""#))
        .unwrap();
    re.captures(html).map(|c| c[1].to_owned()).unwrap_or_default()
}

async fn csv_and_excel_exports_are_mapped_and_imported(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;

    // One file with customers and contracts, `;` and UTF-8, German numbers and dates.
    let csv = "Kd-Nr;Anrede;Vorname;Nachname;Geburtsdatum;Straße;PLZ;Ort;E-Mail;Gesellschaft;VU-Nr;Vertragsnummer;Sparte;Produkt;Beitrag;Zahlweise;Beginn;Status\n\
               M-1;Herr;Jörg;Öztürk;03.04.1985;Hauptstraße 5;10115;Berlin;joerg@example.de;Allianz;5312;P-1;040;Privathaftpflicht;1.234,56;jährlich;01.02.2024;aktiv\n\
               M-1;Herr;Jörg;Öztürk;03.04.1985;Hauptstraße 5;10115;Berlin;joerg@example.de;Allianz;5312;P-2;130;;12,50;monatlich;15.03.2023;gekündigt\n\
               M-2;Frau;Ute;Kühn;;Am Markt 1;20095;Hamburg;;HUK;5521;P-3;Unfall;;9,90;monatlich;01.01.2025;ruhend\n";
    let (status, mapping_path, _) = upload(&broker, "csv", "CODie", "codie.csv", csv.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, mapping_page) = broker.page(&mapping_path).await;
    assert!(
        mapping_page.contains("<td>Öztürk</td>") && mapping_page.contains("<td>1.234,56</td>"),
        "the first rows are shown"
    );
    assert!(mapping_page.contains(r#"<option value="VU-Nr" selected>"#), "a column is proposed for each field");
    let path = map(&broker, &mapping_path, &[]).await;
    let preview = settled(&broker, &path).await;
    assert_eq!(counts(&preview), ((2, 0, 0), (3, 0, 0)));
    confirm(&broker, &path).await;
    let joerg = customer_page(&broker, "Öztürk, Jörg").await;
    assert!(
        joerg.contains("1.234,56 €") && joerg.contains("joerg@example.de") && joerg.contains("gekündigt"),
        "{joerg}"
    );
    assert!(customer_page(&broker, "Kühn, Ute").await.contains("ruhend"));

    // Two files from another program: `,` and Windows-1252; contracts find customers by number.
    let customers = windows_1252(
        "Kundennummer,Name,Vorname,PLZ,Ort,Zeichen\nS-1,Müller,Jürgen,80331,München,x\nS-2,Weiß,Eva,50667,Köln,y\n",
    );
    let (_, mapping_path, _) = upload(&broker, "csv", "SALIA", "kunden.csv", customers).await;
    let path = map(&broker, &mapping_path, &[]).await;
    assert_eq!(counts(&settled(&broker, &path).await), ((2, 0, 0), (0, 0, 0)));
    confirm(&broker, &path).await;
    let contracts = windows_1252(
        "Kundennummer,Versicherer,Zeichen,Beginn,Beitrag,Zahlweise,Sparte\nS-1,Gothaer,G-1,01.01.2024,\"1.000,00\",halbjährlich,Unfall\nS-2,Gothaer,G-2,2024-06-01,\"20,00\",vierteljährlich,684\nS-9,Gothaer,G-3,01.01.2024,1,jährlich,030\n",
    );
    let (_, mapping_path, _) = upload(&broker, "csv", "SALIA", "vertraege.csv", contracts.clone()).await;
    // The policy number is in a column no program calls so: the broker picks it.
    let path = map(&broker, &mapping_path, &[("policy_number", "Zeichen")]).await;
    let preview = settled(&broker, &path).await;
    assert_eq!(counts(&preview), ((0, 0, 2), (2, 0, 0)));
    assert!(has_problem(&preview, 4, "csv", "Kundennummer S-9"), "{preview}");
    confirm(&broker, &path).await;
    assert!(customer_page(&broker, "Müller, Jürgen").await.contains("G-1"));
    // The mapping is remembered for the source.
    let (_, mapping_path, _) = upload(&broker, "csv", "SALIA", "vertraege.csv", contracts).await;
    let (_, page) = broker.page(&mapping_path).await;
    assert!(page.contains(r#"<option value="Zeichen" selected>"#), "the remembered column is proposed");

    // An Excel workbook with real date and number cells.
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let date_format = rust_xlsxwriter::Format::new().set_num_format("dd.mm.yyyy");
    for (col, header) in
        ["Nachname", "Vorname", "PLZ", "Versicherer", "Vertragsnummer", "Sparte", "Beginn", "Beitrag", "Zahlweise"]
            .iter()
            .enumerate()
    {
        sheet.write_string(0, col as u16, *header).unwrap();
    }
    for (row, (name, policy, premium)) in [("Schäfer", "XL-1", 49.9), ("Schäfer", "XL-2", 120.0)].iter().enumerate() {
        let row = row as u32 + 1;
        sheet.write_string(row, 0, *name).unwrap();
        sheet.write_string(row, 1, "Lena").unwrap();
        sheet.write_string(row, 2, "01067").unwrap();
        sheet.write_string(row, 3, "ERGO").unwrap();
        sheet.write_string(row, 4, *policy).unwrap();
        sheet.write_number(row, 5, 30).unwrap();
        let start = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 7, 1).unwrap();
        sheet.write_datetime_with_format(row, 6, &start, &date_format).unwrap();
        sheet.write_number(row, 7, *premium).unwrap();
        sheet.write_string(row, 8, "monatlich").unwrap();
    }
    let bytes = workbook.save_to_buffer().unwrap();
    let (status, mapping_path, _) = upload(&broker, "xlsx", "Excel-Liste", "liste.xlsx", bytes).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let path = map(&broker, &mapping_path, &[]).await;
    assert_eq!(counts(&settled(&broker, &path).await), ((1, 0, 0), (2, 0, 0)));
    confirm(&broker, &path).await;
    let lena = customer_page(&broker, "Schäfer, Lena").await;
    assert!(lena.contains("49,90 €") && lena.contains("120,00 €") && lena.contains("Unfall"), "{lena}");
    // The Excel date cell arrived as the date it shows.
    let contract =
        regex_lite::Regex::new(r"/makler/vertraege/([0-9a-f]{32})").unwrap().captures(&lena).unwrap()[1].to_owned();
    let (_, form) = broker.page(&format!("/makler/vertraege/{contract}")).await;
    assert!(form.contains(r#"value="2024-07-01""#), "{form}");
    // Something that is no workbook, sent as one.
    let (status, _, html) = upload(&broker, "xlsx", "", "kaputt.xlsx", b"PK\x03\x04kaputt".to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("keine lesbare Excel-Arbeitsmappe"), "{html}");
    app.stop().await;
}

async fn an_interrupted_import_resumes_after_a_restart(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let broker = app.broker_session("Muster Makler", "erika@example.de").await;
    let slug = broker.origin.split("//").nth(1).unwrap().split('.').next().unwrap().to_owned();
    let mut package = GdvPackage::new("9001", "Süd Versicherung AG");
    for n in 1..=3 {
        package.contracts.push(GdvContract::new(erika(), "030", &format!("U-{n}"), 1000 * n));
    }
    let file = GdvFile { packages: vec![package], crlf: false, shorten: false };
    let (_, path, _) = upload(&broker, "gdv", "", "bestand.gdv", file.to_bytes()).await;
    settled(&broker, &path).await;
    let id = path.rsplit('/').next().unwrap().to_owned();
    // A crash cannot be caused through any interface: the test leaves the import
    // as a worker that died after its first batch would (status running, no
    // heartbeat for minutes, position after the first contract's five lines, the
    // first contract written) and keeps the worker busy meanwhile with a fake claim.
    let db = app.state.registry.get(&slug).unwrap().portal.db().clone();
    let now = tenant_app::db::now();
    sqlx::query(
        "INSERT INTO imports (id, format, file_name, dry_run, status, actor_id, actor_name, created_at, heartbeat_at) \
         VALUES ('busy', 'gdv', 'x', 1, 'running', 'x', 'x', $1, $2)",
    )
    .bind(now)
    .bind(now + 3600)
    .execute(db.pool())
    .await
    .unwrap();
    let confirmed = broker.submit(&path, &format!("{path}/bestaetigen"), &[]).await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    sqlx::query("UPDATE imports SET status = 'running', heartbeat_at = $1, position = 6, processed = 6, customers_created = 1, contracts_created = 1 WHERE id = $2")
        .bind(now - 600)
        .bind(&id)
        .execute(db.pool())
        .await
        .unwrap();
    sqlx::query("DELETE FROM imports WHERE id = 'busy'").execute(db.pool()).await.unwrap();
    // The first batch "was" committed: its customer and contract exist, the contract
    // with a premium the file does not have, so a second application would show.
    let customer = tenant_app::db::new_id();
    sqlx::query("INSERT INTO customers (id, first_name, last_name, birth_date, postal_code, city, street, customer_number, salutation, title, match_key, created_at, updated_at) VALUES ($1, 'Erika', 'Müßig', '1970-03-12', '50667', 'Köln', 'Domstraße 1', 'K-1', 'frau', 'Dr.', $2, $3, $3)")
        .bind(&customer)
        .bind(tenant_app::customers::match_key("Erika", "Müßig", Some("1970-03-12"), "50667"))
        .bind(now)
        .execute(db.pool())
        .await
        .unwrap();
    let unfall: String =
        sqlx::query_scalar("SELECT id FROM sparten WHERE gdv_code = '030'").fetch_one(db.pool()).await.unwrap();
    sqlx::query("INSERT INTO contracts (id, customer_id, sparte_id, insurer, insurer_number, sparte_code, policy_number, premium_cents, payment_frequency, start_date, status, created_at, updated_at) VALUES ($1, $2, $3, 'Süd Versicherung AG', '9001', '030', 'U-1', 777, 'annual', '2020-01-01', 'active', $4, $4)")
        .bind(tenant_app::db::new_id())
        .bind(&customer)
        .bind(&unfall)
        .bind(now)
        .execute(db.pool())
        .await
        .unwrap();
    drop(db);
    let app = app.restart().await;
    // The restarted server listens on a new port; the browser keeps its session cookie.
    let broker = PortalSession { client: broker.client, origin: app.url(&slug, "") };
    let html = settled(&broker, &path).await;
    assert!(html.contains("abgeschlossen"), "{html}");
    // Resumed after the first contract: it keeps its premium; the others follow; Erika is one customer.
    assert_eq!(counts(&html), ((1, 0, 1), (3, 0, 0)));
    let page = customer_page(&broker, "Müßig, Erika").await;
    assert!(page.contains("7,77 €") && page.contains("20,00 €") && page.contains("30,00 €"), "{page}");
    assert_eq!(customer_names(&broker).await.len(), 1);
    app.stop().await;
}
