//! A quote's lines as stored, and its totals in minor units; how lines are entered,
//! checked and priced is [`crate::platform::lines`], shared with interventions and invoices.

use sea_orm::Set;

use super::entity::line;
use crate::platform::error::AppResult;
pub use crate::platform::lines::{LineInput, MAX_LINES, lenient_decimal, line_amount, parse_decimal};
pub(crate) use crate::platform::lines::{PricedLine, ValidLine, priced, validate_lines};
use crate::platform::money::{self, Totals};

pub(super) fn line_rows(
    quote_id: i64,
    lines: &[ValidLine],
    decimals: u32,
) -> AppResult<(Vec<line::ActiveModel>, Totals)> {
    let priced = priced(lines, decimals)?;
    let totals = money::totals(priced.iter().map(|p| (p.total, p.line.vat_rate)), decimals);
    let rows = priced
        .into_iter()
        .map(|PricedLine { position, line: l, total_minor, .. }| line::ActiveModel {
            quote_id: Set(quote_id),
            position: Set(position),
            kind: Set(l.kind),
            description: Set(l.description.clone()),
            quantity_milli: Set(l.quantity_milli),
            unit: Set(l.unit.clone()),
            unit_price_e4: Set(l.unit_price_e4),
            vat_rate_bp: Set(l.vat_rate_bp),
            discount_bp: Set(l.discount_bp),
            total_excl_minor: Set(total_minor),
            accepted: Set(None),
            ..Default::default()
        })
        .collect();
    Ok((rows, totals))
}
