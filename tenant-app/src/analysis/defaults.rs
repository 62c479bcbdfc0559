//! The rules a new portal starts with: one per common need, in the broker's voice,
//! pointing at Sparten of the default catalog. The broker edits or deletes them.

use super::rules::Situation;
use crate::db::{Db, new_id};

/// The default rules, by Sparte name of the default catalog.
const DEFAULT_RULES: &[(&str, Situation, &str, Option<i64>)] = &[
    (
        "Haftpflicht",
        Situation::Always,
        "Wer einem anderen schadet, haftet mit seinem ganzen Vermögen, ein Leben lang. Eine Privathaftpflicht kostet wenig und gehört zu den wichtigsten Versicherungen überhaupt.",
        Some(5),
    ),
    (
        "Arbeitskraftabsicherung",
        Situation::Earning,
        "Ihre Arbeitskraft ist Ihr größtes Kapital. Jeder Vierte wird vor der Rente berufsunfähig; die gesetzliche Absicherung reicht dann meist nicht.",
        None,
    ),
    (
        "Hinterbliebenenvorsorge",
        Situation::Partner,
        "Wenn Ihnen etwas zustößt, sollen Partner und Kinder ihren Alltag weiter bezahlen können, auch einen laufenden Kredit.",
        None,
    ),
    (
        "Hinterbliebenenvorsorge",
        Situation::Children,
        "Kinder brauchen Sicherheit, bis sie auf eigenen Beinen stehen. Eine Risikolebensversicherung sorgt dafür zu kleinem Beitrag.",
        None,
    ),
    (
        "Altersvorsorge",
        Situation::Always,
        "Die gesetzliche Rente deckt nur einen Teil Ihres heutigen Einkommens. Je früher Sie vorsorgen, desto weniger müssen Sie monatlich zurücklegen.",
        Some(5),
    ),
    (
        "Verbundene Hausrat",
        Situation::Always,
        "Alles, was Sie bei einem Umzug mitnehmen würden, ist bei Einbruch, Feuer oder Leitungswasser schnell verloren.",
        Some(5),
    ),
    (
        "Verbundene Wohngebäude",
        Situation::Owner,
        "Für Eigentümer unverzichtbar: Feuer, Sturm oder ein Wasserschaden am Haus können die Existenz kosten. Denken Sie auch an Elementarschäden.",
        Some(5),
    ),
    (
        "Kraftfahrt",
        Situation::Car,
        "Die Kfz-Haftpflicht ist Pflicht; ob Teil- oder Vollkasko sinnvoll ist, hängt von Alter und Wert Ihres Fahrzeugs ab.",
        Some(3),
    ),
    (
        "Rechtsschutz",
        Situation::Always,
        "Ein Streit mit Vermieter, Arbeitgeber oder nach einem Unfall kann teuer werden. Rechtsschutz übernimmt Anwalts- und Gerichtskosten.",
        None,
    ),
    (
        "Kranken",
        Situation::SelfEmployed,
        "Als Selbstständige(r) zahlt Ihnen niemand das Einkommen weiter, wenn Sie krank sind: ein Krankentagegeld schließt diese Lücke.",
        None,
    ),
    (
        "Unfall",
        Situation::Children,
        "Kinder sind in der Freizeit nicht gesetzlich unfallversichert. Eine Unfallversicherung hilft, wenn nach einem Unfall etwas zurückbleibt.",
        None,
    ),
    (
        "Tierkranken",
        Situation::Pet,
        "Eine Operation beim Tierarzt kostet schnell mehrere tausend Euro. Für Hunde ist außerdem eine Tierhalterhaftpflicht wichtig.",
        None,
    ),
];

/// Seeds the default rules once per portal (a flag in `settings` remembers it,
/// so a broker who deletes every rule does not get them back). Runs at every
/// start too, so portals made before the analysis existed get the rules.
pub async fn seed_default_rules(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let seeded: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = 'analysis_rules_seeded'")
        .fetch_optional(&mut *tx)
        .await?;
    let catalog_size: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sparten").fetch_one(&mut *tx).await?;
    // Before the catalog exists there is nothing to point at; try again later.
    if seeded.is_some() || catalog_size == 0 {
        return Ok(());
    }
    for (position, (sparte, situation, text, review)) in DEFAULT_RULES.iter().enumerate() {
        let sparte_id: Option<String> =
            sqlx::query_scalar("SELECT id FROM sparten WHERE name = $1").bind(*sparte).fetch_optional(&mut *tx).await?;
        let Some(sparte_id) = sparte_id else { continue };
        sqlx::query(
            "INSERT INTO analysis_rules (id, sparte_id, situation, text, review_after_years, position) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(sparte_id)
        .bind(situation.as_str())
        .bind(*text)
        .bind(*review)
        .bind(position as i64)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query("INSERT INTO settings (key, value) VALUES ('analysis_rules_seeded', '1')").execute(&mut *tx).await?;
    tx.commit().await
}
