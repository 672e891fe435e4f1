//! Invoice pages (French UI): the list with what is still due, an invoice with
//! its lines, payments and actions (issue, record a payment at the counter, credit
//! note, PDF), invoicing an accepted quote or completed work in one click, and the
//! billing settings.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::model::PaymentState;
use super::payments;
use super::service::{
    self, BillingSettingsInput, CreditInput, CustomerKind, Due, Invoice, InvoiceFilter, InvoiceKind, InvoiceStatus,
    InvoiceSummary, PaymentInput, PaymentKind, PaymentMethod, SourceKind,
};
use crate::identity::Caller;
use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::roles::Permission;
use crate::platform::error::AppError;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::lines::parse_decimal;
use crate::platform::money::{format_money, format_plain};
use crate::platform::web::{
    FormErrors, Listing, PageCtx, SelectOption, WebResult, options, redirect_with_flash, refusal_to_flash,
};

/// Every billing page, each behind the permission its use needs.
pub fn pages() -> Vec<Page> {
    let mut pages = web_pages::pages(
        Access::guarded(Permission::BillingRead, Permission::BillingWrite),
        [
            ("/invoices", get(index).post(super::editor::create)),
            ("/invoices/{id}", get(show)),
            ("/invoices/{id}/pdf", get(pdf)),
            ("/invoices/{id}/issue", post(issue)),
            ("/invoices/{id}/email", post(email)),
            ("/invoices/{id}/remind", post(remind)),
            ("/invoices/{id}/credit", post(credit)),
            ("/invoices/{id}/delete", post(delete)),
            ("/quotes/{id}/invoice", post(from_quote)),
            ("/quotes/{id}/deposits", get(quote_deposits).post(ask_deposit)),
            ("/interventions/{id}/invoice", post(from_intervention)),
        ],
    );
    pages.extend(web_pages::pages(
        Access::guarded(Permission::BillingRead, Permission::PaymentsRecord),
        [
            ("/invoices/{id}/payments", post(record_payment)),
            ("/invoices/{id}/payment-link", post(payment_link)),
            ("/payments/daily", get(cash)),
            // The accountant's files, downloaded from the invoices page (session cookie).
            ("/billing/fec", get(super::api::fec_export)),
            ("/billing/exports/sales.csv", get(super::api::sales_csv)),
            ("/billing/exports/sales.xlsx", get(super::api::sales_xlsx)),
            ("/billing/exports/payments.csv", get(super::api::payments_csv)),
            ("/billing/exports/payments.xlsx", get(super::api::payments_xlsx)),
        ],
    ));
    pages.extend(web_pages::pages(
        Access::guarded(Permission::BillingWrite, Permission::BillingWrite),
        [
            ("/billing/settings", get(settings_form).post(save_settings)),
            // Typed by hand, or a draft changed (the form needs the right to write).
            ("/invoices/new", get(super::editor::new_form)),
            ("/invoices/{id}/edit", get(super::editor::edit_form).post(super::editor::update)),
        ],
    ));
    pages
}

/// The billing figures as pages show them (the invoices page, the dashboard).
#[derive(Debug, Clone)]
pub struct Figures {
    pub invoiced: String,
    pub collected: String,
    pub outstanding: String,
    pub overdue: String,
    pub overdue_count: i64,
    /// "—" before any invoice was paid.
    pub days_to_pay: String,
}

impl Figures {
    pub fn of(s: &service::BillingSummary) -> Self {
        Self {
            invoiced: s.currency.format(s.invoiced_this_month),
            collected: s.currency.format(s.collected_this_month),
            outstanding: s.currency.format(s.outstanding),
            overdue: s.currency.format(s.overdue),
            overdue_count: s.overdue_count,
            days_to_pay: s.average_days_to_pay.map_or_else(|| "—".to_owned(), |d| d.to_string()),
        }
    }
}

/// An invoice as the list shows it.
#[derive(Debug, Clone)]
pub struct InvoiceRow {
    pub id: i64,
    pub label: String,
    pub kind: &'static str,
    pub buyer: String,
    pub customer_href: String,
    pub issue_date: String,
    pub due_date: String,
    pub total_incl: String,
    pub balance: String,
    pub state: &'static str,
    pub state_label: String,
    pub overdue: bool,
    pub deposit: bool,
}

