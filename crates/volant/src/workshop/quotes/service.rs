//! Quotes (devis): numbering, lines and totals, the status flow, the customer's
//! decision through a share link, duplication, expiry and sending by e-mail.
//!
//! Invariants held by the database: one number per organization and year
//! (unique indexes), taken from a counter row incremented in the quote's own
//! transaction, so numbers have neither gaps nor duplicates; a status change is a
//! conditional UPDATE, so two concurrent transitions cannot both win.

use crate::notify::webhooks::{self, WebhookEvent};
use std::collections::HashMap;

use chrono::{Datelike, Days, NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use super::document::{QuoteDocument, document, email, pdf, render, share_url};
use super::entity::{line, quote};
use super::lines::line_rows;
pub use super::lines::{LineInput, MAX_LINES, lenient_decimal, line_amount, parse_decimal};
pub(crate) use super::lines::{ValidLine, validate_lines};
pub use super::model::{
    Decision, DecisionInput, LineKind, Quote, QuoteLine, QuoteStatus, QuoteSummary, QuoteTotals, VatLine,
};
use super::model::{assemble, assemble_lines, quote_totals, summary};
use super::numbering::{assign_number, provisional_number};
pub use super::settings::{WorkshopSettings, settings, update_settings};
pub use super::stats::{DayStat, stats_by_day, top_clients};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::lines::totals_minor;
use crate::platform::pagination::{Direction, Page, PageRequest, date_of_day};
use crate::platform::secrets::{random_token, token_hash};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;
use crate::workshop::clients::service as clients;

pub const AUDIT_ENTITY: &str = "quote";

/// A quote as entered (POST and PUT). Dates default to today and to the
/// organization's validity period.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct QuoteInput {
    #[schema(required = true, nullable = false)]
    pub client_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    pub issue_date: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub notes: Option<String>,
    /// Payment and other terms; the organization's default when absent.
    pub terms: Option<String>,
    /// Let the client accept line by line; the organization's default when absent.
    pub line_decisions: Option<bool>,
    #[serde(default)]
    pub lines: Vec<LineInput>,
}

struct ValidQuote {
    client_id: i64,
    vehicle_id: Option<i64>,
    issue_date: NaiveDate,
    valid_until: NaiveDate,
    notes: Option<String>,
    terms: Option<String>,
    line_decisions: bool,
    lines: Vec<ValidLine>,
}

fn validate(input: &QuoteInput, settings: &WorkshopSettings, today: NaiveDate) -> AppResult<ValidQuote> {
    let mut v = Validator::new();
    let client_id = v.required("client_id", input.client_id);
    let issue_date = input.issue_date.unwrap_or(today);
    let validity = u64::try_from(settings.quote_validity_days).unwrap_or(30);
    let valid_until =
        input.valid_until.unwrap_or_else(|| issue_date.checked_add_days(Days::new(validity)).unwrap_or(issue_date));
    if valid_until < issue_date {
        v.add("valid_until", Msg::new("quote.valid_until_before_issue"));
    }
    let notes = v.optional_long_text("notes", input.notes.as_deref(), 5000);
    let terms = match input.terms.as_deref() {
        Some(text) => v.optional_long_text("terms", Some(text), 5000),
        None => settings.quote_terms.clone(),
    };
    let lines = validate_lines(&mut v, &input.lines);
    v.finish()?;
    let client_id = client_id.ok_or_else(|| AppError::Internal("validator accepted a missing client".to_owned()))?;
    Ok(ValidQuote {
        client_id,
        vehicle_id: input.vehicle_id,
        issue_date,
        valid_until,
        notes,
        terms,
        line_decisions: input.line_decisions.unwrap_or(settings.line_decisions),
        lines,
    })
}

/// The client and vehicle must be the organization's (422 naming the field otherwise).
async fn check_references(db: &impl ConnectionTrait, org: OrgId, valid: &ValidQuote) -> AppResult<()> {
    let mut v = Validator::new();
    v.found("client_id", clients::get(db, org, valid.client_id).await, Msg::new("quote.client_unknown"))?;
    if let Some(vehicle_id) = valid.vehicle_id {
        v.found("vehicle_id", vehicles::get(db, org, vehicle_id).await, Msg::new("quote.vehicle_unknown"))?;
    }
    v.finish()
}

