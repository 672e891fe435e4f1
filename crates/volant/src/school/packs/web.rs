//! The packs' pages: the catalogue (staff), selling a pack from a candidate's
//! file and cancelling a sale, and what a candidate bought, paid and owes as
//! their file and their portal show it.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::service::{self as packs, Account, CancelInput, Pack, PackInput, SaleInput};
use crate::billing::invoices::instalments::MAX_INSTALMENTS;
use crate::billing::invoices::model::{InvoiceKind, InvoiceStatus};
use crate::billing::invoices::web::{InstalmentView, schedule_views};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id, IdPair};
use crate::platform::i18n::{self, Msg};
use crate::platform::money::format_plain;
use crate::platform::web::{
    FormErrors, PageCtx, SelectOption, WebResult, id_options, redirect_with_flash, refusal_to_flash, unprocessable,
};
use crate::school::access::Viewer;
use crate::school::planning::service::format_duration;

/// The catalogue and the sales (staff).
pub fn routes() -> Routes {
    vec![
        ("/school/packs", get(catalogue).post(create)),
        ("/school/packs/{id}", get(edit_form).post(update)),
        ("/school/candidates/{id}/sales", post(sell)),
        ("/school/candidates/{id}/statement", post(statement)),
        ("/school/candidates/{id}/sales/{sale_id}/cancel", post(cancel)),
    ]
}

/// The candidate's own invoices (their portal).
pub fn portal_routes() -> Routes {
    vec![("/portal/invoices/{id}/pdf", get(portal_pdf))]
}

/// A pack as the catalogue lists it.
pub struct PackRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub hours: String,
    pub unit_price: String,
    pub vat_rate: String,
    pub price: String,
    pub active: bool,
}

fn pack_row(p: &Pack) -> PackRow {
    PackRow {
        id: p.id,
        name: p.name.clone(),
        description: p.description.clone().unwrap_or_default(),
        hours: format_duration(p.driving_minutes),
        unit_price: p.currency.format(p.unit_price),
        vat_rate: format!("{} %", format_plain(p.vat_rate)),
        price: p.currency.format(p.price_incl_tax),
        active: p.active,
    }
}

/// The pack form's fields as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PackForm {
    name: String,
    description: String,
    hours: String,
    /// Including tax, as the school displays it.
    price: String,
    vat_rate: String,
    active: Option<String>,
}

impl PackForm {
    fn of(p: &Pack) -> Self {
        Self {
            name: p.name.clone(),
            description: p.description.clone().unwrap_or_default(),
            hours: format_plain(Decimal::from(p.driving_minutes) / Decimal::from(60)),
            price: format_plain(p.price_incl_tax),
            vat_rate: format_plain(p.vat_rate),
            active: p.active.then(|| "on".to_owned()),
        }
    }