/// What an invoice is called before it has a number: "Brouillon #12".
fn label_of(number: Option<&str>, id: i64) -> String {
    match number {
        Some(number) => number.to_owned(),
        None => format!("{} #{id}", i18n::current().text(InvoiceStatus::Draft.label_key())),
    }
}

fn row(s: InvoiceSummary) -> InvoiceRow {
    let tr = i18n::current();
    let (state, state_label) = match (s.status, s.kind) {
        (InvoiceStatus::Draft, _) => ("draft", tr.text(InvoiceStatus::Draft.label_key()).to_owned()),
        (_, InvoiceKind::CreditNote) => ("credit_note", tr.text(InvoiceKind::CreditNote.label_key()).to_owned()),
        _ => (s.payment_state.as_str(), tr.text(s.payment_state.label_key()).to_owned()),
    };
    InvoiceRow {
        id: s.id,
        label: label_of(s.number.as_deref(), s.id),
        kind: s.kind.as_str(),
        buyer: s.buyer_name,
        customer_href: s.customer_kind.page(s.customer_id),
        deposit: s.is_deposit,
        issue_date: s.issue_date.map(i18n::date).unwrap_or_default(),
        due_date: s.due_date.filter(|_| s.kind == InvoiceKind::Invoice).map(i18n::date).unwrap_or_default(),
        total_incl: s.currency.format(s.total_incl_tax),
        balance: if s.payment_state == PaymentState::NotDue { String::new() } else { s.currency.format(s.balance_due) },
        state,
        state_label,
        overdue: s.overdue,
    }
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    /// `unpaid`, `overdue`, `draft` or `issued`.
    view: Option<String>,
    q: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing/invoices/list.html")]
struct ListPage {
    page: PageCtx,
    figures: Figures,
    q: String,
    views: Vec<SelectOption>,
    invoices: Vec<InvoiceRow>,
    next_url: Option<String>,
    previous_url: Option<String>,
    total: String,
}

async fn index(
    caller: Caller,
    page: PageCtx,
    ApiQuery(query): ApiQuery<ListQuery>,
    listing: Listing,
) -> WebResult<ListPage> {
    let view = query.view.as_deref().unwrap_or_default();
    let due = match view {
        "unpaid" => Some(Due::Unpaid),
        "overdue" => Some(Due::Overdue),
        _ => None,
    };
    let status = InvoiceStatus::parse(view);
    let filter = InvoiceFilter { status, due, q: query.q.clone(), ..Default::default() };
    let found = service::list(&caller.db, caller.org, &filter, &listing.request).await?;
    let next_url = listing.next_url(found.next_cursor.as_deref());
    let filtered = due.is_some() || status.is_some() || query.q.as_deref().is_some_and(|q| !q.trim().is_empty());
    let total = if filtered {
        Listing::matching_of(service::count(&caller.db, caller.org, &filter).await?)
    } else {
        listing.total::<super::entity::invoice::Entity>(&caller.db, caller.org).await?
    };
    let views = options(
        Some(page.tr.t("invoices.all")),
        view,
        [
            ("unpaid", "invoices.view.unpaid"),
            ("overdue", "invoices.view.overdue"),
            ("draft", "invoices.view.drafts"),
            ("issued", "invoices.view.issued"),
        ]
        .into_iter()
        .map(|(value, key)| (value.to_owned(), page.tr.t(key).to_owned())),
    );
    let previous_url = listing.previous_url();
    let invoices = found.items.into_iter().map(row).collect();
    let figures = Figures::of(&service::summary_figures(&caller.db, caller.org).await?);
    Ok(ListPage { page, figures, q: query.q.unwrap_or_default(), views, invoices, next_url, previous_url, total })
}

/// A line as the invoice page shows it.
#[derive(Debug, Clone)]
pub struct LineView {
    pub kind: String,
    pub description: String,
    pub quantity: String,
    pub unit: String,
    pub unit_price: String,
    pub discount: String,
    pub vat_rate: String,
    pub total: String,
}

/// A payment as the invoice page shows it.
#[derive(Debug, Clone)]
pub struct PaymentView {
    pub received_on: String,
    pub refund: bool,
    pub method: String,
    pub reference: String,
    pub amount: String,
}

/// An instalment as pages show it (the invoice's page, a candidate's file and portal).
#[derive(Debug, Clone)]
pub struct InstalmentView {
    pub position: i32,
    pub due_on: String,
    pub amount: String,
    pub outstanding: String,
    /// `paid`, `partly_paid`, `due` or `upcoming` (a badge's class).
    pub state: &'static str,
    pub state_label: String,
    /// Who pays it when not the buyer (a funder), shown beside its due day.
    pub payer: Option<String>,
}

/// An invoice's schedule, formatted.
pub fn schedule_views(invoice: &Invoice, tr: &i18n::Tr) -> Vec<InstalmentView> {
    invoice
        .instalments
        .iter()
        .map(|i| InstalmentView {
            position: i.position,
            due_on: i18n::date(i.due_on),
            amount: invoice.currency.format(i.amount),
            outstanding: invoice.currency.format(i.outstanding),
            state: i.state.as_str(),
            state_label: tr.t(i.state.label_key()).to_owned(),
            payer: i.payer.clone(),
        })
        .collect()
}

#[derive(Template, WebTemplate)]
#[template(path = "billing/invoices/show.html")]
struct ShowPage {
    page: PageCtx,
    invoice: Invoice,
    label: String,
    title: String,
    state: &'static str,
    state_label: String,
    issue_date: String,
    service_date: String,
    due_date: String,
    sent_at: String,
    lines: Vec<LineView>,
    vat: Vec<(String, String, String)>,
    total_excl: String,
    total_vat: String,
    total_incl: String,
    paid: String,
    credited: String,
    balance: String,
    payments: Vec<PaymentView>,
    methods: Vec<SelectOption>,
    /// The payment form's amount: what is due now.
    amount: String,
    schedule: Vec<InstalmentView>,
    /// Whether a payment provider is configured (else the page says so).
    online: bool,
    /// Payment links asked: (when, amount, page, paid).
    links: Vec<(String, String, String, bool)>,
    today: String,
    /// A deposit invoice: "Acompte de 30 % sur le devis".
    deposit_label: String,
    /// The reminders e-mailed: "04/12/2026 14:05 · 7 jours après l'échéance".
    reminders: Vec<String>,
    /// The customer's page of an issued invoice ("" for a draft).
    customer_link: String,
}

async fn show(
    caller: Caller,
    page: PageCtx,
    client: crate::platform::proxy::ClientContext,
    Id(id): Id,
) -> WebResult<ShowPage> {
    let invoice = service::get(&caller.db, caller.org, id).await?;
    let customer_link = match invoice.status {
        InvoiceStatus::Issued => super::share::url(&caller.db, &client.public_url(&caller.config), id).await?,
        InvoiceStatus::Draft => String::new(),
    };
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let tr = page.tr;
    let money = |amount: Decimal| invoice.currency.format(amount);
    let decimals = invoice.decimals();
    let lines = invoice
        .lines
        .iter()
        .map(|l| LineView {
            kind: tr.t(l.kind.label_key()).to_owned(),
            description: l.description.clone(),
            quantity: format_plain(l.quantity),
            unit: l.unit.clone().unwrap_or_default(),
            unit_price: format_money(l.unit_price, decimals.max(l.unit_price.scale().min(4)), invoice.currency.code()),
            discount: if l.discount.is_zero() { String::new() } else { format!("{} %", format_plain(l.discount)) },
            vat_rate: format!("{} %", format_plain(l.vat_rate)),
            total: money(l.total_excl_tax),
        })
        .collect();
    let vat = invoice
        .totals
        .vat
        .iter()
        .map(|v| (format!("{} %", format_plain(v.rate)), money(v.base), money(v.vat)))
        .collect();
    let payments = invoice
        .payments
        .iter()
        .map(|p| PaymentView {
            received_on: i18n::date(p.received_on),
            refund: p.kind == PaymentKind::Refund,
            method: match &p.provider {
                Some(provider) => format!("{} · {provider}", tr.t(p.method.label_key())),
                None => tr.t(p.method.label_key()).to_owned(),
            },
            reference: p.reference.clone().unwrap_or_default(),
            amount: money(p.amount),
        })
        .collect();
    let methods = options(
        None,
        PaymentMethod::Card.as_str(),
        PaymentMethod::ALL.into_iter().map(|m| (m.as_str().to_owned(), tr.t(m.label_key()).to_owned())),
    );
    let (state, state_label) = match (invoice.status, invoice.kind) {
        (InvoiceStatus::Draft, _) => ("draft", tr.t(InvoiceStatus::Draft.label_key()).to_owned()),
        (_, InvoiceKind::CreditNote) => ("credit_note", tr.t(InvoiceKind::CreditNote.label_key()).to_owned()),
        _ => (invoice.payment_state.as_str(), tr.t(invoice.payment_state.label_key()).to_owned()),
    };
    let suggested = invoice.suggested_payment(today);
    let amount = if suggested > Decimal::ZERO { format_plain(suggested) } else { String::new() };
    let schedule = schedule_views(&invoice, &tr);
    let links = super::provider::requests_of(&caller.db, caller.org, id)
        .await?
        .into_iter()
        .map(|r| (i18n::local_date_time(r.created_at), r.currency.format(r.amount), r.url, r.status == "paid"))
        .collect();
    let deposit_label = invoice
        .deposit
        .as_ref()
        .map(|d| tr.f("invoice.deposit.of_quote", "percent", &format_plain(d.percent)))
        .unwrap_or_default();
    let reminders = super::reminders::sent_for(&caller.db, id)
        .await?
        .into_iter()
        .map(|(when, late)| {
            let lateness = match late {
                0 => tr.t("invoice.reminder.on_due").to_owned(),
                late if late > 0 => tr.f("invoice.reminder.after_due", "days", &late.to_string()),
                late => tr.f("invoice.reminder.before_due", "days", &(-late).to_string()),
            };
            format!("{} · {lateness}", i18n::local_date_time(when))
        })
        .collect();
    Ok(ShowPage {
        customer_link,
        reminders,
        deposit_label,
        online: caller.config.payments.configured(),
        links,
        label: label_of(invoice.number.as_deref(), invoice.id),
        title: match invoice.deposit {
            Some(_) => tr.t("invoice.kind.deposit").to_owned(),
            None => tr.t(invoice.kind.label_key()).to_owned(),
        },
        state,
        state_label,
        issue_date: invoice.issue_date.map(i18n::date).unwrap_or_default(),
        service_date: invoice.service_date.map(i18n::date).unwrap_or_default(),
        due_date: invoice.due_date.map(i18n::date).unwrap_or_default(),
        sent_at: invoice.sent_at.map(i18n::local_date_time).unwrap_or_default(),
        lines,
        vat,
        total_excl: money(invoice.totals.excl_tax),
        total_vat: money(invoice.totals.vat_total),
        total_incl: money(invoice.totals.incl_tax),
        paid: money(invoice.paid),
        credited: money(invoice.credited),
        balance: money(invoice.balance_due),
        payments,
        methods,
        amount,
        schedule,
        today: today.to_string(),
        page,
        invoice,
    })
}

async fn pdf(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let (name, bytes) = super::pdf::pdf(&caller.db, caller.org, id).await?;
    Ok(crate::platform::http::respond::pdf_response(&name, bytes, false))
}

async fn issue(caller: Caller, Id(id): Id) -> WebResult<Response> {
    match service::issue(&caller.db, &caller.actor, id).await {
        Ok(invoice) => {
            let number = invoice.number.unwrap_or_default();
            let message = i18n::current().format("invoices.issued", &[("number", &number)]);
            Ok(redirect_with_flash(&format!("/invoices/{id}"), "success", &message))
        }
        Err(err) => refusal_to_flash(&format!("/invoices/{id}"), err),
    }
}

async fn email(caller: Caller, client: crate::platform::proxy::ClientContext, Id(id): Id) -> WebResult<Response> {
    let public_url = client.public_url(&caller.config);
    match super::sending::email(&caller.db, &caller.actor, id, &public_url).await {
        Ok((invoice, _)) => {
            // Without an SMTP server the e-mail is only saved: said, not hidden.
            let delivers =
                crate::notify::mail_settings::delivers_email(&caller.db, &caller.config.notify, caller.org).await?;
            let (key, kind) =
                if delivers { ("invoices.emailed", "success") } else { ("invoices.emailed_saved", "warning") };
            let number = invoice.number.unwrap_or_default();
            let message = i18n::current()
                .format(key, &[("number", &number), ("email", invoice.buyer.email.as_deref().unwrap_or_default())]);
            Ok(redirect_with_flash(&format!("/invoices/{id}"), kind, &message))
        }
        Err(err) => refusal_to_flash(&format!("/invoices/{id}"), err),
    }
}

/// Reminds the buyer now, and says whether the e-mail will leave.
async fn remind(caller: Caller, client: crate::platform::proxy::ClientContext, Id(id): Id) -> WebResult<Response> {
    let back = format!("/invoices/{id}");
    let public_url = client.public_url(&caller.config);
    match super::reminders::remind_now(&caller.db, &caller.actor, id, &public_url).await {
        Ok(_) => {
            let invoice = service::get(&caller.db, caller.org, id).await?;
            let delivers =
                crate::notify::mail_settings::delivers_email(&caller.db, &caller.config.notify, caller.org).await?;
            let (key, kind) =
                if delivers { ("invoices.reminded", "success") } else { ("invoices.reminded_saved", "warning") };
            let message = i18n::current().format(key, &[("email", invoice.buyer.email.as_deref().unwrap_or_default())]);
            Ok(redirect_with_flash(&back, kind, &message))
        }
        Err(err) => refusal_to_flash(&back, err),
    }
}

#[derive(Debug, Deserialize)]
struct CreditForm {
    reason: Option<String>,
}

async fn credit(caller: Caller, Id(id): Id, FormBody(form): FormBody<CreditForm>) -> WebResult<Response> {
    let input = CreditInput { reason: form.reason.filter(|r| !r.trim().is_empty()) };
    match service::credit(&caller.db, &caller.actor, id, &input).await {
        Ok(note) => {
            let number = note.number.unwrap_or_default();
            let message = i18n::current().format("invoices.credited", &[("number", &number)]);
            Ok(redirect_with_flash(&format!("/invoices/{}", note.id), "success", &message))
        }
        Err(err) => refusal_to_flash(&format!("/invoices/{id}"), err),
    }
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    match service::delete(&caller.db, &caller.actor, id).await {
        Ok(()) => Ok(redirect_with_flash("/invoices", "success", i18n::current().text("invoices.deleted"))),
        Err(err) => refusal_to_flash(&format!("/invoices/{id}"), err),
    }
}

async fn from_quote(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let made = service::from_quote(&caller.db, &caller.actor, id).await;
    drafted(&caller, made, SourceKind::Quote, id, format!("/quotes/{id}")).await
}

/// A quote's deposits as its page lists them (loaded into it).
#[derive(Template, WebTemplate)]
#[template(path = "billing/invoices/_quote_deposits.html")]
struct QuoteDeposits {
    page: PageCtx,
    quote_id: i64,
    deposits: Vec<DepositRow>,
    /// The quote's invoice once made (id, "FAC-…" or "brouillon #12"): nothing more to ask then.
    invoiced: Option<(i64, String)>,
}

struct DepositRow {
    id: i64,
    number: String,
    issue_date: String,
    percent: String,
    total: String,
    state: PaymentState,
    credited: bool,
    /// The invoice deducting it: (id, "la facture FAC-…" or "le brouillon #12").
    deducted_in: Option<(i64, String)>,
}

/// What an invoice is called in a sentence: "la facture FAC-…", or "le brouillon #12".
fn invoice_named(tr: &i18n::Tr, invoice: &Invoice) -> String {
    match &invoice.number {
        Some(number) => tr.f("invoice.named", "number", number),
        None => tr.f("invoice.named_draft", "id", &invoice.id.to_string()),
    }
}

/// The quote page's invoicing: its deposits, and what may still be asked (a
/// deposit, the final invoice), or the invoice it already has.
async fn quote_deposits(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<QuoteDeposits> {
    crate::workshop::quotes::service::get(&caller.db, caller.org, id).await?;
    let tr = page.tr;
    let invoiced = match service::find_by_source(&caller.db, caller.org, SourceKind::Quote, id).await? {
        Some(invoice_id) => {
            Some((invoice_id, invoice_named(&tr, &service::get(&caller.db, caller.org, invoice_id).await?)))
        }
        None => None,
    };
    let mut deposits = Vec::new();
    // The quote's deposits are all deducted by its one final invoice: read once.
    let mut finals: std::collections::HashMap<i64, String> = std::collections::HashMap::new();
    for invoice in service::deposits_of_quote(&caller.db, caller.org, id).await? {
        let Some(deposit) = invoice.deposit.clone() else { continue };
        let deducted_in = match deposit.deducted_in_invoice_id {
            Some(final_id) => {
                if let std::collections::hash_map::Entry::Vacant(slot) = finals.entry(final_id) {
                    slot.insert(invoice_named(&tr, &service::get(&caller.db, caller.org, final_id).await?));
                }
                finals.get(&final_id).map(|label| (final_id, label.clone()))
            }
            None => None,
        };
        deposits.push(DepositRow {
            id: invoice.id,
            number: invoice.number.clone().unwrap_or_default(),
            issue_date: invoice.issue_date.map(i18n::date).unwrap_or_default(),
            percent: format_plain(deposit.percent),
            total: format_money(invoice.totals.incl_tax, invoice.decimals(), invoice.currency.code()),
            state: invoice.payment_state,
            credited: !invoice.credit_note_ids.is_empty(),
            deducted_in,
        });
    }
    Ok(QuoteDeposits { page, quote_id: id, deposits, invoiced })
}

#[derive(Debug, Deserialize)]
struct DepositForm {
    percent: String,
}

/// Invoices a deposit of the quote and shows it.
async fn ask_deposit(caller: Caller, Id(id): Id, FormBody(form): FormBody<DepositForm>) -> WebResult<Response> {
    let back = format!("/quotes/{id}");
    let input = service::DepositInput { percent: parse_decimal(&form.percent) };
    if input.percent.is_none() {
        return refusal_to_flash(&back, AppError::validation("percent", Msg::new("invoice.deposit.percent_invalid")));
    }
    match service::deposit(&caller.db, &caller.actor, id, &input).await {
        Ok(invoice) => {
            let number = invoice.number.unwrap_or_default();
            let message = i18n::current().format("invoices.deposit_issued", &[("number", &number)]);
            Ok(redirect_with_flash(&format!("/invoices/{}", invoice.id), "success", &message))
        }
        Err(err) => refusal_to_flash(&back, err),
    }
}

async fn from_intervention(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let made = service::from_intervention(&caller.db, &caller.actor, id).await;
    let work = crate::workshop::history::service::get(&caller.db, caller.org, id).await.ok();
    let back =
        work.as_ref().map_or_else(|| "/invoices".to_owned(), |w| format!("/vehicles/{}/maintenance", w.vehicle_id));
    // Work carried out from a quote is invoiced as that quote.
    let (kind, source) = match work.and_then(|w| w.quote_id) {
        Some(quote_id) => (SourceKind::Quote, quote_id),
        None => (SourceKind::Intervention, id),
    };
    drafted(&caller, made, kind, source, back).await
}

/// The new draft's page; when the quote or the work already has its invoice, that
/// invoice's page (a second click finds the first one); any other refusal, back.
async fn drafted(
    caller: &Caller,
    made: Result<Invoice, AppError>,
    kind: SourceKind,
    source_id: i64,
    back: String,
) -> WebResult<Response> {
    let tr = i18n::current();
    match made {
        Ok(invoice) => {
            Ok(redirect_with_flash(&format!("/invoices/{}", invoice.id), "success", tr.text("invoices.drafted")))
        }
        Err(AppError::Conflict { code: "already_invoiced", .. }) => {
            match service::find_by_source(&caller.db, caller.org, kind, source_id).await? {
                Some(existing) => Ok(redirect_with_flash(
                    &format!("/invoices/{existing}"),
                    "warning",
                    tr.text("invoice.already_invoiced"),
                )),
                None => refusal_to_flash(
                    &back,
                    AppError::conflict("already_invoiced", Msg::new("invoice.already_invoiced")),
                ),
            }
        }
        Err(err) => refusal_to_flash(&back, err),
    }
}

#[derive(Debug, Deserialize)]
struct PaymentForm {
    kind: Option<String>,
    method: String,
    provider: Option<String>,
    reference: Option<String>,
    amount: String,
    received_on: Option<String>,
}

/// E-mails the buyer a link to pay what is due now online.
async fn payment_link(
    caller: Caller,
    client: crate::platform::proxy::ClientContext,
    Id(id): Id,
) -> WebResult<Response> {
    let back = format!("/invoices/{id}");
    let provider = super::provider::provider(&caller.config.payments)?;
    let provider = provider.as_ref().map(|p| p as &dyn super::provider::PaymentProvider);
    let public_url = client.public_url(&caller.config);
    match super::provider::request_link(&caller.db, &caller.actor, provider, &public_url, id).await {
        Ok(request) => {
            let message =
                i18n::current().format("payment_link.sent", &[("amount", &request.currency.format(request.amount))]);
            Ok(redirect_with_flash(&back, "success", &message))
        }
        Err(err) => refusal_to_flash(&back, err),
    }
}

async fn record_payment(caller: Caller, Id(id): Id, FormBody(form): FormBody<PaymentForm>) -> WebResult<Response> {
    let back = format!("/invoices/{id}");
    let amount = parse_decimal(&form.amount);
    let received_on = match form.received_on.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(raw) => match chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(day) => Some(day),
            Err(_) => {
                return refusal_to_flash(&back, AppError::validation("received_on", Msg::new("field.date_invalid")));
            }
        },
    };
    let input = PaymentInput {
        kind: form.kind.as_deref().and_then(PaymentKind::parse),
        method: PaymentMethod::parse(&form.method),
        provider: form.provider.filter(|p| !p.trim().is_empty()),
        reference: form.reference.filter(|r| !r.trim().is_empty()),
        amount: if form.amount.trim().is_empty() { None } else { Some(amount.unwrap_or(Decimal::NEGATIVE_ONE)) },
        received_on,
        note: None,
    };
    match payments::record(&caller.db, &caller.actor, id, &input).await {
        Ok(invoice) => {
            let tr = i18n::current();
            let key = if input.kind == Some(PaymentKind::Refund) { "invoices.refunded" } else { "invoices.paid" };
            let message = tr.format(key, &[("balance", &invoice.currency.format(invoice.balance_due))]);
            Ok(redirect_with_flash(&back, "success", &message))
        }
        Err(err) => refusal_to_flash(&back, err),
    }
}

