//! Candidates: the school's file on each learner. The identity document number,
//! birth date and address are encrypted at rest (`platform::crypto`); names stay
//! in clear so that search works.

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, UpdateResult,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::candidate;
use crate::identity::audit::{self, Actor};
use crate::identity::roles::Role;
use crate::identity::users::service as users;
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult, Constraint, constraint_violation};
use crate::platform::i18n::Msg;
use crate::platform::pagination::{CursorKey, Page, PageRequest, Sort, SortBy, SortField, SortKey};
use crate::platform::search::{prefix_range, search_term, sort_key};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;
use crate::school::instructors::service as instructors;
use crate::school::model::check_category;
use crate::school::planning::service::{self as planning, Hours};
use crate::school::settings::service as settings;

pub const AUDIT_ENTITY: &str = "candidate";
const ID_DOCUMENT: &str = "school_candidates/id_document";
const BIRTH_DATE: &str = "school_candidates/birth_date";
const ADDRESS: &str = "school_candidates/address";

string_enum! {
    // Where a candidate stands with the theory test (the code).
    #[derive(ToSchema)]
    pub enum TheoryStatus (labels "candidate.theory.") {
        NotStarted,
        InProgress,
        Passed,
    }
}

impl tenant::Owned for candidate::Entity {
    const ORGANIZATION_ID: candidate::Column = candidate::Column::OrganizationId;
    const ID: candidate::Column = candidate::Column::Id;
}

/// A candidate as lists show them: no sensitive field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CandidateSummary {
    pub id: i64,
    pub user_id: Option<i64>,
    /// Unique in the school, e.g. `2026-0042`.
    pub number: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// Licence category sought.
    pub category: String,
    pub registered_on: NaiveDate,
    pub theory_status: TheoryStatus,
    pub instructor_id: Option<i64>,
    pub hours: Hours,
}

impl CandidateSummary {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// A candidate's whole file, sensitive fields decrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Candidate {
    #[serde(flatten)]
    pub summary: CandidateSummary,
    pub id_document_number: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CandidateInput {
    /// The candidate's sign-in account (role `candidate`), for the portal.
    pub user_id: Option<i64>,
    /// Given by the school when creating; absent = the next free number.
    pub number: Option<String>,
    #[schema(required = true, nullable = false, example = "Léa")]
    pub first_name: Option<String>,
    #[schema(required = true, nullable = false, example = "Martin")]
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    #[schema(required = true, nullable = false, example = "B")]
    pub category: Option<String>,
    /// Today when absent.
    pub registered_on: Option<NaiveDate>,
    pub theory_status: Option<TheoryStatus>,
    pub instructor_id: Option<i64>,
    /// Hours forecast by the initial evaluation, in minutes.
    pub forecast_minutes: Option<i32>,
    /// Lesson minutes bought before the school used Volant, at creation; then
    /// they follow the packs sold (an update may repeat the value, not change it).
    pub bought_minutes: Option<i32>,
    /// Encrypted at rest.
    pub id_document_number: Option<String>,
    /// Encrypted at rest.
    pub birth_date: Option<NaiveDate>,
    /// Encrypted at rest.
    pub address: Option<String>,
}

/// What the audit trail keeps of a candidate: sensitive fields only say whether they are set.
#[derive(Serialize)]
struct Audited<'a> {
    #[serde(flatten)]
    summary: &'a CandidateSummary,
    id_document_number: Option<&'static str>,
    birth_date: Option<&'static str>,
    address: Option<&'static str>,
}

impl<'a> From<&'a Candidate> for Audited<'a> {
    fn from(c: &'a Candidate) -> Self {
        const HIDDEN: &str = "(chiffré)";
        Self {
            summary: &c.summary,
            id_document_number: c.id_document_number.as_ref().map(|_| HIDDEN),
            birth_date: c.birth_date.map(|_| HIDDEN),
            address: c.address.as_ref().map(|_| HIDDEN),
        }
    }
}

