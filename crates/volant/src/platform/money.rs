//! Money with exact decimals (quotes, school prices): a line's total, VAT per rate and the
//! totals, each rounded half-up to the currency's minor unit, never through a float.
//!
//! Rounding policy (the usual French invoicing practice): each line's total
//! excluding tax is rounded; VAT is computed once per rate on the sum of that
//! rate's lines and rounded; the total including tax is the sum of the rounded parts.

use rust_decimal::{Decimal, RoundingStrategy};

use crate::platform::enums::UnknownCode;

/// A currency an organization may keep its books in (ISO 4217), with the digits
/// of its minor unit. Written as its code in the database and in JSON; a stored
/// code that is not one of these is a database error, never silently two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub struct Currency {
    code: &'static str,
    decimals: u8,
}

impl Currency {
    pub const EUR: Self = Self { code: "EUR", decimals: 2 };

    /// Every currency an organization may choose.
    pub const ALL: [Self; 10] = [
        Self::EUR,
        Self { code: "XOF", decimals: 0 },
        Self { code: "XAF", decimals: 0 },
        Self { code: "USD", decimals: 2 },
        Self { code: "GBP", decimals: 2 },
        Self { code: "CHF", decimals: 2 },
        Self { code: "CAD", decimals: 2 },
        Self { code: "MAD", decimals: 2 },
        Self { code: "GNF", decimals: 0 },
        Self { code: "TND", decimals: 3 },
    ];

    /// The currency of an ISO code (upper case), if it is one of ours.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code == code)
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// Digits after the decimal point (EUR 2, XOF 0), for computing.
    pub fn decimals(self) -> u32 {
        u32::from(self.decimals)
    }

    /// The same, as the API shows it.
    pub fn minor_digits(self) -> u8 {
        self.decimals
    }

    /// An amount rounded to the minor unit, written as people read it: `1 234,50 €`.
    pub fn format(self, amount: Decimal) -> String {
        format_money(amount, self.decimals(), self.code)
    }
}

impl std::fmt::Display for Currency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code)
    }
}

impl std::str::FromStr for Currency {
    type Err = UnknownCode;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Self::parse(code).ok_or_else(|| UnknownCode { kind: "currency", code: code.to_owned() })
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

/// Amounts are stored as integers in the currency's minor unit (cents for EUR).
pub fn round_money(amount: Decimal, decimals: u32) -> Decimal {
    amount.round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
}

/// `12.34` EUR → `1234`; `None` past what an `i64` holds.
pub fn to_minor(amount: Decimal, decimals: u32) -> Option<i64> {
    let scaled = round_money(amount, decimals).checked_mul(Decimal::from(10_i64.checked_pow(decimals)?))?;
    i64::try_from(scaled.trunc()).ok()
}

pub fn from_minor(minor: i64, decimals: u32) -> Decimal {
    Decimal::new(minor, decimals)
}

/// A decimal stored as an integer with `scale` digits after the point (quantities
/// in thousandths, unit prices in ten-thousandths, rates in basis points).
pub fn to_scaled(value: Decimal, scale: u32) -> Option<i64> {
    if value.normalize().scale() > scale {
        return None;
    }
    i64::try_from(value.checked_mul(Decimal::from(10_i64.checked_pow(scale)?))?).ok()
}

pub fn from_scaled(value: i64, scale: u32) -> Decimal {
    Decimal::new(value, scale).normalize()
}

/// What a line contributes: quantity × unit price, less its discount (a percentage).
pub fn line_total(quantity: Decimal, unit_price: Decimal, discount_percent: Decimal, decimals: u32) -> Decimal {
    let gross = quantity * unit_price;
    let discounted = gross * (Decimal::ONE_HUNDRED - discount_percent) / Decimal::ONE_HUNDRED;
    round_money(discounted, decimals)
}

/// One VAT rate's share of a quote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VatShare {
    /// Percentage, e.g. `20` or `5.5`.
    pub rate: Decimal,
    /// Sum of the lines at this rate, excluding tax.
    pub base: Decimal,
    pub vat: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    pub excl_tax: Decimal,
    /// By rate, highest first.
    pub vat: Vec<VatShare>,
    pub vat_total: Decimal,
    pub incl_tax: Decimal,
}

/// Totals of lines given as (line total excluding tax, VAT rate in percent).
pub fn totals(lines: impl IntoIterator<Item = (Decimal, Decimal)>, decimals: u32) -> Totals {
    let mut shares: Vec<VatShare> = Vec::new();
    let mut excl_tax = Decimal::ZERO;
    for (amount, rate) in lines {
        excl_tax += amount;
        match shares.iter_mut().find(|s| s.rate == rate) {
            Some(share) => share.base += amount,
            None => shares.push(VatShare { rate, base: amount, vat: Decimal::ZERO }),
        }
    }
    shares.sort_by_key(|s| std::cmp::Reverse(s.rate));
    for share in &mut shares {
        share.vat = round_money(share.base * share.rate / Decimal::ONE_HUNDRED, decimals);
    }
    let mut vat_total: Decimal = shares.iter().map(|s| s.vat).sum();
    // Amounts carry the currency's decimals even when they are zero (`0.00`, not `0`).
    for amount in [&mut excl_tax, &mut vat_total] {
        amount.rescale(decimals);
    }
    for share in &mut shares {
        share.base.rescale(decimals);
        share.vat.rescale(decimals);
    }
    Totals { excl_tax, vat: shares, vat_total, incl_tax: excl_tax + vat_total }
}

