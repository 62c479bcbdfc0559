//! Downloads for the tax adviser: the DATEV Buchungsstapel of a month in the
//! console (`/exporte/datev?monat=YYYY-MM`), and the streamed file the
//! operator API answers with as well.

use axum::Extension;
use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use futures_util::stream;
use serde::Deserialize;
use tenant_app::security::csrf::CsrfToken;
use tenant_app::web::{PageError, render_with_status};

use crate::billing::datev;
use crate::billing::run::month_period;
use crate::operators::console::{ConsoleLayout, ConsoleOperator};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/exporte/datev", get(monthly_datev))
}

/// The Buchungsstapel of `[from, to]` as a download, written while it is
/// sent. The period must have passed `datev::check_period`.
pub fn datev_download(app: AppState, from: NaiveDate, to: NaiveDate) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    tokio::spawn(async move {
        if let Err(err) = datev::export(&app, from, to, sender).await {
            // The client sees a cut-off download; the cause is ours to read.
            tracing::error!(error = format!("{err:#}"), "writing the DATEV export failed");
        }
    });
    let chunks = stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), receiver))
    });
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=windows-1252".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{}\"", datev::file_name(from, to))),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(chunks),
    )
        .into_response()
}

#[derive(Deserialize)]
struct MonthQuery {
    #[serde(default)]
    monat: String,
}

#[derive(askama::Template)]
#[template(path = "billing/templates/export_refused.html")]
struct Refused {
    layout: ConsoleLayout,
    month: String,
}

async fn monthly_datev(
    State(app): State<AppState>,
    ConsoleOperator(operator): ConsoleOperator,
    Extension(csrf): Extension<CsrfToken>,
    Query(query): Query<MonthQuery>,
) -> Result<Response, PageError> {
    match month_period(&query.monat) {
        Some(period) => Ok(datev_download(app, period.start, period.end)),
        None => render_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &Refused { layout: ConsoleLayout::new(&app, &csrf, Some(&operator)), month: query.monat },
        ),
    }
}