/// `D'Aubigné`, `Émile` → `d aubigne emile`: what name search compares and
/// lists sort by (accents aside: "ecu" finds "Écuyer", who sorts with the E's).
pub fn search_name(last_name: &str, first_name: &str) -> String {
    sort_key(&format!("{last_name} {first_name}"))
}

fn summary(m: &candidate::Model, hours: Hours) -> CandidateSummary {
    CandidateSummary {
        id: m.id,
        user_id: m.user_id,
        number: m.number.clone(),
        first_name: m.first_name.clone(),
        last_name: m.last_name.clone(),
        email: m.email.clone(),
        phone: m.phone.clone(),
        category: m.category.clone(),
        registered_on: m.registered_on,
        theory_status: m.theory_status,
        instructor_id: m.instructor_id,
        hours: hours.with_bought(m.bought_minutes, m.forecast_minutes),
    }
}

fn decrypt(cipher: &FieldCipher, context: &str, stored: Option<&str>) -> AppResult<Option<String>> {
    stored.map(|s| cipher.decrypt(context, s)).transpose()
}

fn full(cipher: &FieldCipher, m: &candidate::Model, hours: Hours) -> AppResult<Candidate> {
    let birth_date = birth_date_of(cipher, m)?;
    Ok(Candidate {
        summary: summary(m, hours),
        id_document_number: decrypt(cipher, ID_DOCUMENT, m.id_document_enc.as_deref())?,
        birth_date,
        address: decrypt(cipher, ADDRESS, m.address_enc.as_deref())?,
    })
}

fn scoped(org: OrgId) -> sea_orm::Select<candidate::Entity> {
    candidate::Entity::find().filter(candidate::Column::OrganizationId.eq(org.get()))
}