// ---------------------------------------------------------------- reading

async fn lines_of(db: &impl ConnectionTrait, quote_id: i64) -> AppResult<Vec<line::Model>> {
    Ok(line::Entity::find()
        .filter(line::Column::QuoteId.eq(quote_id))
        .order_by_asc(line::Column::Position)
        .all(db)
        .await?)
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Quote> {
    let m = tenant::find::<quote::Entity>(db, org, id).await?;
    let rows = lines_of(db, m.id).await?;
    Ok(assemble(m, rows))
}

/// The organization's quotes: every query starts from [`tenant::scoped`], so none
/// can forget its tenant; another organization's row is a 404.
impl tenant::Owned for quote::Entity {
    const ORGANIZATION_ID: quote::Column = quote::Column::OrganizationId;
    const ID: quote::Column = quote::Column::Id;
}

/// The lines of these quotes (the organization's), by quote, in one query.
pub async fn lines_of_quotes(
    db: &impl ConnectionTrait,
    org: OrgId,
    quotes: &[QuoteSummary],
) -> AppResult<HashMap<i64, Vec<QuoteLine>>> {
    if quotes.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<i64> = quotes.iter().map(|q| q.id).collect();
    // Scoped through the quotes themselves: only this organization's ids were listed.
    let owned: Vec<i64> = tenant::scoped::<quote::Entity>(org)
        .select_only()
        .column(quote::Column::Id)
        .filter(quote::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    let rows = line::Entity::find()
        .filter(line::Column::QuoteId.is_in(owned))
        .order_by_asc(line::Column::QuoteId)
        .order_by_asc(line::Column::Position)
        .all(db)
        .await?;
    let mut by_quote: HashMap<i64, Vec<line::Model>> = HashMap::new();
    for row in rows {
        by_quote.entry(row.quote_id).or_default().push(row);
    }
    // Every line found belongs to one of the listed quotes.
    Ok(quotes
        .iter()
        .filter_map(|q| Some((q.id, assemble_lines(by_quote.remove(&q.id)?, q.currency.decimals()))))
        .collect())
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct QuoteFilter {
    pub status: Option<QuoteStatus>,
    pub client_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    /// A number (or part of one), a client (as the clients' search finds them)
    /// or a plate's beginning.
    pub q: Option<String>,
    pub sort: QuoteSort,
}

/// The orders a list of quotes can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QuoteSort {
    /// By number, the newest first (numbers follow creation).
    #[default]
    NewestFirst,
    OldestFirst,
    IssueDate(Direction),
    ValidUntil(Direction),
    /// By total including tax.
    Total(Direction),
}

impl QuoteSort {
    /// Every field a list sorts by, as `sort=` names it (`-` before it: highest or latest first).
    pub const FIELDS: [&'static str; 4] = ["number", "issue_date", "valid_until", "total"];

    /// `total`, `-total`, `issue_date`…; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let (order, field) = match raw.strip_prefix('-') {
            Some(field) => (Direction::Descending, field),
            None => (Direction::Ascending, raw),
        };
        match field {
            "number" if order == Direction::Descending => Some(Self::NewestFirst),
            "number" => Some(Self::OldestFirst),
            "issue_date" => Some(Self::IssueDate(order)),
            "valid_until" => Some(Self::ValidUntil(order)),
            "total" => Some(Self::Total(order)),
            _ => None,
        }
    }

    /// As `sort=` names it.
    pub fn as_param(self) -> String {
        let (field, order) = match self {
            Self::NewestFirst => ("number", Direction::Descending),
            Self::OldestFirst => ("number", Direction::Ascending),
            Self::IssueDate(order) => ("issue_date", order),
            Self::ValidUntil(order) => ("valid_until", order),
            Self::Total(order) => ("total", order),
        };
        if order == Direction::Descending { format!("-{field}") } else { field.to_owned() }
    }
}

/// A date as a cursor carries it: its day number.
fn day_number(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce())
}

/// Most clients and vehicles a quote search looks at.
const SEARCH_MATCHES: u64 = 200;

/// How many quotes match the filter (its order aside): what a filtered list counts.
pub async fn count(db: &impl ConnectionTrait, org: OrgId, filter: &QuoteFilter) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(matching(db, org, filter).await?.count(db).await?)
}

