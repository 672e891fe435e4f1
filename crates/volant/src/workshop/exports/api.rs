//! Export routes: `/api/v1/exports/{dataset}.{csv|xlsx}` (documented, bearer token)
//! and the same under `/exports/…` for the pages' download links.

use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::service::{self, Dataset, Format};
use crate::fleet::vehicles::service::VehicleFilter;
use crate::identity::Caller;
use crate::platform::AppState;
use crate::platform::error::{AppError, AppResult, Problem};
use crate::platform::http::extract::{ApiQuery, id_filter};
use crate::platform::i18n;
use crate::platform::tabular::CsvDialect;
use crate::workshop::maintenance::api::AlertsQuery;
use crate::workshop::quotes::api::QuotesQuery;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// The list's search, as on its page.
    pub q: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VehicleSearchQuery {
    /// The list's search, as on its page.
    pub q: Option<String>,
    /// Only this garage's vehicles.
    #[param(value_type = Option<crate::platform::http::openapi::IdFilter>)]
    pub garage_id: Option<String>,
}

/// The CSV's separator: `comma` (decimal points) or `semicolon` (decimal
/// commas); by default the one the organization's spreadsheets read (`semicolon`
/// in French).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CsvQuery {
    pub separator: Option<String>,
}

/// A list's filter for its export: every row, so `limit` is not applied, but a
/// `limit` that is not one is refused as the list refuses it.
fn export_filter<F>(limit: Option<&str>, filter: AppResult<F>) -> AppResult<F> {
    crate::platform::pagination::PageRequest::parse(limit, None)?;
    filter
}

async fn run(caller: &Caller, dataset: Dataset, format: Format, csv: &CsvQuery) -> AppResult<Response> {
    let tr = i18n::current();
    let dialect = CsvDialect::asked(csv.separator.as_deref(), CsvDialect::for_locale(tr))
        .map_err(|e| AppError::invalid_parameter("separator", e))?;
    service::export(caller.replica.clone(), caller.org, dataset, format, (tr, dialect)).await
}

macro_rules! export_routes {
    ($( ($csv:ident, $xlsx:ident, $path:literal, $query:ty, $tag:literal, $doc:literal, $dataset:expr) ),* $(,)?) => {
        $(
            #[doc = $doc]
            #[utoipa::path(get, path = concat!("/exports/", $path, ".csv"), tag = "exports", security(("bearer" = ["workshop.read"])), params($query, CsvQuery),
                responses((status = 200, content_type = "text/csv", body = String), (status = 400, body = Problem)))]
            async fn $csv(caller: Caller, ApiQuery(query): ApiQuery<$query>, ApiQuery(csv): ApiQuery<CsvQuery>) -> AppResult<Response> {
                let make: fn(&$query) -> AppResult<Dataset> = $dataset;
                run(&caller, make(&query)?, Format::Csv, &csv).await
            }

            #[doc = $doc]
            #[utoipa::path(get, path = concat!("/exports/", $path, ".xlsx"), tag = "exports", security(("bearer" = ["workshop.read"])), params($query),
                responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>), (status = 400, body = Problem)))]
            async fn $xlsx(caller: Caller, ApiQuery(query): ApiQuery<$query>) -> AppResult<Response> {
                let make: fn(&$query) -> AppResult<Dataset> = $dataset;
                run(&caller, make(&query)?, Format::Xlsx, &CsvQuery::default()).await
            }
        )*

        pub fn router() -> OpenApiRouter<AppState> {
            OpenApiRouter::new() $( .routes(routes!($csv)).routes(routes!($xlsx)) )*
        }

        /// The same exports for the pages (session cookie).
        pub fn web_routes() -> crate::identity::auth::web_pages::Routes {
            vec![ $(
                (concat!("/exports/", $path, ".csv"), get($csv)),
                (concat!("/exports/", $path, ".xlsx"), get($xlsx)),
            )* ]
        }
    };
}

export_routes! {
    (clients_csv, clients_xlsx, "clients", SearchQuery, "clients", "Clients matching the search, one row each.",
        |q: &SearchQuery| Ok(Dataset::Clients { q: q.q.clone() })),
    (vehicles_csv, vehicles_xlsx, "vehicles", VehicleSearchQuery, "vehicles", "Vehicles matching the search (and garage), with their current owner.",
        |q: &VehicleSearchQuery| Ok(Dataset::Vehicles(VehicleFilter { garage_id: id_filter("garage_id", q.garage_id.as_deref())?, q: q.q.clone(), ..Default::default() }))),
    (quotes_csv, quotes_xlsx, "quotes", QuotesQuery, "quotes", "Quotes with their lines, one row per line, newest first.",
        |q: &QuotesQuery| Ok(Dataset::Quotes(export_filter(q.limit.as_deref(), q.filter())?))),
    (alerts_csv, alerts_xlsx, "alerts", AlertsQuery, "alerts", "Maintenance alerts with the alerts page's filters.",
        |q: &AlertsQuery| Ok(Dataset::Alerts(export_filter(q.limit.as_deref(), q.filter())?))),
}