async fn find(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<candidate::Model> {
    scoped(org).filter(candidate::Column::Id.eq(id)).one(db).await?.ok_or(AppError::NotFound)
}

/// The input that would write `candidate`'s file as it is (what an update starts from).
pub fn input_of(candidate: &Candidate) -> CandidateInput {
    let s = &candidate.summary;
    CandidateInput {
        user_id: s.user_id,
        number: Some(s.number.clone()),
        first_name: Some(s.first_name.clone()),
        last_name: Some(s.last_name.clone()),
        email: s.email.clone(),
        phone: s.phone.clone(),
        category: Some(s.category.clone()),
        registered_on: Some(s.registered_on),
        theory_status: Some(s.theory_status),
        instructor_id: s.instructor_id,
        forecast_minutes: s.hours.forecast_minutes,
        bought_minutes: Some(s.hours.bought_minutes),
        id_document_number: candidate.id_document_number.clone(),
        birth_date: candidate.birth_date,
        address: candidate.address.clone(),
    }
}

/// The candidate with this file number.
pub async fn id_by_number(db: &impl ConnectionTrait, org: OrgId, number: &str) -> AppResult<Option<i64>> {
    Ok(scoped(org)
        .select_only()
        .column(candidate::Column::Id)
        .filter(candidate::Column::Number.eq(number.trim()))
        .into_tuple()
        .one(db)
        .await?)
}

/// The candidates with this e-mail address (any case), oldest first, at most 2.
pub async fn ids_by_email(db: &impl ConnectionTrait, org: OrgId, email: &str) -> AppResult<Vec<i64>> {
    use sea_orm::sea_query::{ExprTrait, Func};
    Ok(scoped(org)
        .select_only()
        .column(candidate::Column::Id)
        .filter(Expr::expr(Func::lower(Expr::col(candidate::Column::Email))).eq(email.trim().to_lowercase()))
        .order_by_asc(candidate::Column::Id)
        .limit(2)
        .into_tuple()
        .all(db)
        .await?)
}

/// When each of these candidates' files last changed (those that still exist), in one query.
pub async fn stamps(
    db: &impl ConnectionTrait,
    org: OrgId,
    ids: &[i64],
) -> AppResult<std::collections::HashMap<i64, chrono::DateTime<Utc>>> {
    let rows: Vec<(i64, chrono::DateTime<Utc>)> = scoped(org)
        .select_only()
        .column(candidate::Column::Id)
        .column(candidate::Column::UpdatedAt)
        .filter(candidate::Column::Id.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Whether the candidate's file has a history its deletion would take with it
/// or be refused for: an account, lessons, exams, sales, messages, progress.
pub async fn has_history(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<bool> {
    use super::entity::progress;
    use crate::school::exams::entity::{registration, result};
    use crate::school::messages::entity::thread;
    use crate::school::packs::entity::sale;
    use crate::school::planning::entity::lesson;
    use sea_orm::PaginatorTrait;
    if find(db, org, id).await?.user_id.is_some() {
        return Ok(true);
    }
    let counts = [
        lesson::Entity::find().filter(lesson::Column::CandidateId.eq(id)).count(db).await?,
        registration::Entity::find().filter(registration::Column::CandidateId.eq(id)).count(db).await?,
        result::Entity::find().filter(result::Column::CandidateId.eq(id)).count(db).await?,
        sale::Entity::find().filter(sale::Column::CandidateId.eq(id)).count(db).await?,
        thread::Entity::find().filter(thread::Column::CandidateId.eq(id)).count(db).await?,
        progress::Entity::find().filter(progress::Column::CandidateId.eq(id)).count(db).await?,
    ];
    Ok(counts.iter().any(|n| *n > 0))
}

/// Deletes a candidate's file that nothing refers to yet (an import taken back):
/// 409 `candidate_has_history` once they have lessons, sales, exams or an account.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, cipher: &FieldCipher, actor: &Actor, id: i64) -> AppResult<()> {
    let before = get(db, cipher, actor.org, id).await?;
    if before.summary.user_id.is_some() {
        return Err(AppError::conflict("candidate_has_history", Msg::new("school.candidate_has_history")));
    }
    db::write(db, async |txn| {
        let deleted = candidate::Entity::delete_many()
            .filter(candidate::Column::OrganizationId.eq(actor.org.get()))
            .filter(candidate::Column::Id.eq(id))
            .exec(txn)
            .await
            .map_err(|err| {
                AppError::conflict("candidate_has_history", Msg::new("school.candidate_has_history"))
                    .if_refused(err, Constraint::is_foreign_key)
            })?;
        if deleted.rows_affected == 0 {
            return Err(AppError::NotFound);
        }
        let owner = crate::documents::model::Owner { kind: crate::documents::model::OwnerKind::Candidate, id };
        crate::documents::service::forget_owner(txn, actor.org, owner).await?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, id), Some(&Audited::from(&before)), None::<&Audited>).await
    })
    .await
}

/// A candidate's file without the sensitive fields (for rules and notifications).
pub async fn summary_of(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<CandidateSummary> {
    let m = find(db, org, id).await?;
    let hours = planning::hours_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    Ok(summary(&m, hours))
}

pub async fn get(db: &impl ConnectionTrait, cipher: &FieldCipher, org: OrgId, id: i64) -> AppResult<Candidate> {
    let m = find(db, org, id).await?;
    let hours = planning::hours_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    full(cipher, &m, hours)
}

/// Ties the file to an account, if it has none yet: one row changed, or none.
async fn set_account(txn: &DatabaseTransaction, org: OrgId, id: i64, user_id: i64) -> Result<UpdateResult, DbErr> {
    candidate::Entity::update_many()
        .col_expr(candidate::Column::UserId, Expr::value(user_id))
        .filter(candidate::Column::OrganizationId.eq(org.get()))
        .filter(candidate::Column::Id.eq(id))
        .filter(candidate::Column::UserId.is_null())
        .exec(txn)
        .await
}

/// Ties an existing candidate account to this file (still without one).
pub async fn link_account<C: Writer>(db: &C, actor: &Actor, id: i64, user_id: i64) -> AppResult<()> {
    tenant::find::<candidate::Entity>(db, actor.org, id).await?;
    crate::school::accounts::link_existing(db, actor, (AUDIT_ENTITY, id), user_id, async |txn, user_id| {
        set_account(txn, actor.org, id, user_id).await
    })
    .await
}

/// Creates the candidate's portal account (role `candidate`), links this file to
/// it and e-mails them an invitation to choose their password.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn invite<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    inviter: &users::AuthUser,
    id: i64,
) -> AppResult<(users::UserView, crate::identity::passwords::service::NewLink)> {
    let found = get(db, cipher, actor.org, id).await?.summary;
    let person = crate::school::accounts::Person {
        file: (AUDIT_ENTITY, id),
        display_name: found.full_name(),
        email: found.email.as_deref(),
        has_account: found.user_id.is_some(),
        role: Role::Candidate,
    };
    crate::school::accounts::invite(db, actor, inviter, person, async |txn, user_id| {
        set_account(txn, actor.org, id, user_id).await
    })
    .await
}

/// Candidates' names (`first last`) by id, in one query.
pub async fn names_of(db: &impl ConnectionTrait, ids: &[i64]) -> AppResult<std::collections::HashMap<i64, String>> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    Ok(candidate::Entity::find()
        .select_only()
        .column(candidate::Column::Id)
        .column(candidate::Column::FirstName)
        .column(candidate::Column::LastName)
        .filter(candidate::Column::Id.is_in(ids.iter().copied()))
        .into_tuple::<(i64, String, String)>()
        .all(db)
        .await?
        .into_iter()
        .map(|(id, first, last)| (id, format!("{first} {last}")))
        .collect())
}

