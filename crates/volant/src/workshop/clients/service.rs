//! Clients (individuals or companies), their search, and which vehicles they own
//! over time. A vehicle has at most one current owner: the database's partial
//! unique index holds that, this module translates its verdict.

use std::collections::{BTreeSet, HashMap};

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{client, ownership, search_term};
use crate::fleet::vehicles::service::{self as vehicles, Vehicle};
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::geo::{self, Location, Subject};
use crate::platform::i18n::Msg;
use crate::platform::pagination::{CursorKey, Page, PageRequest, Sort, SortBy, SortField, SortKey};
use crate::platform::search::{next_prefix, search_term, sort_key};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;

pub const AUDIT_ENTITY: &str = "client";

string_enum! {
    // A person, or a company (with its contact).
    #[derive(ToSchema)]
    pub enum ClientKind (labels "client.kind.") {
        Individual,
        Company,
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 5, "kind": "individual", "name": "Jeanne Martin", "company_name": null, "tax_id": null,
    "email": "jeanne.martin@example.fr", "phone": "06 12 34 56 78", "address": "4 place Bellecour, 69002 Lyon",
    "notes": "Préfère être appelée le matin.", "consent_marketing": false, "consent_notifications": true,
    "created_at": "2026-04-11T10:02:00Z", "updated_at": "2026-04-11T10:02:00Z"
}))]
pub struct Client {
    pub id: i64,
    pub kind: ClientKind,
    /// The person's name (for a company, its contact).
    pub name: String,
    pub company_name: Option<String>,
    /// SIRET, VAT number…
    pub tax_id: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    /// May receive marketing messages.
    pub consent_marketing: bool,
    /// May receive service notifications (quotes, maintenance reminders) by e-mail.
    pub consent_notifications: bool,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

impl Client {
    /// What lists and documents call the client: the company, else the person.
    pub fn display_name(&self) -> &str {
        self.company_name.as_deref().unwrap_or(&self.name)
    }
}

impl From<client::Model> for Client {
    fn from(m: client::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            name: m.name,
            company_name: m.company_name,
            tax_id: m.tax_id,
            email: m.email,
            phone: m.phone,
            address: m.address,
            notes: m.notes,
            consent_marketing: m.consent_marketing,
            consent_notifications: m.consent_notifications,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// Every field of a client (POST and PUT); `name` is required, and `company_name` for a company.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClientInput {
    /// `individual` (default) or `company`.
    pub kind: Option<ClientKind>,
    #[schema(required = true, nullable = false, example = "Jeanne Martin")]
    pub name: Option<String>,
    #[schema(example = "Transports Martin SARL")]
    pub company_name: Option<String>,
    pub tax_id: Option<String>,
    #[schema(example = "jeanne.martin@example.fr")]
    pub email: Option<String>,
    #[schema(example = "06 12 34 56 78")]
    pub phone: Option<String>,
    pub address: Option<String>,
    pub notes: Option<String>,
    pub consent_marketing: Option<bool>,
    pub consent_notifications: Option<bool>,
}

struct ValidClient {
    kind: ClientKind,
    name: String,
    company_name: Option<String>,
    tax_id: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    address: Option<String>,
    notes: Option<String>,
    consent_marketing: bool,
    consent_notifications: bool,
}

fn validate(input: &ClientInput) -> AppResult<ValidClient> {
    let mut v = Validator::new();
    let kind = input.kind.unwrap_or(ClientKind::Individual);
    let name = v.required_text("name", input.name.as_deref(), 120);
    let company_name = v.optional_text("company_name", input.company_name.as_deref(), 120);
    if kind == ClientKind::Company && company_name.is_none() && v.is_valid() {
        v.add("company_name", Msg::new("field.required"));
    }
    let tax_id = v.optional_text("tax_id", input.tax_id.as_deref(), 40);
    let email = v.optional_email("email", input.email.as_deref());
    let phone = v.optional_phone("phone", input.phone.as_deref());
    // A postal address, on several lines as it is printed on invoices.
    let address = v.optional_long_text("address", input.address.as_deref(), 255);
    let notes = v.optional_long_text("notes", input.notes.as_deref(), 5000);
    v.finish()?;
    let name = name.ok_or_else(|| AppError::Internal("validator accepted a missing name".to_owned()))?;
    Ok(ValidClient {
        kind,
        name,
        company_name: if kind == ClientKind::Company { company_name } else { None },
        tax_id,
        email,
        phone,
        address,
        notes,
        consent_marketing: input.consent_marketing.unwrap_or(false),
        consent_notifications: input.consent_notifications.unwrap_or(false),
    })
}

fn phone_digits(phone: &str) -> String {
    phone.chars().filter(char::is_ascii_digit).collect()
}

/// The words a client is found by: each word of the names, the e-mail (whole and
/// its local part), the phone's digits (and their French national form).
fn search_terms(c: &ValidClient) -> BTreeSet<String> {
    terms_of(&c.name, c.company_name.as_deref(), c.email.as_deref(), c.phone.as_deref())
}

/// The words a client with these details is found by (public so that bulk loaders
/// index clients exactly as the service does).
pub fn terms_of(name: &str, company_name: Option<&str>, email: Option<&str>, phone: Option<&str>) -> BTreeSet<String> {
    let mut terms = BTreeSet::new();
    for text in [Some(name), company_name].into_iter().flatten() {
        terms.extend(words(text));
    }
    if let Some(email) = email {
        let email = email.to_lowercase();
        if let Some((local, _)) = email.split_once('@') {
            terms.insert(local.to_owned());
        }
        terms.insert(email);
    }
    if let Some(phone) = phone {
        let digits = phone_digits(phone);
        if let Some(national) = digits.strip_prefix("33").filter(|rest| rest.len() == 9) {
            terms.insert(format!("0{national}"));
        }
        terms.insert(digits);
    }
    terms.retain(|t| !t.is_empty() && t.chars().count() <= 254);
    terms
}

/// Lower-cased words: letters and digits, split on anything else.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase)
}

/// The input that would write `client` as they are (what an update starts from).
pub fn input_of(client: &Client) -> ClientInput {
    ClientInput {
        kind: Some(client.kind),
        name: Some(client.name.clone()),
        company_name: client.company_name.clone(),
        tax_id: client.tax_id.clone(),
        email: client.email.clone(),
        phone: client.phone.clone(),
        address: client.address.clone(),
        notes: client.notes.clone(),
        consent_marketing: Some(client.consent_marketing),
        consent_notifications: Some(client.consent_notifications),
    }
}

/// The clients with this e-mail address (any case), oldest first, found through
/// the search terms' index.
pub async fn find_by_email(db: &impl ConnectionTrait, org: OrgId, email: &str) -> AppResult<Vec<Client>> {
    let email = email.trim().to_lowercase();
    let ids: Vec<i64> = search_term::Entity::find()
        .select_only()
        .column(search_term::Column::ClientId)
        .filter(search_term::Column::OrganizationId.eq(org.get()))
        .filter(search_term::Column::Term.eq(email.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let mut found: Vec<Client> = get_many(db, org, &ids)
        .await?
        .into_values()
        .filter(|c| c.email.as_deref().is_some_and(|e| e.to_lowercase() == email))
        .collect();
    found.sort_by_key(|c| c.id);
    Ok(found)
}

/// The clients whose shown name is exactly `name` (case and accents aside), oldest first, at most `limit`.
pub async fn find_by_name(db: &impl ConnectionTrait, org: OrgId, name: &str, limit: u64) -> AppResult<Vec<Client>> {
    let rows = tenant::scoped::<client::Entity>(org)
        .filter(client::Column::SortName.eq(sort_key(name)))
        .order_by_asc(client::Column::Id)
        .limit(limit)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(Client::from).collect())
}

/// When each of these clients last changed (those that still exist), in one query.
pub async fn stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[i64],
) -> AppResult<HashMap<i64, chrono::DateTime<Utc>>> {
    let rows: Vec<(i64, chrono::DateTime<Utc>)> = tenant::scoped::<client::Entity>(org)
        .select_only()
        .column(client::Column::Id)
        .column(client::Column::UpdatedAt)
        .filter(client::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The vehicle's current ownership: its id and when it began.
pub async fn current_ownership(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_id: i64,
) -> AppResult<Option<(i64, chrono::DateTime<Utc>)>> {
    Ok(ownership::Entity::find()
        .select_only()
        .column(ownership::Column::Id)
        .column(ownership::Column::StartedAt)
        .filter(ownership::Column::OrganizationId.eq(org.get()))
        .filter(ownership::Column::VehicleId.eq(vehicle_id))
        .filter(ownership::Column::EndedAt.is_null())
        .into_tuple()
        .one(db)
        .await?)
}

/// When each of these ownerships began, those still current (one that ended has changed).
pub async fn ownership_stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[i64],
) -> AppResult<HashMap<i64, chrono::DateTime<Utc>>> {
    let rows: Vec<(i64, chrono::DateTime<Utc>)> = ownership::Entity::find()
        .select_only()
        .column(ownership::Column::Id)
        .column(ownership::Column::StartedAt)
        .filter(ownership::Column::OrganizationId.eq(org.get()))
        .filter(ownership::Column::Id.is_in(ids.iter().copied()))
        .filter(ownership::Column::EndedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Whether a vehicle has, or had, an owner other than by these ownerships.
pub async fn has_ownerships_besides(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_id: i64,
    besides: &std::collections::HashSet<i64>,
) -> AppResult<bool> {
    ownerships_besides(db, org, ownership::Column::VehicleId.eq(vehicle_id), besides).await
}

/// Whether a client owns, or owned, a vehicle other than by these ownerships.
pub async fn has_vehicles_besides(
    db: &impl ConnectionTrait,
    org: OrgId,
    client_id: i64,
    besides: &std::collections::HashSet<i64>,
) -> AppResult<bool> {
    ownerships_besides(db, org, ownership::Column::ClientId.eq(client_id), besides).await
}

/// Whether an ownership matching `of` is not among `besides`.
async fn ownerships_besides(
    db: &impl ConnectionTrait,
    org: OrgId,
    of: sea_orm::sea_query::SimpleExpr,
    besides: &std::collections::HashSet<i64>,
) -> AppResult<bool> {
    let ids: Vec<i64> = ownership::Entity::find()
        .select_only()
        .column(ownership::Column::Id)
        .filter(ownership::Column::OrganizationId.eq(org.get()))
        .filter(of)
        .limit(1000)
        .into_tuple()
        .all(db)
        .await?;
    Ok(ids.iter().any(|id| !besides.contains(id)))
}

/// Takes back an ownership as if it never was (undoing the import that made
/// it), with an audit record.
pub async fn forget_ownership(db: &impl ConnectionTrait, actor: &Actor, id: i64) -> AppResult<()> {
    let Some(before) =
        ownership::Entity::find_by_id(id).filter(ownership::Column::OrganizationId.eq(actor.org.get())).one(db).await?
    else {
        return Err(AppError::NotFound);
    };
    ownership::Entity::delete_by_id(id).exec(db).await?;
    let details = serde_json::json!({ "vehicle_id": before.vehicle_id, "ownership_id": id });
    audit::record_change(db, actor, (AUDIT_ENTITY, before.client_id), Some(&details), None::<&serde_json::Value>).await
}

/// The organization's clients: every query starts here.
pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<Client> {
    tenant::find::<client::Entity>(db, org, id).await.map(Client::from)
}

/// The organization's clients: every query starts from [`tenant::scoped`], so none
/// can forget its tenant; another organization's row is a 404.
impl tenant::Owned for client::Entity {
    const ORGANIZATION_ID: client::Column = client::Column::OrganizationId;
    const ID: client::Column = client::Column::Id;
}

/// The organization's clients among `ids`, by id, in one query.
pub async fn get_many(db: &impl ConnectionTrait, org: OrgId, ids: &[i64]) -> AppResult<HashMap<i64, Client>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows =
        tenant::scoped::<client::Entity>(org).filter(client::Column::Id.is_in(ids.iter().copied())).all(db).await?;
    Ok(rows.into_iter().map(|m| (m.id, Client::from(m))).collect())
}

/// Most vehicles a plate search looks at before naming their owners.
const PLATE_MATCHES: u64 = 200;

/// A page of clients in id order; with `q`, those with a name, company, e-mail or
/// phone word starting with every word of `q`, or owning a vehicle whose plate
/// starts with `q`.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    q: Option<&str>,
    page: PageRequest,
) -> AppResult<Page<Client>> {
    let term = search_term(q.unwrap_or_default());
    let term = term.as_str();
    if term.is_empty() {
        return Ok(page
            .fetch(db, tenant::scoped::<client::Entity>(org), client::Column::Id, Order::Asc, |c| c.id)
            .await?
            .map(Client::from));
    }
    let mut ids = matching_ids(db, org, term, page.clone()).await?;
    let plate_vehicles = vehicles::ids_with_plate_prefix(db, org, term, PLATE_MATCHES).await?;
    if !plate_vehicles.is_empty() {
        let mut owners = ownership::Entity::find()
            .select_only()
            .column(ownership::Column::ClientId)
            .filter(ownership::Column::OrganizationId.eq(org.get()))
            .filter(ownership::Column::VehicleId.is_in(plate_vehicles))
            .filter(ownership::Column::EndedAt.is_null());
        if let Some(after) = page.after {
            owners = owners.filter(ownership::Column::ClientId.gt(after));
        }
        ids.extend(owners.into_tuple::<i64>().all(db).await?);
    }
    ids.sort_unstable();
    ids.dedup();
    ids.truncate(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX));
    let mut found = get_many(db, org, &ids).await?;
    let rows: Vec<Client> = ids.iter().filter_map(|id| found.remove(id)).collect();
    Ok(Page::from_rows(rows, &page, |c| c.id))
}

/// Ids of clients having, for every word of `term`, a search term starting with it:
/// one range of the terms' primary key per word.
async fn matching_ids(db: &impl ConnectionTrait, org: OrgId, term: &str, page: PageRequest) -> AppResult<Vec<i64>> {
    let prefixes = term_prefixes(term);
    let Some((first, rest)) = prefixes.split_first() else { return Ok(Vec::new()) };
    let range = |prefix: &str| term_range(org, prefix);
    // One page of client ids for a condition on the first word's terms, in id order,
    // each id also having a term for every other word.
    let page_query = |condition: Condition| {
        let terms = search_term::Entity::find().select_only().column(search_term::Column::ClientId).filter(condition);
        let mut query = page.keyset(terms, search_term::Column::ClientId, Order::Asc);
        for prefix in rest {
            let others =
                search_term::Entity::find().select_only().column(search_term::Column::ClientId).filter(range(prefix));
            query = query.filter(
                Expr::col((search_term::Entity, search_term::Column::ClientId))
                    .in_subquery(sea_orm::QueryTrait::into_query(others)),
            );
        }
        query
    };
    // A prefix usually starts a handful of distinct terms ("mart": "martin",
    // "martinez"): each one's ids are a walk of the primary key in id order that
    // stops at a page, merged here. Otherwise the whole range is gathered and sorted.
    match terms_starting_with(db, org, first).await? {
        Some(terms) => {
            let mut ids = Vec::new();
            for term in terms {
                let condition = Condition::all()
                    .add(search_term::Column::OrganizationId.eq(org.get()))
                    .add(search_term::Column::Term.eq(term));
                ids.extend(page_query(condition).into_tuple::<i64>().all(db).await?);
            }
            ids.sort_unstable();
            ids.dedup();
            ids.truncate(usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX));
            Ok(ids)
        }
        None => {
            Ok(page_query(range(first)).group_by(search_term::Column::ClientId).into_tuple::<i64>().all(db).await?)
        }
    }
}

