//! Messages: the customer writes (with photos from the phone's camera), the
//! broker works an inbox and replies. Each side is told by e-mail that there is
//! something new, with a link and never the content.

use axum::Extension;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::calendar::berlin_time;
use crate::contracts::{self, Contract};
use crate::customers;
use crate::documents::{self, Document, Placement};
use crate::mail::Email;
use crate::messages::{self, Author, Category, Message, Thread, ThreadStatus};
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, CustomerUser};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken, FormRejection, check_submitted};
use crate::uploads::{MultipartForm, Upload};
use crate::usage;
use crate::values::required_text;
use crate::web::{FieldErrors, PageError, render, render_with_status};

const BODY_MAX_CHARS: usize = 5000;

pub fn routes(max_file_bytes: usize) -> Router<Portal> {
    let body_limit = DefaultBodyLimit::max(max_file_bytes.saturating_mul(10).saturating_add(1024 * 1024));
    Router::new()
        .route("/ordner/nachrichten", get(customer_threads).post(create_thread).layer(body_limit))
        .route("/ordner/nachrichten/neu", get(new_thread_page))
        .route("/ordner/nachrichten/{id}", get(customer_thread).post(customer_reply).layer(body_limit))
        .route("/makler/posteingang", get(inbox))
        .route("/makler/posteingang/{id}", get(broker_thread).post(broker_reply))
        .route("/makler/posteingang/{id}/status", post(set_status))
}

/// One message with its photos, ready to show.
pub struct ShownMessage {
    pub message: Message,
    pub at: String,
    pub photos: Vec<Document>,
}

async fn shown_messages(portal: &Portal, thread_id: &str) -> Result<Vec<ShownMessage>, PageError> {
    let mut shown = Vec::new();
    for message in messages::messages(portal.db(), thread_id).await? {
        let photos = documents::for_message(portal.db(), &message.id).await?;
        shown.push(ShownMessage { at: berlin_time(message.created_at), photos, message });
    }
    Ok(shown)
}

/// Photos count against the broker's storage like every document. The customer
/// is told plainly; the broker's plan is not the customer's business.
async fn storage_allows(portal: &Portal, files: &[Upload]) -> Result<Result<(), String>, PageError> {
    let adding: i64 = files.iter().map(|f| f.bytes.len() as i64).sum();
    if adding == 0 {
        return Ok(Ok(()));
    }
    let usage = usage::measure(portal.db()).await?;
    Ok(usage::check_storage(portal.entitlements().plan, usage, adding).map_err(|_| {
        "Fotos können gerade nicht gespeichert werden. Bitte senden Sie Ihre Nachricht ohne Fotos; \
         Ihr Makler meldet sich bei Ihnen."
            .to_owned()
    }))
}

/// Saves the files of a message as documents the customer can see.
async fn attach(
    portal: &Portal,
    customer_id: &str,
    message_id: &str,
    author_id: &str,
    files: &[Upload],
) -> Result<(), PageError> {
    let placement = Placement {
        customer_id: customer_id.to_owned(),
        contract_id: None,
        message_id: Some(message_id.to_owned()),
        visible_to_customer: true,
        emergency_section: None,
    };
    for upload in files {
        documents::create(portal.db(), portal.store(), &placement, author_id, upload)
            .await
            .map_err(|err| PageError::Internal(err.into()))?;
    }
    Ok(())
}

/// Tells the broker's people that a customer wrote; the mail holds only a link.
async fn notify_broker(portal: &Portal, thread: &Thread) -> Result<(), PageError> {
    let settings = portal.settings();
    let link = settings.link(&format!("/makler/posteingang/{}", thread.id));
    for address in messages::broker_addresses(portal.db()).await? {
        portal
            .mailer()
            .send(Email {
                to: address,
                sender_name: settings.display_name.clone(),
                from_address: portal.sender_address(),
                subject: format!("Neue Nachricht: {} von {}", thread.category.label(), thread.customer_name),
                body: format!(
                    "{customer} hat Ihnen im Kundenportal geschrieben ({category}).\n\nZur Nachricht:\n{link}\n",
                    customer = thread.customer_name,
                    category = thread.category.label(),
                ),
            })
            .await?;
    }
    Ok(())
}

/// Tells the customer that the broker answered; the mail holds only a link.
pub(super) async fn notify_customer(portal: &Portal, thread: &Thread) -> Result<(), PageError> {
    let Some(customer) = customers::find(portal.db(), &thread.customer_id).await? else {
        return Ok(());
    };
    let Some(login) = crate::users::find_by_customer(portal.db(), &customer.id).await?.filter(|u| !u.disabled) else {
        return Ok(());
    };
    let settings = portal.settings();
    portal
        .mailer()
        .send(Email {
            to: login.email,
            sender_name: settings.display_name.clone(),
            from_address: portal.sender_address(),
            subject: format!("{} hat Ihnen geantwortet", settings.display_name),
            body: format!(
                "Guten Tag {name},\n\nin Ihrem Kundenportal gibt es eine neue Antwort auf Ihre Nachricht.\n\n{link}\n\n\
                 Mit freundlichen Grüßen\n{broker}\n",
                name = customer.full_name(),
                link = settings.link(&format!("/ordner/nachrichten/{}", thread.id)),
                broker = settings.display_name,
            ),
        })
        .await?;
    Ok(())
}