/// The candidate file of a signed-in user, if they have one.
pub async fn id_of_user(db: &impl ConnectionTrait, org: OrgId, user_id: i64) -> AppResult<Option<i64>> {
    let row = scoped(org)
        .select_only()
        .column(candidate::Column::Id)
        .filter(candidate::Column::UserId.eq(user_id))
        .into_tuple::<i64>()
        .one(db)
        .await?;
    Ok(row)
}

/// Which candidates to list.
#[derive(Debug, Clone, Default)]
pub struct CandidateFilter {
    /// Name prefix (last name first, or first name first) or exact number.
    pub q: Option<String>,
    pub instructor_id: Option<i64>,
    pub sort: CandidateSort,
}

/// What a list of candidates sorts by, as `sort=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CandidateField {
    /// Creation order.
    #[default]
    Id,
    /// Last name, then first name.
    Name,
    RegisteredOn,
}

impl SortField for CandidateField {
    const ALL: &'static [(&'static str, Self)] =
        &[("id", Self::Id), ("name", Self::Name), ("registered_on", Self::RegisteredOn)];
}

impl SortBy<candidate::Entity> for CandidateField {
    fn key(self) -> SortKey<candidate::Column> {
        match self {
            Self::Id => SortKey::Id,
            Self::Name => SortKey::Text(candidate::Column::SearchName),
            Self::RegisteredOn => SortKey::Date(candidate::Column::RegisteredOn),
        }
    }

    fn place(self, row: &candidate::Model) -> (i64, Option<CursorKey>) {
        let key = match self {
            Self::Id => None,
            Self::Name => Some(CursorKey::Text(row.search_name.clone())),
            Self::RegisteredOn => Some(CursorKey::day(row.registered_on)),
        };
        (row.id, key)
    }
}

/// A list of candidates' order (oldest first unless asked).
pub type CandidateSort = Sort<CandidateField>;

impl Default for CandidateSort {
    fn default() -> Self {
        Self::ascending(CandidateField::Id)
    }
}

