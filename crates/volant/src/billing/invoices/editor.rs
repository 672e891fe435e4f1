//! Typing an invoice by hand (a counter sale, work not recorded as such) and
//! changing a draft's lines, with the line editor quotes and work use. A draft
//! only: an issued invoice never changes. The deposits a draft deducts are the
//! server's lines: the form shows them and keeps them, never as typed lines.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};

use super::service::{self, Invoice, InvoiceInput, InvoiceKind};
use crate::identity::Caller;
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n;
use crate::platform::money::format_plain;
use crate::platform::web::{
    FormErrors, FormTarget, PageCtx, SelectOption, WebResult, redirect_with_flash, respond, submit,
};
use crate::workshop::clients::service as clients;
use crate::workshop::quotes::web::{
    LineEditor, LineForm, LineRow, RunningTotals, choose_client, client_vehicle_options, editable_price,
};

#[derive(Debug, Clone, Default)]
struct InvoiceForm {
    client_id: String,
    vehicle_id: String,
    service_date: String,
    notes: String,
    payment_terms: String,
    lines: Vec<LineForm>,
}

impl InvoiceForm {
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self { lines: LineForm::rows_from_pairs(pairs), ..Default::default() };
        for (key, value) in pairs {
            match key.as_str() {
                "client_id" => form.client_id.clone_from(value),
                "vehicle_id" => form.vehicle_id.clone_from(value),
                "service_date" => form.service_date.clone_from(value),
                "notes" => form.notes.clone_from(value),
                "payment_terms" => form.payment_terms.clone_from(value),
                _ => {}
            }
        }
        form
    }

    /// A draft as its form shows it: the lines typed, not the deductions.
    fn from_invoice(invoice: &Invoice) -> Self {
        Self {
            client_id: invoice.buyer.id.to_string(),
            vehicle_id: invoice.vehicle_id.map(|v| v.to_string()).unwrap_or_default(),
            service_date: invoice.service_date.map(|d| d.to_string()).unwrap_or_default(),
            notes: invoice.notes.clone().unwrap_or_default(),
            payment_terms: invoice.payment_terms.clone().unwrap_or_default(),
            lines: invoice
                .lines
                .iter()
                .filter(|l| l.deposit_invoice_id.is_none())
                .map(|l| LineForm {
                    kind: l.kind.as_str().to_owned(),
                    description: l.description.clone(),
                    quantity: format_plain(l.quantity),
                    unit: l.unit.clone().unwrap_or_default(),
                    unit_price: editable_price(l.unit_price),
                    vat_rate: format_plain(l.vat_rate),
                    discount: format_plain(l.discount),
                })
                .collect(),
        }
    }

    /// The service's input, or the fields that are not even numbers or dates.
    fn parse(&self) -> Result<InvoiceInput, FormErrors> {
        let mut errors = FormErrors::default();
        let client_id = errors.read_id("client_id", &self.client_id);
        let vehicle_id = errors.read_id("vehicle_id", &self.vehicle_id);
        let service_date = errors.read_date("service_date", &self.service_date);
        let lines = LineForm::inputs(&self.lines, &mut errors);
        let blank = |text: &str| Some(text.to_owned()).filter(|t| !t.trim().is_empty());
        let input = InvoiceInput {
            client_id,
            vehicle_id,
            service_date,
            notes: blank(&self.notes),
            payment_terms: blank(&self.payment_terms),
            lines,
        };
        if errors.is_empty() { Ok(input) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "billing/invoices/form.html")]
struct FormPage {
    page: PageCtx,
    target: FormTarget,
    client_name: String,
    form: InvoiceForm,
    vehicles: Vec<SelectOption>,
    rows: Vec<LineRow>,
    totals: RunningTotals,
    /// The deposits the draft deducts (kept whatever is typed): description and amount.
    deductions: Vec<(String, String)>,
    errors: FormErrors,
}

impl FormPage {
    async fn build(
        caller: &Caller,
        page: PageCtx,
        target: FormTarget,
        form: InvoiceForm,
        deductions: Vec<(String, String)>,
        errors: FormErrors,
    ) -> AppResult<Self> {
        let client_id: i64 = form.client_id.trim().parse().map_err(|_| AppError::NotFound)?;
        let client = clients::get(&caller.db, caller.org, client_id).await?;
        let vehicles = client_vehicle_options(caller, &page, client_id, &form.vehicle_id).await?;
        let LineEditor { rows, totals } = LineForm::editor(&form.lines, &page, &errors);
        let client_name = client.display_name().to_owned();
        Ok(Self { page, target, client_name, form, vehicles, rows, totals, deductions, errors })
    }
}