#[derive(Debug, Default, Deserialize)]
struct CashQuery {
    day: Option<String>,
    garage_id: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "billing/invoices/cash.html")]
struct CashPage {
    page: PageCtx,
    day: String,
    day_label: String,
    methods: Vec<(String, String, String, String, u64)>,
    /// (garage, count, net)
    garages: Vec<(String, u64, String)>,
    garage_options: Vec<SelectOption>,
    /// The chosen garage's name ("" for all).
    garage_name: String,
    /// The day's payments as the accountant's files (CSV, XLSX).
    export_query: String,
    /// The total row: operations, received, refunded.
    total: (u64, String, String),
    net: String,
}

async fn cash(caller: Caller, page: PageCtx, ApiQuery(query): ApiQuery<CashQuery>) -> WebResult<CashPage> {
    let day = match query.day.as_deref().and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()) {
        Some(day) => day,
        None => crate::identity::organizations::service::today(&caller.db, caller.org).await?,
    };
    let choices = crate::fleet::garages::service::choices(&caller.db, caller.org).await?;
    let chosen = query.garage_id.as_deref().and_then(|g| g.trim().parse::<i64>().ok());
    let garage = chosen.filter(|id| choices.iter().any(|(g, _)| g == id));
    let report = payments::cash_report(&caller.db, caller.org, day, garage).await?;
    let money = |amount: Decimal| report.currency.format(amount);
    let methods = report
        .methods
        .iter()
        .map(|m| {
            (page.tr.t(m.method.label_key()).to_owned(), money(m.received), money(m.refunded), money(m.net), m.count)
        })
        .collect();
    let garages = report
        .garages
        .iter()
        .map(|g| (g.garage.clone().unwrap_or_else(|| page.tr.t("cash.no_garage").to_owned()), g.count, money(g.net)))
        .collect();
    let selected = garage.map(|g| g.to_string()).unwrap_or_default();
    let garage_name =
        choices.iter().find(|(id, _)| Some(*id) == garage).map(|(_, name)| name.clone()).unwrap_or_default();
    let garage_options = options(
        Some(page.tr.t("cash.all_garages")),
        &selected,
        choices.into_iter().map(|(id, name)| (id.to_string(), name)),
    );
    let export_query = match garage {
        Some(g) => format!("from={day}&to={day}&garage_id={g}"),
        None => format!("from={day}&to={day}"),
    };
    let total = (
        report.methods.iter().map(|m| m.count).sum(),
        money(report.methods.iter().map(|m| m.received).sum()),
        money(report.methods.iter().map(|m| m.refunded).sum()),
    );
    Ok(CashPage {
        total,
        day: day.to_string(),
        day_label: i18n::date(day),
        methods,
        garages,
        garage_options,
        garage_name,
        export_query,
        net: money(report.net),
        page,
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "billing/invoices/settings.html")]
struct SettingsPage {
    page: PageCtx,
    form: SettingsForm,
    errors: FormErrors,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SettingsForm {
    #[serde(default)]
    invoice_number_format: String,
    #[serde(default)]
    credit_note_number_format: String,
    #[serde(default)]
    payment_terms_days: String,
    #[serde(default)]
    payment_terms: String,
    #[serde(default)]
    late_penalty_rate: String,
    #[serde(default)]
    vat_exempt: Option<String>,
    #[serde(default)]
    mentions: String,
    #[serde(default)]
    reminder_days: String,
    #[serde(default, rename = "accounts.sales")]
    sales_account: String,
    #[serde(default, rename = "accounts.vat")]
    vat_account: String,
    #[serde(default, rename = "accounts.customers")]
    customer_account: String,
    #[serde(default, rename = "accounts.bank")]
    bank_account: String,
    #[serde(default, rename = "accounts.cash")]
    cash_account: String,
}

async fn settings_form(caller: Caller, page: PageCtx) -> WebResult<SettingsPage> {
    let s = service::settings(&caller.db, caller.org).await?;
    let form = SettingsForm {
        invoice_number_format: s.invoice_number_format,
        credit_note_number_format: s.credit_note_number_format,
        payment_terms_days: s.payment_terms_days.to_string(),
        payment_terms: s.payment_terms.unwrap_or_default(),
        late_penalty_rate: format_plain(s.late_penalty_rate),
        vat_exempt: s.vat_exempt.then(|| "on".to_owned()),
        mentions: s.mentions.unwrap_or_default(),
        reminder_days: s.reminder_days.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        sales_account: s.accounts.sales,
        vat_account: s.accounts.vat,
        customer_account: s.accounts.customers,
        bank_account: s.accounts.bank,
        cash_account: s.accounts.cash,
    };
    Ok(SettingsPage { page, form, errors: FormErrors::default() })
}

async fn save_settings(caller: Caller, page: PageCtx, FormBody(form): FormBody<SettingsForm>) -> WebResult<Response> {
    use axum::response::IntoResponse;
    let days = form.payment_terms_days.trim().parse::<i32>().ok();
    let input = BillingSettingsInput {
        invoice_number_format: Some(form.invoice_number_format.clone()),
        credit_note_number_format: Some(form.credit_note_number_format.clone()),
        // An unreadable number of days is refused by the range check.
        payment_terms_days: Some(days.unwrap_or(-1)),
        payment_terms: Some(form.payment_terms.clone()),
        late_penalty_rate: Some(parse_decimal(&form.late_penalty_rate).unwrap_or(Decimal::NEGATIVE_ONE)),
        vat_exempt: Some(form.vat_exempt.is_some()),
        mentions: Some(form.mentions.clone()),
        // "0, 7, 30"; a word that is not a number is refused by the range check.
        reminder_days: Some(
            form.reminder_days
                .split([',', ' ', ';'])
                .filter(|d| !d.trim().is_empty())
                .map(|d| d.trim().parse().unwrap_or(-1))
                .collect(),
        ),
        accounts: Some(super::settings::Accounts {
            sales: form.sales_account.trim().to_owned(),
            vat: form.vat_account.trim().to_owned(),
            customers: form.customer_account.trim().to_owned(),
            bank: form.bank_account.trim().to_owned(),
            cash: form.cash_account.trim().to_owned(),
        }),
    };
    match service::update_settings(&caller.db, &caller.actor, &input).await {
        Ok(_) => Ok(redirect_with_flash("/invoices", "success", i18n::current().text("invoices.settings_saved"))),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(crate::platform::web::unprocessable(SettingsPage { page, form, errors }).into_response())
        }
    }
}