/// The school's candidates the filter keeps.
fn matching(org: OrgId, filter: &CandidateFilter) -> sea_orm::Select<candidate::Entity> {
    let mut query = scoped(org);
    if let Some(instructor_id) = filter.instructor_id {
        query = query.filter(candidate::Column::InstructorId.eq(instructor_id));
    }
    if let Some(q) = filter.q.as_deref().map(search_term).filter(|q| !q.is_empty()) {
        let words: Vec<&str> = q.split_whitespace().collect();
        let prefix = search_name(&words.join(" "), "");
        let mut any = sea_orm::Condition::any()
            .add(prefix_range(Expr::col(candidate::Column::SearchName), &prefix))
            .add(candidate::Column::Number.eq(q.clone()));
        if let [word] = words.as_slice() {
            // "Hugo": a first name alone, the start of a later word of the search name
            // (a scan of the school's own candidates; search names hold no LIKE wildcard).
            any = any.add(candidate::Column::SearchName.like(format!("% {}%", search_name(word, ""))));
        }
        if words.len() > 1 {
            // "Léa Mar": first name first; the last name's prefix walks the index,
            // the first name filters that range (search names hold no LIKE wildcard).
            let (first, rest) = words.split_at(1);
            any = any.add(
                sea_orm::Condition::all()
                    .add(prefix_range(Expr::col(candidate::Column::SearchName), &search_name(&rest.join(" "), "")))
                    .add(candidate::Column::SearchName.like(format!("% {}%", search_name(first[0], "")))),
            );
        }
        query = query.filter(any);
    }
    query
}

/// How many candidates the filter keeps (its order aside).
pub async fn count(db: &impl ConnectionTrait, org: OrgId, filter: &CandidateFilter) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(matching(org, filter).count(db).await?)
}

/// A page of candidates in the filter's order (keyset), with their hours in one query.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    filter: &CandidateFilter,
    page: PageRequest,
) -> AppResult<Page<CandidateSummary>> {
    let page = page.fetch_sorted(db, matching(org, filter), candidate::Column::Id, filter.sort).await?;
    let ids: Vec<i64> = page.items.iter().map(|r| r.id).collect();
    let mut hours = planning::hours_of(db, &ids).await?;
    Ok(page.map(|m| {
        let h = hours.remove(&m.id).unwrap_or_default();
        summary(&m, h)
    }))
}

struct Valid {
    number: Option<String>,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone: Option<String>,
    category: String,
    registered_on: NaiveDate,
    theory_status: TheoryStatus,
    forecast_minutes: Option<i32>,
    bought_minutes: i32,
    id_document_enc: Option<String>,
    birth_date_enc: Option<String>,
    address_enc: Option<String>,
}

impl Valid {
    /// The fields a create and an update both set.
    fn into_row(self, input: &CandidateInput) -> candidate::ActiveModel {
        let valid = self;
        candidate::ActiveModel {
            user_id: Set(input.user_id),
            search_name: Set(search_name(&valid.last_name, &valid.first_name)),
            first_name: Set(valid.first_name),
            last_name: Set(valid.last_name),
            email: Set(valid.email),
            phone: Set(valid.phone),
            category: Set(valid.category),
            registered_on: Set(valid.registered_on),
            theory_status: Set(valid.theory_status),
            forecast_minutes: Set(valid.forecast_minutes),
            bought_minutes: Set(valid.bought_minutes),
            instructor_id: Set(input.instructor_id),
            id_document_enc: Set(valid.id_document_enc),
            birth_date_enc: Set(valid.birth_date_enc),
            address_enc: Set(valid.address_enc),
            ..Default::default()
        }
    }
}

const MAX_MINUTES: i32 = 1000 * 60;