fn deductions_of(invoice: &Invoice) -> Vec<(String, String)> {
    invoice
        .lines
        .iter()
        .filter(|l| l.deposit_invoice_id.is_some())
        .map(|l| {
            let amount = invoice.currency.format(l.total_excl_tax);
            (l.description.clone(), i18n::current().format("invoices.deduction_excl", &[("amount", &amount)]))
        })
        .collect()
}

/// A refusal of the whole invoice (a conflict) is shown above its form.
fn above_form(err: AppError) -> AppError {
    match err {
        AppError::Conflict { code, message, .. } => AppError::Conflict { code, field: Some("form"), message },
        other => other,
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct NewQuery {
    client_id: Option<String>,
    client_q: Option<String>,
}

/// A new invoice typed by hand: whose it is first, then its lines.
pub(super) async fn new_form(
    caller: Caller,
    page: PageCtx,
    ApiQuery(query): ApiQuery<NewQuery>,
) -> WebResult<Response> {
    let Some(client_id) = query.client_id.filter(|c| !c.trim().is_empty()) else {
        let step = ("/invoices", "invoices.new", "invoices.title", "invoices.choose_client_step");
        return Ok(choose_client(&caller, page, query.client_q.unwrap_or_default(), step).await?.into_response());
    };
    let settings = service::settings(&caller.db, caller.org).await?;
    let form = InvoiceForm {
        client_id: client_id.clone(),
        payment_terms: settings.payment_terms.clone().unwrap_or_default(),
        ..Default::default()
    };
    let target = FormTarget::new(page.tr.t("invoices.new").to_owned(), "/invoices", format!("/clients/{client_id}"));
    Ok(FormPage::build(&caller, page, target, form, Vec::new(), FormErrors::default()).await?.into_response())
}

pub(super) async fn create(
    caller: Caller,
    page: PageCtx,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = InvoiceForm::from_pairs(&pairs);
    let write = async |input| service::create(&caller.db, &caller.actor, &input).await.map_err(above_form);
    let done = |invoice: Invoice| {
        redirect_with_flash(&format!("/invoices/{}", invoice.id), "success", i18n::current().text("invoices.drafted"))
    };
    respond(submit(form.parse(), write).await?, done, async |errors| {
        let cancel_url = format!("/clients/{}", form.client_id.trim());
        let target = FormTarget::new(page.tr.t("invoices.new").to_owned(), "/invoices", cancel_url);
        FormPage::build(&caller, page, target, form, Vec::new(), errors).await
    })
    .await
}

/// A draft may be changed; an issued invoice or a credit note never.
async fn draft_of(caller: &Caller, id: i64) -> AppResult<Result<Invoice, Response>> {
    let invoice = service::get(&caller.db, caller.org, id).await?;
    if invoice.status.can_edit() && invoice.kind == InvoiceKind::Invoice {
        return Ok(Ok(invoice));
    }
    let message = i18n::current().text("invoice.issued_immutable").to_owned();
    Ok(Err(redirect_with_flash(&format!("/invoices/{id}"), "error", &message)))
}

fn edit_target(page: &PageCtx, id: i64) -> FormTarget {
    FormTarget::editing(page.tr.f("invoices.edit", "id", &id.to_string()), "/invoices", id)
}

pub(super) async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<Response> {
    let invoice = match draft_of(&caller, id).await? {
        Ok(invoice) => invoice,
        Err(refused) => return Ok(refused),
    };
    let target = edit_target(&page, id);
    let form = InvoiceForm::from_invoice(&invoice);
    let deductions = deductions_of(&invoice);
    Ok(FormPage::build(&caller, page, target, form, deductions, FormErrors::default()).await?.into_response())
}

pub(super) async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let invoice = match draft_of(&caller, id).await? {
        Ok(invoice) => invoice,
        Err(refused) => return Ok(refused),
    };
    let form = InvoiceForm::from_pairs(&pairs);
    let write = async |input| service::replace(&caller.db, &caller.actor, id, &input).await.map_err(above_form);
    let done = |_: Invoice| {
        redirect_with_flash(&format!("/invoices/{id}"), "success", i18n::current().text("invoices.draft_saved"))
    };
    respond(submit(form.parse(), write).await?, done, async |errors| {
        let target = edit_target(&page, id);
        FormPage::build(&caller, page, target, form, deductions_of(&invoice), errors).await
    })
    .await
}
