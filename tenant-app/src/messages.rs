//! Messages between a customer and the broker: threads with a category, a
//! status the broker keeps (new, in progress, done), and photos attached as
//! documents. Customers never change contracts; they write here instead.

use crate::db::{Db, new_id, now};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    BankDetails,
    ContractQuestion,
    Claim,
    MissingContract,
    Other,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Claim,
        Category::ContractQuestion,
        Category::MissingContract,
        Category::BankDetails,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::BankDetails => "bank_details",
            Category::ContractQuestion => "contract_question",
            Category::Claim => "claim",
            Category::MissingContract => "missing_contract",
            Category::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            Category::BankDetails => "Neue Bankverbindung",
            Category::ContractQuestion => "Frage zu einem Vertrag",
            Category::Claim => "Schadenmeldung",
            Category::MissingContract => "Vertrag fehlt im Ordner",
            Category::Other => "Sonstiges",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadStatus {
    New,
    InProgress,
    Done,
}

impl ThreadStatus {
    pub const ALL: [ThreadStatus; 3] = [ThreadStatus::New, ThreadStatus::InProgress, ThreadStatus::Done];

    pub fn as_str(self) -> &'static str {
        match self {
            ThreadStatus::New => "new",
            ThreadStatus::InProgress => "in_progress",
            ThreadStatus::Done => "done",
        }
    }

    pub fn parse(text: &str) -> Option<ThreadStatus> {
        ThreadStatus::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            ThreadStatus::New => "neu",
            ThreadStatus::InProgress => "in Bearbeitung",
            ThreadStatus::Done => "erledigt",
        }
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Author {
    Broker,
    Customer,
}

impl Author {
    fn as_str(self) -> &'static str {
        match self {
            Author::Broker => "broker",
            Author::Customer => "customer",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Thread {
    pub id: String,
    pub customer_id: String,
    pub customer_name: String,
    pub category: Category,
    pub contract_id: Option<String>,
    /// "Sparte · policy number" of the contract it is about.
    pub contract_label: Option<String>,
    pub status: ThreadStatus,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub author_name: String,
    pub from_broker: bool,
    pub body: String,
    pub created_at: i64,
}

const THREAD_SELECT: &str = "SELECT t.id, t.customer_id, c.first_name || ' ' || c.last_name, t.category, t.contract_id, \
       CASE WHEN k.id IS NULL THEN NULL ELSE s.name || ' · ' || k.policy_number END, t.status, t.updated_at \
     FROM message_threads t JOIN customers c ON c.id = t.customer_id \
     LEFT JOIN contracts k ON k.id = t.contract_id LEFT JOIN sparten s ON s.id = k.sparte_id";

type ThreadRow = (String, String, String, String, Option<String>, Option<String>, String, i64);

fn thread_from_row(row: ThreadRow) -> Thread {
    let (id, customer_id, customer_name, category, contract_id, contract_label, status, updated_at) = row;
    Thread {
        id,
        customer_id,
        customer_name,
        category: Category::parse(&category).unwrap_or(Category::Other),
        contract_id,
        contract_label,
        status: ThreadStatus::parse(&status).unwrap_or(ThreadStatus::New),
        updated_at,
    }
}

/// Opens a thread with its first message; returns (thread id, message id).
pub async fn start_thread(
    db: &Db,
    customer_id: &str,
    category: Category,
    contract_id: Option<&str>,
    author_id: &str,
    body: &str,
) -> Result<(String, String), sqlx::Error> {
    let thread_id = new_id();
    let message_id = new_id();
    let now = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "INSERT INTO message_threads (id, customer_id, category, contract_id, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&thread_id)
    .bind(customer_id)
    .bind(category.as_str())
    .bind(contract_id)
    .bind(ThreadStatus::New.as_str())
    .bind(now)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO messages (id, thread_id, author_id, author_role, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&message_id)
        .bind(&thread_id)
        .bind(author_id)
        .bind(Author::Customer.as_str())
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((thread_id, message_id))
}

/// Adds a message to a thread. A customer writing reopens the thread as new; the
/// broker answering a new thread puts it in progress.
pub async fn reply(
    db: &Db,
    thread_id: &str,
    author_id: &str,
    author: Author,
    body: &str,
) -> Result<String, sqlx::Error> {
    let message_id = new_id();
    let now = now();
    let mut tx = db.pool().begin().await?;
    sqlx::query("INSERT INTO messages (id, thread_id, author_id, author_role, body, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&message_id)
        .bind(thread_id)
        .bind(author_id)
        .bind(author.as_str())
        .bind(body)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    let status_update = match author {
        Author::Customer => "UPDATE message_threads SET status = 'new', updated_at = $1 WHERE id = $2",
        Author::Broker => {
            "UPDATE message_threads SET status = CASE WHEN status = 'new' THEN 'in_progress' ELSE status END, \
             updated_at = $1 WHERE id = $2"
        }
    };
    sqlx::query(status_update).bind(now).bind(thread_id).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(message_id)
}

pub async fn set_status(db: &Db, thread_id: &str, status: ThreadStatus) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE message_threads SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now())
        .bind(thread_id)
        .execute(db.pool())
        .await?;
    Ok(())
}

pub async fn find_thread(db: &Db, id: &str) -> Result<Option<Thread>, sqlx::Error> {
    let row: Option<ThreadRow> =
        sqlx::query_as(&format!("{THREAD_SELECT} WHERE t.id = $1")).bind(id).fetch_optional(db.pool()).await?;
    Ok(row.map(thread_from_row))
}

pub async fn threads_of_customer(db: &Db, customer_id: &str) -> Result<Vec<Thread>, sqlx::Error> {
    let rows: Vec<ThreadRow> =
        sqlx::query_as(&format!("{THREAD_SELECT} WHERE t.customer_id = $1 ORDER BY t.updated_at DESC, t.id DESC"))
            .bind(customer_id)
            .fetch_all(db.pool())
            .await?;
    Ok(rows.into_iter().map(thread_from_row).collect())
}

/// The broker's inbox: threads with one of these statuses, most recent first.
pub async fn inbox(db: &Db, statuses: &[ThreadStatus]) -> Result<Vec<Thread>, sqlx::Error> {
    let wanted: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
    let rows: Vec<ThreadRow> = sqlx::query_as(&format!(
        "{THREAD_SELECT} WHERE t.status IN ($1, $2, $3) ORDER BY t.updated_at DESC, t.id DESC LIMIT 500"
    ))
    .bind(wanted.first().copied().unwrap_or(""))
    .bind(wanted.get(1).copied().unwrap_or(""))
    .bind(wanted.get(2).copied().unwrap_or(""))
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(thread_from_row).collect())
}