async fn validate(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    input: &CandidateInput,
) -> AppResult<Valid> {
    let today = crate::identity::organizations::service::today(db, org).await?;
    let mut v = Validator::new();
    let number = v.optional_text("number", input.number.as_deref(), 20);
    let first_name = v.required_text("first_name", input.first_name.as_deref(), 100);
    let last_name = v.required_text("last_name", input.last_name.as_deref(), 100);
    let email = v.optional_email("email", input.email.as_deref());
    let phone = v.optional_phone("phone", input.phone.as_deref());
    let category =
        v.required("category", input.category.as_deref()).and_then(|c| v.check("category", check_category(c)));
    let registered_on = input.registered_on.unwrap_or(today);
    if registered_on > today {
        v.add("registered_on", Msg::new("history.date_in_future"));
    }
    for (field, value) in [("forecast_minutes", input.forecast_minutes), ("bought_minutes", input.bought_minutes)] {
        if value.is_some_and(|m| !(0..=MAX_MINUTES).contains(&m)) {
            v.add(field, Msg::new("school.out_of_range").arg("min", 0).arg("max", MAX_MINUTES));
        }
    }
    let id_document = v.optional_text("id_document_number", input.id_document_number.as_deref(), 40);
    // A postal address takes several lines, as invoices print it.
    let address = v.optional_long_text("address", input.address.as_deref(), 500);
    if input.birth_date.is_some_and(|d| d > today || d < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(d)) {
        v.add("birth_date", Msg::new("school.birth_date_invalid"));
    }
    if let Some(instructor_id) = input.instructor_id {
        let found = instructors::get(db, org, instructor_id).await;
        v.found("instructor_id", found, Msg::new("school.instructor_unknown"))?;
    }
    if let Some(user_id) = input.user_id {
        let found = v.found("user_id", users::get(db, org, user_id).await, Msg::new("school.user_unknown"))?;
        if found.is_some_and(|user| !user.roles.contains(&Role::Candidate)) {
            v.add("user_id", Msg::new("school.user_not_candidate"));
        }
    }
    v.finish()?;
    let (Some(first_name), Some(last_name), Some(category)) = (first_name, last_name, category) else {
        return Err(AppError::Internal("validator accepted a missing field".into()));
    };
    Ok(Valid {
        number,
        first_name,
        last_name,
        email,
        phone,
        category,
        registered_on,
        theory_status: input.theory_status.unwrap_or(TheoryStatus::NotStarted),
        forecast_minutes: input.forecast_minutes,
        bought_minutes: input.bought_minutes.unwrap_or(0),
        id_document_enc: id_document.map(|d| cipher.encrypt(ID_DOCUMENT, &d)).transpose()?,
        birth_date_enc: input.birth_date.map(|d| cipher.encrypt(BIRTH_DATE, &d.to_string())).transpose()?,
        address_enc: address.map(|a| cipher.encrypt(ADDRESS, &a)).transpose()?,
    })
}

fn taken(err: sea_orm::DbErr) -> AppError {
    match constraint_violation(&err) {
        Some(c @ Constraint::Unique(_)) if c.mentions("number") => AppError::Conflict {
            code: "duplicate_candidate_number",
            field: Some("number"),
            message: Msg::new("school.candidate_number_taken"),
        },
        Some(Constraint::Unique(_)) => AppError::Conflict {
            code: "user_already_linked",
            field: Some("user_id"),
            message: Msg::new("school.user_already_linked"),
        },
        _ => err.into(),
    }
}

/// `2026-0042`: the registration year and the school's sequence.
fn format_number(year: i32, sequence: i64) -> String {
    format!("{year}-{sequence:04}")
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    input: &CandidateInput,
) -> AppResult<Candidate> {
    let valid = validate(db, cipher, actor.org, input).await?;
    let now = Utc::now();
    db::write(db, async |txn| {
        let number = match valid.number.clone() {
            Some(number) => number,
            None => {
                use chrono::Datelike;
                format_number(valid.registered_on.year(), settings::next_candidate_number(txn, actor.org).await?)
            }
        };
        let saved = candidate::ActiveModel {
            organization_id: Set(actor.org.get()),
            number: Set(number),
            created_at: Set(now),
            updated_at: Set(now),
            ..valid.into_row(input)
        }
        .insert(txn)
        .await
        .map_err(taken)?;
        let created = full(cipher, &saved, Hours::default())?;
        audit::record_change(txn, actor, (AUDIT_ENTITY, created.summary.id), None, Some(&Audited::from(&created)))
            .await?;
        // Names and contact details stay in Volant: a receiver reads them through the API.
        let s = &created.summary;
        let data = serde_json::json!({
            "candidate_id": s.id,
            "number": s.number,
            "category": s.category,
            "registered_on": s.registered_on,
            "instructor_id": s.instructor_id,
        });
        let event = crate::notify::webhooks::WebhookEvent::CandidateCreated;
        crate::notify::webhooks::emit(txn, actor.org, event, data).await?;
        Ok(created)
    })
    .await
}

