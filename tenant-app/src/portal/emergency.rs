//! The emergency folder: the customer keeps it and names a trusted person; the
//! trusted person asks for access through their e-mail link and, unless the
//! customer refuses within the waiting period, reads it. Every step is logged
//! for the customer. The broker has no way in.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::calendar::berlin_time;
use crate::customers;
use crate::documents::{self, Document, Placement};
use crate::emergency::{
    self, LogEntry, NOTES_MAX_CHARS, NewTrustedPerson, Request, RequestState, Section, TrustedPerson, TrustedPersonForm,
};
use crate::mail::Email;
use crate::portal::Portal;
use crate::portal::auth::{CustomerUser, EmptyForm};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::uploads::{self, UploadLimits, UploadRejection};
use crate::usage;
use crate::values::optional_text;
use crate::web::{FieldErrors, PageError, render, render_with_status};

/// Files a customer may add to a section in one request.
const FILES_PER_REQUEST: usize = 10;

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/ordner/notfall", get(folder_page))
        .route("/ordner/notfall/abschnitte/{section}", post(save_notes))
        .route("/ordner/notfall/abschnitte/{section}/dokumente", post(upload))
        .route("/ordner/notfall/vertrauensperson", post(name_trusted_person))
        .route("/ordner/notfall/vertrauensperson/entfernen", post(remove_trusted_person))
        .route("/ordner/notfall/ablehnen", post(refuse))
        .route("/ordner/notfall/beenden", post(end_access))
        .route("/notfall/{token}", get(trusted_page))
        .route("/notfall/{token}/anfordern", post(request_access))
        .route("/notfall/{token}/dokumente/{id}", get(trusted_download))
}

/// A section with its notes and documents.
pub struct ShownSection {
    pub section: Section,
    pub notes: String,
    pub documents: Vec<Document>,
}

async fn sections(portal: &Portal, customer_id: &str) -> Result<Vec<ShownSection>, PageError> {
    let notes = emergency::notes(portal.db(), customer_id).await?;
    let all_documents = documents::in_emergency_folder(portal.db(), customer_id).await?;
    Ok(notes
        .into_iter()
        .map(|(section, notes)| ShownSection {
            documents: all_documents
                .iter()
                .filter(|d| d.emergency_section.as_deref() == Some(section.as_str()))
                .cloned()
                .collect(),
            section,
            notes,
        })
        .collect())
}

#[derive(askama::Template)]
#[template(path = "customer/emergency.html")]
struct FolderPage {
    layout: Layout,
    sections: Vec<ShownSection>,
    trusted: Option<TrustedPerson>,
    form: TrustedPersonForm,
    errors: FieldErrors,
    request: Option<(RequestState, String, String)>,
    log: Vec<(String, LogEntry)>,
    notice: Option<(bool, String)>,
}

