//! The broker's catalog pages: Sparten and Produkte, their order, and the
//! plain-language descriptions customers read.

use axum::Extension;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::catalog::{self, CatalogTable, Deletion, Direction, Entry, EntryForm, Produkt, Sparte};
use crate::portal::Portal;
use crate::portal::auth::{BrokerUser, EmptyForm};
use crate::portal::layout::Layout;
use crate::security::csrf::{CsrfForm, CsrfToken};
use crate::web::{FieldErrors, PageError, render, render_with_status};

pub fn routes() -> Router<Portal> {
    Router::new()
        .route("/makler/katalog", get(catalog_page).post(add_sparte))
        .route("/makler/katalog/sparten/{id}", get(sparte_page).post(update_sparte))
        .route("/makler/katalog/sparten/{id}/produkte", post(add_produkt))
        .route("/makler/katalog/sparten/{id}/verschieben", post(move_sparte))
        .route("/makler/katalog/sparten/{id}/loeschen", post(delete_sparte))
        .route("/makler/katalog/produkte/{id}", get(produkt_page).post(update_produkt))
        .route("/makler/katalog/produkte/{id}/verschieben", post(move_produkt))
        .route("/makler/katalog/produkte/{id}/loeschen", post(delete_produkt))
}

/// Notices shown after a redirect, by code, so no text travels in URLs.
#[derive(Deserialize, Default)]
#[serde(default)]
struct NoticeQuery {
    hinweis: String,
    anzahl: i64,
}

impl NoticeQuery {
    fn notice(&self) -> Option<(bool, String)> {
        let text = match self.hinweis.as_str() {
            "gespeichert" => (true, "Gespeichert.".to_owned()),
            "geloescht" => (true, "Gelöscht.".to_owned()),
            "in-benutzung" => (
                false,
                format!(
                    "Löschen nicht möglich: {} Vertrag/Verträge nutzen diesen Eintrag noch. \
                     Ordnen Sie diese Verträge zuerst einem anderen Eintrag zu, oder benennen Sie den Eintrag um.",
                    self.anzahl
                ),
            ),
            _ => return None,
        };
        Some(text)
    }
}

#[derive(askama::Template)]
#[template(path = "broker/catalog.html")]
struct CatalogPage {
    layout: Layout,
    sparten: Vec<Sparte>,
    form: EntryForm,
    errors: FieldErrors,
    notice: Option<(bool, String)>,
}

async fn catalog_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    render(&CatalogPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        sparten: catalog::list(portal.db()).await?,
        form: EntryForm::default(),
        errors: FieldErrors::default(),
        notice: query.notice(),
    })
}

async fn add_sparte(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    match Entry::parse(&form) {
        Ok(entry) => {
            let id = catalog::add_sparte(portal.db(), &entry).await?;
            Ok(Redirect::to(&format!("/makler/katalog/sparten/{id}?hinweis=gespeichert")).into_response())
        }
        Err(errors) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CatalogPage {
                layout: Layout::new(&portal, &csrf, Some(&user)),
                sparten: catalog::list(portal.db()).await?,
                form,
                errors,
                notice: None,
            },
        ),
    }
}

#[derive(askama::Template)]
#[template(path = "broker/sparte.html")]
struct SpartePage {
    layout: Layout,
    sparte: Sparte,
    form: EntryForm,
    errors: FieldErrors,
    new_produkt: EntryForm,
    new_produkt_errors: FieldErrors,
    notice: Option<(bool, String)>,
}

async fn load_sparte(portal: &Portal, id: &str) -> Result<Sparte, PageError> {
    catalog::find_sparte(portal.db(), id).await?.ok_or(PageError::NotFound)
}

async fn sparte_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let sparte = load_sparte(&portal, &id).await?;
    render(&SpartePage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        form: EntryForm { name: sparte.name.clone(), description: sparte.description.clone() },
        sparte,
        errors: FieldErrors::default(),
        new_produkt: EntryForm::default(),
        new_produkt_errors: FieldErrors::default(),
        notice: query.notice(),
    })
}

async fn update_sparte(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let sparte = load_sparte(&portal, &id).await?;
    match Entry::parse(&form) {
        Ok(entry) => {
            catalog::rename(portal.db(), CatalogTable::Sparten, &id, &entry).await?;
            Ok(Redirect::to(&format!("/makler/katalog/sparten/{id}?hinweis=gespeichert")).into_response())
        }
        Err(errors) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SpartePage {
                layout: Layout::new(&portal, &csrf, Some(&user)),
                sparte,
                form,
                errors,
                new_produkt: EntryForm::default(),
                new_produkt_errors: FieldErrors::default(),
                notice: None,
            },
        ),
    }
}