/// What a search looks for among the clients' terms: a phone's digits, an
/// address, or each word's start; the longest first (the rarest narrows the others).
fn term_prefixes(term: &str) -> Vec<String> {
    let digits = phone_digits(term);
    let looks_like_phone = digits.len() >= 2 && term.chars().all(|c| c.is_ascii_digit() || " +-./()".contains(c));
    let mut prefixes: Vec<String> = if looks_like_phone {
        vec![digits]
    } else if term.contains('@') {
        vec![term.to_lowercase()]
    } else {
        words(term).collect()
    };
    prefixes.sort();
    prefixes.dedup();
    prefixes.sort_by_key(|p| std::cmp::Reverse(p.chars().count()));
    prefixes
}

/// The organization's search terms starting with `prefix`: a range of their primary key.
fn term_range(org: OrgId, prefix: &str) -> Condition {
    let mut condition = Condition::all()
        .add(search_term::Column::OrganizationId.eq(org.get()))
        .add(search_term::Column::Term.gte(prefix));
    if let Some(upper) = next_prefix(prefix) {
        condition = condition.add(search_term::Column::Term.lt(upper));
    }
    condition
}

/// The clients a search finds, as one condition on the clients' table (for a
/// list in another order than ids, and for its count): a term starting with every
/// word, or owning a vehicle whose plate starts with the search.
async fn matching(db: &impl ConnectionTrait, org: OrgId, term: &str) -> AppResult<Condition> {
    let mut words = Condition::all();
    let prefixes = term_prefixes(term);
    for prefix in &prefixes {
        let ids = search_term::Entity::find()
            .select_only()
            .column(search_term::Column::ClientId)
            .filter(term_range(org, prefix));
        words = words.add(client::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(ids)));
    }
    let mut any = Condition::any();
    if !prefixes.is_empty() {
        any = any.add(words);
    }
    let plate_vehicles = vehicles::ids_with_plate_prefix(db, org, term, PLATE_MATCHES).await?;
    if !plate_vehicles.is_empty() {
        let owners = ownership::Entity::find()
            .select_only()
            .column(ownership::Column::ClientId)
            .filter(ownership::Column::OrganizationId.eq(org.get()))
            .filter(ownership::Column::VehicleId.is_in(plate_vehicles))
            .filter(ownership::Column::EndedAt.is_null());
        any = any.add(client::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(owners)));
    }
    // Nothing to look for (a search of only punctuation): nothing matches.
    Ok(if any.is_empty() { Condition::all().add(Expr::val(false)) } else { any })
}

