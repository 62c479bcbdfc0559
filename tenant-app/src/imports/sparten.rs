//! Where an imported contract is filed: its Sparte by GDV code (or, from a
//! CSV, by name), and its Produkt by name under that Sparte, made when missing.

use std::collections::HashMap;

use sqlx::AnyConnection;

use super::model::SparteRef;
use crate::db::new_id;

#[derive(Debug, Clone)]
struct SparteInfo {
    id: String,
    code: Option<String>,
    name: String,
}

/// The catalog as an import sees it, with the Produkte it adds along the way.
#[derive(Debug, Default)]
pub struct Catalog {
    sparten: Vec<SparteInfo>,
    /// (Sparte id, lower-case name) → Produkt id.
    produkte: HashMap<(String, String), String>,
    produkt_names: HashMap<String, String>,
    /// Sonstige (000): where contracts of unknown Sparten go; made if the broker deleted it.
    sonstige: String,
    /// Made during this batch, written with it.
    pub new_sparten: Vec<(String, String, String)>,
    pub new_produkte: Vec<(String, String, String)>,
}

/// Where a contract goes: the Sparte, the code that identifies the contract
/// (as in the file), and a problem when the file's Sparte is not in the catalog.
pub struct Filing {
    pub sparte_id: String,
    pub code: String,
    pub problem: Option<String>,
}

impl Catalog {
    pub async fn load(conn: &mut AnyConnection) -> Result<Catalog, sqlx::Error> {
        let sparten: Vec<(String, Option<String>, String)> =
            sqlx::query_as("SELECT id, gdv_code, name FROM sparten ORDER BY position, name")
                .fetch_all(&mut *conn)
                .await?;
        let produkte: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, sparte_id, name FROM produkte ORDER BY position, name")
                .fetch_all(&mut *conn)
                .await?;
        let mut catalog = Catalog {
            sparten: sparten.into_iter().map(|(id, code, name)| SparteInfo { id, code, name }).collect(),
            ..Catalog::default()
        };
        for (id, sparte_id, name) in produkte {
            catalog.produkt_names.insert(id.clone(), name.clone());
            catalog.produkte.entry((sparte_id, name.to_lowercase())).or_insert(id);
        }
        catalog.sonstige = match catalog.by_code("000") {
            Some(id) => id.to_owned(),
            None => {
                let id = new_id();
                catalog.new_sparten.push((id.clone(), "000".into(), "Sonstige".into()));
                catalog.sparten.push(SparteInfo { id: id.clone(), code: Some("000".into()), name: "Sonstige".into() });
                id
            }
        };
        Ok(catalog)
    }

    fn by_code(&self, code: &str) -> Option<&str> {
        self.sparten.iter().find(|s| s.code.as_deref() == Some(code)).map(|s| s.id.as_str())
    }

    pub fn sparte_name(&self, id: &str) -> &str {
        self.sparten.iter().find(|s| s.id == id).map_or("", |s| s.name.as_str())
    }

    pub fn produkt_name(&self, id: &str) -> &str {
        self.produkt_names.get(id).map_or("", String::as_str)
    }

    pub fn file(&self, sparte: &SparteRef) -> Filing {
        let unknown =
            |code: String, problem: String| Filing { sparte_id: self.sonstige.clone(), code, problem: Some(problem) };
        match sparte {
            SparteRef::Code(code) => match self.by_code(code) {
                Some(id) => Filing { sparte_id: id.to_owned(), code: code.clone(), problem: None },
                // Kraftfahrt's lines (051 KH, 052 Vollkasko, 053 Teilkasko, …) belong under 050.
                None if code.starts_with("05") && self.by_code("050").is_some() => Filing {
                    sparte_id: self.by_code("050").unwrap_or_default().to_owned(),
                    code: code.clone(),
                    problem: None,
                },
                None => unknown(
                    code.clone(),
                    format!(
                        "Die Sparte {code} steht nicht in Ihrem Katalog; der Vertrag wurde unter Sonstige (000) abgelegt."
                    ),
                ),
            },
            SparteRef::Name(name) => {
                let wanted = name.trim().to_lowercase();
                match self.sparten.iter().find(|s| s.name.to_lowercase() == wanted) {
                    Some(s) => {
                        Filing { sparte_id: s.id.clone(), code: s.code.clone().unwrap_or_default(), problem: None }
                    }
                    None => unknown(
                        String::new(),
                        format!(
                            "Die Sparte „{name}“ steht nicht in Ihrem Katalog; der Vertrag wurde unter Sonstige (000) abgelegt."
                        ),
                    ),
                }
            }
            SparteRef::Missing => {
                unknown(String::new(), "Der Vertrag nennt keine Sparte; er wurde unter Sonstige (000) abgelegt.".into())
            }
        }
    }

    /// The Produkt of this name under the Sparte, made if there is none. Without
    /// a name, a Kraftfahrt line's code picks its default Produkt (`… (051)`).
    pub fn produkt(&mut self, sparte_id: &str, name: Option<&str>, code: &str) -> Option<String> {
        let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
            let tag = format!("({code})");
            return self
                .produkte
                .iter()
                .filter(|((sparte, name), _)| sparte == sparte_id && name.ends_with(&tag))
                .map(|(_, id)| id.clone())
                .next();
        };
        let key = (sparte_id.to_owned(), name.to_lowercase());
        if let Some(id) = self.produkte.get(&key) {
            return Some(id.clone());
        }
        let id = new_id();
        self.produkte.insert(key, id.clone());
        self.produkt_names.insert(id.clone(), name.to_owned());
        self.new_produkte.push((id.clone(), sparte_id.to_owned(), name.to_owned()));
        Some(id)
    }

    /// Writes the Sparten and Produkte made since the last call.
    pub async fn write_new(&mut self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        for (id, code, name) in self.new_sparten.drain(..) {
            sqlx::query(
                "INSERT INTO sparten (id, gdv_code, name, description, position) \
                 VALUES ($1, $2, $3, '', (SELECT COALESCE(MAX(position), -1) + 1 FROM sparten))",
            )
            .bind(id)
            .bind(code)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        }
        for (id, sparte_id, name) in self.new_produkte.drain(..) {
            sqlx::query(
                "INSERT INTO produkte (id, sparte_id, name, description, position) \
                 VALUES ($1, $2, $3, '', (SELECT COALESCE(MAX(position), -1) + 1 FROM produkte WHERE sparte_id = $2))",
            )
            .bind(id)
            .bind(sparte_id)
            .bind(name)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }

    /// A dry run writes nothing: what it would have made is forgotten per batch
    /// but stays known to the catalog, so it is made (and counted) only once.
    pub fn forget_new(&mut self) {
        self.new_sparten.clear();
        self.new_produkte.clear();
    }
}
