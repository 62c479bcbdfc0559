//! Threads and messages: list, read, reply (as the broker, whose customer is
//! told by e-mail as from the portal), set the status.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};

use super::{
    ApiClient, ApiError, ApiJson, ApiPath, ApiQuery, ApiResult, Page, PageRequest, created, fields, ok, timestamp,
};
use crate::audit;
use crate::documents;
use crate::messages::{self, Author, Thread, ThreadStatus};
use crate::portal::Portal;
use crate::users;
use crate::values::required_text;
use crate::web::FieldErrors;

const BODY_MAX_CHARS: usize = 5000;

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/threads", get(list))
        .route("/threads/{id}", get(show))
        .route("/threads/{id}/messages", post(reply))
        .route("/threads/{id}/status", put(set_status))
}

#[derive(Serialize)]
struct ThreadView {
    id: String,
    customer_id: String,
    customer_name: String,
    category: &'static str,
    contract_id: Option<String>,
    status: &'static str,
    updated_at: String,
}

impl From<Thread> for ThreadView {
    fn from(t: Thread) -> Self {
        ThreadView {
            category: t.category.as_str(),
            status: t.status.as_str(),
            updated_at: timestamp(t.updated_at),
            id: t.id,
            customer_id: t.customer_id,
            customer_name: t.customer_name,
            contract_id: t.contract_id,
        }
    }
}

#[derive(Serialize)]
struct MessageView {
    id: String,
    author: &'static str,
    author_name: String,
    body: String,
    created_at: String,
    /// Photos sent with the message, as documents (`/api/v1/documents/{id}/content`).
    document_ids: Vec<String>,
}

#[derive(Serialize)]
struct ThreadWithMessages {
    #[serde(flatten)]
    thread: ThreadView,
    messages: Vec<MessageView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    status: Option<String>,
    customer_id: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

async fn list(State(portal): State<Portal>, ApiQuery(query): ApiQuery<ListQuery>) -> ApiResult {
    let mut errors = FieldErrors::default();
    fields::optional_id(&mut errors, "customer_id", query.customer_id.as_deref());
    let status = match query.status.as_deref() {
        None => None,
        Some(text) => {
            let status = ThreadStatus::parse(text);
            if status.is_none() {
                errors.add("status", "one of new, in_progress, done");
            }
            status
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let rows =
        messages::thread_page(portal.db(), status, query.customer_id.as_deref(), page.after(), page.fetch()).await?;
    ok(&Page::of(&page, rows, |t| &t.id, ThreadView::from))
}

async fn load(portal: &Portal, id: &str) -> Result<Thread, ApiError> {
    let found = if fields::is_id(id) { messages::find_thread(portal.db(), id).await? } else { None };
    found.ok_or_else(|| ApiError::not_found("No such thread"))
}

async fn with_messages(portal: &Portal, thread: Thread) -> Result<ThreadWithMessages, ApiError> {
    let mut shown = Vec::new();
    for message in messages::messages(portal.db(), &thread.id).await? {
        let document_ids = documents::for_message(portal.db(), &message.id).await?.into_iter().map(|d| d.id).collect();
        shown.push(MessageView {
            author: if message.from_broker { "broker" } else { "customer" },
            created_at: timestamp(message.created_at),
            id: message.id,
            author_name: message.author_name,
            body: message.body,
            document_ids,
        });
    }
    Ok(ThreadWithMessages { thread: ThreadView::from(thread), messages: shown })
}

async fn show(State(portal): State<Portal>, ApiPath(id): ApiPath<String>) -> ApiResult {
    let thread = load(&portal, &id).await?;
    ok(&with_messages(&portal, thread).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyInput {
    body: String,
}

async fn reply(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<ReplyInput>,
) -> ApiResult {
    let thread = load(&portal, &id).await?;
    let mut errors = FieldErrors::default();
    fields::text(&mut errors, "body", &input.body, BODY_MAX_CHARS);
    let body = required_text(&input.body, BODY_MAX_CHARS).map_err(|m| errors.add("body", m)).unwrap_or_default();
    if !errors.is_empty() {
        return Err(ApiError::invalid(errors));
    }
    let owner = users::owner(portal.db()).await?.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no owner")))?;
    let message_id = messages::reply(portal.db(), &id, &owner.id, Author::Broker, &body).await?;
    crate::portal::messages::notify_customer(&portal, &thread).await.map_err(|err| ApiError::Internal(err.into()))?;
    audit::record(portal.db(), &client.actor(), "message_replied", &format!("thread:{id}"), "").await?;
    let message = messages::messages(portal.db(), &id)
        .await?
        .into_iter()
        .find(|m| m.id == message_id)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("reply not found")))?;
    let view = MessageView {
        author: "broker",
        created_at: timestamp(message.created_at),
        id: message.id,
        author_name: message.author_name,
        body: message.body,
        document_ids: Vec::new(),
    };
    created(format!("/api/v1/threads/{id}"), &view)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: String,
}

async fn set_status(
    State(portal): State<Portal>,
    client: ApiClient,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<StatusInput>,
) -> ApiResult {
    load(&portal, &id).await?;
    let status =
        ThreadStatus::parse(&input.status).ok_or_else(|| ApiError::field("status", "one of new, in_progress, done"))?;
    messages::set_status(portal.db(), &id, status).await?;
    audit::record(portal.db(), &client.actor(), "thread_status", &format!("thread:{id}"), status.as_str()).await?;
    ok(&ThreadView::from(load(&portal, &id).await?))
}