/// Replaces a candidate's file (every field; the number is kept when absent).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    id: i64,
    input: &CandidateInput,
) -> AppResult<Candidate> {
    let before = get(db, cipher, actor.org, id).await?;
    let bought = before.summary.hours.bought_minutes;
    if input.bought_minutes.is_some_and(|m| m != bought) {
        // Hours bought follow the packs sold (and cancelled): never typed over.
        return Err(AppError::validation("bought_minutes", Msg::new("candidate.bought_follows_packs")));
    }
    let forecast = before.summary.hours.forecast_minutes;
    if input.forecast_minutes != forecast
        && crate::school::enrolment::service::has_evaluation(db, actor.org, id).await?
    {
        // Once evaluated, the forecast is the evaluation's (or an amendment's).
        return Err(AppError::validation("forecast_minutes", Msg::new("candidate.forecast_follows_evaluation")));
    }
    let valid = validate(db, cipher, actor.org, input).await?;
    let number = valid.number.clone().unwrap_or_else(|| before.summary.number.clone());
    let row = candidate::ActiveModel {
        id: Set(id),
        number: Set(number),
        // Never written here: a sale committed meanwhile keeps the hours it added.
        bought_minutes: sea_orm::ActiveValue::NotSet,
        updated_at: Set(Utc::now()),
        ..valid.into_row(input)
    };
    db::write(db, async |txn| {
        let saved = row.update(txn).await.map_err(taken)?;
        let after = full(cipher, &saved, before.summary.hours.clone())?;
        crate::school::enrolment::service::set_coming_of_age(txn, id, after.birth_date).await?;
        audit::record_change(
            txn,
            actor,
            (AUDIT_ENTITY, id),
            Some(&Audited::from(&before)),
            Some(&Audited::from(&after)),
        )
        .await?;
        Ok(after)
    })
    .await
}