    fn to_input(&self) -> Result<PackInput, FormErrors> {
        let tr = i18n::current();
        let mut errors = FormErrors::default();
        let mut number = |field: &str, text: &str| -> Option<Decimal> {
            let text = text.trim().trim_end_matches('€').trim();
            if text.is_empty() {
                return None;
            }
            let parsed = crate::platform::lines::parse_decimal(text);
            if parsed.is_none() {
                errors.add(field, Msg::new("field.not_a_number").render(tr));
            }
            parsed
        };
        let hours = number("hours", &self.hours);
        let price = number("price", &self.price);
        let vat_rate = number("vat_rate", &self.vat_rate);
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(PackInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            // Past what minutes hold: out of range, refused beside the field.
            driving_minutes: hours.map(|h| crate::school::candidates::service::hours_to_minutes(h).unwrap_or(i32::MAX)),
            unit_price: None,
            // Refused as a missing price beside the field when empty.
            price_incl_tax: price,
            vat_rate,
            active: Some(self.active.is_some()),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "school/packs/list.html")]
struct CataloguePage {
    page: PageCtx,
    packs: Vec<PackRow>,
    form: PackForm,
    errors: FormErrors,
    /// Editing this pack (the form posts to it); none: a new one.
    editing: Option<i64>,
}

async fn catalogue_page(
    caller: &Caller,
    page: PageCtx,
    form: PackForm,
    errors: FormErrors,
    editing: Option<i64>,
) -> Result<CataloguePage, AppError> {
    let packs = packs::list(&caller.db, caller.org, false).await?.iter().map(pack_row).collect();
    Ok(CataloguePage { page, packs, form, errors, editing })
}

async fn catalogue(caller: Caller, page: PageCtx) -> WebResult<CataloguePage> {
    let form = PackForm { vat_rate: String::new(), active: Some("on".to_owned()), ..PackForm::default() };
    Ok(catalogue_page(&caller, page, form, FormErrors::default(), None).await?)
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<CataloguePage> {
    let pack = packs::get(&caller.db, caller.org, id).await?;
    Ok(catalogue_page(&caller, page, PackForm::of(&pack), FormErrors::default(), Some(id)).await?)
}

async fn save(caller: Caller, page: PageCtx, form: PackForm, id: Option<i64>) -> WebResult<Response> {
    let saved = match form.to_input() {
        Err(errors) => Err(errors),
        Ok(input) => {
            let result = match id {
                Some(id) => packs::update(&caller.db, &caller.actor, id, &input).await,
                None => packs::create(&caller.db, &caller.actor, &input).await,
            };
            match result {
                Ok(pack) => Ok(pack),
                // A refusal is shown beside its field; anything else is an error page.
                // The form takes the price including tax; the service names the unit price.
                Err(err) => Err(FormErrors::from_app_error(err)?.renamed("unit_price", "price")),
            }
        }
    };
    match saved {
        Ok(pack) => {
            let message = i18n::current().format("pack.saved", &[("name", &pack.name)]);
            Ok(redirect_with_flash("/school/packs", "success", &message))
        }
        Err(errors) => Ok(unprocessable(catalogue_page(&caller, page, form, errors, id).await?)),
    }
}

async fn create(caller: Caller, page: PageCtx, FormBody(form): FormBody<PackForm>) -> WebResult<Response> {
    save(caller, page, form, None).await
}

async fn update(caller: Caller, page: PageCtx, Id(id): Id, FormBody(form): FormBody<PackForm>) -> WebResult<Response> {
    packs::get(&caller.db, caller.org, id).await?;
    save(caller, page, form, Some(id)).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SaleForm {
    idempotency_key: String,
    pack_id: String,
    quantity: String,
    instalments: String,
    first_due_on: String,
}

/// Sells a pack from the candidate's file; the refusal is told there.
async fn sell(caller: Caller, Id(id): Id, FormBody(form): FormBody<SaleForm>) -> WebResult<Response> {
    super::api::may(&caller, Permission::BillingWrite)?;
    let back = format!("/school/candidates/{id}");
    let tr = i18n::current();
    let input = SaleInput {
        idempotency_key: Some(form.idempotency_key.trim().to_owned()).filter(|k| !k.is_empty()),
        pack_id: form.pack_id.trim().parse().ok(),
        // Not a number: refused as an invalid quantity.
        quantity: match form.quantity.trim() {
            "" => None,
            text => Some(crate::platform::lines::parse_decimal(text).unwrap_or(Decimal::NEGATIVE_ONE)),
        },
        instalments: form.instalments.trim().parse().ok().or(Some(0).filter(|_| !form.instalments.trim().is_empty())),
        first_due_on: form.first_due_on.trim().parse().ok(),
    };
    match packs::sell(&caller.db, &caller.cipher, &caller.actor, id, &input).await {
        Ok((sale, invoice)) => {
            let number = invoice.number.unwrap_or_default();
            let message = tr.format("pack.sold", &[("pack", &sale.label), ("number", &number)]);
            Ok(redirect_with_flash(&format!("{back}#account-title"), "success", &message))
        }
        Err(AppError::NotFound) => Err(AppError::NotFound.into()),
        Err(err) => refusal_to_flash(&format!("{back}#account-title"), err),
    }
}

/// Invoices the hours beyond those bought, lesson by lesson, from the candidate's file.
async fn statement(caller: Caller, Id(id): Id) -> WebResult<Response> {
    super::api::may(&caller, Permission::BillingWrite)?;
    let back = format!("/school/candidates/{id}#account-title");
    match packs::invoice_statement(&caller.db, &caller.cipher, &caller.actor, id).await {
        Ok((sale, invoice)) => {
            let number = invoice.number.unwrap_or_default();
            let message = i18n::current().format("pack.statement.done", &[("label", &sale.label), ("number", &number)]);
            Ok(redirect_with_flash(&back, "success", &message))
        }
        Err(AppError::NotFound) => Err(AppError::NotFound.into()),
        Err(err) => refusal_to_flash(&back, err),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CancelForm {
    reason: String,
}

async fn cancel(
    caller: Caller,
    IdPair(id, sale_id): IdPair,
    FormBody(form): FormBody<CancelForm>,
) -> WebResult<Response> {
    let back = format!("/school/candidates/{id}#account-title");
    let input = CancelInput { reason: Some(form.reason).filter(|r| !r.trim().is_empty()) };
    match packs::cancel(&caller.db, &caller.actor, id, sale_id, &input).await {
        Ok(sale) => {
            let message = i18n::current().format("pack.cancelled", &[("pack", &sale.label)]);
            Ok(redirect_with_flash(&back, "success", &message))
        }
        Err(AppError::NotFound) => Err(AppError::NotFound.into()),
        Err(err) => refusal_to_flash(&back, err),
    }
}

/// An invoice or credit note as a candidate's account lists it.
pub struct AccountInvoice {
    pub id: i64,
    pub number: String,
    pub credit_note: bool,
    pub issue_date: String,
    pub total: String,
    pub balance: String,
    /// A badge's class and its label.
    pub state: &'static str,
    pub state_label: String,
    pub schedule: Vec<InstalmentView>,
}

/// A sale as the candidate's file lists it.
pub struct SaleRow {
    pub id: i64,
    pub label: String,
    pub hours: String,
    pub sold_on: String,
    pub instalments: i32,
    pub invoice_id: Option<i64>,
    pub cancelled: bool,
}

/// What a candidate bought, paid and owes, formatted for their file and portal.
pub struct AccountView {
    pub bought: String,
    pub paid: String,
    pub due_now: String,
    pub balance: String,
    pub owes: bool,
    pub next: Option<String>,
    pub sales: Vec<SaleRow>,
    pub invoices: Vec<AccountInvoice>,
}

pub fn account_view(account: &Account, tr: &i18n::Tr) -> AccountView {
    let money = |amount: Decimal| account.currency.format(amount);
    let invoices = account
        .invoices
        .iter()
        .filter(|i| i.status == InvoiceStatus::Issued)
        .map(|i| {
            let credit_note = i.kind == InvoiceKind::CreditNote;
            let (state, state_label) = match credit_note {
                true => ("credit_note", tr.t(InvoiceKind::CreditNote.label_key()).to_owned()),
                false => (i.payment_state.as_str(), tr.t(i.payment_state.label_key()).to_owned()),
            };
            AccountInvoice {
                id: i.id,
                number: i.number.clone().unwrap_or_default(),
                credit_note,
                issue_date: i.issue_date.map(i18n::date).unwrap_or_default(),
                total: money(i.totals.incl_tax),
                balance: money(i.balance_due),
                state,
                state_label,
                schedule: schedule_views(i, tr),
            }
        })
        .collect();
    let sales = account
        .sales
        .iter()
        .map(|s| SaleRow {
            id: s.id,
            label: s.label.clone(),
            hours: format_duration(s.minutes),
            sold_on: i18n::date(s.sold_on),
            instalments: s.instalments,
            invoice_id: s.invoice_id,
            cancelled: s.cancelled_at.is_some(),
        })
        .collect();
    AccountView {
        bought: money(account.bought),
        paid: money(account.paid),
        due_now: money(account.due_now),
        balance: money(account.balance),
        owes: account.balance > Decimal::ZERO,
        next: account.next_instalment.as_ref().map(|n| {
            tr.0.format("pack.next_instalment", &[("amount", &money(n.amount)), ("date", &i18n::date(n.due_on))])
        }),
        sales,
        invoices,
    }
}

/// The sale form's choices: the packs on sale, and 1 to 12 instalments.
pub struct SaleChoices {
    pub packs: Vec<SelectOption>,
    pub instalments: Vec<u32>,
    pub today: String,
    /// The quantity proposed: 1, or the hours done beyond those bought.
    pub quantity: String,
    /// Hours done beyond those bought ("1 h 30"), to invoice; empty when none.
    pub overrun: String,
    /// This form's own key: sent twice (a double click), it sells once.
    pub key: String,
}

/// The sale form; `overrun_minutes` done beyond those bought propose a
/// one-hour pack (if the school sells one) in that quantity.
pub async fn sale_choices(caller: &Caller, overrun_minutes: i32) -> Result<SaleChoices, AppError> {
    let on_sale = packs::list(&caller.db, caller.org, true).await?;
    let hourly = on_sale.iter().find(|p| p.driving_minutes == 60).map(|p| p.id).filter(|_| overrun_minutes > 0);
    let quantity = match hourly {
        Some(_) => format_plain((Decimal::from(overrun_minutes) / Decimal::from(60)).round_dp(2)),
        None => "1".to_owned(),
    };
    let tr = i18n::current();
    let rows = on_sale.iter().map(|p| {
        let label = tr.format(
            "pack.option",
            &[
                ("name", &p.name),
                ("hours", &format_duration(p.driving_minutes)),
                ("price", &p.currency.format(p.price_incl_tax)),
            ],
        );
        (p.id, label)
    });
    Ok(SaleChoices {
        packs: id_options(None, hourly, rows),
        instalments: (1..=MAX_INSTALMENTS).collect(),
        today: crate::identity::organizations::service::today(&caller.db, caller.org).await?.to_string(),
        quantity,
        overrun: if overrun_minutes > 0 { format_duration(overrun_minutes) } else { String::new() },
        key: crate::platform::secrets::random_token(16)?,
    })
}

/// A candidate's own invoice or credit note (404 for anyone else's).
async fn portal_pdf(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let Viewer::Candidate(candidate_id) = Viewer::of(&caller.db, &caller.current).await? else {
        return Err(AppError::NotFound.into());
    };
    let invoice = crate::billing::invoices::service::get(&caller.db, caller.org, id).await?;
    let own = invoice.buyer.kind == crate::billing::invoices::model::CustomerKind::Candidate
        && invoice.buyer.id == candidate_id
        && invoice.status == InvoiceStatus::Issued;
    if !own {
        return Err(AppError::NotFound.into());
    }
    let (name, bytes) = crate::billing::invoices::pdf::pdf(&caller.db, caller.org, id).await?;
    Ok(crate::platform::http::respond::pdf_response(&name, bytes, false))
}