/// The organization's quotes the filter keeps.
async fn matching(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &QuoteFilter,
) -> AppResult<sea_orm::Select<quote::Entity>> {
    let mut query = tenant::scoped::<quote::Entity>(org);
    if let Some(status) = filter.status {
        query = query.filter(quote::Column::Status.eq(status));
    }
    if let Some(client_id) = filter.client_id {
        query = query.filter(quote::Column::ClientId.eq(client_id));
    }
    if let Some(vehicle_id) = filter.vehicle_id {
        query = query.filter(quote::Column::VehicleId.eq(vehicle_id));
    }
    let term = crate::platform::search::search_term(filter.q.as_deref().unwrap_or_default());
    if !term.is_empty() {
        let clients: Vec<i64> = clients::list(db, org, Some(&term), PageRequest::first(SEARCH_MATCHES))
            .await?
            .items
            .iter()
            .map(|c| c.id)
            .collect();
        let plates = vehicles::ids_with_plate_prefix(db, org, &term, SEARCH_MATCHES).await?;
        // Wildcards are dropped, not escaped: a search of only `%` or `_` matches no number.
        let digits = term.to_uppercase().replace(['%', '_', '\\'], "");
        let mut any = sea_orm::Condition::any()
            .add(quote::Column::ClientId.is_in(clients))
            .add(quote::Column::VehicleId.is_in(plates));
        if !digits.is_empty() {
            let number = Expr::expr(sea_orm::sea_query::Func::upper(Expr::col(quote::Column::Number)));
            any = any.add(sea_orm::ExprTrait::like(number, format!("%{digits}%")));
        }
        query = query.filter(any);
    }
    Ok(query)
}

/// A page of quotes in the filter's order (the newest first by default).
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &QuoteFilter,
    page: PageRequest,
) -> AppResult<Page<QuoteSummary>> {
    let filtered = matching(db, org, filter).await?;
    let id = quote::Column::Id;
    let query = match filter.sort {
        QuoteSort::NewestFirst => page.keyset(filtered, id, Order::Desc),
        QuoteSort::OldestFirst => page.keyset(filtered, id, Order::Asc),
        QuoteSort::IssueDate(way) => {
            page.keyset_by(filtered, (quote::Column::IssueDate, id), way.order(), date_of_day)?
        }
        QuoteSort::ValidUntil(way) => {
            page.keyset_by(filtered, (quote::Column::ValidUntil, id), way.order(), date_of_day)?
        }
        QuoteSort::Total(way) => {
            page.keyset_by(filtered, (quote::Column::TotalInclMinor, id), way.order(), |minor| Some(minor.into()))?
        }
    };
    let rows = query.all(db).await?;
    let page = match filter.sort {
        QuoteSort::NewestFirst | QuoteSort::OldestFirst => Page::from_rows(rows, &page, |q| q.id),
        QuoteSort::IssueDate(_) => Page::from_rows_keyed(rows, &page, |q| (q.id, day_number(q.issue_date))),
        QuoteSort::ValidUntil(_) => Page::from_rows_keyed(rows, &page, |q| (q.id, day_number(q.valid_until))),
        QuoteSort::Total(_) => Page::from_rows_keyed(rows, &page, |q| (q.id, q.total_incl_minor)),
    };
    Ok(page.map(summary))
}

// ---------------------------------------------------------------- writing

/// Creates a draft with the next number of its issue year.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &QuoteInput) -> AppResult<Quote> {
    create_from(db, actor, input, None).await
}