/// `1234.5` → `1 234,50 €` (French grouping with narrow no-break spaces).
pub fn format_money(amount: Decimal, decimals: u32, currency: &str) -> String {
    let symbol = match currency {
        "EUR" => "€",
        "XOF" | "XAF" => "FCFA",
        "USD" => "$",
        "GBP" => "£",
        "CHF" => "CHF",
        other => other,
    };
    format!("{}\u{a0}{symbol}", format_decimal(round_money(amount, decimals), decimals))
}

/// A decimal in French notation with exactly `decimals` digits: `1 234,50`.
pub fn format_decimal(amount: Decimal, decimals: u32) -> String {
    let mut value = amount;
    value.rescale(decimals);
    let text = value.abs().to_string();
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i).is_multiple_of(3) {
            grouped.push('\u{202f}');
        }
        grouped.push(c);
    }
    let sign = if value.is_sign_negative() && !value.is_zero() { "-" } else { "" };
    if frac_part.is_empty() { format!("{sign}{grouped}") } else { format!("{sign}{grouped},{frac_part}") }
}

/// `84000` → `84 000` with the narrow no-break space French typography uses.
pub fn group_thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A quantity or rate as people write it: `1,5`, `20`, `5,5` (no trailing zeros).
pub fn format_plain(value: Decimal) -> String {
    value.normalize().to_string().replace('.', ",")
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn thousands_use_french_spacing() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(84_000), "84\u{202f}000");
        assert_eq!(group_thousands(1_234_567), "1\u{202f}234\u{202f}567");
    }

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap_or_default()
    }

    #[test]
    fn currencies_are_known_by_their_code() {
        assert_eq!(Currency::parse("XOF").map(Currency::decimals), Some(0));
        assert_eq!(Currency::parse("EUR"), Some(Currency::EUR));
        assert_eq!(Currency::parse("ZZZ"), None);
        assert_eq!("TND".parse::<Currency>().map(Currency::decimals), Ok(3));
        assert_eq!(Currency::EUR.format(d("1234.5")), "1\u{202f}234,50\u{a0}€");
    }

    #[test]
    fn three_lines_at_33_33_with_20_percent_vat() {
        let lines: Vec<_> = (0..3).map(|_| (line_total(d("1"), d("33.33"), d("0"), 2), d("20"))).collect();
        let t = totals(lines, 2);
        assert_eq!(t.excl_tax, d("99.99"));
        // 19.998 rounds half-up to 20.00, once for the rate, not per line (3 × 6.67 = 20.01).
        assert_eq!(t.vat_total, d("20.00"));
        assert_eq!(t.incl_tax, d("119.99"));
    }

    #[test]
    fn lines_round_half_up_to_the_minor_unit() {
        // 3 × 0.125 = 0.375 → 0.38; 0.005 → 0.01 (not banker's 0.00).
        assert_eq!(line_total(d("3"), d("0.125"), d("0"), 2), d("0.38"));
        assert_eq!(line_total(d("1"), d("0.005"), d("0"), 2), d("0.01"));
        // 10 % off 19.99 = 17.991 → 17.99
        assert_eq!(line_total(d("1"), d("19.99"), d("10"), 2), d("17.99"));
        // XOF has no minor unit: 1 500.5 → 1 501
        assert_eq!(line_total(d("1"), d("1500.5"), d("0"), 0), d("1501"));
    }

    #[test]
    fn many_lines_and_mixed_rates() {
        let mut lines = Vec::new();
        for _ in 0..100 {
            lines.push((line_total(d("1.5"), d("12.345"), d("0"), 2), d("20")));
            lines.push((line_total(d("1"), d("7.77"), d("0"), 2), d("5.5")));
        }
        let t = totals(lines, 2);
        // 1.5 × 12.345 = 18.5175 → 18.52 each.
        assert_eq!(t.excl_tax, d("2629.00"));
        assert_eq!(t.vat[0], VatShare { rate: d("20"), base: d("1852.00"), vat: d("370.40") });
        // 777 × 0.055 = 42.735 → 42.74
        assert_eq!(t.vat[1], VatShare { rate: d("5.5"), base: d("777.00"), vat: d("42.74") });
        assert_eq!(t.incl_tax, d("3042.14"));
    }

    #[test]
    fn large_quantities_stay_exact() {
        let amount = line_total(d("999999.999"), d("99999.9999"), d("0"), 2);
        assert_eq!(amount, d("99999999800.00"));
        assert_eq!(to_minor(amount, 2), Some(9_999_999_980_000));
        let t = totals([(amount, d("20"))], 2);
        assert_eq!(t.incl_tax, d("119999999760.00"));
    }

    #[test]
    fn scaling_never_overflows() {
        let max = Decimal::MAX;
        assert_eq!(to_scaled(max, 3), None);
        assert_eq!(to_scaled(-max, 4), None);
        assert_eq!(to_minor(max, 2), None);
        assert_eq!(to_scaled(d("9223372036854775.807"), 3), Some(i64::MAX));
    }

    #[test]
    fn scaled_storage_refuses_extra_digits() {
        assert_eq!(to_scaled(d("1.5"), 3), Some(1500));
        assert_eq!(to_scaled(d("1.5000"), 3), Some(1500));
        assert_eq!(to_scaled(d("1.0001"), 3), None);
        assert_eq!(from_scaled(1500, 3), d("1.5"));
        assert_eq!(from_minor(1234, 2), d("12.34"));
    }

    #[test]
    fn french_formatting() {
        assert_eq!(format_money(d("1234.5"), 2, "EUR"), "1\u{202f}234,50\u{a0}€");
        assert_eq!(format_money(d("1500"), 0, "XOF"), "1\u{202f}500\u{a0}FCFA");
        assert_eq!(format_decimal(d("-0.5"), 2), "-0,50");
        assert_eq!(format_plain(d("5.50")), "5,5");
    }
}