async fn show_folder(
    portal: &Portal,
    customer: &CustomerUser,
    csrf: &CsrfToken,
    form: Option<TrustedPersonForm>,
    errors: FieldErrors,
    notice: Option<(bool, String)>,
) -> Result<Response, PageError> {
    let id = &customer.customer_id;
    let trusted = emergency::trusted_person(portal.db(), id).await?;
    let request = emergency::current_request(portal.db(), id)
        .await?
        .map(|r| (r.state(crate::db::now()), berlin_time(r.requested_at), berlin_time(r.grant_at)));
    let form = form.unwrap_or_else(|| match &trusted {
        Some(t) => {
            TrustedPersonForm { name: t.name.clone(), email: t.email.clone(), waiting_days: t.waiting_days.to_string() }
        }
        None => TrustedPersonForm { waiting_days: emergency::DEFAULT_WAITING_DAYS.to_string(), ..Default::default() },
    });
    let status = if errors.is_empty() && notice.as_ref().is_none_or(|(ok, _)| *ok) {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_with_status(
        status,
        &FolderPage {
            layout: Layout::new(portal, csrf, Some(&customer.user)),
            sections: sections(portal, id).await?,
            trusted,
            form,
            errors,
            request,
            log: emergency::log_entries(portal.db(), id).await?.into_iter().map(|e| (berlin_time(e.at), e)).collect(),
            notice,
        },
    )
}

async fn folder_page(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
) -> Result<Response, PageError> {
    show_folder(&portal, &customer, &csrf, None, FieldErrors::default(), None).await
}

#[derive(serde::Deserialize)]
struct NotesForm {
    #[serde(default)]
    notes: String,
}

async fn save_notes(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(section): Path<String>,
    CsrfForm(form): CsrfForm<NotesForm>,
) -> Result<Response, PageError> {
    let section = Section::parse(&section).ok_or(PageError::NotFound)?;
    match optional_text(&form.notes, NOTES_MAX_CHARS) {
        Ok(notes) => {
            emergency::save_notes(portal.db(), &customer.customer_id, section, &notes).await?;
            Ok(Redirect::to(&format!("/ordner/notfall#{}", section.as_str())).into_response())
        }
        Err(message) => {
            let notice = Some((false, format!("{}: {message} Ihr Text wurde nicht gespeichert.", section.title())));
            show_folder(&portal, &customer, &csrf, None, FieldErrors::default(), notice).await
        }
    }
}

async fn upload(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(section): Path<String>,
    request: axum::extract::Request,
) -> Result<Response, PageError> {
    let section = Section::parse(&section).ok_or(PageError::NotFound)?;
    let limits = UploadLimits::files(portal.settings().max_file_bytes, FILES_PER_REQUEST);
    let form = match uploads::receive(request, &portal.store().spool_dir(), limits).await {
        Ok(form) => form,
        Err(UploadRejection::TooLarge { message, .. }) => {
            let notice = Some((false, format!("{}: {message}", section.title())));
            let mut page = show_folder(&portal, &customer, &csrf, None, FieldErrors::default(), notice).await?;
            *page.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return Ok(page);
        }
        Err(rejection) => return Ok(rejection.into_response()),
    };
    let mut problems: Vec<String> = form.refused.iter().map(ToString::to_string).collect();
    if form.files.is_empty() && problems.is_empty() {
        problems.push("Bitte wählen Sie eine Datei aus.".into());
    }
    let adding = form.total_bytes();
    let usage = usage::measure(portal.db()).await?;
    if usage::check_storage(portal.entitlements().plan, usage, adding).is_err() {
        problems
            .push("Dokumente können gerade nicht gespeichert werden. Bitte wenden Sie sich an Ihren Makler.".into());
    } else {
        let placement = Placement {
            customer_id: customer.customer_id.clone(),
            contract_id: None,
            message_id: None,
            emergency_section: Some(section.as_str().to_owned()),
            visible_to_customer: true,
        };
        for file in form.files {
            documents::create(portal.db(), portal.store(), &placement, &customer.user.id, file)
                .await
                .map_err(|err| PageError::Internal(err.into()))?;
        }
    }
    if problems.is_empty() {
        return Ok(Redirect::to(&format!("/ordner/notfall#{}", section.as_str())).into_response());
    }
    let notice = Some((false, format!("{}: {}", section.title(), problems.join(" "))));
    show_folder(&portal, &customer, &csrf, None, FieldErrors::default(), notice).await
}

async fn name_trusted_person(
    State(portal): State<Portal>,
    customer: CustomerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<TrustedPersonForm>,
) -> Result<Response, PageError> {
    let person = match NewTrustedPerson::parse(&form) {
        Ok(person) => person,
        Err(errors) => return show_folder(&portal, &customer, &csrf, Some(form), errors, None).await,
    };
    if person.email.as_str() == customer.user.email {
        let mut errors = FieldErrors::default();
        errors.add("email", "Ihre Vertrauensperson braucht eine eigene E-Mail-Adresse.");
        return show_folder(&portal, &customer, &csrf, Some(form), errors, None).await;
    }
    let token = emergency::set_trusted_person(portal.db(), &customer.customer_id, &person).await?;
    let settings = portal.settings();
    portal
        .mailer()
        .send(Email {
            to: person.email.to_string(),
            sender_name: settings.display_name.clone(),
            from_address: portal.sender_address(),
            subject: format!("{} hat Sie als Vertrauensperson benannt", customer.user.name),
            body: format!(
                "Guten Tag {name},\n\n{customer} hat Sie als Vertrauensperson für den Notfallordner benannt. \
                 Dort liegen Vollmachten, Verfügungen und Hinweise für den Fall, dass {customer} nicht selbst handeln kann.\n\n\
                 Nur im Notfall: Über diesen persönlichen Link können Sie Zugang anfordern.\n{link}\n\n\
                 {customer} wird darüber informiert und kann innerhalb von {days} Tagen widersprechen. \
                 Danach können Sie den Ordner lesen. Bitte bewahren Sie diese E-Mail gut auf und geben Sie den Link nicht weiter.\n\n\
                 {broker}\n",
                name = person.name,
                customer = customer.user.name,
                link = settings.link(&format!("/notfall/{token}")),
                days = person.waiting_days,
                broker = settings.display_name,
            ),
        })
        .await?;
    emergency::log(portal.db(), &customer.customer_id, "invitation_sent", person.email.as_str()).await?;
    Ok(Redirect::to("/ordner/notfall#vertrauensperson").into_response())
}

async fn remove_trusted_person(
    State(portal): State<Portal>,
    customer: CustomerUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    emergency::remove_trusted_person(portal.db(), &customer.customer_id).await?;
    Ok(Redirect::to("/ordner/notfall#vertrauensperson").into_response())
}

async fn refuse(
    State(portal): State<Portal>,
    customer: CustomerUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    emergency::refuse(portal.db(), &customer.customer_id).await?;
    Ok(Redirect::to("/ordner/notfall").into_response())
}

async fn end_access(
    State(portal): State<Portal>,
    customer: CustomerUser,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    emergency::end_access(portal.db(), &customer.customer_id).await?;
    Ok(Redirect::to("/ordner/notfall").into_response())
}

// ----- the trusted person's side: no account, a personal link -----

#[derive(askama::Template)]
#[template(path = "emergency_access.html")]
struct TrustedPage {
    layout: Layout,
    token: String,
    person: TrustedPerson,
    customer_name: String,
    request: Option<(RequestState, String, String)>,
    /// After a refusal: whether the cool-down has passed.
    may_ask_again: bool,
    /// Only once access is granted.
    sections: Vec<ShownSection>,
}

/// After a refusal the trusted person waits a day before asking again, so the
/// customer is not flooded with requests.
const ASK_AGAIN_AFTER_SECS: i64 = 24 * 3600;

fn may_ask_again(request: &Request, now: i64) -> bool {
    request.refused_at.is_some_and(|refused| now - refused >= ASK_AGAIN_AFTER_SECS)
}

async fn trusted_person(portal: &Portal, token: &str) -> Result<TrustedPerson, PageError> {
    emergency::trusted_person_by_token(portal.db(), token).await?.ok_or(PageError::NotFound)
}

async fn granted_request(portal: &Portal, person: &TrustedPerson) -> Result<Option<Request>, PageError> {
    let request = emergency::current_request(portal.db(), &person.customer_id).await?;
    Ok(request.filter(|r| r.state(crate::db::now()) == RequestState::Granted))
}

async fn trusted_page(
    State(portal): State<Portal>,
    Extension(csrf): Extension<CsrfToken>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let person = trusted_person(&portal, &token).await?;
    let customer = customers::find(portal.db(), &person.customer_id).await?.ok_or(PageError::NotFound)?;
    let request = emergency::current_request(portal.db(), &person.customer_id).await?;
    let now = crate::db::now();
    let sections = match &request {
        Some(r) if r.state(now) == RequestState::Granted => {
            emergency::record_view(portal.db(), &person.customer_id, r, "Übersicht").await?;
            sections(&portal, &person.customer_id).await?
        }
        _ => Vec::new(),
    };
    let ask_again = request.as_ref().is_some_and(|r| may_ask_again(r, now));
    render(&TrustedPage {
        layout: Layout::new(&portal, &csrf, None),
        may_ask_again: ask_again,
        request: request.map(|r| (r.state(now), berlin_time(r.requested_at), berlin_time(r.grant_at))),
        token,
        person,
        customer_name: customer.full_name(),
        sections,
    })
}

async fn request_access(
    State(portal): State<Portal>,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let person = trusted_person(&portal, &token).await?;
    let open = emergency::current_request(portal.db(), &person.customer_id).await?;
    // One waiting or granted request at a time; after a refusal, a new one a day later.
    let now = crate::db::now();
    if open.is_some_and(|r| r.state(now) != RequestState::Refused || !may_ask_again(&r, now)) {
        return Ok(Redirect::to(&format!("/notfall/{token}")).into_response());
    }
    let request = emergency::request_access(portal.db(), &person).await?;
    if let Some(login) = crate::users::find_by_customer(portal.db(), &person.customer_id).await?.filter(|u| !u.disabled)
    {
        let settings = portal.settings();
        portal
            .mailer()
            .send(Email {
                to: login.email.clone(),
                sender_name: settings.display_name.clone(),
                from_address: portal.sender_address(),
                subject: "Ihre Vertrauensperson hat Notfallzugang angefordert".into(),
                body: format!(
                    "Guten Tag {name},\n\n{person} hat Zugang zu Ihrem Notfallordner angefordert. \
                     Wenn Sie nicht widersprechen, kann {person} ab {grant} Ihren Notfallordner lesen.\n\n\
                     Wenn kein Notfall vorliegt, lehnen Sie den Zugang hier ab:\n{link}\n\n{broker}\n",
                    name = login.name,
                    person = person.name,
                    grant = berlin_time(request.grant_at),
                    link = settings.link("/ordner/notfall"),
                    broker = settings.display_name,
                ),
            })
            .await?;
        emergency::log(portal.db(), &person.customer_id, "customer_notified", &login.email).await?;
    }
    Ok(Redirect::to(&format!("/notfall/{token}")).into_response())
}

async fn trusted_download(
    State(portal): State<Portal>,
    Path((token, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let person = trusted_person(&portal, &token).await?;
    let request = granted_request(&portal, &person).await?.ok_or(PageError::NotFound)?;
    let document = documents::find(portal.db(), &id)
        .await?
        .filter(|d| d.customer_id == person.customer_id && d.emergency_section.is_some())
        .ok_or(PageError::NotFound)?;
    emergency::record_view(portal.db(), &person.customer_id, &request, &document.file_name).await?;
    super::documents::download(&portal, &document).await
}
