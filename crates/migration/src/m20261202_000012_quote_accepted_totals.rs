//! A quote accepted line by line keeps the totals of the lines the client accepted
//! (the stored totals used to include the declined lines). Recomputes them for the
//! quotes decided before, with the application's rounding: each line already
//! rounded, VAT per rate on the rate's sum, half away from zero.

use std::collections::BTreeMap;

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The lines counted by the quotes accepted with some lines declined, in one read.
const ACCEPTED_LINES: &str = "SELECT l.quote_id, l.total_excl_minor, l.vat_rate_bp FROM quote_lines l \
    WHERE l.accepted IS NOT FALSE AND l.quote_id IN (SELECT q.id FROM quotes q JOIN quote_lines d ON d.quote_id = q.id \
    WHERE q.status = 'accepted' AND d.accepted = FALSE)";

/// VAT of `base` (minor units) at `rate_bp` basis points, rounded half away from zero.
fn vat(base: i64, rate_bp: i64) -> i64 {
    let product = i128::from(base) * i128::from(rate_bp);
    let rounded = (product.abs() + 5_000) / 10_000;
    <i64 as TryFrom<i128>>::try_from(if product < 0 { -rounded } else { rounded }).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let sql = |text: &str| match backend {
            DatabaseBackend::Postgres => text.to_owned(),
            _ => ["$1", "$2", "$3", "$4"].iter().fold(text.to_owned(), |acc, p| acc.replace(p, "?")),
        };
        // quote → VAT rate (basis points) → sum of its accepted lines.
        let mut quotes: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
        for line in db.query_all_raw(Statement::from_string(backend, ACCEPTED_LINES)).await? {
            let quote: i64 = line.try_get_by_index(0)?;
            let total: i64 = line.try_get_by_index(1)?;
            let rate: i32 = line.try_get_by_index(2)?;
            *quotes.entry(quote).or_default().entry(i64::from(rate)).or_default() += total;
        }
        for (id, by_rate) in quotes {
            let excl: i64 = by_rate.values().sum();
            let vat_total: i64 = by_rate.iter().map(|(rate, base)| vat(*base, *rate)).sum();
            db.execute_raw(Statement::from_sql_and_values(
                backend,
                sql("UPDATE quotes SET total_excl_minor = $1, total_vat_minor = $2, total_incl_minor = $3 WHERE id = $4"),
                [excl.into(), vat_total.into(), (excl + vat_total).into(), id.into()],
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The former totals were wrong; there is nothing to restore.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vat_rounds_half_away_from_zero() {
        assert_eq!(super::vat(1_240, 2_000), 248);
        assert_eq!(super::vat(25, 2_000), 5);
        assert_eq!(super::vat(1_003, 550), 55);
        assert_eq!(super::vat(-25, 2_000), -5);
    }
}