/// What a list of clients sorts by, as `sort=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientField {
    /// Creation order.
    Id,
    Name,
}

impl SortField for ClientField {
    const ALL: &'static [(&'static str, Self)] = &[("id", Self::Id), ("name", Self::Name)];
}

impl SortBy<client::Entity> for ClientField {
    fn key(self) -> SortKey<client::Column> {
        match self {
            Self::Id => SortKey::Id,
            Self::Name => SortKey::Text(client::Column::SortName),
        }
    }

    fn place(self, row: &client::Model) -> (i64, Option<CursorKey>) {
        match self {
            Self::Id => (row.id, None),
            Self::Name => (row.id, Some(CursorKey::Text(row.sort_name.clone()))),
        }
    }
}

/// A list of clients' order (oldest first unless asked).
pub type ClientSort = Sort<ClientField>;

/// A page of clients, searched like [`list`], in `sort`'s order.
pub async fn list_sorted(
    db: &impl ConnectionTrait,
    org: OrgId,
    q: Option<&str>,
    sort: ClientSort,
    page: PageRequest,
) -> AppResult<Page<Client>> {
    let term = search_term(q.unwrap_or_default());
    if sort == ClientSort::ascending(ClientField::Id) {
        return list(db, org, Some(&term), page).await;
    }
    let mut query = tenant::scoped::<client::Entity>(org);
    if !term.is_empty() {
        query = query.filter(matching(db, org, &term).await?);
    }
    Ok(page.fetch_sorted(db, query, client::Column::Id, sort).await?.map(Client::from))
}

