//! Priced lines as quotes, interventions and invoices take them (parts, labour,
//! other; quantity, unit, unit price, discount, VAT rate): how they are entered and
//! checked, and what each comes to, under the one rounding rule of [`money`].

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::money;
use crate::platform::validate::Validator;

string_enum! {
    // What a line of a quote, an intervention or an invoice is for.
    #[derive(utoipa::ToSchema)]
    pub enum LineKind (labels "quote.kind.") {
        Part,
        Labour,
        Other,
    }
}

/// Most lines a document may have.
pub const MAX_LINES: usize = 300;
/// Quantities up to a million, unit prices up to a thousand million.
const MAX_QUANTITY: i64 = 1_000_000;
const MAX_UNIT_PRICE: i64 = 1_000_000_000;

/// A decimal from JSON: a string (`"33.33"`, or `"33,33"` as French people write
/// it) or a number, read from its text so that `33.33` stays exactly 33.33.
pub fn lenient_decimal<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Decimal>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    let text = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::String(s)) => s,
        Some(_) => return Err(serde::de::Error::custom("expected a decimal number or a string")),
    };
    parse_decimal(&text).map(Some).ok_or_else(|| serde::de::Error::custom(format!("not a decimal number: {text}")))
}

/// The schema of a decimal a client sends: a string such as `"48.90"` (as
/// answers give it; a comma may stand for the point) or a JSON number. Answers
/// always give strings, so that no amount goes through a binary float.
pub struct DecimalInput;

impl utoipa::PartialSchema for DecimalInput {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type([Type::String, Type::Number].into_iter().collect::<utoipa::openapi::schema::SchemaType>())
            .description(Some("A decimal: a string such as `\"48.90\"` (answers give strings) or a JSON number."))
            .into()
    }
}

impl utoipa::ToSchema for DecimalInput {}

/// `"1 234,5"` or `"1234.5"` → 1234.5.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace() && *c != '\u{202f}').collect();
    if cleaned.is_empty() || cleaned.len() > 40 {
        return None;
    }
    Decimal::from_str(&cleaned.replace(',', ".")).ok().or_else(|| Decimal::from_scientific(&cleaned).ok())
}

/// One line of a quote as entered.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct LineInput {
    /// `part`, `labour` or `other` (default).
    pub kind: Option<LineKind>,
    #[schema(required = true, nullable = false, example = "Vidange huile 5W30")]
    pub description: Option<String>,
    /// Default 1; up to 3 decimals.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "1")]
    pub quantity: Option<Decimal>,
    #[schema(example = "h")]
    pub unit: Option<String>,
    /// Excluding tax, up to 4 decimals.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = crate::platform::lines::DecimalInput, required = true, example = "33.33")]
    pub unit_price: Option<Decimal>,
    /// Percent, default 20.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "20")]
    pub vat_rate: Option<Decimal>,
    /// Percent off, default 0.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "0")]
    pub discount: Option<Decimal>,
}

/// The schema of a line of work carried out: a [`LineInput`] whose price may be
/// left out (work done free, or priced later on its invoice).
#[derive(ToSchema)]
#[allow(dead_code)] // Only its schema is used: the body is read as a `LineInput`.
pub struct WorkLineInput {
    /// `part`, `labour` or `other` (default).
    kind: Option<LineKind>,
    #[schema(required = true, nullable = false, example = "Vidange huile 5W30")]
    description: Option<String>,
    /// Default 1; up to 3 decimals.
    #[schema(value_type = Option<DecimalInput>, example = "1")]
    quantity: Option<Decimal>,
    #[schema(example = "h")]
    unit: Option<String>,
    /// Excluding tax, up to 4 decimals; 0 when absent.
    #[schema(value_type = Option<DecimalInput>, example = "33.33")]
    unit_price: Option<Decimal>,
    /// Percent, default 20.
    #[schema(value_type = Option<DecimalInput>, example = "20")]
    vat_rate: Option<Decimal>,
    /// Percent off, default 0.
    #[schema(value_type = Option<DecimalInput>, example = "0")]
    discount: Option<Decimal>,
}

/// A line of parts, labour or other, checked: its amounts within bounds and exact
/// in their stored units (shared by quotes and interventions).
pub struct ValidLine {
    pub kind: LineKind,
    pub description: String,
    pub quantity_milli: i64,
    pub unit: Option<String>,
    pub unit_price_e4: i64,
    pub vat_rate_bp: i32,
    pub discount_bp: i32,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub vat_rate: Decimal,
    pub discount: Decimal,
}

pub fn percent_bp(v: &mut Validator, field: &str, value: Decimal) -> Option<i32> {
    let bp = money::to_scaled(value, 2).filter(|bp| (0..=10_000).contains(bp));
    match bp.and_then(|bp| i32::try_from(bp).ok()) {
        Some(bp) => Some(bp),
        None => {
            v.add(field, Msg::new("quote.percent_invalid"));
            None
        }
    }
}

/// A unit price in ten-thousandths, within bounds (else an error on `field`).
pub fn unit_price_e4(v: &mut Validator, field: &str, price: Decimal) -> Option<i64> {
    let scaled = money::to_scaled(price, 4).filter(|p| *p >= 0 && *p <= MAX_UNIT_PRICE * 10_000);
    if scaled.is_none() {
        v.add(field, Msg::new("quote.price_invalid").arg("max", MAX_UNIT_PRICE));
    }
    scaled
}

