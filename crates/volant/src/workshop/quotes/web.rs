//! Quote pages (French UI): list by status, a quote with its lines and totals,
//! the draft editor, sending (link or e-mail), recording the client's answer,
//! duplication, the PDF, and the workshop's quote settings.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rust_decimal::Decimal;
use sea_orm::ConnectionTrait;
use serde::Deserialize;

use super::service::{
    self, Decision, DecisionInput, LineInput, LineKind, Quote, QuoteFilter, QuoteInput, QuoteSort, QuoteStatus,
    QuoteSummary, WorkshopSettings, parse_decimal,
};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::error::{AppError, AppResult};
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::money::{self, Currency, format_money, format_plain};
use crate::platform::proxy::ClientContext;
use crate::platform::tenant::OrgId;
use crate::platform::web::{
    FormErrors, FormTarget, Listing, PageCtx, SelectOption, SortHeader, WebResult, options, redirect_with_flash,
    refusal_to_flash, respond, submit, unprocessable,
};
use crate::workshop::clients::service as clients;

pub fn routes() -> Routes {
    vec![
        ("/quotes", get(index).post(create)),
        ("/quotes/{id}", get(show)),
        ("/quotes/{id}/pdf", get(pdf)),
        ("/quotes/{id}/send", post(send)),
        ("/quotes/{id}/email", post(email)),
        ("/quotes/{id}/decision", post(decide)),
        ("/quotes/{id}/duplicate", post(duplicate)),
    ]
}

/// The form pages: only for those who may send them (`WorkshopWrite` to open them too).
pub fn form_routes() -> Routes {
    vec![
        ("/quotes/new", get(new_form)),
        ("/quotes/{id}/edit", get(edit_form).post(update)),
        ("/workshop/settings", get(settings_form).post(save_settings)),
    ]
}

/// A quote as lists show it.
#[derive(Debug, Clone)]
pub struct QuoteRow {
    pub id: i64,
    pub number: String,
    pub client_id: i64,
    pub client_name: String,
    pub plate: String,
    /// The garage of the quote's vehicle.
    pub garage: String,
    pub status: &'static str,
    pub status_label: String,
    pub issue_date: String,
    pub valid_until: String,
    pub total_incl: String,
}

/// Rows for a page of quotes: their clients and vehicles in one query each.
pub async fn quote_rows(db: &impl ConnectionTrait, org: OrgId, items: Vec<QuoteSummary>) -> AppResult<Vec<QuoteRow>> {
    let client_ids: Vec<i64> = items.iter().map(|q| q.client_id).collect();
    let vehicle_ids: Vec<i64> = items.iter().filter_map(|q| q.vehicle_id).collect();
    let names = clients::get_many(db, org, &client_ids).await?;
    let quoted = vehicles::get_many(db, org, &vehicle_ids).await?;
    let garage_ids: Vec<i64> = quoted.iter().map(|v| v.garage_id).collect();
    let garages = crate::fleet::garages::service::names(db, org, garage_ids).await?;
    let vehicles: HashMap<i64, (String, String)> = quoted
        .into_iter()
        .map(|v| (v.id, (v.license_plate, garages.get(&v.garage_id).cloned().unwrap_or_default())))
        .collect();
    let tr = i18n::current();
    Ok(items
        .into_iter()
        .map(|q| QuoteRow {
            id: q.id,
            client_name: names.get(&q.client_id).map(|c| c.display_name().to_owned()).unwrap_or_default(),
            client_id: q.client_id,
            plate: q.vehicle_id.and_then(|id| vehicles.get(&id)).map(|v| v.0.clone()).unwrap_or_default(),
            garage: q.vehicle_id.and_then(|id| vehicles.get(&id)).map(|v| v.1.clone()).unwrap_or_default(),
            status: q.status.as_str(),
            status_label: tr.text(q.status.label_key()).to_owned(),
            issue_date: i18n::date(q.issue_date),
            valid_until: i18n::date(q.valid_until),
            total_incl: q.currency.format(q.total_incl_tax),
            number: q.number,
        })
        .collect())
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    status: Option<String>,
    q: Option<String>,
    sort: Option<String>,
}