async fn create_from<C: Writer>(
    db: &C,
    actor: &Actor,
    input: &QuoteInput,
    duplicated_from: Option<i64>,
) -> AppResult<Quote> {
    let settings = settings(db, actor.org).await?;
    let organization = organizations::get(db, actor.org).await?;
    let valid = validate(input, &settings, organization.today()?)?;
    check_references(db, actor.org, &valid).await?;
    let decimals = organization.currency.decimals();
    // Amounts are checked before the number is taken.
    let (_, totals) = line_rows(0, &valid.lines, decimals)?;
    let (excl, vat, incl) = totals_minor(&totals, decimals)?;
    let now = Utc::now();
    let full = db::write(db, async |txn| -> AppResult<_> {
        let year = valid.issue_date.year();
        // The quote and its lines are written under a provisional number first; the
        // real one is taken last, so that concurrent creations of the organization,
        // which queue on its counter row until commit, wait as little as possible.
        let (number, sequence) = provisional_number();
        let saved = quote::ActiveModel {
            organization_id: Set(actor.org.get()),
            number: Set(number),
            year: Set(year),
            sequence: Set(sequence),
            client_id: Set(valid.client_id),
            vehicle_id: Set(valid.vehicle_id),
            status: Set(QuoteStatus::Draft),
            issue_date: Set(valid.issue_date),
            valid_until: Set(valid.valid_until),
            currency: Set(organization.currency),
            notes: Set(valid.notes.clone()),
            terms: Set(valid.terms.clone()),
            total_excl_minor: Set(excl),
            total_vat_minor: Set(vat),
            total_incl_minor: Set(incl),
            line_decisions: Set(valid.line_decisions),
            duplicated_from: Set(duplicated_from),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::validation("client_id", Msg::new("quote.client_unknown"))
                .if_refused(err, Constraint::is_foreign_key)
        })?;
        let (rows, _) = line_rows(saved.id, &valid.lines, decimals)?;
        if !rows.is_empty() {
            line::Entity::insert_many(rows).exec_without_returning(txn).await?;
        }
        let mut full = get(txn, actor.org, saved.id).await?;
        full.number = assign_number(txn, actor.org, saved.id, &settings.quote_number_format, year).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, full.id), None, Some(&full)).await?;
        Ok(full)
    })
    .await?;
    tracing::info!(quote_id = full.id, number = %full.number, "quote created");
    Ok(full)
}

/// Replaces a draft's content (409 once it has been sent).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &QuoteInput) -> AppResult<Quote> {
    let current = tenant::find::<quote::Entity>(db, actor.org, id).await?;
    let settings = settings(db, actor.org).await?;
    let valid = validate(input, &settings, current.issue_date)?;
    check_references(db, actor.org, &valid).await?;
    let decimals = current.currency.decimals();
    let (rows, totals) = line_rows(id, &valid.lines, decimals)?;
    let (excl, vat, incl) = totals_minor(&totals, decimals)?;
    if valid.issue_date.year() != current.year {
        return Err(AppError::validation("issue_date", Msg::new("quote.year_fixed").arg("year", current.year)));
    }
    let before = get(db, actor.org, id).await?;
    db::write(db, async |txn| {
        let updated = transition(actor.org, id, QuoteStatus::can_edit)
            .col_expr(quote::Column::ClientId, Expr::value(valid.client_id))
            .col_expr(quote::Column::VehicleId, Expr::value(valid.vehicle_id))
            .col_expr(quote::Column::IssueDate, Expr::value(valid.issue_date))
            .col_expr(quote::Column::ValidUntil, Expr::value(valid.valid_until))
            .col_expr(quote::Column::Notes, Expr::value(valid.notes.clone()))
            .col_expr(quote::Column::Terms, Expr::value(valid.terms.clone()))
            .col_expr(quote::Column::LineDecisions, Expr::value(valid.line_decisions))
            .col_expr(quote::Column::TotalExclMinor, Expr::value(excl))
            .col_expr(quote::Column::TotalVatMinor, Expr::value(vat))
            .col_expr(quote::Column::TotalInclMinor, Expr::value(incl))
            .col_expr(quote::Column::UpdatedAt, Expr::value(Utc::now()))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(not_editable(before.status));
        }
        line::Entity::delete_many().filter(line::Column::QuoteId.eq(id)).exec(txn).await?;
        if !rows.is_empty() {
            line::Entity::insert_many(rows).exec_without_returning(txn).await?;
        }
        let after = get(txn, actor.org, id).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

fn not_editable(status: QuoteStatus) -> AppError {
    AppError::conflict(
        "quote_not_editable",
        Msg::new("quote.not_editable").arg("status", crate::platform::i18n::current().text(status.label_key())),
    )
}

/// An UPDATE of the organization's quote `id` that applies only while its status
/// allows it: a status change is conditional, so two concurrent ones cannot both win.
fn transition(org: OrgId, id: i64, allowed: fn(QuoteStatus) -> bool) -> sea_orm::UpdateMany<quote::Entity> {
    quote::Entity::update_many()
        .filter(quote::Column::OrganizationId.eq(org.get()))
        .filter(quote::Column::Id.eq(id))
        .filter(quote::Column::Status.is_in(QuoteStatus::ALL.into_iter().filter(|s| allowed(*s))))
}

pub(super) fn illegal_transition(from: QuoteStatus, to: QuoteStatus) -> AppError {
    let locale = crate::platform::i18n::current();
    AppError::conflict(
        "illegal_transition",
        Msg::new("quote.illegal_transition")
            .arg("from", locale.text(from.label_key()))
            .arg("to", locale.text(to.label_key())),
    )
}

/// A new draft with the same client, vehicle, lines and terms, dated today.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn duplicate<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<Quote> {
    let source = get(db, actor.org, id).await?;
    let input = QuoteInput {
        client_id: Some(source.client_id),
        vehicle_id: source.vehicle_id,
        issue_date: None,
        valid_until: None,
        notes: source.notes.clone(),
        terms: source.terms.clone(),
        line_decisions: Some(source.line_decisions),
        lines: source.lines.iter().map(LineInput::from).collect(),
    };
    create_from(db, actor, &input, Some(source.id)).await
}