/// How many clients a search finds.
pub async fn count(db: &impl ConnectionTrait, org: OrgId, q: &str) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    let term = search_term(q);
    Ok(tenant::scoped::<client::Entity>(org).filter(matching(db, org, &term).await?).count(db).await?)
}

/// Beyond this many distinct terms for one prefix, search the range at once.
const MAX_PREFIX_TERMS: usize = 20;

/// The distinct terms starting with `prefix`, found by hopping along the
/// `(organization_id, term, client_id)` primary key one term at a time; `None`
/// when there are more than [`MAX_PREFIX_TERMS`].
async fn terms_starting_with(db: &impl ConnectionTrait, org: OrgId, prefix: &str) -> AppResult<Option<Vec<String>>> {
    let upper = next_prefix(prefix);
    let mut terms: Vec<String> = Vec::new();
    loop {
        let mut query = search_term::Entity::find()
            .select_only()
            .column(search_term::Column::Term)
            .filter(search_term::Column::OrganizationId.eq(org.get()))
            .order_by_asc(search_term::Column::Term)
            .limit(1);
        query = match terms.last() {
            None => query.filter(search_term::Column::Term.gte(prefix)),
            Some(last) => query.filter(search_term::Column::Term.gt(last.as_str())),
        };
        if let Some(upper) = &upper {
            query = query.filter(search_term::Column::Term.lt(upper.as_str()));
        }
        let Some(term) = query.into_tuple::<String>().one(db).await? else { return Ok(Some(terms)) };
        if terms.len() == MAX_PREFIX_TERMS {
            return Ok(None);
        }
        terms.push(term);
    }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &ClientInput) -> AppResult<Client> {
    let valid = validate(input)?;
    let now = Utc::now();
    let mut model =
        client::ActiveModel { organization_id: Set(actor.org.get()), created_at: Set(now), ..Default::default() };
    fill(&mut model, &valid, now);
    let created = db::write(db, async |txn| -> AppResult<_> {
        let saved = model.insert(txn).await?;
        write_terms(txn, actor.org, saved.id, &valid).await?;
        locate(txn, actor.org, saved.id, valid.address.as_deref()).await?;
        let created = Client::from(saved);
        audit::record_change(txn, actor, (AUDIT_ENTITY, created.id), None, Some(&created)).await?;
        Ok(created)
    })
    .await?;
    tracing::info!(client_id = created.id, "client created");
    Ok(created)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace<C: Writer>(db: &C, actor: &Actor, id: i64, input: &ClientInput) -> AppResult<Client> {
    let valid = validate(input)?;
    let current = tenant::find::<client::Entity>(db, actor.org, id).await?;
    let before = Client::from(current.clone());
    let mut model: client::ActiveModel = current.into();
    fill(&mut model, &valid, Utc::now());
    db::write(db, async |txn| {
        let saved = match model.update(txn).await {
            Ok(saved) => saved,
            Err(sea_orm::DbErr::RecordNotUpdated) => return Err(AppError::NotFound),
            Err(err) => return Err(err.into()),
        };
        search_term::Entity::delete_many().filter(search_term::Column::ClientId.eq(id)).exec(txn).await?;
        write_terms(txn, actor.org, id, &valid).await?;
        locate(txn, actor.org, id, valid.address.as_deref()).await?;
        let after = Client::from(saved);
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}

/// Keeps the client's place with their address (located by the geocoder for the
/// distances to the garages); without an address, they have none.
async fn locate(txn: &impl ConnectionTrait, org: OrgId, id: i64, address: Option<&str>) -> AppResult<()> {
    match address {
        Some(address) => geo::record(txn, org, (Subject::Client, id), address, geo::Placing::Address).await,
        None => geo::forget(txn, (Subject::Client, id)).await,
    }
}

/// A garage and how far it is from a client, as the crow flies.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GarageDistance {
    pub garage_id: i64,
    pub name: String,
    pub address: String,
    /// Great-circle distance, in kilometres (not by road).
    #[schema(example = 12.4)]
    pub distance_km: f64,
}

/// Where a client is and how far each located garage is, nearest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ClientDistances {
    /// The client's position: `null` coordinates while not located (no address,
    /// not found, geocoder unavailable) and then no distances.
    pub location: Option<Location>,
    pub garages: Vec<GarageDistance>,
}

pub async fn distances(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<ClientDistances> {
    let client = get(db, org, id).await?;
    let location = if client.address.is_some() {
        let places = geo::locations(db, org, Subject::Client, &[id]).await?;
        Some(places.get(&id).cloned().unwrap_or(Location::PENDING))
    } else {
        None
    };
    let Some(from) = location.as_ref().and_then(Location::point) else {
        return Ok(ClientDistances { location, garages: Vec::new() });
    };
    let mut garages: Vec<GarageDistance> = crate::fleet::garages::service::all_with_locations(db, org)
        .await?
        .into_iter()
        .filter_map(|g| {
            let at = g.point()?;
            Some(GarageDistance {
                garage_id: g.id,
                address: g.full_address(),
                name: g.name,
                distance_km: (geo::distance_km(from, at) * 10.0).round() / 10.0,
            })
        })
        .collect();
    garages.sort_by(|a, b| a.distance_km.total_cmp(&b.distance_km).then(a.garage_id.cmp(&b.garage_id)));
    Ok(ClientDistances { location, garages })
}

fn fill(model: &mut client::ActiveModel, valid: &ValidClient, now: chrono::DateTime<Utc>) {
    model.kind = Set(valid.kind);
    model.name = Set(valid.name.clone());
    // Sorted as shown: a company by its company name.
    model.sort_name = Set(sort_key(valid.company_name.as_deref().unwrap_or(&valid.name)));
    model.company_name = Set(valid.company_name.clone());
    model.tax_id = Set(valid.tax_id.clone());
    model.email = Set(valid.email.clone());
    model.phone = Set(valid.phone.clone());
    model.address = Set(valid.address.clone());
    model.notes = Set(valid.notes.clone());
    model.consent_marketing = Set(valid.consent_marketing);
    model.consent_notifications = Set(valid.consent_notifications);
    model.updated_at = Set(now);
}

async fn write_terms(db: &impl ConnectionTrait, org: OrgId, client_id: i64, valid: &ValidClient) -> AppResult<()> {
    let rows: Vec<search_term::ActiveModel> = search_terms(valid)
        .into_iter()
        .map(|term| search_term::ActiveModel {
            organization_id: Set(org.get()),
            term: Set(term),
            client_id: Set(client_id),
        })
        .collect();
    if !rows.is_empty() {
        search_term::Entity::insert_many(rows).exec_without_returning(db).await?;
    }
    Ok(())
}

/// Deletes a client who has no quotes and has never owned a vehicle (409 otherwise:
/// their history must stay).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let before = get(db, actor.org, id).await?;
    db::write(db, async |txn| {
        let result = client::Entity::delete_many()
            .filter(client::Column::OrganizationId.eq(actor.org.get()))
            .filter(client::Column::Id.eq(id))
            .exec(txn)
            .await;
        match result {
            Ok(done) if done.rows_affected == 0 => return Err(AppError::NotFound),
            Ok(_) => {}
            Err(err) => {
                return Err(AppError::conflict("client_has_history", Msg::new("client.has_history"))
                    .if_refused(err, Constraint::is_foreign_key));
            }
        }
        let owner = crate::documents::model::Owner { kind: crate::documents::model::OwnerKind::Client, id };
        crate::documents::service::forget_owner(txn, actor.org, owner).await?;
        geo::forget(txn, (Subject::Client, id)).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&before), None).await?;
        Ok(())
    })
    .await
}

