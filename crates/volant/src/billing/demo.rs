//! Demo invoices for `volant seed-demo`: the accepted quotes of the demo workshop
//! invoiced — most issued (today: an invoice is dated the day it is issued), some
//! paid in full, some in part, some not yet, one left as a draft to check.

use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use super::invoices::payments;
use super::invoices::service::{self as invoices, PaymentInput, PaymentMethod};
use crate::identity::audit::Actor;
use crate::platform::error::AppResult;
use crate::platform::money::Currency;
use crate::platform::pagination::PageRequest;
use crate::platform::tenant::OrgId;
use crate::workshop::quotes::service::{self as quotes, QuoteFilter, QuoteStatus};

/// Most quotes the demo invoices.
const INVOICED: u64 = 12;

/// Invoices the organization's accepted quotes; returns how many invoices were made.
pub async fn seed(db: &DatabaseConnection, org: OrgId) -> AppResult<usize> {
    let actor = Actor::system(org);
    let filter = QuoteFilter { status: Some(QuoteStatus::Accepted), ..Default::default() };
    let accepted = quotes::list(db, org, &filter, PageRequest::first(INVOICED)).await?;
    let mut made = 0;
    for (i, quote) in accepted.items.iter().enumerate() {
        // Invoiced already (the demo run twice): left as it is.
        let Ok(draft) = invoices::from_quote(db, &actor, quote.id).await else { continue };
        made += 1;
        if i % 5 == 4 {
            continue; // a draft to check and issue
        }
        // An organization whose identity is incomplete keeps its drafts (issuing says what is missing).
        let Ok(issued) = invoices::issue(db, &actor, draft.id).await else { continue };
        let mobile = matches!(issued.currency.code(), "XOF" | "XAF" | "GNF");
        let method = match (i % 5, mobile) {
            (_, true) => PaymentMethod::MobileMoney,
            (0, false) => PaymentMethod::Card,
            (_, false) => PaymentMethod::Cash,
        };
        let amount = match i % 5 {
            0 | 1 => issued.balance_due,
            2 => part(issued.balance_due, issued.currency),
            _ => continue, // not paid yet
        };
        let input = PaymentInput {
            method: Some(method),
            provider: mobile.then(|| ["Orange Money", "Wave", "MTN MoMo"][i % 3].to_owned()),
            reference: mobile.then(|| format!("DEMO-{}-{i}", issued.id)),
            amount: Some(amount),
            ..Default::default()
        };
        payments::record(db, &actor, issued.id, &input).await?;
    }
    Ok(made)
}

/// About a third, rounded to the currency's unit: a deposit paid at the counter.
fn part(total: Decimal, currency: Currency) -> Decimal {
    (total / Decimal::from(3)).round_dp(currency.decimals()).max(Decimal::ONE)
}