/// A share link's secret, shown once: the database keeps only its hash.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ShareLink {
    /// Path of the client's page, e.g. `/q/3f…`; prefix it with the site's address.
    pub path: String,
    pub expires_at: chrono::DateTime<Utc>,
}

/// How long a share link works after the quote's validity date.
const SHARE_GRACE_DAYS: u64 = 30;

fn new_share_link(valid_until: NaiveDate) -> AppResult<(String, ShareLink)> {
    let token = random_token(32)?;
    let last_day = Ord::max(valid_until, Utc::now().date_naive())
        .checked_add_days(Days::new(SHARE_GRACE_DAYS))
        .unwrap_or(valid_until);
    let expires_at = last_day.and_hms_opt(23, 59, 59).unwrap_or_default().and_utc();
    let link = ShareLink { path: format!("/q/{token}"), expires_at };
    Ok((token_hash(&token), link))
}

/// Draft → sent, with a new share link for the client (any earlier link stops working).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn send<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<(Quote, ShareLink)> {
    db::write(db, async |txn| send_in(txn, actor, id).await).await
}

/// Sends (or re-sends) within the caller's transaction: a draft becomes sent; a
/// sent quote gets a fresh link.
pub(super) async fn send_in(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: i64,
) -> AppResult<(Quote, ShareLink)> {
    let before = get(txn, actor.org, id).await?;
    if before.lines.is_empty() {
        return Err(AppError::conflict_on("lines", "quote_empty", Msg::new("quote.empty")));
    }
    let (hash, link) = new_share_link(before.valid_until)?;
    let now = Utc::now();
    let updated = transition(actor.org, id, QuoteStatus::can_send)
        .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Sent))
        .col_expr(quote::Column::ShareTokenHash, Expr::value(hash))
        .col_expr(quote::Column::ShareExpiresAt, Expr::value(link.expires_at))
        .col_expr(quote::Column::SentAt, Expr::value(before.sent_at.unwrap_or(now)))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(illegal_transition(before.status, QuoteStatus::Sent));
    }
    let after = get(txn, actor.org, id).await?;
    audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
    webhooks::emit(txn, actor.org, WebhookEvent::QuoteSent, webhook_data(&after)).await?;
    Ok((after, link))
}

