//! Quote numbers: an organization's format (`DEV-{year}-{seq:4}`) and its counter
//! per year, incremented in the quote's own transaction (no gaps, no duplicates).

use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::entity::quote;
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::numbering::format_number;
use crate::platform::tenant::OrgId;

/// Takes the organization's next number for `year`: increments the counter row in
/// the caller's transaction (inserting it at 1 the first time).
async fn next_sequence(txn: &impl ConnectionTrait, org: OrgId, year: i32) -> AppResult<i64> {
    use super::entity::counter;
    let statement = Query::insert()
        .into_table(counter::Entity)
        .columns([counter::Column::OrganizationId, counter::Column::Year, counter::Column::LastNumber])
        .values_panic([org.get().into(), year.into(), 1_i64.into()])
        .on_conflict(
            OnConflict::columns([counter::Column::OrganizationId, counter::Column::Year])
                .value(counter::Column::LastNumber, Expr::col((counter::Entity, counter::Column::LastNumber)).add(1))
                .to_owned(),
        )
        .returning_col(counter::Column::LastNumber)
        .to_owned();
    let row = txn
        .query_one(&statement)
        .await?
        .ok_or_else(|| AppError::Internal("quote counter returned nothing".to_owned()))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}

/// A number that holds the quote's place until its real one is taken: negative
/// and random, so that concurrent creations do not collide on it.
pub(super) fn provisional_number() -> (String, i64) {
    let provisional = -i64::from(fastrand::u32(1..u32::MAX)) - i64::from(fastrand::u16(..)) * (1 << 32);
    (format!("~{provisional}"), provisional)
}

/// Takes the organization's next number for `year` and gives it to the quote, in
/// the quote's own transaction.
pub(super) async fn assign_number(
    txn: &impl ConnectionTrait,
    org: OrgId,
    quote_id: i64,
    format: &str,
    year: i32,
) -> AppResult<String> {
    let sequence = next_sequence(txn, org, year).await?;
    let number = format_number(format, year, sequence).unwrap_or_else(|| format!("DEV-{year}-{sequence:04}"));
    quote::Entity::update_many()
        .col_expr(quote::Column::Number, Expr::value(number.clone()))
        .col_expr(quote::Column::Sequence, Expr::value(sequence))
        .filter(quote::Column::Id.eq(quote_id))
        .exec(txn)
        .await
        .map_err(|err| {
            // A number taken by hand-made data (or a format that maps two sequences
            // to one number) must not be silently reused.
            AppError::conflict("duplicate_quote_number", Msg::new("quote.number_taken"))
                .if_refused(err, Constraint::is_unique)
        })?;
    Ok(number)
}