/// A period during which a client owned a vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Ownership {
    pub vehicle_id: i64,
    pub client_id: i64,
    pub client_name: String,
    pub started_at: chrono::DateTime<Utc>,
    /// `null` while it lasts.
    pub ended_at: Option<chrono::DateTime<Utc>>,
}

/// Makes `client_id` the vehicle's owner from now on, ending the previous owner's
/// period. Two concurrent transfers cannot leave two current owners.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn assign_vehicle<C: Writer>(db: &C, actor: &Actor, client_id: i64, vehicle_id: i64) -> AppResult<Ownership> {
    let owner = get(db, actor.org, client_id).await?;
    let vehicle = vehicles::get(db, actor.org, vehicle_id)
        .await
        .map_err(|err| err.missing_as("vehicle_id", Msg::new("client.vehicle_unknown")))?;
    let now = Utc::now();
    let (ownership, changed) = db::write(db, async |txn| -> AppResult<_> {
        let current = ownership::Entity::find()
            .filter(ownership::Column::OrganizationId.eq(actor.org.get()))
            .filter(ownership::Column::VehicleId.eq(vehicle.id))
            .filter(ownership::Column::EndedAt.is_null())
            .one(txn)
            .await?;
        if let Some(current) = &current {
            if current.client_id == client_id {
                return Ok((to_ownership(current, owner.display_name()), false));
            }
            ownership::Entity::update_many()
                .col_expr(ownership::Column::EndedAt, Expr::value(now))
                .filter(ownership::Column::Id.eq(current.id))
                .exec(txn)
                .await?;
        }
        let saved = ownership::ActiveModel {
            organization_id: Set(actor.org.get()),
            vehicle_id: Set(vehicle.id),
            client_id: Set(client_id),
            started_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::conflict_on("vehicle_id", "ownership_changed", Msg::new("client.ownership_changed"))
                .if_refused(err, Constraint::is_unique)
        })?;
        let details = serde_json::json!({ "vehicle_id": vehicle.id, "plate": vehicle.license_plate,
            "previous_client_id": current.map(|c| c.client_id) });
        audit::record_change(txn, actor, (AUDIT_ENTITY, client_id), None::<&serde_json::Value>, Some(&details)).await?;
        Ok((to_ownership(&saved, owner.display_name()), true))
    })
    .await?;
    if changed {
        tracing::info!(client_id, vehicle_id = vehicle.id, "vehicle owner changed");
    }
    Ok(ownership)
}