/// Sent → accepted or rejected, as of `today`, in the caller's transaction (demo
/// data records past decisions with it); the time and the deciding address are
/// recorded. Accepting line by line needs the quote to allow it and at least one line.
pub(crate) async fn decide_on(
    txn: &sea_orm::DatabaseTransaction,
    actor: &Actor,
    id: i64,
    input: &DecisionInput,
    today: NaiveDate,
) -> AppResult<Quote> {
    let before = get(txn, actor.org, id).await?;
    let to = match input.decision {
        Decision::Accept => QuoteStatus::Accepted,
        Decision::Decline => QuoteStatus::Rejected,
    };
    if !before.status.can_decide() {
        return Err(illegal_transition(before.status, to));
    }
    if before.valid_until < today {
        return Err(illegal_transition(QuoteStatus::Expired, to));
    }
    let accepted: HashMap<i64, bool> = match (input.decision, &input.accepted_line_ids) {
        (Decision::Decline, _) => before.lines.iter().map(|l| (l.id, false)).collect(),
        (Decision::Accept, None) => before.lines.iter().map(|l| (l.id, true)).collect(),
        (Decision::Accept, Some(ids)) => {
            // As a set: `[a, a, a, a]` names one line, not four.
            let ids: std::collections::HashSet<i64> = ids.iter().copied().collect();
            if ids.is_empty() || ids.iter().any(|id| !before.lines.iter().any(|l| l.id == *id)) {
                return Err(AppError::validation("accepted_line_ids", Msg::new("quote.accepted_lines_invalid")));
            }
            if !before.line_decisions && ids.len() != before.lines.len() {
                return Err(AppError::validation("accepted_line_ids", Msg::new("quote.line_decisions_off")));
            }
            before.lines.iter().map(|l| (l.id, ids.contains(&l.id))).collect()
        }
    };
    let now = Utc::now();
    let updated = transition(actor.org, id, QuoteStatus::can_decide)
        .col_expr(quote::Column::Status, Expr::value(to))
        .col_expr(quote::Column::DecidedAt, Expr::value(now))
        .col_expr(quote::Column::DecisionIp, Expr::value(actor.ip.clone()))
        .col_expr(quote::Column::UpdatedAt, Expr::value(now))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(illegal_transition(before.status, to));
    }
    for flag in [true, false] {
        let ids: Vec<i64> = accepted.iter().filter(|(_, a)| **a == flag).map(|(id, _)| *id).collect();
        if !ids.is_empty() {
            line::Entity::update_many()
                .col_expr(line::Column::Accepted, Expr::value(flag))
                .filter(line::Column::QuoteId.eq(id))
                .filter(line::Column::Id.is_in(ids))
                .exec(txn)
                .await?;
        }
    }
    let mut after = get(txn, actor.org, id).await?;
    if after.original_totals.is_some() {
        // Lists, sums and the dashboard read the stored totals: they count the accepted lines only.
        let decimals = after.decimals();
        let (totals, _) = quote_totals(after.status, &after.lines, decimals);
        let (excl, vat, incl) = totals_minor(&totals, decimals)?;
        quote::Entity::update_many()
            .col_expr(quote::Column::TotalExclMinor, Expr::value(excl))
            .col_expr(quote::Column::TotalVatMinor, Expr::value(vat))
            .col_expr(quote::Column::TotalInclMinor, Expr::value(incl))
            .filter(quote::Column::Id.eq(id))
            .exec(txn)
            .await?;
        after = get(txn, actor.org, id).await?;
    }
    audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
    let event = match input.decision {
        Decision::Accept => WebhookEvent::QuoteAccepted,
        Decision::Decline => WebhookEvent::QuoteDeclined,
    };
    webhooks::emit(txn, actor.org, event, webhook_data(&after)).await?;
    tracing::info!(quote_id = id, status = to.as_str(), "quote decided");
    Ok(after)
}

/// What a webhook says of a quote: enough to act on, the rest through the API.
fn webhook_data(quote: &Quote) -> serde_json::Value {
    serde_json::json!({
        "quote_id": quote.id,
        "number": quote.number,
        "status": quote.status,
        "client_id": quote.client_id,
        "vehicle_id": quote.vehicle_id,
        "currency": quote.currency.to_string(),
        "totals": quote.totals,
        "accepted_line_ids": quote.lines.iter().filter(|l| l.accepted == Some(true)).map(|l| l.id).collect::<Vec<_>>(),
    })
}

/// The garage records the client's decision (given by phone, in person…).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn decide<C: Writer>(db: &C, actor: &Actor, id: i64, input: &DecisionInput) -> AppResult<Quote> {
    let today = organizations::today(db, actor.org).await?;
    db::write(db, async |txn| decide_on(txn, actor, id, input, today).await).await
}

/// The quote a share link opens, if the link is known and has not expired.
pub async fn by_share_token(db: &impl ConnectionTrait, token: &str) -> AppResult<(OrgId, Quote)> {
    if token.len() != 64 || !token.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let m = quote::Entity::find()
        .filter(quote::Column::ShareTokenHash.eq(token_hash(token)))
        .one(db)
        .await?
        .filter(|m| m.share_expires_at.is_some_and(|at| at > Utc::now()))
        .ok_or(AppError::NotFound)?;
    let org = OrgId::new(m.organization_id);
    let rows = lines_of(db, m.id).await?;
    Ok((org, assemble(m, rows)))
}