/// Threads in id (creation) order after `after`, at most `limit`, optionally of
/// one status and one customer: the API's keyset pages.
pub async fn thread_page(
    db: &Db,
    status: Option<ThreadStatus>,
    customer_id: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Thread>, sqlx::Error> {
    let rows: Vec<ThreadRow> = sqlx::query_as(&format!(
        "{THREAD_SELECT} WHERE t.id > $1 AND ($2 = '' OR t.status = $2) AND ($3 = '' OR t.customer_id = $3) \
         ORDER BY t.id LIMIT $4"
    ))
    .bind(after.unwrap_or(""))
    .bind(status.map(ThreadStatus::as_str).unwrap_or(""))
    .bind(customer_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    Ok(rows.into_iter().map(thread_from_row).collect())
}

/// Threads waiting for the broker.
pub async fn count_new(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM message_threads WHERE status = 'new'").fetch_one(db.pool()).await
}

pub async fn messages(db: &Db, thread_id: &str) -> Result<Vec<Message>, sqlx::Error> {
    let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT m.id, u.name, m.author_role, m.body, m.created_at FROM messages m JOIN users u ON u.id = m.author_id \
         WHERE m.thread_id = $1 ORDER BY m.created_at, m.id",
    )
    .bind(thread_id)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, author_name, role, body, created_at)| Message {
            id,
            author_name,
            from_broker: role == Author::Broker.as_str(),
            body,
            created_at,
        })
        .collect())
}

/// The e-mail addresses of everyone who works the broker's inbox.
pub async fn broker_addresses(db: &Db) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT email FROM users WHERE role = 'broker' AND disabled_at IS NULL ORDER BY email")
        .fetch_all(db.pool())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_and_statuses_round_trip() {
        for category in Category::ALL {
            assert_eq!(Category::parse(category.as_str()), Some(category));
        }
        for status in ThreadStatus::ALL {
            assert_eq!(ThreadStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(Category::parse("spam"), None);
    }
}