// ----- the customer's side -----

#[derive(askama::Template)]
#[template(path = "customer/threads.html")]
struct CustomerThreadsPage {
    layout: Layout,
    threads: Vec<(Thread, String)>,
    notice: Option<(bool, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    hinweis: String,
}

async fn customer_threads(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let threads = messages::threads_of_customer(portal.db(), &customer.customer_id)
        .await?
        .into_iter()
        .map(|t| {
            let at = berlin_time(t.updated_at);
            (t, at)
        })
        .collect();
    let notice =
        (query.hinweis == "gesendet").then(|| (true, "Ihre Nachricht ist bei Ihrem Makler angekommen.".to_owned()));
    render(&CustomerThreadsPage { layout: Layout::new(&portal, &csrf, Some(&customer.user)), threads, notice })
}

#[derive(askama::Template)]
#[template(path = "customer/new_message.html")]
struct NewMessagePage {
    layout: Layout,
    categories: [Category; 5],
    contracts: Vec<Contract>,
    category: String,
    contract_id: String,
    body: String,
    errors: FieldErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct NewMessageQuery {
    kategorie: String,
    vertrag: String,
    text: String,
}

async fn new_thread_page(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<NewMessageQuery>,
) -> Result<Response, PageError> {
    render(&NewMessagePage {
        layout: Layout::new(&portal, &csrf, Some(&customer.user)),
        categories: Category::ALL,
        contracts: contracts::for_customer(portal.db(), &customer.customer_id).await?,
        category: query.kategorie,
        contract_id: query.vertrag,
        body: query.text.chars().take(BODY_MAX_CHARS).collect(),
        errors: FieldErrors::default(),
    })
}

async fn create_thread(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let form =
        MultipartForm::read(multipart, portal.settings().max_file_bytes).await.map_err(|_| PageError::BadRequest)?;
    if !check_submitted(&headers, &csrf, form.field("_csrf")) {
        return Ok(FormRejection::Csrf.into_response());
    }
    let own_contracts = contracts::for_customer(portal.db(), &customer.customer_id).await?;
    let mut errors = FieldErrors::default();
    let category = Category::parse(form.field("category"));
    if category.is_none() {
        errors.add("category", "Bitte wählen Sie, worum es geht.");
    }
    let contract_id = match form.field("contract_id") {
        "" => None,
        id => match own_contracts.iter().find(|c| c.id == id) {
            Some(contract) => Some(contract.id.clone()),
            None => {
                errors.add("contract_id", "Bitte wählen Sie einen Ihrer Verträge.");
                None
            }
        },
    };
    if category == Some(Category::ContractQuestion) && contract_id.is_none() {
        errors.add("contract_id", "Bitte wählen Sie den Vertrag, um den es geht.");
    }
    let body = required_text(form.field("body"), BODY_MAX_CHARS).map_err(|m| errors.add("body", m)).unwrap_or_default();
    let reselect = "Bitte wählen Sie Ihre Fotos noch einmal aus.";
    if !form.refused.is_empty() {
        let reasons: Vec<String> = form.refused.iter().map(ToString::to_string).collect();
        errors.add("photos", format!("{} {reselect}", reasons.join(" ")));
    }
    if let Err(reason) = storage_allows(&portal, &form.files).await? {
        errors.add("photos", reason);
    }
    if !errors.is_empty() {
        if !form.files.is_empty() {
            errors.add("photos", reselect);
        }
        return render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewMessagePage {
                layout: Layout::new(&portal, &csrf, Some(&customer.user)),
                categories: Category::ALL,
                contracts: own_contracts,
                category: form.field("category").to_owned(),
                contract_id: form.field("contract_id").to_owned(),
                body: form.field("body").to_owned(),
                errors,
            },
        );
    }
    let category = category.expect("checked");
    let (thread_id, message_id) = messages::start_thread(
        portal.db(),
        &customer.customer_id,
        category,
        contract_id.as_deref(),
        &customer.user.id,
        &body,
    )
    .await?;
    attach(&portal, &customer.customer_id, &message_id, &customer.user.id, &form.files).await?;
    if let Some(thread) = messages::find_thread(portal.db(), &thread_id).await? {
        notify_broker(&portal, &thread).await?;
    }
    Ok(Redirect::to("/ordner/nachrichten?hinweis=gesendet").into_response())
}

#[derive(askama::Template)]
#[template(path = "customer/thread.html")]
struct CustomerThreadPage {
    layout: Layout,
    thread: Thread,
    messages: Vec<ShownMessage>,
    error: Option<String>,
}

async fn own_thread(portal: &Portal, customer: &CustomerUser, id: &str) -> Result<Thread, PageError> {
    // Another customer's thread is indistinguishable from one that does not exist.
    messages::find_thread(portal.db(), id)
        .await?
        .filter(|t| t.customer_id == customer.customer_id)
        .ok_or(PageError::NotFound)
}

async fn customer_thread(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let thread = own_thread(&portal, &customer, &id).await?;
    render(&CustomerThreadPage {
        layout: Layout::new(&portal, &csrf, Some(&customer.user)),
        messages: shown_messages(&portal, &id).await?,
        thread,
        error: None,
    })
}

async fn customer_reply(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    headers: HeaderMap,
    Path(id): Path<String>,
    multipart: Multipart,
) -> Result<Response, PageError> {
    let thread = own_thread(&portal, &customer, &id).await?;
    let form =
        MultipartForm::read(multipart, portal.settings().max_file_bytes).await.map_err(|_| PageError::BadRequest)?;
    if !check_submitted(&headers, &csrf, form.field("_csrf")) {
        return Ok(FormRejection::Csrf.into_response());
    }
    let problem = match required_text(form.field("body"), BODY_MAX_CHARS) {
        Err(message) => Some(message.to_owned()),
        Ok(_) if !form.refused.is_empty() => {
            Some(form.refused.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "))
        }
        Ok(_) => storage_allows(&portal, &form.files).await?.err(),
    };
    if let Some(error) = problem {
        return render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CustomerThreadPage {
                layout: Layout::new(&portal, &csrf, Some(&customer.user)),
                messages: shown_messages(&portal, &id).await?,
                thread,
                error: Some(error),
            },
        );
    }
    let body = required_text(form.field("body"), BODY_MAX_CHARS).expect("checked");
    let message_id = messages::reply(portal.db(), &id, &customer.user.id, Author::Customer, &body).await?;
    attach(&portal, &customer.customer_id, &message_id, &customer.user.id, &form.files).await?;
    notify_broker(&portal, &thread).await?;
    Ok(Redirect::to(&format!("/ordner/nachrichten/{id}#ende")).into_response())
}

// ----- the broker's side -----

#[derive(askama::Template)]
#[template(path = "broker/inbox.html")]
struct InboxPage {
    layout: Layout,
    filter: String,
    threads: Vec<(Thread, String)>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct InboxQuery {
    status: String,
}

async fn inbox(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<InboxQuery>,
) -> Result<Response, PageError> {
    let (filter, statuses): (&str, Vec<ThreadStatus>) = match query.status.as_str() {
        "alle" => ("alle", ThreadStatus::ALL.to_vec()),
        other => match ThreadStatus::parse(other) {
            Some(status) => (status.as_str(), vec![status]),
            None => ("offen", vec![ThreadStatus::New, ThreadStatus::InProgress]),
        },
    };
    let threads = messages::inbox(portal.db(), &statuses)
        .await?
        .into_iter()
        .map(|t| {
            let at = berlin_time(t.updated_at);
            (t, at)
        })
        .collect();
    render(&InboxPage { layout: Layout::new(&portal, &csrf, Some(&user)), filter: filter.to_owned(), threads })
}

#[derive(askama::Template)]
#[template(path = "broker/thread.html")]
struct BrokerThreadPage {
    layout: Layout,
    thread: Thread,
    messages: Vec<ShownMessage>,
    statuses: [ThreadStatus; 3],
    body: String,
    error: Option<&'static str>,
}

async fn show_broker_thread(
    portal: &Portal,
    user: &crate::portal::auth::SessionUser,
    csrf: &CsrfToken,
    id: &str,
    body: String,
    error: Option<&'static str>,
) -> Result<Response, PageError> {
    let thread = messages::find_thread(portal.db(), id).await?.ok_or(PageError::NotFound)?;
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    render_with_status(
        status,
        &BrokerThreadPage {
            layout: Layout::new(portal, csrf, Some(user)),
            messages: shown_messages(portal, id).await?,
            thread,
            statuses: ThreadStatus::ALL,
            body,
            error,
        },
    )
}

async fn broker_thread(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    show_broker_thread(&portal, &user, &csrf, &id, String::new(), None).await
}

#[derive(Deserialize)]
struct ReplyForm {
    #[serde(default)]
    body: String,
}

async fn broker_reply(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<Response, PageError> {
    let thread = messages::find_thread(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    let body = match required_text(&form.body, BODY_MAX_CHARS) {
        Ok(body) => body,
        Err(message) => {
            return show_broker_thread(&portal, &user, &csrf, &id, form.body, Some(message)).await;
        }
    };
    messages::reply(portal.db(), &id, &user.id, Author::Broker, &body).await?;
    notify_customer(&portal, &thread).await?;
    Ok(Redirect::to(&format!("/makler/posteingang/{id}#ende")).into_response())
}

#[derive(Deserialize)]
struct StatusForm {
    #[serde(default)]
    status: String,
}

async fn set_status(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<Response, PageError> {
    messages::find_thread(portal.db(), &id).await?.ok_or(PageError::NotFound)?;
    let status = ThreadStatus::parse(&form.status).ok_or(PageError::BadRequest)?;
    messages::set_status(portal.db(), &id, status).await?;
    Ok(Redirect::to(&format!("/makler/posteingang/{id}")).into_response())
}
