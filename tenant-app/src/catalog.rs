//! The catalog: Sparten (lines of insurance) and, under each, Produkte.
//!
//! A default catalog aligned with the GDV line codes is seeded into every new
//! portal; from then on it is the broker's to change.

use crate::db::{Db, new_id};

#[derive(Debug, Clone)]
pub struct Sparte {
    pub id: String,
    pub gdv_code: Option<String>,
    pub name: String,
    pub description: String,
    pub produkte: Vec<Produkt>,
}

#[derive(Debug, Clone)]
pub struct Produkt {
    pub id: String,
    pub sparte_id: String,
    pub name: String,
    pub description: String,
}

/// One line of the default catalog: GDV code (if the GDV has one), name, what it
/// is for in plain words, and its Produkte with their descriptions.
struct DefaultSparte {
    gdv_code: Option<&'static str>,
    name: &'static str,
    description: &'static str,
    produkte: &'static [(&'static str, &'static str)],
}

const DEFAULT_CATALOG: &[DefaultSparte] = &[
    DefaultSparte {
        gdv_code: Some("010"),
        name: "Leben",
        description: "Sichert Ihre Familie finanziell ab und baut Vermögen für später auf.",
        produkte: &[
            ("Risikolebensversicherung", "Zahlt Ihren Hinterbliebenen eine vereinbarte Summe, wenn Sie sterben."),
            ("Kapitallebensversicherung", "Verbindet Todesfallschutz mit einem Sparvertrag."),
            ("Fondsgebundene Lebensversicherung", "Legt Ihre Beiträge in Investmentfonds an."),
        ],
    },
    DefaultSparte {
        gdv_code: None,
        name: "Altersvorsorge",
        description: "Schließt die Lücke zwischen gesetzlicher Rente und Ihrem Bedarf im Alter.",
        produkte: &[
            ("Private Rentenversicherung", "Zahlt Ihnen ab Rentenbeginn eine lebenslange Rente."),
            ("Basisrente (Rürup)", "Steuerlich geförderte Rente, besonders für Selbstständige."),
            ("Riester-Rente", "Staatlich geförderte Rente mit Zulagen."),
            ("Betriebliche Altersversorgung", "Vorsorge über Ihren Arbeitgeber, oft mit Zuschuss."),
        ],
    },
    DefaultSparte {
        gdv_code: None,
        name: "Hinterbliebenenvorsorge",
        description: "Sorgt dafür, dass Partner und Kinder versorgt sind, wenn Ihnen etwas zustößt.",
        produkte: &[
            ("Risikolebensversicherung", "Eine feste Summe für Ihre Hinterbliebenen."),
            ("Sterbegeldversicherung", "Deckt die Kosten der Bestattung."),
        ],
    },
    DefaultSparte {
        gdv_code: None,
        name: "Arbeitskraftabsicherung",
        description: "Ersetzt Ihr Einkommen, wenn Sie wegen Krankheit oder Unfall nicht mehr arbeiten können.",
        produkte: &[
            (
                "Berufsunfähigkeitsversicherung",
                "Zahlt eine monatliche Rente, wenn Sie Ihren Beruf nicht mehr ausüben können.",
            ),
            ("Grundfähigkeitsversicherung", "Zahlt, wenn Sie grundlegende Fähigkeiten wie Sehen oder Gehen verlieren."),
            ("Erwerbsunfähigkeitsversicherung", "Zahlt, wenn Sie gar keiner Arbeit mehr nachgehen können."),
        ],
    },
    DefaultSparte {
        gdv_code: Some("020"),
        name: "Kranken",
        description: "Übernimmt Kosten für Arztbesuche, Krankenhaus und Zahnersatz.",
        produkte: &[
            ("Private Krankenvollversicherung", "Ersetzt die gesetzliche Krankenversicherung."),
            (
                "Krankenzusatzversicherung",
                "Ergänzt die gesetzliche Versicherung, etwa um Zahnersatz oder Einbettzimmer.",
            ),
            ("Krankentagegeld", "Ersetzt Einkommen bei längerer Krankheit."),
            ("Pflegezusatzversicherung", "Schließt die Lücke, die die Pflegepflichtversicherung lässt."),
        ],
    },
    DefaultSparte {
        gdv_code: Some("030"),
        name: "Unfall",
        description: "Zahlt bei bleibenden Schäden nach einem Unfall, auch in der Freizeit.",
        produkte: &[(
            "Private Unfallversicherung",
            "Eine Kapitalleistung oder Rente bei Invalidität nach einem Unfall.",
        )],
    },
    DefaultSparte {
        gdv_code: Some("040"),
        name: "Haftpflicht",
        description: "Zahlt, wenn Sie anderen einen Schaden zufügen, und wehrt unberechtigte Forderungen ab.",
        produkte: &[
            ("Privathaftpflicht", "Die wichtigste Versicherung überhaupt: Schäden, die Sie anderen zufügen."),
            ("Tierhalterhaftpflicht", "Schäden, die Ihr Hund oder Pferd verursacht."),
            ("Haus- und Grundbesitzerhaftpflicht", "Schäden durch Ihr Grundstück oder vermietetes Eigentum."),
            ("Berufshaftpflicht", "Schäden aus Ihrer beruflichen Tätigkeit."),
        ],
    },
    DefaultSparte {
        gdv_code: Some("050"),
        name: "Kraftfahrt",
        description: "Pflichtversicherung und Kaskoschutz für Ihr Fahrzeug.",
        produkte: &[
            ("Kfz-Haftpflicht (051)", "Gesetzlich vorgeschrieben: Schäden, die Sie mit dem Fahrzeug anderen zufügen."),
            ("Vollkasko (052)", "Auch Schäden am eigenen Fahrzeug, selbst wenn Sie den Unfall verursacht haben."),
            ("Teilkasko (053)", "Diebstahl, Glasbruch, Sturm, Wildunfall am eigenen Fahrzeug."),
        ],
    },
    DefaultSparte {
        gdv_code: Some("070"),
        name: "Rechtsschutz",
        description: "Übernimmt Anwalts- und Gerichtskosten, wenn Sie Ihr Recht durchsetzen müssen.",
        produkte: &[
            ("Privatrechtsschutz", "Streit im Alltag, etwa mit Händlern."),
            ("Verkehrsrechtsschutz", "Streit rund um Fahrzeug und Straßenverkehr."),
            ("Berufsrechtsschutz", "Streit mit dem Arbeitgeber."),
            ("Mietrechtsschutz", "Streit mit Vermieter oder Mieter."),
        ],
    },
    DefaultSparte {
        gdv_code: Some("080"),
        name: "Feuer",
        description: "Schützt Gebäude und Betriebe gegen Brand, Blitz und Explosion.",
        produkte: &[("Feuerversicherung", "Brand, Blitzschlag, Explosion.")],
    },
    DefaultSparte {
        gdv_code: Some("130"),
        name: "Verbundene Hausrat",
        description: "Ersetzt Ihre Einrichtung und Wertsachen nach Einbruch, Feuer oder Leitungswasser.",
        produkte: &[("Hausratversicherung", "Alles, was Sie bei einem Umzug mitnehmen würden.")],
    },
    DefaultSparte {
        gdv_code: Some("140"),
        name: "Verbundene Wohngebäude",
        description: "Schützt Ihr eigenes Haus gegen Feuer, Leitungswasser, Sturm und Hagel.",
        produkte: &[
            ("Wohngebäudeversicherung", "Das Gebäude selbst mit allem, was fest verbaut ist."),
            ("Elementarschadenversicherung", "Hochwasser, Starkregen, Erdrutsch."),
        ],
    },
    DefaultSparte {
        gdv_code: Some("190"),
        name: "Transport",
        description: "Versichert Waren und Wertgegenstände unterwegs.",
        produkte: &[("Transportversicherung", "Güter auf dem Transportweg.")],
    },
    DefaultSparte {
        gdv_code: Some("580"),
        name: "Bausparen",
        description: "Spart Eigenkapital an und sichert einen günstigen Kredit für die eigenen vier Wände.",
        produkte: &[("Bausparvertrag", "Ansparen, dann ein zinsgünstiges Darlehen.")],
    },
    DefaultSparte {
        gdv_code: Some("684"),
        name: "Tierkranken",
        description: "Übernimmt Tierarztkosten für Hund, Katze oder Pferd.",
        produkte: &[
            ("Tierkrankenversicherung", "Behandlungen beim Tierarzt."),
            ("Tier-OP-Versicherung", "Operationen und Nachsorge."),
        ],
    },
    DefaultSparte {
        gdv_code: Some("000"),
        name: "Sonstige",
        description: "Verträge, die in keine andere Sparte passen.",
        produkte: &[("Sonstiger Vertrag", "Alles Weitere.")],
    },
];

