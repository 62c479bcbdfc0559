//! Documents of customers and contracts (and photos attached to messages):
//! the records in the database; the contents are in the [`DocumentStore`].

use crate::db::{Db, new_id, now};
use crate::storage::{DocumentStore, StorageError};
use crate::uploads::Upload;

#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub customer_id: String,
    pub contract_id: Option<String>,
    pub message_id: Option<String>,
    /// Set for documents in the customer's emergency folder, which the broker never sees.
    pub emergency_section: Option<String>,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub visible_to_customer: bool,
    pub created_at: i64,
}

impl Document {
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    /// Size for people: `830 KB`, `2,4 MB`.
    pub fn size_display(&self) -> String {
        let kib = self.size_bytes as f64 / 1024.0;
        if kib < 1024.0 {
            format!("{} KB", kib.ceil() as i64)
        } else {
            format!("{:.1} MB", kib / 1024.0).replace('.', ",")
        }
    }
}

/// Where a new document belongs.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub customer_id: String,
    pub contract_id: Option<String>,
    pub message_id: Option<String>,
    pub emergency_section: Option<String>,
    pub visible_to_customer: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

const COLUMNS: &str = "id, customer_id, contract_id, message_id, file_name, content_type, size_bytes, \
                       visible_to_customer, created_at, emergency_section";

fn from_row(row: sqlx::any::AnyRow) -> Result<Document, sqlx::Error> {
    use sqlx::Row;
    Ok(Document {
        id: row.try_get(0)?,
        customer_id: row.try_get(1)?,
        contract_id: row.try_get(2)?,
        message_id: row.try_get(3)?,
        file_name: row.try_get(4)?,
        content_type: row.try_get(5)?,
        size_bytes: row.try_get(6)?,
        visible_to_customer: row.try_get::<i64, _>(7)? != 0,
        created_at: row.try_get(8)?,
        emergency_section: row.try_get(9)?,
    })
}

/// Stores the content, then records it. If recording fails the content is
/// removed again, so no file is left that no record points to.
pub async fn create(
    db: &Db,
    store: &dyn DocumentStore,
    placement: &Placement,
    uploaded_by: &str,
    upload: &Upload,
) -> Result<String, DocumentError> {
    let id = new_id();
    store.put(&id, &upload.bytes).await?;
    let inserted = sqlx::query(
        "INSERT INTO documents (id, customer_id, contract_id, message_id, file_name, content_type, size_bytes, \
           visible_to_customer, uploaded_by, created_at, emergency_section) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(&placement.customer_id)
    .bind(&placement.contract_id)
    .bind(&placement.message_id)
    .bind(&upload.file_name)
    .bind(upload.kind.content_type())
    .bind(upload.bytes.len() as i64)
    .bind(i64::from(placement.visible_to_customer))
    .bind(uploaded_by)
    .bind(now())
    .bind(&placement.emergency_section)
    .execute(db.pool())
    .await;
    if let Err(err) = inserted {
        let _ = store.delete(&id).await;
        return Err(err.into());
    }
    Ok(id)
}

pub async fn find(db: &Db, id: &str) -> Result<Option<Document>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM documents WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    row.map(from_row).transpose()
}

/// Every document of a customer, newest first (for the broker).
pub async fn for_customer(db: &Db, customer_id: &str) -> Result<Vec<Document>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents WHERE customer_id = $1 AND message_id IS NULL AND emergency_section IS NULL \
         ORDER BY created_at DESC, id DESC"
    ))
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// Documents of customers and contracts (no message photos, nothing of an
/// emergency folder) in id order after `after`, optionally of one customer or
/// one contract: the API's keyset pages.
pub async fn page(
    db: &Db,
    customer_id: Option<&str>,
    contract_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Document>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents WHERE id > $1 AND message_id IS NULL AND emergency_section IS NULL \
           AND ($2 = '' OR customer_id = $2) AND ($3 = '' OR contract_id = $3) ORDER BY id LIMIT $4"
    ))
    .bind(after.unwrap_or(""))
    .bind(customer_id.unwrap_or(""))
    .bind(contract_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// What the customer may see: of one contract, or (with `None`) their general documents.
pub async fn visible_to_customer(
    db: &Db,
    customer_id: &str,
    contract_id: Option<&str>,
) -> Result<Vec<Document>, sqlx::Error> {
    let rows =
        match contract_id {
            Some(contract_id) => sqlx::query(&format!(
                "SELECT {COLUMNS} FROM documents WHERE customer_id = $1 AND contract_id = $2 AND message_id IS NULL \
                 AND visible_to_customer = $3 ORDER BY created_at DESC, id DESC"
            ))
            .bind(customer_id)
            .bind(contract_id)
            .bind(1_i64)
            .fetch_all(db.pool())
            .await?,
            None => sqlx::query(&format!(
                "SELECT {COLUMNS} FROM documents WHERE customer_id = $1 AND contract_id IS NULL AND message_id IS NULL AND emergency_section IS NULL \
                 AND visible_to_customer = $2 ORDER BY created_at DESC, id DESC"
            ))
            .bind(customer_id)
            .bind(1_i64)
            .fetch_all(db.pool())
            .await?,
        };
    rows.into_iter().map(from_row).collect()
}

/// The documents in a customer's emergency folder, by upload time.
pub async fn in_emergency_folder(db: &Db, customer_id: &str) -> Result<Vec<Document>, sqlx::Error> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM documents WHERE customer_id = $1 AND emergency_section IS NOT NULL ORDER BY created_at, id"
    ))
    .bind(customer_id)
    .fetch_all(db.pool())
    .await?;
    rows.into_iter().map(from_row).collect()
}

/// The photos of one message.
pub async fn for_message(db: &Db, message_id: &str) -> Result<Vec<Document>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM documents WHERE message_id = $1 ORDER BY created_at, id"))
        .bind(message_id)
        .fetch_all(db.pool())
        .await?;
    rows.into_iter().map(from_row).collect()
}

pub async fn set_visible(db: &Db, id: &str, visible: bool) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE documents SET visible_to_customer = $1 WHERE id = $2")
        .bind(i64::from(visible))
        .bind(id)
        .execute(db.pool())
        .await?;
    Ok(())
}

/// Removes the record, then the content.
pub async fn delete(db: &Db, store: &dyn DocumentStore, id: &str) -> Result<(), DocumentError> {
    sqlx::query("DELETE FROM documents WHERE id = $1").bind(id).execute(db.pool()).await?;
    store.delete(id).await?;
    Ok(())
}

/// Bytes stored for this portal: every document and photo.
pub async fn stored_bytes(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT CAST(COALESCE(SUM(size_bytes), 0) AS BIGINT) FROM documents").fetch_one(db.pool()).await
}