/// The orders the quotes list offers in its filters, as `sort=` names them.
const SORT_CHOICES: [(&str, &str); 6] = [
    ("-number", "quotes.sort.newest"),
    ("number", "quotes.sort.oldest"),
    ("-issue_date", "quotes.sort.issue_date"),
    ("valid_until", "quotes.sort.valid_until"),
    ("-total", "quotes.sort.total_desc"),
    ("total", "quotes.sort.total_asc"),
];

/// The quotes list's sortable headings.
#[derive(Debug, Clone)]
pub struct QuoteSorting {
    pub number: SortHeader,
    pub issue_date: SortHeader,
    pub total: SortHeader,
}

impl QuoteSorting {
    fn new(listing: &Listing, sort: QuoteSort, tr: &i18n::Tr) -> Self {
        let current = sort.as_param();
        Self {
            number: listing.sort_header(&current, "number", tr.t("quote.number"), true),
            issue_date: listing.sort_header(&current, "issue_date", tr.t("quote.issue_date"), true),
            total: listing.sort_header(&current, "total", tr.t("quote.total_incl"), true),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/quotes/list.html")]
struct ListPage {
    page: PageCtx,
    export_query: String,
    statuses: Vec<SelectOption>,
    q: String,
    quotes: Vec<QuoteRow>,
    sorting: Option<QuoteSorting>,
    /// The list's orders, the current one selected (the headings are hidden on a phone).
    sorts: Vec<SelectOption>,
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
    let status = query.status.as_deref().and_then(QuoteStatus::parse);
    // An order the page does not know falls back to the newest first.
    let sort = query.sort.as_deref().and_then(QuoteSort::parse).unwrap_or_default();
    let filter = QuoteFilter { status, q: query.q.clone(), sort, ..Default::default() };
    let found = service::list(&caller.db, caller.org, &filter, listing.request.clone()).await?;
    let next_url = listing.next_url(found.next_cursor.as_deref());
    let quotes = quote_rows(&caller.db, caller.org, found.items).await?;
    let statuses = options(
        Some(page.tr.t("quotes.all")),
        status.map_or("", QuoteStatus::as_str),
        QuoteStatus::ALL.into_iter().map(|s| (s.as_str().to_owned(), page.tr.t(s.label_key()).to_owned())),
    );
    let export_query = listing.query_without_cursor();
    // Filtered, the count is of what the filters keep, not of every quote.
    let total = if filter.status.is_some() || filter.q.as_deref().is_some_and(|q| !q.trim().is_empty()) {
        Listing::matching_of(service::count(&caller.db, caller.org, &filter).await?)
    } else {
        listing.total::<super::entity::quote::Entity>(&caller.db, caller.org).await?
    };
    let q = query.q.unwrap_or_default();
    let sorting = Some(QuoteSorting::new(&listing, sort, &page.tr));
    let previous_url = listing.previous_url();
    let sorts = options(
        None,
        &sort.as_param(),
        SORT_CHOICES.into_iter().map(|(value, key)| (value.to_owned(), page.tr.t(key).to_owned())),
    );
    Ok(ListPage { page, export_query, statuses, q, quotes, sorting, sorts, next_url, previous_url, total })
}

/// A line as the quote page shows it.
#[derive(Debug, Clone)]
pub struct LineView {
    pub id: i64,
    pub kind: String,
    pub description: String,
    pub quantity: String,
    pub unit: String,
    pub unit_price: String,
    pub discount: String,
    pub vat_rate: String,
    pub total: String,
    pub declined: bool,
}

/// A quote's figures, formatted for a page (the staff page and the client's page).
#[derive(Debug, Clone)]
pub struct QuoteView {
    pub q: Quote,
    pub status_label: String,
    pub issue_date: String,
    pub valid_until: String,
    pub lines: Vec<LineView>,
    /// (rate, base, VAT)
    pub vat: Vec<(String, String, String)>,
    pub total_excl: String,
    pub total_vat: String,
    pub total_incl: String,
    /// Every line's totals (excl., incl. tax) beside the accepted ones, after a partial acceptance.
    pub original: Option<(String, String)>,
    pub decided_at: String,
}

impl QuoteView {
    pub fn new(q: Quote) -> Self {
        let tr = i18n::current();
        let decimals = q.decimals();
        let money = |amount: Decimal| q.currency.format(amount);
        let lines = q
            .lines
            .iter()
            .map(|l| LineView {
                id: l.id,
                kind: tr.text(l.kind.label_key()).to_owned(),
                description: l.description.clone(),
                quantity: format_plain(l.quantity),
                unit: l.unit.clone().unwrap_or_default(),
                unit_price: format_money(l.unit_price, decimals.max(l.unit_price.scale().min(4)), q.currency.code()),
                discount: if l.discount.is_zero() { String::new() } else { format!("{} %", format_plain(l.discount)) },
                vat_rate: format!("{} %", format_plain(l.vat_rate)),
                total: money(l.total_excl_tax),
                declined: l.accepted == Some(false),
            })
            .collect();
        let vat =
            q.totals.vat.iter().map(|v| (format!("{} %", format_plain(v.rate)), money(v.base), money(v.vat))).collect();
        Self {
            status_label: tr.text(q.status.label_key()).to_owned(),
            issue_date: i18n::date(q.issue_date),
            valid_until: i18n::date(q.valid_until),
            total_excl: money(q.totals.excl_tax),
            total_vat: money(q.totals.vat_total),
            total_incl: money(q.totals.incl_tax),
            original: q.original_totals.as_ref().map(|t| (money(t.excl_tax), money(t.incl_tax))),
            decided_at: q.decided_at.map(i18n::local_date_time).unwrap_or_default(),
            lines,
            vat,
            q,
        }
    }

    pub fn status(&self) -> &'static str {
        self.q.status.as_str()
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/quotes/show.html")]
struct ShowPage {
    page: PageCtx,
    view: QuoteView,
    client_name: String,
    client_email: Option<String>,
    vehicle: Option<vehicles::Vehicle>,
    share_url: Option<String>,
    /// Maintenance kinds the work may carry out: (kind, name, implied by the accepted lines).
    services: Vec<(String, String, bool)>,
}

async fn show_page(caller: &Caller, page: PageCtx, id: i64, share_url: Option<String>) -> AppResult<ShowPage> {
    let quote = service::get(&caller.db, caller.org, id).await?;
    let client = clients::get(&caller.db, caller.org, quote.client_id).await?;
    let vehicle = match quote.vehicle_id {
        Some(vehicle_id) => vehicles::get_many(&caller.db, caller.org, &[vehicle_id]).await?.into_iter().next(),
        None => None,
    };
    let implied = crate::workshop::history::service::implied_services(&caller.db, caller.org, &quote).await?;
    let services = crate::workshop::maintenance::service::organization_rules(&caller.db, caller.org)
        .await?
        .into_iter()
        .filter(|r| r.active)
        .map(|r| {
            let ticked = implied.contains(&r.kind);
            (r.kind, r.name, ticked)
        })
        .collect();
    Ok(ShowPage {
        page,
        services,
        client_name: client.display_name().to_owned(),
        client_email: client.email,
        vehicle,
        share_url,
        view: QuoteView::new(quote),
    })
}

async fn show(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<ShowPage> {
    Ok(show_page(&caller, page, id, None).await?)
}

async fn pdf(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let (name, bytes) = service::pdf(&caller.db, caller.org, id).await?;
    Ok(crate::platform::http::respond::pdf_response(&name, bytes, false))
}

/// The editor's line as typed.
#[derive(Debug, Clone, Default)]
pub struct LineForm {
    pub kind: String,
    pub description: String,
    pub quantity: String,
    pub unit: String,
    pub unit_price: String,
    pub vat_rate: String,
    pub discount: String,
}

impl LineForm {
    fn blank(default_vat: &str) -> Self {
        Self { quantity: "1".into(), vat_rate: default_vat.to_owned(), discount: "0".into(), ..Default::default() }
    }

    fn is_blank(&self) -> bool {
        self.description.trim().is_empty() && self.unit_price.trim().is_empty()
    }

    /// The editor's rows from a form's pairs (each line field repeats once per row),
    /// blank rows dropped.
    pub fn rows_from_pairs(pairs: &[(String, String)]) -> Vec<Self> {
        Self::all_rows_from_pairs(pairs).into_iter().filter(|l| !l.is_blank()).collect()
    }

    /// Every row of the editor from a form's pairs, blank ones included (the
    /// running totals answer row for row).
    fn all_rows_from_pairs(pairs: &[(String, String)]) -> Vec<Self> {
        const FIELDS: [&str; 7] = ["kind", "description", "quantity", "unit", "unit_price", "vat_rate", "discount"];
        let mut columns: HashMap<&str, Vec<&str>> = HashMap::new();
        for (key, value) in pairs {
            if let Some(field) = FIELDS.iter().find(|f| **f == key) {
                columns.entry(field).or_default().push(value);
            }
        }
        let rows = columns.values().map(Vec::len).max().unwrap_or(0).min(service::MAX_LINES + 1);
        let cell = |name: &str, i: usize| {
            columns.get(name).and_then(|c| c.get(i)).map(|v| (*v).to_owned()).unwrap_or_default()
        };
        (0..rows)
            .map(|i| Self {
                kind: cell("kind", i),
                description: cell("description", i),
                quantity: cell("quantity", i),
                unit: cell("unit", i),
                unit_price: cell("unit_price", i),
                vat_rate: cell("vat_rate", i),
                discount: cell("discount", i),
            })
            .collect()
    }

    /// What this row comes to (total excluding tax, VAT rate), once complete and valid.
    fn amount(&self, decimals: u32) -> Option<(Decimal, Decimal)> {
        if self.is_blank() {
            return None;
        }
        let mut errors = FormErrors::default();
        let input = Self::inputs(std::slice::from_ref(self), &mut errors).pop()?;
        if !errors.is_empty() {
            return None;
        }
        service::line_amount(&input, decimals)
    }

    /// The service inputs of these rows; fields that are not numbers become errors.
    pub fn inputs(lines: &[Self], errors: &mut FormErrors) -> Vec<LineInput> {
        let locale = i18n::current();
        let mut inputs = Vec::with_capacity(lines.len());
        for (i, l) in lines.iter().enumerate() {
            let mut number = |name: &str, raw: &str| -> Option<Decimal> {
                let raw = raw.trim();
                if raw.is_empty() {
                    return None;
                }
                parse_decimal(raw).or_else(|| {
                    errors.add(&format!("lines[{i}].{name}"), Msg::new("field.not_a_number").render(locale));
                    None
                })
            };
            inputs.push(LineInput {
                kind: LineKind::parse(l.kind.trim()),
                description: Some(l.description.clone()),
                quantity: number("quantity", &l.quantity),
                unit: Some(l.unit.clone()),
                unit_price: number("unit_price", &l.unit_price),
                vat_rate: number("vat_rate", &l.vat_rate),
                discount: number("discount", &l.discount),
            });
        }
        inputs
    }

    /// The editor: these lines, then blank ones to fill, with their errors and
    /// what they come to so far.
    pub fn editor(lines: &[Self], page: &PageCtx, errors: &FormErrors) -> LineEditor {
        let tr = page.tr;
        let mut lines = lines.to_vec();
        let blanks = if lines.is_empty() { 3 } else { 1 };
        lines.extend(std::iter::repeat_with(|| Self::blank(&page.default_vat())).take(blanks));
        let totals = RunningTotals::of(&lines, page.currency());
        let rows = lines
            .into_iter()
            .zip(totals.lines.iter().cloned())
            .enumerate()
            .map(|(index, (line, total))| {
                let kinds = kind_options(&tr, &line.kind);
                let error = errors.messages_with_prefix(&format!("lines[{index}]."));
                LineRow { index, line, kinds, error, total }
            })
            .collect();
        LineEditor { rows, totals }
    }
}

/// The line editor: its rows, and what they come to so far.
#[derive(Debug, Clone)]
pub struct LineEditor {
    pub rows: Vec<LineRow>,
    pub totals: RunningTotals,
}

/// What the lines typed so far come to, by the service's own checks and rounding
/// (a blank or not yet valid row counts for nothing).
#[derive(Debug, Clone, Default)]
pub struct RunningTotals {
    /// Each row's total excluding tax, in the editor's order ("" for a row that does not count).
    pub lines: Vec<String>,
    pub excl: String,
    /// (rate, VAT at that rate)
    pub vat: Vec<(String, String)>,
    pub incl: String,
}

impl RunningTotals {
    pub fn of(rows: &[LineForm], currency: Currency) -> Self {
        let decimals = currency.decimals();
        let mut counted = Vec::with_capacity(rows.len());
        let lines = rows
            .iter()
            .map(|row| match row.amount(decimals) {
                Some((total, rate)) => {
                    counted.push((total, rate));
                    currency.format(total)
                }
                None => String::new(),
            })
            .collect();
        let totals = money::totals(counted, decimals);
        Self {
            lines,
            excl: currency.format(totals.excl_tax),
            vat: totals.vat.iter().map(|v| (format!("{} %", format_plain(v.rate)), currency.format(v.vat))).collect(),
            incl: currency.format(totals.incl_tax),
        }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/quotes/_running_totals.html")]
struct RunningTotalsPartial {
    page: PageCtx,
    totals: RunningTotals,
}

/// The editor's running totals as the lines are typed (htmx; quotes and
/// interventions alike): nothing is saved.
async fn preview(page: PageCtx, FormBody(pairs): FormBody<Vec<(String, String)>>) -> RunningTotalsPartial {
    let rows = LineForm::all_rows_from_pairs(&pairs);
    let totals = RunningTotals::of(&rows, page.currency());
    RunningTotalsPartial { page, totals }
}

/// The line editor's helpers: for everyone who fills one in (quotes, interventions).
pub fn editor_routes() -> Routes {
    vec![("/workshop/lines/preview", post(preview))]
}

/// The kinds of line to choose from, `selected` chosen (parts when none is).
pub fn kind_options(tr: &crate::platform::i18n::Tr, selected: &str) -> Vec<SelectOption> {
    let selected = if selected.is_empty() { LineKind::Part.as_str() } else { selected };
    options(None, selected, LineKind::ALL.into_iter().map(|k| (k.as_str().to_owned(), tr.t(k.label_key()).to_owned())))
}

/// A price as the editor shows it: at least two decimals, more when it has them (`12,90`, `0,125`).
pub fn editable_price(price: Decimal) -> String {
    let mut value = price.normalize();
    if value.scale() < 2 {
        value.rescale(2);
    }
    value.to_string().replace('.', ",")
}

/// The editor as typed: the header fields and the lines, in the order of the page.
#[derive(Debug, Clone, Default)]
pub struct QuoteForm {
    pub client_id: String,
    pub vehicle_id: String,
    pub issue_date: String,
    pub valid_until: String,
    pub notes: String,
    pub terms: String,
    pub line_decisions: bool,
    pub lines: Vec<LineForm>,
}

impl QuoteForm {
    /// Reads the form's pairs; the line fields repeat once per row.
    fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "client_id" => form.client_id.clone_from(value),
                "vehicle_id" => form.vehicle_id.clone_from(value),
                "issue_date" => form.issue_date.clone_from(value),
                "valid_until" => form.valid_until.clone_from(value),
                "notes" => form.notes.clone_from(value),
                "terms" => form.terms.clone_from(value),
                "line_decisions" => form.line_decisions = true,
                _ => {}
            }
        }
        form.lines = LineForm::rows_from_pairs(pairs);
        form
    }

    fn from_quote(q: &Quote) -> Self {
        Self {
            client_id: q.client_id.to_string(),
            vehicle_id: q.vehicle_id.map(|v| v.to_string()).unwrap_or_default(),
            issue_date: q.issue_date.to_string(),
            valid_until: q.valid_until.to_string(),
            notes: q.notes.clone().unwrap_or_default(),
            terms: q.terms.clone().unwrap_or_default(),
            line_decisions: q.line_decisions,
            lines: q
                .lines
                .iter()
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

    /// The service input, or the errors of fields that are not even numbers or dates.
    fn parse(&self) -> Result<QuoteInput, FormErrors> {
        let mut errors = FormErrors::default();
        let client_id = errors.read_id("client_id", &self.client_id);
        let vehicle_id = errors.read_id("vehicle_id", &self.vehicle_id);
        let issue_date = errors.read_date("issue_date", &self.issue_date);
        let valid_until = errors.read_date("valid_until", &self.valid_until);
        let lines = LineForm::inputs(&self.lines, &mut errors);
        let input = QuoteInput {
            client_id,
            vehicle_id,
            issue_date,
            valid_until,
            notes: Some(self.notes.clone()),
            terms: Some(self.terms.clone()),
            line_decisions: Some(self.line_decisions),
            lines,
        };
        if errors.is_empty() { Ok(input) } else { Err(errors) }
    }
}

/// One row of the line editor, with its own field names and errors.
#[derive(Debug, Clone)]
pub struct LineRow {
    pub index: usize,
    pub line: LineForm,
    pub kinds: Vec<SelectOption>,
    pub error: Option<String>,
    /// What the row comes to so far, excluding tax.
    pub total: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/quotes/form.html")]
struct FormPage {
    page: PageCtx,
    target: FormTarget,
    client_name: String,
    form: QuoteForm,
    vehicles: Vec<SelectOption>,
    rows: Vec<LineRow>,
    totals: RunningTotals,
    errors: FormErrors,
}

impl FormPage {
    async fn build(
        caller: &Caller,
        page: PageCtx,
        target: FormTarget,
        form: QuoteForm,
        errors: FormErrors,
    ) -> AppResult<Self> {
        let client_id: i64 = form.client_id.trim().parse().map_err(|_| AppError::NotFound)?;
        let client = clients::get(&caller.db, caller.org, client_id).await?;
        let vehicles = client_vehicle_options(caller, &page, client_id, &form.vehicle_id).await?;
        let LineEditor { rows, totals } = LineForm::editor(&form.lines, &page, &errors);
        Ok(Self { page, target, client_name: client.display_name().to_owned(), form, vehicles, rows, totals, errors })
    }
}

/// A document's vehicle choices: none, or one of the client's; the one chosen
/// (`selected`) stays choosable when it has changed owner since.
pub async fn client_vehicle_options(
    caller: &Caller,
    page: &PageCtx,
    client_id: i64,
    selected: &str,
) -> AppResult<Vec<SelectOption>> {
    let mut owned = clients::vehicles_of(&caller.db, caller.org, client_id).await?;
    if let Ok(vehicle_id) = selected.parse::<i64>()
        && !owned.iter().any(|v| v.id == vehicle_id)
    {
        owned.extend(vehicles::get_many(&caller.db, caller.org, &[vehicle_id]).await?);
    }
    let mut choices = options(Some(page.tr.t("quote.no_vehicle")), selected, []);
    choices.extend(owned.into_iter().map(|v| SelectOption {
        selected: v.id.to_string() == selected,
        label: format!("{} — {} {}", v.license_plate, v.brand, v.model),
        value: v.id.to_string(),
    }));
    Ok(choices)
}

#[derive(Debug, Default, Deserialize)]
struct NewQuery {
    client_id: Option<String>,
    /// The client chooser's search.
    client_q: Option<String>,
}

async fn new_form(caller: Caller, page: PageCtx, ApiQuery(query): ApiQuery<NewQuery>) -> WebResult<Response> {
    let Some(client_id) = query.client_id.filter(|c| !c.trim().is_empty()) else {
        return Ok(choose_client(
            &caller,
            page,
            query.client_q.unwrap_or_default(),
            ("/quotes", "quotes.new", "quotes.title", "quotes.choose_client_step"),
        )
        .await?
        .into_response());
    };
    let settings = service::settings(&caller.db, caller.org).await?;
    let form = QuoteForm {
        client_id: client_id.clone(),
        terms: settings.quote_terms.clone().unwrap_or_default(),
        line_decisions: settings.line_decisions,
        ..Default::default()
    };
    let target = FormTarget::new(page.tr.t("quotes.new").to_owned(), "/quotes", format!("/clients/{client_id}"));
    Ok(FormPage::build(&caller, page, target, form, FormErrors::default()).await?.into_response())
}

/// The first step of a new quote from the quotes list: whose it is.
#[derive(Template, WebTemplate)]
#[template(path = "workshop/quotes/choose_client.html")]
pub struct ChooseClientPage {
    page: PageCtx,
    client_q: String,
    /// Matching clients: id, name, and what tells them apart (e-mail, phone).
    found: Vec<(i64, String, String)>,
    /// What is being made ("Nouveau devis"), and the list it belongs to
    /// (`/quotes`, whose `/new?client_id=` the chosen client opens).
    heading: String,
    collection: &'static str,
    collection_title: String,
    /// What to do on this step.
    step: String,
}

/// The first step of a new document (a quote, an invoice): whose it is — the
/// clients matching what was typed (name, e-mail, phone, a plate they own).
pub async fn choose_client(
    caller: &Caller,
    page: PageCtx,
    client_q: String,
    (collection, heading_key, collection_key, step_key): (&'static str, &str, &str, &str),
) -> AppResult<ChooseClientPage> {
    let heading = page.tr.t(heading_key).to_owned();
    let step = page.tr.t(step_key).to_owned();
    let collection_title = page.tr.t(collection_key).to_owned();
    let found = if client_q.trim().is_empty() {
        Vec::new()
    } else {
        clients::list(&caller.db, caller.org, Some(&client_q), crate::platform::pagination::PageRequest::first(20))
            .await?
            .items
            .into_iter()
            .map(|c| {
                let detail =
                    [c.email.as_deref(), c.phone.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · ");
                (c.id, c.display_name().to_owned(), detail)
            })
            .collect()
    };
    Ok(ChooseClientPage { page, client_q, found, heading, collection, collection_title, step })
}

/// A quote refused as a whole (a conflict) is shown above its form.
fn above_form(err: AppError) -> AppError {
    match err {
        AppError::Conflict { code, message, .. } => AppError::Conflict { code, field: Some("form"), message },
        other => other,
    }
}

async fn create(
    caller: Caller,
    page: PageCtx,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = QuoteForm::from_pairs(&pairs);
    let write = async |input| service::create(&caller.db, &caller.actor, &input).await.map_err(above_form);
    let done = |quote: Quote| {
        let message = i18n::current().format("quotes.created", &[("number", &quote.number)]);
        redirect_with_flash(&format!("/quotes/{}", quote.id), "success", &message)
    };
    respond(submit(form.parse(), write).await?, done, async |errors| {
        let cancel_url = format!("/clients/{}", form.client_id.trim());
        let target = FormTarget::new(page.tr.t("quotes.new").to_owned(), "/quotes", cancel_url);
        FormPage::build(&caller, page, target, form, errors).await
    })
    .await
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<Response> {
    let quote = service::get(&caller.db, caller.org, id).await?;
    if !quote.status.can_edit() {
        let message = AppError::conflict(
            "quote_not_editable",
            Msg::new("quote.not_editable").arg("status", page.tr.t(quote.status.label_key())),
        )
        .detail(i18n::current());
        return Ok(redirect_with_flash(&format!("/quotes/{id}"), "error", &message));
    }
    let target = FormTarget::editing(page.tr.f("quotes.edit", "number", &quote.number), "/quotes", id);
    Ok(FormPage::build(&caller, page, target, QuoteForm::from_quote(&quote), FormErrors::default())
        .await?
        .into_response())
}

async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = QuoteForm::from_pairs(&pairs);
    let write = async |input| service::replace(&caller.db, &caller.actor, id, &input).await.map_err(above_form);
    let done = |quote: Quote| {
        let message = i18n::current().format("quotes.updated", &[("number", &quote.number)]);
        redirect_with_flash(&format!("/quotes/{id}"), "success", &message)
    };
    respond(submit(form.parse(), write).await?, done, async |errors| {
        let current = service::get(&caller.db, caller.org, id).await?;
        let target = FormTarget::editing(page.tr.f("quotes.edit", "number", &current.number), "/quotes", id);
        FormPage::build(&caller, page, target, form, errors).await
    })
    .await
}

/// Shows a refusal (409) on the quote's page instead of an error page.
fn conflict_flash(id: i64, err: AppError) -> WebResult<Response> {
    refusal_to_flash(&format!("/quotes/{id}"), err)
}

async fn send(caller: Caller, page: PageCtx, client: ClientContext, Id(id): Id) -> WebResult<Response> {
    match service::send(&caller.db, &caller.actor, id).await {
        Ok((_, link)) => {
            let url = service::share_url(&client.public_url(&caller.config), &link);
            // The link is shown once, on this page: only its hash is kept.
            Ok(show_page(&caller, page, id, Some(url)).await?.into_response())
        }
        Err(err) => conflict_flash(id, err),
    }
}

async fn email(caller: Caller, client: ClientContext, Id(id): Id) -> WebResult<Response> {
    match service::email(&caller.db, &caller.actor, id, &client.public_url(&caller.config)).await {
        Ok((quote, _)) => {
            // Without an SMTP server the e-mail is only saved: said, not hidden.
            let delivers =
                crate::notify::mail_settings::delivers_email(&caller.db, &caller.config.notify, caller.org).await?;
            let (key, kind) =
                if delivers { ("quotes.emailed", "success") } else { ("quotes.emailed_saved", "warning") };
            let message = i18n::current().format(key, &[("number", &quote.number)]);
            Ok(redirect_with_flash(&format!("/quotes/{id}"), kind, &message))
        }
        Err(err) => conflict_flash(id, err),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DecisionForm {
    decision: String,
}

async fn decide(caller: Caller, Id(id): Id, FormBody(form): FormBody<DecisionForm>) -> WebResult<Response> {
    let decision = match form.decision.as_str() {
        "accept" => Decision::Accept,
        "decline" => Decision::Decline,
        _ => return Err(AppError::BadRequest("decision must be accept or decline".to_owned()).into()),
    };
    match service::decide(&caller.db, &caller.actor, id, &DecisionInput { decision, accepted_line_ids: None }).await {
        Ok(quote) => {
            let key = if decision == Decision::Accept { "quotes.accepted" } else { "quotes.rejected" };
            let message = i18n::current().format(key, &[("number", &quote.number)]);
            Ok(redirect_with_flash(&format!("/quotes/{id}"), "success", &message))
        }
        Err(err) => conflict_flash(id, err),
    }
}

async fn duplicate(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let copy = service::duplicate(&caller.db, &caller.actor, id).await?;
    let message = i18n::current().format("quotes.duplicated", &[("number", &copy.number)]);
    Ok(redirect_with_flash(&format!("/quotes/{}/edit", copy.id), "success", &message))
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/quotes/settings.html")]
struct SettingsPage {
    page: PageCtx,
    form: SettingsForm,
    errors: FormErrors,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    quote_number_format: String,
    quote_validity_days: String,
    line_decisions: Option<String>,
    quote_terms: String,
    legal_mentions: String,
}

async fn settings_form(caller: Caller, page: PageCtx) -> WebResult<SettingsPage> {
    let s = service::settings(&caller.db, caller.org).await?;
    let form = SettingsForm {
        quote_number_format: s.quote_number_format,
        quote_validity_days: s.quote_validity_days.to_string(),
        line_decisions: s.line_decisions.then(|| "on".to_owned()),
        quote_terms: s.quote_terms.unwrap_or_default(),
        legal_mentions: s.legal_mentions.unwrap_or_default(),
    };
    Ok(SettingsPage { page, form, errors: FormErrors::default() })
}

async fn save_settings(caller: Caller, page: PageCtx, FormBody(form): FormBody<SettingsForm>) -> WebResult<Response> {
    let input = WorkshopSettings {
        quote_number_format: form.quote_number_format.clone(),
        quote_validity_days: form.quote_validity_days.trim().parse().unwrap_or(0),
        line_decisions: form.line_decisions.is_some(),
        quote_terms: Some(form.quote_terms.clone()),
        legal_mentions: Some(form.legal_mentions.clone()),
    };
    match service::update_settings(&caller.db, &caller.actor, &input).await {
        Ok(_) => {
            Ok(redirect_with_flash("/workshop/settings", "success", i18n::current().text("workshop.settings_saved")))
        }
        Err(err) => Ok(unprocessable(SettingsPage { page, form, errors: FormErrors::from_app_error(err)? })),
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn editor_prices_keep_their_cents() {
        let price = |s: &str| editable_price(Decimal::from_str(s).unwrap_or_default());
        assert_eq!(price("12.9"), "12,90");
        assert_eq!(price("60"), "60,00");
        assert_eq!(price("0.1250"), "0,125");
    }
}