/// The client decides through the share link; `ip` is where the answer came from.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn decide_by_token<C: Writer>(db: &C, token: &str, input: &DecisionInput, ip: String) -> AppResult<Quote> {
    let (org, quote) = by_share_token(db, token).await?;
    let actor = Actor { ip: Some(ip), ..Actor::system(org) };
    let today = organizations::today(db, org).await?;
    db::write(db, async |txn| {
        let decided = decide_on(txn, &actor, quote.id, input, today).await?;
        tell_managers(txn, org, &decided).await?;
        Ok(decided)
    })
    .await
}

/// The garage's managers and administrators hear at once that a client answered
/// a quote through its link (in-app, e-mail, on their phone, as each chose).
async fn tell_managers(txn: &sea_orm::DatabaseTransaction, org: OrgId, quote: &Quote) -> AppResult<()> {
    use crate::identity::roles::Role;
    use crate::notify::{Event, Notice};
    let locale = organizations::get(txn, org).await?.locale;
    let client = clients::get(txn, org, quote.client_id).await?;
    let total =
        crate::platform::money::format_money(quote.totals.incl_tax, quote.currency.decimals(), quote.currency.code());
    let args = [("number", quote.number.as_str()), ("client", client.display_name()), ("total", total.as_str())];
    let (subject, body) = if quote.status == QuoteStatus::Accepted {
        (locale.format("quote.decided_accepted", &args), locale.format("quote.decided_accepted_body", &args))
    } else {
        (locale.format("quote.decided_declined", &args), locale.format("quote.decided_declined_body", &args))
    };
    for (user, email) in crate::identity::users::service::with_roles(txn, org, &[Role::Admin, Role::Manager]).await? {
        let notice = Notice::new(Event::QuoteDecided, subject.clone(), body.clone())
            .user(Some(user))
            .email(Some(email))
            .link(format!("/quotes/{}", quote.id));
        crate::notify::send(txn, org, notice).await?;
    }
    Ok(())
}

/// Sent quotes whose validity date has passed, in their organization's zone, become
/// expired (the daily job): a quote valid until the 3rd stays valid all the 3rd where
/// the garage is. Idempotent and safe to run on several instances at once.
#[tracing::instrument(skip_all, err)]
pub async fn expire_past_due<C: Writer>(db: &C, now: chrono::DateTime<Utc>) -> AppResult<u64> {
    // No zone's day is ahead of UTC's by more than 14 hours: the organizations with a
    // candidate, then each one's own day.
    let latest = (now + chrono::Duration::hours(14)).date_naive();
    let orgs: Vec<i64> = quote::Entity::find()
        .select_only()
        .column(quote::Column::OrganizationId)
        .distinct()
        .filter(quote::Column::Status.eq(QuoteStatus::Sent))
        .filter(quote::Column::ValidUntil.lt(latest))
        .into_tuple()
        .all(db)
        .await?;
    let mut expired = 0;
    for org in orgs {
        // One organization's damaged zone must not stop the others' expiry.
        let zone = match organizations::zone(db, OrgId::new(org)).await {
            Ok(zone) => zone,
            Err(err) => {
                tracing::error!(organization = org, error = %err, "quotes not expired: no time zone");
                continue;
            }
        };
        let today = now.with_timezone(&zone).date_naive();
        let done = db::write(db, async |txn| -> AppResult<_> {
            Ok(quote::Entity::update_many()
                .col_expr(quote::Column::Status, Expr::value(QuoteStatus::Expired))
                .col_expr(quote::Column::UpdatedAt, Expr::value(Utc::now()))
                .filter(quote::Column::OrganizationId.eq(org))
                .filter(quote::Column::Status.eq(QuoteStatus::Sent))
                .filter(quote::Column::ValidUntil.lt(today))
                .exec(txn)
                .await?
                .rows_affected)
        })
        .await?;
        expired += done;
    }
    if expired > 0 {
        tracing::info!(count = expired, "quotes expired");
    }
    Ok(expired)
}