/// Seeds the default catalog into an empty portal; does nothing once any Sparte
/// exists, so provisioning can run it again safely.
pub async fn seed_default(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sparten").fetch_one(&mut *tx).await?;
    if existing > 0 {
        return Ok(());
    }
    for (position, sparte) in DEFAULT_CATALOG.iter().enumerate() {
        let sparte_id = new_id();
        sqlx::query("INSERT INTO sparten (id, gdv_code, name, description, position) VALUES ($1, $2, $3, $4, $5)")
            .bind(&sparte_id)
            .bind(sparte.gdv_code)
            .bind(sparte.name)
            .bind(sparte.description)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        for (position, (name, description)) in sparte.produkte.iter().enumerate() {
            sqlx::query(
                "INSERT INTO produkte (id, sparte_id, name, description, position) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(new_id())
            .bind(&sparte_id)
            .bind(*name)
            .bind(*description)
            .bind(position as i64)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await
}

/// The whole catalog in the broker's order.
pub async fn list(db: &Db) -> Result<Vec<Sparte>, sqlx::Error> {
    let sparten: Vec<(String, Option<String>, String, String)> =
        sqlx::query_as("SELECT id, gdv_code, name, description FROM sparten ORDER BY position, name")
            .fetch_all(db.pool())
            .await?;
    let produkte: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT id, sparte_id, name, description FROM produkte ORDER BY position, name")
            .fetch_all(db.pool())
            .await?;
    Ok(sparten
        .into_iter()
        .map(|(id, gdv_code, name, description)| Sparte {
            produkte: produkte
                .iter()
                .filter(|p| p.1 == id)
                .map(|(pid, sparte_id, name, description)| Produkt {
                    id: pid.clone(),
                    sparte_id: sparte_id.clone(),
                    name: name.clone(),
                    description: description.clone(),
                })
                .collect(),
            id,
            gdv_code,
            name,
            description,
        })
        .collect())
}

/// A Produkt together with its Sparte's id, or `None` if no such Produkt exists.
pub async fn find_produkt(db: &Db, produkt_id: &str) -> Result<Option<Produkt>, sqlx::Error> {
    let row: Option<(String, String, String, String)> =
        sqlx::query_as("SELECT id, sparte_id, name, description FROM produkte WHERE id = $1")
            .bind(produkt_id)
            .fetch_optional(db.pool())
            .await?;
    Ok(row.map(|(id, sparte_id, name, description)| Produkt { id, sparte_id, name, description }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_catalog_covers_the_gdv_lines_and_the_pension_lines() {
        let codes: Vec<_> = DEFAULT_CATALOG.iter().filter_map(|s| s.gdv_code).collect();
        for code in ["000", "010", "020", "030", "040", "050", "070", "080", "130", "140", "190", "580", "684"] {
            assert!(codes.contains(&code), "GDV line {code} missing");
        }
        let names: Vec<_> = DEFAULT_CATALOG.iter().map(|s| s.name).collect();
        assert!(names.contains(&"Hinterbliebenenvorsorge"));
        assert!(names.contains(&"Arbeitskraftabsicherung"));
        assert!(DEFAULT_CATALOG.iter().all(|s| !s.produkte.is_empty() && !s.description.is_empty()));
    }
}

/// The form for a Sparte or a Produkt: a name and what it is for.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct EntryForm {
    pub name: String,
    pub description: String,
}

/// A valid catalog entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub description: String,
}

impl Entry {
    pub fn parse(form: &EntryForm) -> Result<Entry, crate::web::FieldErrors> {
        let mut errors = crate::web::FieldErrors::default();
        let name = crate::values::required_text(&form.name, 100).map_err(|m| errors.add("name", m)).unwrap_or_default();
        let description = crate::values::optional_text(&form.description, 2000)
            .map_err(|m| errors.add("description", m))
            .unwrap_or_default();
        errors.into_result(|| Entry { name, description })
    }
}

/// Which way an entry moves in the broker's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
}

/// What happened to a delete request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// Refused: this many contracts still use the entry.
    InUse(i64),
    NotFound,
}

pub async fn find_sparte(db: &Db, id: &str) -> Result<Option<Sparte>, sqlx::Error> {
    Ok(list(db).await?.into_iter().find(|s| s.id == id))
}

pub async fn add_sparte(db: &Db, entry: &Entry) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO sparten (id, name, description, position) \
         VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), -1) + 1 FROM sparten))",
    )
    .bind(&id)
    .bind(&entry.name)
    .bind(&entry.description)
    .execute(db.pool())
    .await?;
    Ok(id)
}

