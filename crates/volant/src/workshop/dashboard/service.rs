//! The dashboard's figures over a period and, optionally, one garage: vehicles per
//! garage, quotes issued and accepted (count, rate, amount), open and overdue
//! alerts by kind, interventions and quotes per month, top clients. Each figure is
//! one aggregate query; the JSON API and the page show the same numbers.

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::SelectStatement;
use serde::Serialize;
use utoipa::ToSchema;

use crate::fleet::garages::service as garages;
use crate::fleet::vehicles::service as vehicles;
use crate::identity::organizations::service as organizations;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::money::{self, Currency};
use crate::platform::tenant::OrgId;
use crate::workshop::clients::service as clients;
use crate::workshop::history::service as history;
use crate::workshop::maintenance::service as maintenance;
use crate::workshop::quotes::service::{self as quotes, QuoteStatus};

/// The longest period a dashboard covers.
const MAX_MONTHS: u32 = 36;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// The twelve months up to `today` (from the first day of the month, eleven months back).
    pub fn last_twelve_months(today: NaiveDate) -> Self {
        let first = today.with_day(1).unwrap_or(today);
        Self { from: first.checked_sub_months(Months::new(11)).unwrap_or(first), to: today }
    }

    pub fn new(from: NaiveDate, to: NaiveDate) -> AppResult<Self> {
        if to < from {
            return Err(AppError::validation("to", Msg::new("dashboard.period_reversed")));
        }
        if from.checked_add_months(Months::new(MAX_MONTHS)).is_some_and(|limit| to > limit) {
            return Err(AppError::validation("from", Msg::new("dashboard.period_too_long").arg("months", MAX_MONTHS)));
        }
        Ok(Self { from, to })
    }

    /// `YYYY-MM` of every month the period touches.
    pub fn months(&self) -> Vec<String> {
        let mut months = Vec::new();
        let mut cursor = self.from.with_day(1).unwrap_or(self.from);
        while cursor <= self.to {
            months.push(cursor.format("%Y-%m").to_string());
            let Some(next) = cursor.checked_add_months(Months::new(1)) else { break };
            cursor = next;
        }
        months
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct GarageVehicles {
    pub garage_id: i64,
    pub name: String,
    pub vehicles: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QuoteFigures {
    /// Sent in the period (whatever became of them since).
    pub issued: i64,
    pub accepted: i64,
    pub rejected: i64,
    pub expired: i64,
    /// Still awaiting an answer.
    pub pending: i64,
    /// Accepted ÷ issued, in percent with one decimal; `null` when none was issued.
    #[schema(value_type = Option<String>, example = "42.5")]
    pub acceptance_rate: Option<Decimal>,
    /// Accepted amount excluding tax.
    #[schema(value_type = String)]
    pub amount_accepted: Decimal,
    #[schema(value_type = String)]
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    pub quotes_issued: i64,
    pub quotes_accepted: i64,
    pub interventions: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AlertFigures {
    pub kind: String,
    pub name: String,
    pub open: i64,
    /// Past due, counted from a service on record.
    pub overdue: i64,
    /// Never done here: the due point is a guess to check with the owner.
    pub to_check: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct TopClient {
    pub client_id: i64,
    pub name: String,
    pub accepted_quotes: i64,
    #[schema(value_type = String)]
    pub amount_accepted: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Dashboard {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub garage_id: Option<i64>,
    pub vehicles_per_garage: Vec<GarageVehicles>,
    pub quotes: QuoteFigures,
    pub months: Vec<MonthFigures>,
    /// Alerts not resolved (today), by kind.
    pub alerts: Vec<AlertFigures>,
    pub top_clients: Vec<TopClient>,
}

pub async fn compute(
    db: &impl ConnectionTrait,
    org: OrgId,
    period: Period,
    garage_id: Option<i64>,
    today: NaiveDate,
) -> AppResult<Dashboard> {
    let currency = organizations::get(db, org).await?.currency;
    let mut per_garage: Vec<GarageVehicles> = garages::vehicle_counts(db, org)
        .await?
        .into_iter()
        .map(|(garage_id, name, vehicles)| GarageVehicles { garage_id, name, vehicles })
        .collect();
    let scope = match garage_id {
        Some(id) => {
            garages::get(db, org, id).await?;
            per_garage.retain(|g| g.garage_id == id);
            Some(vehicles::in_garage(org, id))
        }
        None => None,
    };
    let scope = scope.as_ref();
    let mut months: BTreeMap<String, MonthFigures> = period
        .months()
        .into_iter()
        .map(|month| (month.clone(), MonthFigures { month, quotes_issued: 0, quotes_accepted: 0, interventions: 0 }))
        .collect();
    let stats = quotes::stats_by_day(db, org, period.from, period.to, scope).await?;
    let figures = quote_figures(&stats, currency, &mut months);
    for (month, count) in history::count_by_month(db, org, period.from, period.to, scope).await? {
        if let Some(figures) = months.get_mut(&month) {
            figures.interventions = count;
        }
    }
    Ok(Dashboard {
        from: period.from,
        to: period.to,
        garage_id,
        vehicles_per_garage: per_garage,
        quotes: figures,
        months: months.into_values().collect(),
        alerts: alert_figures(db, org, scope, today).await?,
        top_clients: top_clients(db, org, period, scope, currency).await?,
    })
}

/// The quotes issued in the period (drafts are not), by outcome, and by month.
fn quote_figures(
    stats: &[quotes::DayStat],
    currency: Currency,
    months: &mut BTreeMap<String, MonthFigures>,
) -> QuoteFigures {
    let mut figures = QuoteFigures {
        issued: 0,
        accepted: 0,
        rejected: 0,
        expired: 0,
        pending: 0,
        acceptance_rate: None,
        amount_accepted: Decimal::ZERO,
        currency,
    };
    let mut accepted_minor = 0_i64;
    for s in stats {
        let month = months.get_mut(&s.issue_date.format("%Y-%m").to_string());
        if s.status == QuoteStatus::Draft {
            continue;
        }
        figures.issued += s.count;
        let issued_in_month = s.count;
        let accepted = if s.status == QuoteStatus::Accepted { s.count } else { 0 };
        match s.status {
            QuoteStatus::Accepted => {
                figures.accepted += s.count;
                accepted_minor = accepted_minor.saturating_add(s.total_excl_minor);
            }
            QuoteStatus::Rejected => figures.rejected += s.count,
            QuoteStatus::Expired => figures.expired += s.count,
            QuoteStatus::Sent => figures.pending += s.count,
            QuoteStatus::Draft => {}
        }
        if let Some(month) = month {
            month.quotes_issued += issued_in_month;
            month.quotes_accepted += accepted;
        }
    }
    figures.amount_accepted = money::from_minor(accepted_minor, currency.decimals());
    if figures.issued > 0 {
        let rate = Decimal::from(figures.accepted) * Decimal::ONE_HUNDRED / Decimal::from(figures.issued);
        let mut rate = rate.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        rate.rescale(1);
        figures.acceptance_rate = Some(rate);
    }
    figures
}

/// Alerts not resolved today, by kind, named as the organization names its rules.
async fn alert_figures(
    db: &impl ConnectionTrait,
    org: OrgId,
    scope: Option<&SelectStatement>,
    today: NaiveDate,
) -> AppResult<Vec<AlertFigures>> {
    let names: std::collections::HashMap<String, String> =
        maintenance::organization_rules(db, org).await?.into_iter().map(|r| (r.kind, r.name)).collect();
    Ok(maintenance::counts_by_kind(db, org, scope, today)
        .await?
        .into_iter()
        .map(|c| AlertFigures {
            name: names.get(&c.kind).cloned().unwrap_or_else(|| c.kind.clone()),
            kind: c.kind,
            open: c.open,
            overdue: c.overdue,
            to_check: c.to_check,
        })
        .collect())
}

/// The five clients with the largest accepted amounts in the period.
async fn top_clients(
    db: &impl ConnectionTrait,
    org: OrgId,
    period: Period,
    scope: Option<&SelectStatement>,
    currency: Currency,
) -> AppResult<Vec<TopClient>> {
    let top = quotes::top_clients(db, org, period.from, period.to, scope, 5).await?;
    let ids: Vec<i64> = top.iter().map(|(id, _, _)| *id).collect();
    let found = clients::get_many(db, org, &ids).await?;
    Ok(top
        .into_iter()
        .map(|(client_id, accepted_quotes, amount)| TopClient {
            client_id,
            name: found.get(&client_id).map(|c| c.display_name().to_owned()).unwrap_or_default(),
            accepted_quotes,
            amount_accepted: money::from_minor(amount, currency.decimals()),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn periods_list_their_months_and_refuse_nonsense() {
        let period = Period::last_twelve_months(day(2026, 11, 21));
        assert_eq!(period.from, day(2025, 12, 1));
        assert_eq!(period.months().len(), 12);
        assert_eq!(period.months().first().map(String::as_str), Some("2025-12"));
        assert_eq!(period.months().last().map(String::as_str), Some("2026-11"));
        assert!(Period::new(day(2026, 2, 1), day(2026, 1, 1)).is_err());
        assert!(Period::new(day(2020, 1, 1), day(2026, 1, 1)).is_err());
        assert_eq!(Period::new(day(2026, 1, 15), day(2026, 3, 2)).map(|p| p.months().len()).ok(), Some(3));
    }
}
