//! The server under test: Volant's own application, exactly as `volant serve`
//! builds it, plus two ceiling routes outside its middleware stack.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::{DatabaseConnection, EntityTrait};
use serde_json::{Value, json};
use volant::fleet::vehicles::entity as vehicles;
use volant::platform::config::Config;

/// The HTTP ceiling: the cheapest JSON answer axum can give.
async fn ceiling_http() -> Json<Value> {
    Json(json!({ "status": "ok", "id": 1 }))
}

/// The database round-trip ceiling: one primary-key `SELECT` through the application's pool.
async fn ceiling_db(State(db): State<DatabaseConnection>, Path(id): Path<i64>) -> Result<Json<Value>, StatusCode> {
    match vehicles::Entity::find_by_id(id).one(&db).await {
        Ok(Some(v)) => Ok(Json(json!({ "id": v.id, "license_plate": v.license_plate }))),
        Ok(None) => Err(StatusCode::NOT_FOUND),
        Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

pub async fn serve(config: Config) -> Result<(), String> {
    let addr = config.addr;
    let app = volant::App::build(config).await.map_err(|e| e.to_string())?;
    // Background workers too, as `volant serve` runs them (scheduled jobs, deliveries).
    let workers = match app.state.config.workers {
        0 => None,
        concurrency => Some(
            app.start_workers(concurrency, tokio_util::sync::CancellationToken::new()).map_err(|e| e.to_string())?,
        ),
    };
    let ceilings = Router::new()
        .route("/bench/ceiling/http", get(ceiling_http))
        .route("/bench/ceiling/db/{id}", get(ceiling_db))
        .with_state(app.state.db.clone());
    let app = ceilings.merge(app.router);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("bench server listening on http://{local}");
    let served = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .await
        .map_err(|e| e.to_string());
    if let Some(workers) = workers {
        workers.abort();
    }
    served
}