/// Sets a candidate's forecast (an initial evaluation's, or an amendment's).
pub(crate) async fn set_forecast_minutes(
    txn: &impl ConnectionTrait,
    org: OrgId,
    id: i64,
    minutes: i32,
) -> AppResult<()> {
    let updated = candidate::Entity::update_many()
        .col_expr(candidate::Column::ForecastMinutes, Expr::value(minutes))
        .col_expr(candidate::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(candidate::Column::OrganizationId.eq(org.get()))
        .filter(candidate::Column::Id.eq(id))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// A stored candidate's birth date, decrypted.
pub(crate) fn birth_date_of(cipher: &FieldCipher, m: &candidate::Model) -> AppResult<Option<NaiveDate>> {
    decrypt(cipher, BIRTH_DATE, m.birth_date_enc.as_deref())?
        .map(|d| d.parse::<NaiveDate>().map_err(|e| AppError::Internal(format!("stored birth date: {e}"))))
        .transpose()
}

/// Adds `delta` minutes (negative: takes them back) to the hours a candidate
/// has bought, in the caller's transaction: a pack sold or cancelled. One
/// conditional UPDATE, so concurrent sales add up; 409 `hours_out_of_range`
/// when the result would leave 0..=1000 hours.
pub(crate) async fn add_bought_minutes(txn: &impl ConnectionTrait, org: OrgId, id: i64, delta: i32) -> AppResult<()> {
    use sea_orm::sea_query::ExprTrait;
    find(txn, org, id).await?;
    let after = Expr::col(candidate::Column::BoughtMinutes).add(delta);
    let updated = candidate::Entity::update_many()
        .col_expr(candidate::Column::BoughtMinutes, after.clone())
        .col_expr(candidate::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(candidate::Column::OrganizationId.eq(org.get()))
        .filter(candidate::Column::Id.eq(id))
        .filter(after.clone().gte(0))
        .filter(after.lte(MAX_MINUTES))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::conflict(
            "hours_out_of_range",
            Msg::new("school.out_of_range").arg("min", 0).arg("max", MAX_MINUTES),
        ));
    }
    Ok(())
}

/// Adds `delta` minutes to those a candidate bought, provided they still are
/// `expected` (409 `hours_changed` otherwise): a statement made from the hours
/// read is invoiced once, even when two are asked at once.
pub(crate) async fn add_bought_minutes_from(
    txn: &impl ConnectionTrait,
    org: OrgId,
    id: i64,
    expected: i32,
    delta: i32,
) -> AppResult<()> {
    use sea_orm::sea_query::ExprTrait;
    let updated = candidate::Entity::update_many()
        .col_expr(candidate::Column::BoughtMinutes, Expr::col(candidate::Column::BoughtMinutes).add(delta))
        .col_expr(candidate::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(candidate::Column::OrganizationId.eq(org.get()))
        .filter(candidate::Column::Id.eq(id))
        .filter(candidate::Column::BoughtMinutes.eq(expected))
        .filter(Expr::value(expected).add(delta).lte(MAX_MINUTES))
        .exec(txn)
        .await?;
    if updated.rows_affected == 0 {
        return Err(AppError::conflict("hours_changed", Msg::new("pack.hours_changed")));
    }
    Ok(())
}

/// Hours typed in a form (`27,5`) as minutes; `None` when not a number of
/// minutes an `i32` holds (never a panic on an absurd value).
pub fn hours_to_minutes(hours: rust_decimal::Decimal) -> Option<i32> {
    use rust_decimal::prelude::ToPrimitive;
    hours.checked_mul(rust_decimal::Decimal::from(60))?.round().to_i32()
}

/// Re-encrypts every candidate's sensitive fields still under an older key with
/// the current one (after a key rotation); returns how many files changed.
pub async fn reencrypt_all<C: Writer>(db: &C, cipher: &FieldCipher) -> AppResult<u64> {
    let mut after = 0_i64;
    let mut changed = 0_u64;
    loop {
        let rows = candidate::Entity::find()
            .filter(candidate::Column::Id.gt(after))
            .order_by_asc(candidate::Column::Id)
            .limit(500)
            .all(db)
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        changed += db::write(db, async |txn| {
            let mut updated = 0_u64;
            for row in rows {
                let stale = [&row.id_document_enc, &row.birth_date_enc, &row.address_enc]
                    .into_iter()
                    .flatten()
                    .any(|s| cipher.is_stale(s));
                if !stale {
                    continue;
                }
                let again = |context: &str, stored: &Option<String>| -> AppResult<Option<String>> {
                    stored
                        .as_deref()
                        .map(|s| cipher.decrypt(context, s).and_then(|p| cipher.encrypt(context, &p)))
                        .transpose()
                };
                candidate::ActiveModel {
                    id: Set(row.id),
                    id_document_enc: Set(again(ID_DOCUMENT, &row.id_document_enc)?),
                    birth_date_enc: Set(again(BIRTH_DATE, &row.birth_date_enc)?),
                    address_enc: Set(again(ADDRESS, &row.address_enc)?),
                    ..Default::default()
                }
                .update(txn)
                .await?;
                updated += 1;
            }
            AppResult::Ok(updated)
        })
        .await?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_names_are_lower_case_words() {
        assert_eq!(search_name("D'Aubigné", "Émile  Jean"), "d aubigne emile jean");
    }

    #[test]
    fn numbers_carry_year_and_sequence() {
        assert_eq!(format_number(2026, 42), "2026-0042");
        assert_eq!(format_number(2026, 12345), "2026-12345");
    }
}
