//! Quotes counted and summed, for the dashboard.

use chrono::NaiveDate;
use sea_orm::sea_query::{Expr, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::quote;
use super::model::QuoteStatus;
use crate::platform::error::AppResult;
use crate::platform::tenant::{self, OrgId};

/// Quotes counted and summed (excluding tax, minor units) per status and issue day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayStat {
    pub status: QuoteStatus,
    pub issue_date: NaiveDate,
    pub count: i64,
    pub total_excl_minor: i64,
}

/// The rows counted. `COUNT(*)`, not `COUNT(id)`: the covering index of the
/// figures holds no id, and PostgreSQL would read each quote's row to check it.
fn count_rows() -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Asterisk, Func};
    Expr::expr(Func::count(Expr::col(Asterisk)))
}

/// The sum of a BIGINT column as a BIGINT (PostgreSQL would answer NUMERIC).
fn sum_minor() -> sea_orm::sea_query::Expr {
    use sea_orm::sea_query::{Alias, Func};
    Expr::expr(Func::cast_as(Func::sum(Expr::col(quote::Column::TotalExclMinor)), Alias::new("BIGINT")))
}

fn period(
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    vehicles: Option<&SelectStatement>,
) -> sea_orm::Select<quote::Entity> {
    let mut query = tenant::scoped::<quote::Entity>(org)
        .filter(quote::Column::IssueDate.gte(from))
        .filter(quote::Column::IssueDate.lte(to));
    if let Some(vehicles) = vehicles {
        query = query.filter(quote::Column::VehicleId.in_subquery(vehicles.clone()));
    }
    query
}

/// Per status and day between two dates (at most a few thousand rows a year), for the dashboard.
pub async fn stats_by_day(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    vehicles: Option<&SelectStatement>,
) -> AppResult<Vec<DayStat>> {
    let rows: Vec<(QuoteStatus, NaiveDate, i64, Option<i64>)> = period(org, from, to, vehicles)
        .select_only()
        .column(quote::Column::Status)
        .column(quote::Column::IssueDate)
        .column_as(count_rows(), "count")
        .column_as(sum_minor(), "total")
        .group_by(quote::Column::Status)
        .group_by(quote::Column::IssueDate)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(status, issue_date, count, total)| DayStat {
            status,
            issue_date,
            count,
            total_excl_minor: total.unwrap_or(0),
        })
        .collect())
}

/// The clients with the largest accepted amounts (excluding tax) in the period:
/// (client id, accepted quotes, amount in minor units).
pub async fn top_clients(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    vehicles: Option<&SelectStatement>,
    limit: u64,
) -> AppResult<Vec<(i64, i64, i64)>> {
    let rows: Vec<(i64, i64, Option<i64>)> = period(org, from, to, vehicles)
        .select_only()
        .column(quote::Column::ClientId)
        .column_as(count_rows(), "count")
        .column_as(sum_minor(), "total")
        .filter(quote::Column::Status.eq(QuoteStatus::Accepted))
        .group_by(quote::Column::ClientId)
        .order_by_desc(sum_minor())
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(client, count, total)| (client, count, total.unwrap_or(0))).collect())
}