/// Ends the client's ownership of a vehicle (sold, scrapped); 404 if they do not own it.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn release_vehicle<C: Writer>(db: &C, actor: &Actor, client_id: i64, vehicle_id: i64) -> AppResult<()> {
    get(db, actor.org, client_id).await?;
    db::write(db, async |txn| {
        let ended = ownership::Entity::update_many()
            .col_expr(ownership::Column::EndedAt, Expr::value(Utc::now()))
            .filter(ownership::Column::OrganizationId.eq(actor.org.get()))
            .filter(ownership::Column::ClientId.eq(client_id))
            .filter(ownership::Column::VehicleId.eq(vehicle_id))
            .filter(ownership::Column::EndedAt.is_null())
            .exec(txn)
            .await?;
        if ended.rows_affected == 0 {
            return Err(AppError::NotFound);
        }
        let details = serde_json::json!({ "released_vehicle_id": vehicle_id });
        audit::record_change(txn, actor, (AUDIT_ENTITY, client_id), Some(&details), None::<&serde_json::Value>).await?;
        Ok(())
    })
    .await
}

fn to_ownership(m: &ownership::Model, client_name: &str) -> Ownership {
    Ownership {
        vehicle_id: m.vehicle_id,
        client_id: m.client_id,
        client_name: client_name.to_owned(),
        started_at: m.started_at,
        ended_at: m.ended_at,
    }
}