/// Checks lines (every error recorded in `v`, each named `lines[i].field`) and
/// returns the valid ones. Bounds keep every product of quantity and price far
/// inside what a decimal holds.
pub fn validate_lines(v: &mut Validator, lines: &[LineInput]) -> Vec<ValidLine> {
    if lines.len() > MAX_LINES {
        v.add("lines", Msg::new("quote.too_many_lines").arg("max", MAX_LINES));
    }
    let mut valid = Vec::with_capacity(lines.len().min(MAX_LINES));
    for (i, l) in lines.iter().enumerate().take(MAX_LINES) {
        let field = |name: &str| format!("lines[{i}].{name}");
        let description = v.required_long_text(&field("description"), l.description.as_deref(), 500);
        let quantity = l.quantity.unwrap_or(Decimal::ONE);
        let quantity_milli = money::to_scaled(quantity, 3).filter(|q| *q > 0 && *q <= MAX_QUANTITY * 1000);
        if quantity_milli.is_none() {
            v.add(&field("quantity"), Msg::new("quote.quantity_invalid").arg("max", MAX_QUANTITY));
        }
        let unit_price = v.required(&field("unit_price"), l.unit_price);
        let unit_price_e4 = unit_price.and_then(|p| unit_price_e4(v, &field("unit_price"), p));
        let vat_rate = l.vat_rate.unwrap_or(Decimal::from(20));
        let vat_rate_bp = percent_bp(v, &field("vat_rate"), vat_rate);
        let discount = l.discount.unwrap_or(Decimal::ZERO);
        let discount_bp = percent_bp(v, &field("discount"), discount);
        let unit = v.optional_text(&field("unit"), l.unit.as_deref(), 20);
        if let (
            Some(description),
            Some(quantity_milli),
            Some(unit_price),
            Some(unit_price_e4),
            Some(vat_rate_bp),
            Some(discount_bp),
        ) = (description, quantity_milli, unit_price, unit_price_e4, vat_rate_bp, discount_bp)
        {
            valid.push(ValidLine {
                kind: l.kind.unwrap_or(LineKind::Other),
                description,
                quantity_milli,
                unit,
                unit_price_e4,
                vat_rate_bp,
                discount_bp,
                quantity: quantity.normalize(),
                unit_price: unit_price.normalize(),
                vat_rate: vat_rate.normalize(),
                discount: discount.normalize(),
            });
        }
    }
    valid
}

/// A checked line with its total excluding tax, rounded to the currency's minor unit.
pub struct PricedLine<'a> {
    pub position: i32,
    pub line: &'a ValidLine,
    pub total: Decimal,
    pub total_minor: i64,
}

/// Prices each line (422 naming the first whose amount is too large to store).
pub fn priced(lines: &[ValidLine], decimals: u32) -> AppResult<Vec<PricedLine<'_>>> {
    lines
        .iter()
        .enumerate()
        .map(|(position, line)| {
            let total = money::line_total(line.quantity, line.unit_price, line.discount, decimals);
            let total_minor = money::to_minor(total, decimals).ok_or_else(|| {
                AppError::validation(&format!("lines[{position}].quantity"), Msg::new("quote.amount_too_large"))
            })?;
            Ok(PricedLine { position: i32::try_from(position).unwrap_or(i32::MAX), line, total, total_minor })
        })
        .collect()
}

/// A document's totals in minor units (excluding tax, VAT, including tax); 422 on
/// `lines` past what an `i64` holds.
pub fn totals_minor(totals: &money::Totals, decimals: u32) -> AppResult<(i64, i64, i64)> {
    let convert = |amount| {
        money::to_minor(amount, decimals)
            .ok_or_else(|| AppError::validation("lines", Msg::new("quote.amount_too_large")))
    };
    Ok((convert(totals.excl_tax)?, convert(totals.vat_total)?, convert(totals.incl_tax)?))
}

/// What one line as typed comes to (its total excluding tax and its VAT rate), by
/// the same checks and rounding as a saved quote; `None` while it is incomplete or invalid.
pub fn line_amount(input: &LineInput, decimals: u32) -> Option<(Decimal, Decimal)> {
    let mut v = Validator::new();
    let valid = validate_lines(&mut v, std::slice::from_ref(input));
    let priced = priced(&valid, decimals).ok()?;
    priced.first().map(|p| (p.total, p.line.vat_rate))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VatLine {
    #[schema(value_type = String, example = "20")]
    pub rate: Decimal,
    #[schema(value_type = String)]
    pub base: Decimal,
    #[schema(value_type = String)]
    pub vat: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
/// What a document's lines come to: excluding tax, VAT per rate, including tax.
pub struct DocumentTotals {
    #[schema(value_type = String, example = "99.99")]
    pub excl_tax: Decimal,
    pub vat: Vec<VatLine>,
    #[schema(value_type = String, example = "20.00")]
    pub vat_total: Decimal,
    #[schema(value_type = String, example = "119.99")]
    pub incl_tax: Decimal,
}

impl From<money::Totals> for DocumentTotals {
    fn from(t: money::Totals) -> Self {
        Self {
            excl_tax: t.excl_tax,
            vat: t.vat.into_iter().map(|s| VatLine { rate: s.rate, base: s.base, vat: s.vat }).collect(),
            vat_total: t.vat_total,
            incl_tax: t.incl_tax,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_read_as_people_write_them() {
        assert_eq!(parse_decimal("33,33"), Decimal::from_str("33.33").ok());
        assert_eq!(parse_decimal("1 234.5"), Decimal::from_str("1234.5").ok());
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal(""), None);
    }
}