async fn add_produkt(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let sparte = load_sparte(&portal, &id).await?;
    match Entry::parse(&form) {
        Ok(entry) => {
            catalog::add_produkt(portal.db(), &id, &entry).await?;
            Ok(Redirect::to(&format!("/makler/katalog/sparten/{id}?hinweis=gespeichert")).into_response())
        }
        Err(errors) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SpartePage {
                layout: Layout::new(&portal, &csrf, Some(&user)),
                form: EntryForm { name: sparte.name.clone(), description: sparte.description.clone() },
                sparte,
                errors: FieldErrors::default(),
                new_produkt: form,
                new_produkt_errors: errors,
                notice: None,
            },
        ),
    }
}

#[derive(Deserialize)]
struct MoveForm {
    #[serde(default)]
    richtung: String,
}

impl MoveForm {
    fn direction(&self) -> Direction {
        if self.richtung == "hoch" { Direction::Up } else { Direction::Down }
    }
}

async fn move_sparte(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    catalog::reorder(portal.db(), CatalogTable::Sparten, &id, form.direction()).await?;
    Ok(Redirect::to(&format!("/makler/katalog#sparte-{id}")).into_response())
}

async fn delete_sparte(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    match catalog::delete(portal.db(), CatalogTable::Sparten, &id).await? {
        Deletion::Deleted => Ok(Redirect::to("/makler/katalog?hinweis=geloescht").into_response()),
        Deletion::InUse(count) => {
            Ok(Redirect::to(&format!("/makler/katalog/sparten/{id}?hinweis=in-benutzung&anzahl={count}"))
                .into_response())
        }
        Deletion::NotFound => Err(PageError::NotFound),
    }
}

#[derive(askama::Template)]
#[template(path = "broker/produkt.html")]
struct ProduktPage {
    layout: Layout,
    produkt: Produkt,
    sparte_name: String,
    form: EntryForm,
    errors: FieldErrors,
    notice: Option<(bool, String)>,
}

async fn load_produkt(portal: &Portal, id: &str) -> Result<(Produkt, String), PageError> {
    let produkt = catalog::find_produkt(portal.db(), id).await?.ok_or(PageError::NotFound)?;
    let sparte = load_sparte(portal, &produkt.sparte_id).await?;
    Ok((produkt, sparte.name))
}

async fn produkt_page(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let (produkt, sparte_name) = load_produkt(&portal, &id).await?;
    render(&ProduktPage {
        layout: Layout::new(&portal, &csrf, Some(&user)),
        form: EntryForm { name: produkt.name.clone(), description: produkt.description.clone() },
        produkt,
        sparte_name,
        errors: FieldErrors::default(),
        notice: query.notice(),
    })
}

async fn update_produkt(
    State(portal): State<Portal>,
    BrokerUser(user): BrokerUser,
    Extension(csrf): Extension<CsrfToken>,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<EntryForm>,
) -> Result<Response, PageError> {
    let (produkt, sparte_name) = load_produkt(&portal, &id).await?;
    match Entry::parse(&form) {
        Ok(entry) => {
            catalog::rename(portal.db(), CatalogTable::Produkte, &id, &entry).await?;
            Ok(Redirect::to(&format!("/makler/katalog/sparten/{}?hinweis=gespeichert", produkt.sparte_id))
                .into_response())
        }
        Err(errors) => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ProduktPage {
                layout: Layout::new(&portal, &csrf, Some(&user)),
                produkt,
                sparte_name,
                form,
                errors,
                notice: None,
            },
        ),
    }
}

async fn move_produkt(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<MoveForm>,
) -> Result<Response, PageError> {
    let (produkt, _) = load_produkt(&portal, &id).await?;
    catalog::reorder(portal.db(), CatalogTable::Produkte, &id, form.direction()).await?;
    Ok(Redirect::to(&format!("/makler/katalog/sparten/{}#produkt-{id}", produkt.sparte_id)).into_response())
}

async fn delete_produkt(
    State(portal): State<Portal>,
    BrokerUser(_): BrokerUser,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<EmptyForm>,
) -> Result<Response, PageError> {
    let (produkt, _) = load_produkt(&portal, &id).await?;
    let target = match catalog::delete(portal.db(), CatalogTable::Produkte, &id).await? {
        Deletion::Deleted => format!("/makler/katalog/sparten/{}?hinweis=geloescht", produkt.sparte_id),
        Deletion::InUse(count) => {
            format!("/makler/katalog/produkte/{id}?hinweis=in-benutzung&anzahl={count}")
        }
        Deletion::NotFound => return Err(PageError::NotFound),
    };
    Ok(Redirect::to(&target).into_response())
}