/// The vehicles a client owns today, in id order.
pub async fn vehicles_of(db: &impl ConnectionTrait, org: OrgId, client_id: i64) -> AppResult<Vec<Vehicle>> {
    get(db, org, client_id).await?;
    let ids: Vec<i64> = ownership::Entity::find()
        .select_only()
        .column(ownership::Column::VehicleId)
        .filter(ownership::Column::OrganizationId.eq(org.get()))
        .filter(ownership::Column::ClientId.eq(client_id))
        .filter(ownership::Column::EndedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    vehicles::get_many(db, org, &ids).await
}

/// Everyone who has owned the vehicle, oldest first.
pub async fn ownership_history(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<Vec<Ownership>> {
    vehicles::get(db, org, vehicle_id).await?;
    let rows = ownership::Entity::find()
        .filter(ownership::Column::OrganizationId.eq(org.get()))
        .filter(ownership::Column::VehicleId.eq(vehicle_id))
        .order_by_asc(ownership::Column::StartedAt)
        .order_by_asc(ownership::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.client_id).collect();
    let names = get_many(db, org, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let name = names.get(&r.client_id).map(|c| c.display_name().to_owned()).unwrap_or_default();
            to_ownership(&r, &name)
        })
        .collect())
}

/// The vehicle's current owner, if any.
pub async fn current_owner(db: &impl ConnectionTrait, org: OrgId, vehicle_id: i64) -> AppResult<Option<Client>> {
    let owner: Option<i64> = ownership::Entity::find()
        .select_only()
        .column(ownership::Column::ClientId)
        .filter(ownership::Column::OrganizationId.eq(org.get()))
        .filter(ownership::Column::VehicleId.eq(vehicle_id))
        .filter(ownership::Column::EndedAt.is_null())
        .into_tuple()
        .one(db)
        .await?;
    match owner {
        Some(id) => Ok(Some(get(db, org, id).await?)),
        None => Ok(None),
    }
}