pub async fn add_produkt(db: &Db, sparte_id: &str, entry: &Entry) -> Result<String, sqlx::Error> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO produkte (id, sparte_id, name, description, position) \
         VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(position), -1) + 1 FROM produkte WHERE sparte_id = $2))",
    )
    .bind(&id)
    .bind(sparte_id)
    .bind(&entry.name)
    .bind(&entry.description)
    .execute(db.pool())
    .await?;
    Ok(id)
}

/// Renames an entry and rewrites its description; false if there is no such entry.
pub async fn rename(db: &Db, table: CatalogTable, id: &str, entry: &Entry) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(&format!("UPDATE {} SET name = $1, description = $2 WHERE id = $3", table.name()))
        .bind(&entry.name)
        .bind(&entry.description)
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Swaps an entry with its neighbour in the given direction, within its list
/// (all Sparten, or the Produkte of one Sparte). At either end it stays put.
pub async fn reorder(db: &Db, table: CatalogTable, id: &str, direction: Direction) -> Result<(), sqlx::Error> {
    let (table_name, scope) = match table {
        CatalogTable::Sparten => ("sparten", "1 = 1"),
        CatalogTable::Produkte => ("produkte", "sparte_id = (SELECT sparte_id FROM produkte WHERE id = $1)"),
    };
    let mut tx = db.pool().begin().await?;
    let Some(position): Option<i64> = sqlx::query_scalar(&format!("SELECT position FROM {table_name} WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(());
    };
    let (comparison, order) = match direction {
        Direction::Up => ("<", "DESC"),
        Direction::Down => (">", "ASC"),
    };
    let neighbour: Option<(String, i64)> = sqlx::query_as(&format!(
        "SELECT id, position FROM {table_name} WHERE {scope} AND id <> $1 AND position {comparison} $2 \
         ORDER BY position {order} LIMIT 1"
    ))
    .bind(id)
    .bind(position)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some((neighbour_id, neighbour_position)) = neighbour {
        for (entry, new_position) in [(id, neighbour_position), (neighbour_id.as_str(), position)] {
            sqlx::query(&format!("UPDATE {table_name} SET position = $1 WHERE id = $2"))
                .bind(new_position)
                .bind(entry)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await
}

/// The two kinds of catalog entry; their table names are never user input, so
/// they are safe to name in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogTable {
    Sparten,
    Produkte,
}

impl CatalogTable {
    fn name(self) -> &'static str {
        match self {
            CatalogTable::Sparten => "sparten",
            CatalogTable::Produkte => "produkte",
        }
    }

    /// The contracts column that points at an entry of this table.
    fn contract_column(self) -> &'static str {
        match self {
            CatalogTable::Sparten => "sparte_id",
            CatalogTable::Produkte => "produkt_id",
        }
    }
}

/// Deletes an entry unless a contract uses it; a Sparte goes with its Produkte
/// and the analysis rules that name it. The foreign keys back the check up if a
/// contract is added concurrently.
pub async fn delete(db: &Db, table: CatalogTable, id: &str) -> Result<Deletion, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let exists: Option<String> = sqlx::query_scalar(&format!("SELECT id FROM {} WHERE id = $1", table.name()))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(Deletion::NotFound);
    }
    let in_use: i64 =
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM contracts WHERE {} = $1", table.contract_column()))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if in_use > 0 {
        return Ok(Deletion::InUse(in_use));
    }
    if table == CatalogTable::Sparten {
        sqlx::query("DELETE FROM analysis_rules WHERE sparte_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM produkte WHERE sparte_id = $1").bind(id).execute(&mut *tx).await?;
    }
    sqlx::query(&format!("DELETE FROM {} WHERE id = $1", table.name())).bind(id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(Deletion::Deleted)
}
