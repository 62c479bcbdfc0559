//! The catalog, read-only: Sparten in the broker's order, each with its
//! Produkte and the descriptions customers read. It is small, so it comes whole.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use super::{ApiResult, ok};
use crate::catalog;
use crate::portal::Portal;

pub fn routes() -> Router<Portal> {
    Router::new().route("/catalog", get(show))
}

#[derive(Serialize)]
struct CatalogView {
    sparten: Vec<SparteView>,
}

#[derive(Serialize)]
struct SparteView {
    id: String,
    gdv_code: Option<String>,
    name: String,
    description: String,
    produkte: Vec<ProduktView>,
}

#[derive(Serialize)]
struct ProduktView {
    id: String,
    name: String,
    description: String,
}

async fn show(State(portal): State<Portal>) -> ApiResult {
    let sparten = catalog::list(portal.db())
        .await?
        .into_iter()
        .map(|s| SparteView {
            id: s.id,
            gdv_code: s.gdv_code,
            name: s.name,
            description: s.description,
            produkte: s
                .produkte
                .into_iter()
                .map(|p| ProduktView { id: p.id, name: p.name, description: p.description })
                .collect(),
        })
        .collect();
    ok(&CatalogView { sparten })
}
