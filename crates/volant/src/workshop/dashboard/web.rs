//! The dashboard page: the same figures as the API, as cards, charts (server-side
//! SVG) and tables.

use askama::Template;
use askama_web::WebTemplate;
use axum::routing::get;

use super::api::DashboardQuery;
use super::service::{self, Dashboard};
use crate::fleet::garages::service as garages;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::charts;
use crate::platform::http::extract::ApiQuery;
use crate::platform::money::{format_decimal, group_thousands};
use crate::platform::web::{PageCtx, SelectOption, WebResult, id_options};

pub fn routes() -> Routes {
    vec![("/dashboard", get(page))]
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/dashboard.html")]
struct DashboardPage {
    page: PageCtx,
    d: Dashboard,
    from: String,
    to: String,
    garages: Vec<SelectOption>,
    amount_accepted: String,
    acceptance_rate: String,
    open_alerts: i64,
    overdue_alerts: i64,
    /// Alerts on vehicles never serviced here (apart from real overdue work).
    to_check_alerts: i64,
    garage_chart: String,
    months_chart: String,
    interventions_chart: String,
    alerts_chart: String,
    top_clients: Vec<(i64, String, i64, String)>,
    /// What the garage is owed and has collected, for those who may read invoices.
    figures: Option<crate::billing::invoices::web::Figures>,
}

async fn page(caller: Caller, page: PageCtx, ApiQuery(query): ApiQuery<DashboardQuery>) -> WebResult<DashboardPage> {
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let (period, garage_id) = query.period(today)?;
    let d = service::compute(&caller.db, caller.org, period, garage_id, today).await?;
    let tr = page.tr;
    let choices = garages::choices(&caller.db, caller.org).await?;
    let garages = id_options(Some(tr.t("dashboard.all_garages")), garage_id, choices);
    let biggest: Vec<_> = d.vehicles_per_garage.iter().take(15).collect();
    let garage_chart = charts::bars(
        tr.t("dashboard.vehicles_per_garage"),
        &biggest.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
        &[(tr.t("dashboard.vehicles"), biggest.iter().map(|g| g.vehicles).collect())],
        group_thousands,
    );
    let months: Vec<String> = d.months.iter().map(|m| m.month.clone()).collect();
    let months_chart = charts::lines(
        tr.t("dashboard.quotes_per_month"),
        &months,
        &[
            (tr.t("dashboard.issued"), d.months.iter().map(|m| m.quotes_issued).collect()),
            (tr.t("dashboard.accepted"), d.months.iter().map(|m| m.quotes_accepted).collect()),
        ],
    );
    let interventions_chart = charts::lines(
        tr.t("dashboard.interventions_per_month"),
        &months,
        &[(tr.t("dashboard.interventions"), d.months.iter().map(|m| m.interventions).collect())],
    );
    let alerts_chart = charts::bars(
        tr.t("dashboard.alerts_by_kind"),
        &d.alerts.iter().map(|a| a.name.clone()).collect::<Vec<_>>(),
        &[
            (tr.t("dashboard.open"), d.alerts.iter().map(|a| a.open).collect()),
            (tr.t("dashboard.overdue"), d.alerts.iter().map(|a| a.overdue).collect()),
            (tr.t("dashboard.to_check"), d.alerts.iter().map(|a| a.to_check).collect()),
        ],
        group_thousands,
    );
    let top_clients = d
        .top_clients
        .iter()
        .map(|c| (c.client_id, c.name.clone(), c.accepted_quotes, d.quotes.currency.format(c.amount_accepted)))
        .collect();
    // Billing's figures, through its service, for those who may read invoices.
    let figures = match page.may(crate::identity::roles::Permission::BillingRead) {
        true => Some(crate::billing::invoices::web::Figures::of(
            &crate::billing::invoices::service::summary_figures(&caller.replica, caller.org).await?,
        )),
        false => None,
    };
    Ok(DashboardPage {
        figures,
        from: d.from.to_string(),
        to: d.to.to_string(),
        amount_accepted: d.quotes.currency.format(d.quotes.amount_accepted),
        acceptance_rate: d
            .quotes
            .acceptance_rate
            .map(|r| format!("{} %", format_decimal(r, 1)))
            .unwrap_or_else(|| "—".to_owned()),
        open_alerts: d.alerts.iter().map(|a| a.open).sum(),
        overdue_alerts: d.alerts.iter().map(|a| a.overdue).sum(),
        to_check_alerts: d.alerts.iter().map(|a| a.to_check).sum(),
        garages,
        garage_chart,
        months_chart,
        interventions_chart,
        alerts_chart,
        top_clients,
        page,
        d,
    })
}