/// The current owners of these vehicles, by vehicle, in two queries.
pub async fn current_owners(
    db: &impl ConnectionTrait,
    org: OrgId,
    vehicle_ids: &[i64],
) -> AppResult<HashMap<i64, Client>> {
    if vehicle_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let pairs: Vec<(i64, i64)> = ownership::Entity::find()
        .select_only()
        .column(ownership::Column::VehicleId)
        .column(ownership::Column::ClientId)
        .filter(ownership::Column::OrganizationId.eq(org.get()))
        .filter(ownership::Column::VehicleId.is_in(vehicle_ids.iter().copied()))
        .filter(ownership::Column::EndedAt.is_null())
        .into_tuple()
        .all(db)
        .await?;
    let ids: Vec<i64> = pairs.iter().map(|(_, client)| *client).collect();
    let found = get_many(db, org, &ids).await?;
    Ok(pairs.into_iter().filter_map(|(vehicle, client)| found.get(&client).cloned().map(|c| (vehicle, c))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_cover_words_email_and_phone_forms() {
        let valid = ValidClient {
            kind: ClientKind::Company,
            name: "Jean-Luc Dupré".into(),
            company_name: Some("Transports Dupré & Fils".into()),
            tax_id: None,
            email: Some("JL.Dupre@Example.fr".into()),
            phone: Some("+33 6 12 34 56 78".into()),
            address: None,
            notes: None,
            consent_marketing: false,
            consent_notifications: false,
        };
        let terms = search_terms(&valid);
        for expected in [
            "jean",
            "luc",
            "dupré",
            "transports",
            "fils",
            "jl.dupre@example.fr",
            "jl.dupre",
            "33612345678",
            "0612345678",
        ] {
            assert!(terms.contains(expected), "{expected} in {terms:?}");
        }
    }
}
