//! The tenant's audit trail: who created, changed, archived, deleted,
//! imported or exported what in this portal. Entries are only ever added;
//! the operator's own log is the control plane's.

use crate::db::{Db, new_id, now};

/// Who acted: a person of this portal, an API key, or the portal itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// A user id, `api:<key id>`, or `system`.
    pub id: String,
    /// The name shown in the trail, as it was at the time.
    pub name: String,
}

impl Actor {
    pub fn user(id: &str, name: &str) -> Actor {
        Actor { id: id.to_owned(), name: name.to_owned() }
    }

    pub fn api_key(key_id: &str, key_name: &str) -> Actor {
        Actor { id: format!("api:{key_id}"), name: format!("API-Schlüssel „{key_name}“") }
    }

    pub fn system() -> Actor {
        Actor { id: "system".into(), name: "System".into() }
    }
}

/// One entry, as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub at: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// Appends an entry. `subject` names the record (`customer:<id>`), `detail`
/// says what a reader needs without opening it (never a secret).
pub async fn record(db: &Db, actor: &Actor, action: &str, subject: &str, detail: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_trail (id, at, actor_id, actor_name, action, subject, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(now())
    .bind(&actor.id)
    .bind(&actor.name)
    .bind(action)
    .bind(subject)
    .bind(detail)
    .execute(db.pool())
    .await?;
    Ok(())
}

/// One page of entries, newest first, and whether older ones exist.
pub async fn page(db: &Db, page: u32, per_page: u32) -> Result<(Vec<Entry>, bool), sqlx::Error> {
    let offset = i64::from(page.saturating_sub(1)) * i64::from(per_page);
    let rows: Vec<(i64, String, String, String, String, String)> = sqlx::query_as(
        "SELECT at, actor_id, actor_name, action, subject, detail FROM audit_trail \
         ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2",
    )
    .bind(i64::from(per_page) + 1)
    .bind(offset)
    .fetch_all(db.pool())
    .await?;
    let more = rows.len() > per_page as usize;
    let entries = rows
        .into_iter()
        .take(per_page as usize)
        .map(|(at, actor_id, actor_name, action, subject, detail)| Entry {
            at,
            actor_id,
            actor_name,
            action,
            subject,
            detail,
        })
        .collect();
    Ok((entries, more))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_read_back_newest_first_in_pages() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("portal.db").display());
        // Not `instance::open_database`: that would make this module depend on the portal.
        let db = Db::connect(&url, crate::db::PoolSize::of(1)).await.unwrap();
        db.migrate(crate::db::TENANT_MIGRATIONS).await.unwrap();
        let owner = Actor::user("u1", "Erika Muster");
        for n in 0..3 {
            record(&db, &owner, "customer_created", &format!("customer:{n}"), &format!("Kunde {n}")).await.unwrap();
        }
        record(&db, &Actor::api_key("k1", "MVP"), "contract_updated", "contract:c1", "").await.unwrap();
        let (first, more) = page(&db, 1, 3).await.unwrap();
        assert!(more);
        assert_eq!(first[0].actor_id, "api:k1");
        assert_eq!(first[0].actor_name, "API-Schlüssel „MVP“");
        assert_eq!(first.iter().filter(|e| e.action == "customer_created").count(), 2);
        let (second, more) = page(&db, 2, 3).await.unwrap();
        assert!(!more);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].actor_name, "Erika Muster");
    }
}
