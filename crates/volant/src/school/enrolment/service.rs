//! A French driving school's administration around each candidate (issue 24):
//! the file the ANTS asks for (NEPH, steps, licences held, ASSR, a minor's legal
//! guardian) and its documents checklist, the initial evaluation (évaluation de
//! départ) that gives the forecast hours, and the training contract (article
//! L213-2 of the Code de la route) with its funding sources. A contract is
//! drafted, then signed on screen or on paper: signing freezes its terms (a
//! database trigger holds that), sells its pack with the funders' parts in the
//! invoice's schedule, and any later change is an amendment, signed in turn.
//! Each rule's legal source is in docs/school.md.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{amendment, contract, evaluation, file, funding};
use crate::documents::model::{DocumentKind, OwnerKind};
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify::{self, Notice};
use crate::platform::crypto::FieldCipher;
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::{Locale, Msg};
use crate::platform::money::{self, Currency};
use crate::platform::search::sort_key;
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;
use crate::school::candidates::service::{self as candidates, Candidate};
use crate::school::instructors::service as instructors;
use crate::school::model::{CATEGORIES, check_category};
use crate::school::packs::service as packs;
use crate::school::settings::service as settings;

pub const AUDIT_FILE: &str = "candidate_file";
pub const AUDIT_EVALUATION: &str = "evaluation";
pub const AUDIT_CONTRACT: &str = "training_contract";
pub const AUDIT_AMENDMENT: &str = "contract_amendment";

/// Categories of the heavy groups: a medical certificate is always required
/// (article R221-10 of the Code de la route).
const HEAVY: &[&str] = &["C1", "C1E", "C", "CE", "D1", "D1E", "D", "DE"];
/// Candidates younger than this present the ASSR 2 or the ASR with their
/// application (Code de la route, R221-5).
const ROAD_SAFETY_UNDER: u32 = 21;
/// Candidates from this age and younger than the next present their JDC
/// certificate (Code du service national, L114-6: "avant l'âge de vingt-cinq ans").
const JDC_AGES: std::ops::Range<u32> = 17..25;

string_enum! {
    // Road-safety certificates taken at school (ASSR 1 and 2) or after (ASR).
    #[derive(ToSchema)]
    pub enum RoadSafety (labels "enrolment.road_safety.") {
        Assr1,
        Assr2,
        Asr,
    }
}

string_enum! {
    #[derive(ToSchema)]
    pub enum ContractStatus (labels "contract.status.") {
        /// Its terms may still change.
        Draft,
        /// Frozen: changes are amendments.
        Signed,
        /// Training completed, transferred or terminated.
        Ended,
    }
}

string_enum! {
    #[derive(ToSchema)]
    pub enum AmendmentStatus (labels "contract.status.") {
        Draft,
        Signed,
    }
}

string_enum! {
    // How a contract was signed: typed on a screen, or on paper (its scan attached).
    #[derive(ToSchema)]
    pub enum SignatureMethod (labels "contract.method.") {
        Screen,
        Paper,
    }
}

string_enum! {
    #[derive(ToSchema)]
    pub enum EndReason (labels "contract.end.") {
        Completed,
        /// The candidate leaves for another school with their learning record.
        Transfer,
        Terminated,
    }
}

string_enum! {
    // Who pays a contract, or part of it.
    #[derive(ToSchema)]
    pub enum FundingSource (labels "funding.") {
        Personal,
        /// Compte personnel de formation, with its dossier number.
        Cpf,
        /// "Permis à 1 € par jour": a bank's interest-free loan.
        LoanOneEuro,
        /// Aide au permis for apprentices.
        Apprenticeship,
        /// A region's, department's or town's grant.
        LocalGrant,
    }
}

string_enum! {
    // A piece of the file the ANTS application needs.
    #[derive(ToSchema)]
    pub enum Piece (labels "enrolment.piece.") {
        IdentityDocument,
        ProofOfAddress,
        /// The ANTS e-photo (its code), or a photo attached.
        Photo,
        /// ASSR 2 or ASR.
        RoadSafety,
        MedicalCertificate,
        /// Certificate of the Journée défense et citoyenneté (or of exemption).
        Jdc,
        /// A minor's legal guardian: name, contact and consent.
        Guardian,
    }
}

impl Piece {
    /// The document kind that satisfies the piece, if one does.
    pub const fn document_kind(self) -> Option<DocumentKind> {
        match self {
            Self::IdentityDocument => Some(DocumentKind::IdentityDocument),
            Self::ProofOfAddress => Some(DocumentKind::ProofOfAddress),
            Self::Photo => Some(DocumentKind::Photo),
            Self::RoadSafety => Some(DocumentKind::Assr),
            Self::MedicalCertificate => Some(DocumentKind::MedicalCertificate),
            Self::Jdc => Some(DocumentKind::Jdc),
            Self::Guardian => None,
        }
    }
}

impl tenant::Owned for evaluation::Entity {
    const ORGANIZATION_ID: evaluation::Column = evaluation::Column::OrganizationId;
    const ID: evaluation::Column = evaluation::Column::Id;
}

impl tenant::Owned for contract::Entity {
    const ORGANIZATION_ID: contract::Column = contract::Column::OrganizationId;
    const ID: contract::Column = contract::Column::Id;
}

impl tenant::Owned for amendment::Entity {
    const ORGANIZATION_ID: amendment::Column = amendment::Column::OrganizationId;
    const ID: amendment::Column = amendment::Column::Id;
}

// ---------------------------------------------------------------- the file

/// A minor's legal guardian, who receives the candidate's notices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Guardian {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// When they consented to the training (required for a minor's contract).
    pub consent_on: Option<NaiveDate>,
}

/// The ANTS application's steps, each with the day it happened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AntsSteps {
    pub file_submitted_on: Option<NaiveDate>,
    pub neph_received_on: Option<NaiveDate>,
    pub theory_booked_on: Option<NaiveDate>,
    pub theory_passed_on: Option<NaiveDate>,
    pub practical_booked_on: Option<NaiveDate>,
    pub practical_passed_on: Option<NaiveDate>,
}

/// One piece of the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChecklistItem {
    pub piece: Piece,
    /// Required for this candidate (their age, category, or the school's ticking).
    pub required: bool,
    /// The newest document that provides it, unexpired.
    pub document_id: Option<i64>,
    pub done: bool,
}

/// A candidate's administrative file and what it still lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CandidateFile {
    pub candidate_id: i64,
    /// Numéro d'enregistrement préfectoral harmonisé: 12 digits, given by the ANTS.
    pub neph: Option<String>,
    pub categories_held: Vec<String>,
    pub road_safety: Option<RoadSafety>,
    /// The ANTS e-photo code (photo and signature taken by an approved booth).
    pub ephoto_code: Option<String>,
    /// A medical certificate is asked for a category B candidate too (a condition of the arrêté).
    pub medical_required: bool,
    pub guardian: Option<Guardian>,
    pub steps: AntsSteps,
    /// Age today, from the (encrypted) birth date; none without it.
    pub age: Option<u32>,
    pub minor: bool,
    pub checklist: Vec<ChecklistItem>,
    /// The required pieces not provided, in checklist order.
    pub missing: Vec<Piece>,
    pub complete: bool,
}

/// The file as entered (PUT replaces every field).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct FileInput {
    #[schema(example = "120775012345")]
    pub neph: Option<String>,
    #[serde(default)]
    pub categories_held: Vec<String>,
    pub road_safety: Option<RoadSafety>,
    pub ephoto_code: Option<String>,
    #[serde(default)]
    pub medical_required: bool,
    pub guardian_name: Option<String>,
    pub guardian_email: Option<String>,
    pub guardian_phone: Option<String>,
    pub guardian_consent_on: Option<NaiveDate>,
    #[serde(default, flatten)]
    pub steps: AntsSteps,
}

/// Age in whole years on `today`.
pub fn age_on(birth: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.year() - birth.year();
    if (today.month(), today.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// The day someone born on `birth` turns 18 (born on 29 February: 1 March).
pub fn coming_of_age(birth: NaiveDate) -> NaiveDate {
    let year = birth.year() + 18;
    NaiveDate::from_ymd_opt(year, birth.month(), birth.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(birth)
}

/// The facts the checklist's requirements follow.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub category: &'a str,
    pub birth_date: Option<NaiveDate>,
    pub today: NaiveDate,
    pub medical_required: bool,
    pub has_ephoto: bool,
    pub guardian_complete: bool,
}

/// Which pieces a candidate must provide, and which they have: `documents` are
/// their unexpired attachments' (kind, id), newest first.
pub fn checklist(facts: Facts<'_>, documents: &[(DocumentKind, i64)]) -> Vec<ChecklistItem> {
    let age = facts.birth_date.map(|b| age_on(b, facts.today));
    Piece::ALL
        .into_iter()
        .map(|piece| {
            let required = match piece {
                Piece::IdentityDocument | Piece::ProofOfAddress | Piece::Photo => true,
                // Unknown birth date: asked, as of anyone young enough.
                Piece::RoadSafety => age.is_none_or(|a| a < ROAD_SAFETY_UNDER),
                Piece::MedicalCertificate => facts.medical_required || HEAVY.contains(&facts.category),
                Piece::Jdc => age.is_none_or(|a| JDC_AGES.contains(&a)),
                Piece::Guardian => age.is_some_and(|a| a < 18),
            };
            let document_id = piece.document_kind().and_then(|k| documents.iter().find(|d| d.0 == k).map(|d| d.1));
            let done = match piece {
                Piece::Photo => facts.has_ephoto || document_id.is_some(),
                Piece::Guardian => facts.guardian_complete,
                _ => document_id.is_some(),
            };
            ChecklistItem { piece, required, document_id, done }
        })
        .collect()
}

fn guardian_of(row: &file::Model) -> Option<Guardian> {
    row.guardian_name.as_ref().map(|name| Guardian {
        name: name.clone(),
        email: row.guardian_email.clone(),
        phone: row.guardian_phone.clone(),
        consent_on: row.guardian_consent_on,
    })
}

fn complete_guardian(g: Option<&Guardian>) -> bool {
    g.is_some_and(|g| (g.email.is_some() || g.phone.is_some()) && g.consent_on.is_some())
}

fn empty_row(org: OrgId, candidate_id: i64) -> file::Model {
    file::Model {
        candidate_id,
        organization_id: org.get(),
        neph: None,
        categories_held: String::new(),
        road_safety: None,
        ephoto_code: None,
        medical_required: false,
        guardian_name: None,
        guardian_email: None,
        guardian_phone: None,
        guardian_consent_on: None,
        guardian_until: None,
        file_submitted_on: None,
        neph_received_on: None,
        theory_booked_on: None,
        theory_passed_on: None,
        practical_booked_on: None,
        practical_passed_on: None,
        updated_at: Utc::now(),
    }
}

fn file_of(
    row: file::Model,
    candidate: &Candidate,
    today: NaiveDate,
    documents: &[(DocumentKind, i64)],
) -> CandidateFile {
    let guardian = guardian_of(&row);
    let facts = Facts {
        category: &candidate.summary.category,
        birth_date: candidate.birth_date,
        today,
        medical_required: row.medical_required,
        has_ephoto: row.ephoto_code.is_some(),
        guardian_complete: complete_guardian(guardian.as_ref()),
    };
    let checklist = checklist(facts, documents);
    let missing: Vec<Piece> = checklist.iter().filter(|i| i.required && !i.done).map(|i| i.piece).collect();
    let age = candidate.birth_date.map(|b| age_on(b, today));
    CandidateFile {
        candidate_id: row.candidate_id,
        neph: row.neph,
        categories_held: row.categories_held.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
        road_safety: row.road_safety,
        ephoto_code: row.ephoto_code,
        medical_required: row.medical_required,
        guardian,
        steps: AntsSteps {
            file_submitted_on: row.file_submitted_on,
            neph_received_on: row.neph_received_on,
            theory_booked_on: row.theory_booked_on,
            theory_passed_on: row.theory_passed_on,
            practical_booked_on: row.practical_booked_on,
            practical_passed_on: row.practical_passed_on,
        },
        age,
        minor: age.is_some_and(|a| a < 18),
        complete: missing.is_empty(),
        missing,
        checklist,
    }
}

/// Unexpired candidate documents of the checklist's kinds, newest first, per candidate.
async fn documents_of(
    db: &impl ConnectionTrait,
    org: OrgId,
    candidate_ids: &[i64],
    today: NaiveDate,
) -> AppResult<HashMap<i64, Vec<(DocumentKind, i64)>>> {
    let kinds: Vec<DocumentKind> = Piece::ALL.into_iter().filter_map(Piece::document_kind).collect();
    let rows = crate::documents::service::kinds_of(db, org, OwnerKind::Candidate, candidate_ids, &kinds).await?;
    let mut by: HashMap<i64, Vec<(DocumentKind, i64)>> = HashMap::new();
    for row in rows.into_iter().filter(|r| r.expires_on.is_none_or(|e| e >= today)) {
        by.entry(row.owner_id).or_default().push((row.kind, row.id));
    }
    Ok(by)
}

async fn row_of(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64) -> AppResult<file::Model> {
    Ok(file::Entity::find_by_id(candidate_id)
        .filter(file::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .unwrap_or_else(|| empty_row(org, candidate_id)))
}

/// A candidate's file (404 for another school's candidate).
pub async fn get_file(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    candidate_id: i64,
) -> AppResult<CandidateFile> {
    let candidate = candidates::get(db, cipher, org, candidate_id).await?;
    let today = organizations::today(db, org).await?;
    let row = row_of(db, org, candidate_id).await?;
    let documents = documents_of(db, org, &[candidate_id], today).await?.remove(&candidate_id).unwrap_or_default();
    Ok(file_of(row, &candidate, today, &documents))
}

fn check_neph(value: &str) -> Result<String, Msg> {
    let digits: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() == 12 && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(Msg::new("enrolment.neph_invalid"))
    }
}

fn check_ephoto(value: &str) -> Result<String, Msg> {
    let code: String = value.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_uppercase();
    if (6..=30).contains(&code.len()) && code.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(code)
    } else {
        Err(Msg::new("enrolment.ephoto_invalid"))
    }
}

/// Writes a candidate's file.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update_file<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    candidate_id: i64,
    input: &FileInput,
) -> AppResult<CandidateFile> {
    let candidate = candidates::get(db, cipher, actor.org, candidate_id).await?;
    let today = organizations::today(db, actor.org).await?;
    let mut v = Validator::new();
    let neph =
        input.neph.as_deref().map(str::trim).filter(|n| !n.is_empty()).and_then(|n| v.check("neph", check_neph(n)));
    let ephoto = input
        .ephoto_code
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .and_then(|n| v.check("ephoto_code", check_ephoto(n)));
    let mut held: Vec<String> = Vec::new();
    for category in &input.categories_held {
        if let Some(c) = v.check("categories_held", check_category(category))
            && !held.contains(&c)
        {
            held.push(c);
        }
    }
    held.sort_by_key(|c| CATEGORIES.iter().position(|k| k == c));
    let guardian_name = v.optional_text("guardian_name", input.guardian_name.as_deref(), 200);
    let guardian_email = v.optional_email("guardian_email", input.guardian_email.as_deref());
    let guardian_phone = v.optional_phone("guardian_phone", input.guardian_phone.as_deref());
    let typed = |v: &Option<String>| v.as_deref().is_some_and(|t| !t.trim().is_empty());
    let guardian_given = typed(&input.guardian_email) || typed(&input.guardian_phone);
    if guardian_name.is_none() && (guardian_given || input.guardian_consent_on.is_some()) {
        v.add("guardian_name", Msg::new("field.required"));
    }
    let s = &input.steps;
    let dated = [
        ("guardian_consent_on", input.guardian_consent_on),
        ("file_submitted_on", s.file_submitted_on),
        ("neph_received_on", s.neph_received_on),
        ("theory_passed_on", s.theory_passed_on),
        ("practical_passed_on", s.practical_passed_on),
    ];
    // What happened cannot be later than today; an exam may be booked ahead.
    for (field, day) in dated {
        if day.is_some_and(|d| d > today) {
            v.add(field, Msg::new("enrolment.date_in_future"));
        }
    }
    let order = [
        ("neph_received_on", s.file_submitted_on, s.neph_received_on),
        ("theory_passed_on", s.theory_booked_on, s.theory_passed_on),
        ("practical_booked_on", s.theory_passed_on, s.practical_booked_on),
        ("practical_passed_on", s.practical_booked_on, s.practical_passed_on),
    ];
    for (field, before, after) in order {
        if let (Some(b), Some(a)) = (before, after)
            && a < b
        {
            v.add(field, Msg::new("enrolment.step_order"));
        }
    }
    v.finish()?;
    let before = row_of(db, actor.org, candidate_id).await?;
    let row = file::Model {
        candidate_id,
        organization_id: actor.org.get(),
        neph,
        categories_held: held.join(","),
        road_safety: input.road_safety,
        ephoto_code: ephoto,
        medical_required: input.medical_required,
        guardian_name,
        guardian_email,
        guardian_phone,
        guardian_consent_on: input.guardian_consent_on,
        guardian_until: candidate.birth_date.map(coming_of_age),
        file_submitted_on: s.file_submitted_on,
        neph_received_on: s.neph_received_on,
        theory_booked_on: s.theory_booked_on,
        theory_passed_on: s.theory_passed_on,
        practical_booked_on: s.practical_booked_on,
        practical_passed_on: s.practical_passed_on,
        updated_at: Utc::now(),
    };
    let documents =
        documents_of(db, actor.org, &[candidate_id], today).await?.remove(&candidate_id).unwrap_or_default();
    let saved = row.clone();
    db::write(db, async |txn| {
        use sea_orm::sea_query::OnConflict;
        let active: file::ActiveModel = saved.clone().into();
        let columns: Vec<file::Column> = <file::Column as sea_orm::Iterable>::iter()
            .filter(|c| !matches!(c, file::Column::CandidateId | file::Column::OrganizationId))
            .collect();
        file::Entity::insert(active)
            .on_conflict(OnConflict::column(file::Column::CandidateId).update_columns(columns).to_owned())
            .exec_without_returning(txn)
            .await
            .map_err(|err| {
                AppError::conflict_on("neph", "neph_taken", Msg::new("enrolment.neph_taken"))
                    .if_refused(err, Constraint::is_unique)
            })?;
        let audited = |m: &file::Model| Audited::from(m);
        audit::record_change(txn, actor, (AUDIT_FILE, candidate_id), Some(&audited(&before)), Some(&audited(&saved)))
            .await
    })
    .await?;
    Ok(file_of(row, &candidate, today, &documents))
}

/// What the audit trail keeps of a file: no guardian contact in clear.
#[derive(Serialize)]
struct Audited {
    neph: Option<String>,
    categories_held: String,
    road_safety: Option<RoadSafety>,
    ephoto_code: bool,
    medical_required: bool,
    guardian: bool,
    guardian_consent_on: Option<NaiveDate>,
    steps: AntsSteps,
}

impl From<&file::Model> for Audited {
    fn from(m: &file::Model) -> Self {
        Self {
            neph: m.neph.clone(),
            categories_held: m.categories_held.clone(),
            road_safety: m.road_safety,
            ephoto_code: m.ephoto_code.is_some(),
            medical_required: m.medical_required,
            guardian: m.guardian_name.is_some(),
            guardian_consent_on: m.guardian_consent_on,
            steps: AntsSteps {
                file_submitted_on: m.file_submitted_on,
                neph_received_on: m.neph_received_on,
                theory_booked_on: m.theory_booked_on,
                theory_passed_on: m.theory_passed_on,
                practical_booked_on: m.practical_booked_on,
                practical_passed_on: m.practical_passed_on,
            },
        }
    }
}

/// A candidate whose file lacks something, as the list of incomplete files shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct IncompleteFile {
    pub candidate_id: i64,
    pub number: String,
    pub name: String,
    pub category: String,
    pub registered_on: NaiveDate,
    pub minor: bool,
    pub missing: Vec<Piece>,
}

/// Most candidates the list of incomplete files walks (a school has a few hundred in training).
const MAX_FILES: u64 = 5000;

/// The candidates still in training (no practical exam passed on their file, no
/// contract only ended) whose file lacks a required piece, among the 5,000 most
/// recent registrations, oldest first: a few queries per 500 candidates.
pub async fn incomplete(db: &impl ConnectionTrait, cipher: &FieldCipher, org: OrgId) -> AppResult<Vec<IncompleteFile>> {
    use crate::school::candidates::entity::candidate;
    let today = organizations::today(db, org).await?;
    // The most recent registrations (a school's years of history stay behind), shown oldest first.
    let mut rows = candidate::Entity::find()
        .filter(candidate::Column::OrganizationId.eq(org.get()))
        .order_by_desc(candidate::Column::RegisteredOn)
        .order_by_desc(candidate::Column::Id)
        .limit(MAX_FILES)
        .all(db)
        .await?;
    rows.reverse();
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut files: HashMap<i64, file::Model> = HashMap::new();
    // Candidates whose contracts have all ended (completed, transferred, terminated) left training.
    let mut left: std::collections::HashSet<i64> = std::collections::HashSet::new();
    let mut staying: std::collections::HashSet<i64> = std::collections::HashSet::new();
    for chunk in ids.chunks(500) {
        for row in file::Entity::find().filter(file::Column::CandidateId.is_in(chunk.to_vec())).all(db).await? {
            files.insert(row.candidate_id, row);
        }
        let statuses: Vec<(i64, ContractStatus)> = contract::Entity::find()
            .select_only()
            .column(contract::Column::CandidateId)
            .column(contract::Column::Status)
            .filter(contract::Column::CandidateId.is_in(chunk.to_vec()))
            .into_tuple()
            .all(db)
            .await?;
        for (candidate_id, status) in statuses {
            match status {
                ContractStatus::Ended => left.insert(candidate_id),
                _ => staying.insert(candidate_id),
            };
        }
    }
    let mut documents = HashMap::new();
    for chunk in ids.chunks(500) {
        documents.extend(documents_of(db, org, chunk, today).await?);
    }
    let mut out = Vec::new();
    for row in rows {
        let file = files.remove(&row.id).unwrap_or_else(|| empty_row(org, row.id));
        if file.practical_passed_on.is_some() || (left.contains(&row.id) && !staying.contains(&row.id)) {
            continue;
        }
        let birth_date = candidates::birth_date_of(cipher, &row)?;
        let guardian = guardian_of(&file);
        let facts = Facts {
            category: &row.category,
            birth_date,
            today,
            medical_required: file.medical_required,
            has_ephoto: file.ephoto_code.is_some(),
            guardian_complete: complete_guardian(guardian.as_ref()),
        };
        let items = checklist(facts, documents.get(&row.id).map_or(&[][..], Vec::as_slice));
        let missing: Vec<Piece> = items.iter().filter(|i| i.required && !i.done).map(|i| i.piece).collect();
        if !missing.is_empty() {
            out.push(IncompleteFile {
                candidate_id: row.id,
                number: row.number.clone(),
                name: format!("{} {}", row.first_name, row.last_name),
                category: row.category.clone(),
                registered_on: row.registered_on,
                minor: birth_date.is_some_and(|b| age_on(b, today) < 18),
                missing,
            });
        }
    }
    Ok(out)
}

/// Keeps the day a candidate comes of age on their file when their birth date
/// changes, in the caller's transaction (no file yet: nothing to keep).
pub(crate) async fn set_coming_of_age(
    txn: &impl ConnectionTrait,
    candidate_id: i64,
    birth: Option<NaiveDate>,
) -> AppResult<()> {
    file::Entity::update_many()
        .col_expr(file::Column::GuardianUntil, Expr::value(birth.map(coming_of_age)))
        .filter(file::Column::CandidateId.eq(candidate_id))
        .exec(txn)
        .await?;
    Ok(())
}

/// Sends a copy of a notice meant for a candidate to their legal guardian, when
/// one is recorded and the candidate is not yet 18 (the day is kept on the file
/// when it is saved), in the caller's transaction.
pub(crate) async fn notify_guardian(
    txn: &impl ConnectionTrait,
    org: OrgId,
    candidate_id: i64,
    notice: &Notice,
) -> AppResult<()> {
    let Some(row) = file::Entity::find_by_id(candidate_id).one(txn).await? else { return Ok(()) };
    if row.guardian_name.is_none() || (row.guardian_email.is_none() && row.guardian_phone.is_none()) {
        return Ok(());
    }
    // Of age: their notices are theirs alone.
    if row.guardian_until.is_some_and(|until| until <= Utc::now().date_naive()) {
        return Ok(());
    }
    let mut copy = notice.clone();
    copy.user_id = None;
    copy.link = None;
    copy.email = row.guardian_email;
    copy.phone = row.guardian_phone;
    notify::send(txn, org, copy).await?;
    Ok(())
}

// ---------------------------------------------------------------- evaluations

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Evaluation {
    pub id: i64,
    pub candidate_id: i64,
    pub evaluated_on: NaiveDate,
    pub instructor_id: Option<i64>,
    pub instructor_name: Option<String>,
    /// What the evaluation found (the candidate's starting level).
    pub result: String,
    /// Driving time it forecasts, in minutes: the candidate's `forecast_minutes`.
    pub forecast_minutes: i32,
    pub recorded_by: Option<i64>,
    pub created_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EvaluationInput {
    /// Today when absent.
    pub evaluated_on: Option<NaiveDate>,
    pub instructor_id: Option<i64>,
    #[schema(required = true, nullable = false, example = "Bonne coordination, appréhension en circulation dense.")]
    pub result: Option<String>,
    #[schema(required = true, nullable = false, minimum = 60, maximum = 12000, example = 1500)]
    pub forecast_minutes: Option<i32>,
}

/// A candidate's evaluations, newest first (the first one counts).
pub async fn evaluations(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64) -> AppResult<Vec<Evaluation>> {
    let rows = evaluation::Entity::find()
        .filter(evaluation::Column::OrganizationId.eq(org.get()))
        .filter(evaluation::Column::CandidateId.eq(candidate_id))
        .order_by_desc(evaluation::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().filter_map(|r| r.instructor_id).collect();
    let names = instructors::get_many(db, org, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| Evaluation {
            id: r.id,
            candidate_id: r.candidate_id,
            evaluated_on: r.evaluated_on,
            instructor_id: r.instructor_id,
            instructor_name: r.instructor_id.and_then(|i| names.get(&i)).map(instructors::Instructor::full_name),
            result: r.result,
            forecast_minutes: r.forecast_minutes,
            recorded_by: r.recorded_by,
            created_at: r.created_at,
        })
        .collect())
}

/// Records an initial evaluation; its forecast becomes the candidate's.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn evaluate<C: Writer>(
    db: &C,
    actor: &Actor,
    candidate_id: i64,
    input: &EvaluationInput,
) -> AppResult<Evaluation> {
    candidates::summary_of(db, actor.org, candidate_id).await?;
    let today = organizations::today(db, actor.org).await?;
    let mut v = Validator::new();
    let result = v.required_long_text("result", input.result.as_deref(), 2000);
    let forecast = v.required("forecast_minutes", input.forecast_minutes);
    if forecast.is_some_and(|m| !(60..=12000).contains(&m)) {
        v.add("forecast_minutes", Msg::new("school.out_of_range").arg("min", 60).arg("max", 12000));
    }
    let evaluated_on = input.evaluated_on.unwrap_or(today);
    if evaluated_on > today {
        v.add("evaluated_on", Msg::new("enrolment.date_in_future"));
    }
    if let Some(id) = input.instructor_id {
        v.found("instructor_id", instructors::get(db, actor.org, id).await, Msg::new("school.instructor_unknown"))?;
    }
    v.finish()?;
    let (Some(result), Some(forecast)) = (result, forecast) else {
        return Err(AppError::Internal("validator accepted a missing field".to_owned()));
    };
    let saved = db::write(db, async |txn| -> AppResult<evaluation::Model> {
        let saved = evaluation::ActiveModel {
            organization_id: Set(actor.org.get()),
            candidate_id: Set(candidate_id),
            evaluated_on: Set(evaluated_on),
            instructor_id: Set(input.instructor_id),
            result: Set(result.clone()),
            forecast_minutes: Set(forecast),
            recorded_by: Set(actor.user_id),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        candidates::set_forecast_minutes(txn, actor.org, candidate_id, forecast).await?;
        audit::record_change(txn, actor, (AUDIT_EVALUATION, saved.id), None, Some(&(evaluated_on, forecast, &result)))
            .await?;
        Ok(saved)
    })
    .await?;
    evaluations(db, actor.org, candidate_id).await?.into_iter().find(|e| e.id == saved.id).ok_or(AppError::NotFound)
}

/// Whether a candidate's forecast comes from an evaluation (then only a new one changes it).
pub async fn has_evaluation(db: &impl ConnectionTrait, org: OrgId, candidate_id: i64) -> AppResult<bool> {
    Ok(evaluation::Entity::find()
        .filter(evaluation::Column::OrganizationId.eq(org.get()))
        .filter(evaluation::Column::CandidateId.eq(candidate_id))
        .one(db)
        .await?
        .is_some())
}

// ---------------------------------------------------------------- contracts

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Funding {
    pub source: FundingSource,
    #[schema(value_type = String, example = "800.00")]
    pub amount: Decimal,
    /// The CPF dossier number, a grant's decision.
    pub reference: Option<String>,
    /// The bank lending a "permis à 1 € par jour".
    pub lender: Option<String>,
    /// When the funder pays (its instalment's date); the first due date when absent.
    pub expected_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct FundingInput {
    #[schema(required = true, nullable = false)]
    pub source: Option<FundingSource>,
    #[serde(default, deserialize_with = "crate::platform::lines::lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, required = true, example = "800")]
    pub amount: Option<Decimal>,
    pub reference: Option<String>,
    pub lender: Option<String>,
    pub expected_on: Option<NaiveDate>,
}

/// A contract's terms as drafted (PUT replaces them while it is a draft).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ContractInput {
    /// The evaluation it follows; the latest when absent.
    pub evaluation_id: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub pack_id: Option<i64>,
    /// The candidate's own part in this many monthly instalments (1 to 12; default 1).
    #[schema(minimum = 1, maximum = 12)]
    pub instalments: Option<u32>,
    /// The candidate's first instalment; today when absent.
    pub first_due_on: Option<NaiveDate>,
    #[serde(default)]
    pub fundings: Vec<FundingInput>,
}

/// A price of the school's catalogue, as the contract lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PriceLine {
    pub name: String,
    pub driving_minutes: i32,
    #[schema(value_type = String)]
    pub price_incl_tax: Decimal,
}

/// Everything a contract states (the clauses of article L213-2 and R213-3 of the
/// Code de la route): computed from the draft, frozen at signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Terms {
    pub school_name: String,
    pub school_address: Option<String>,
    /// Numéro d'agrément.
    pub approval_number: Option<String>,
    pub candidate_number: String,
    pub candidate_name: String,
    pub category: String,
    pub neph: Option<String>,
    pub guardian_name: Option<String>,
    pub minor: bool,
    pub evaluated_on: NaiveDate,
    pub evaluator: Option<String>,
    pub evaluation_result: String,
    pub forecast_minutes: i32,
    pub pack_name: String,
    pub pack_minutes: i32,
    #[schema(value_type = String)]
    pub pack_price: Decimal,
    /// One driving hour.
    #[schema(value_type = String)]
    pub hour_price: Decimal,
    /// The school's other prices on the day (each service's price).
    pub price_list: Vec<PriceLine>,
    #[schema(value_type = String)]
    #[serde(with = "currency_code")]
    pub currency: Currency,
    pub fundings: Vec<Funding>,
    /// What the candidate pays themselves (the pack's price less the funders').
    #[schema(value_type = String)]
    pub own_part: Decimal,
    pub instalments: i32,
    pub first_due_on: NaiveDate,
    pub cancellation_notice_hours: i32,
    pub daily_limit_minutes: i32,
}

/// A currency as its ISO code in the frozen terms.
mod currency_code {
    use crate::platform::money::Currency;

    pub fn serialize<S: serde::Serializer>(c: &Currency, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(c, s)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Currency, D::Error> {
        let code = <String as serde::Deserialize>::deserialize(d)?;
        Currency::parse(&code).ok_or_else(|| serde::de::Error::custom(format!("unknown currency {code}")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Signature {
    pub signed_at: chrono::DateTime<Utc>,
    pub method: SignatureMethod,
    pub candidate_signer: String,
    pub guardian_signer: Option<String>,
    /// Who recorded it (the candidate themselves on their portal, or the school's staff).
    pub recorded_by: Option<i64>,
    /// The signed paper's scan (a document of the candidate).
    pub scan_document_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Amendment {
    pub id: i64,
    pub contract_id: i64,
    /// 1 for the first.
    pub position: i32,
    pub status: AmendmentStatus,
    pub summary: String,
    /// A new forecast (a new evaluation's), in minutes.
    pub forecast_minutes: Option<i32>,
    /// A pack added (sold at signature).
    pub pack_id: Option<i64>,
    pub sale_id: Option<i64>,
    pub signature: Option<Signature>,
    pub created_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Contract {
    pub id: i64,
    pub candidate_id: i64,
    /// The candidate's number and the contract's rank (`2026-0042/1`).
    pub number: String,
    pub status: ContractStatus,
    pub evaluation_id: i64,
    pub pack_id: i64,
    pub instalments: i32,
    pub first_due_on: NaiveDate,
    /// What it states: as signed, or as it would be signed today for a draft.
    pub terms: Terms,
    /// SHA-256 of the terms as stated: a signer sends it back (`terms_digest`) so
    /// that what is signed is what they read.
    pub terms_digest: String,
    pub signature: Option<Signature>,
    /// The pack's sale made at signature (its invoice carries the schedule).
    pub sale_id: Option<i64>,
    pub ended_on: Option<NaiveDate>,
    pub end_reason: Option<EndReason>,
    pub end_note: Option<String>,
    pub amendments: Vec<Amendment>,
    pub created_at: chrono::DateTime<Utc>,
}

/// What signing takes: who signed, how.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SignInput {
    #[schema(required = true, nullable = false)]
    pub method: Option<SignatureMethod>,
    /// The candidate's name as they typed it (or as on the paper): it must be theirs.
    #[schema(required = true, nullable = false, example = "Léa Martin")]
    pub candidate_signer: Option<String>,
    /// A minor's guardian's name as they typed it: it must be the guardian's on file.
    pub guardian_signer: Option<String>,
    /// On screen: the signer ticked "read and approved".
    #[serde(default)]
    pub accepted: bool,
    /// On paper: the scan, a document of the candidate (kind `training_contract`).
    pub document_id: Option<i64>,
    /// The `terms_digest` of the contract the signer read: 409 `contract_changed`
    /// when its terms changed since (a draft edited, the school's prices).
    pub terms_digest: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct EndInput {
    #[schema(required = true, nullable = false)]
    pub reason: Option<EndReason>,
    /// Today when absent.
    pub ended_on: Option<NaiveDate>,
    /// For a transfer, the school the candidate goes to.
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AmendmentInput {
    #[schema(required = true, nullable = false, example = "10 heures de conduite supplémentaires")]
    pub summary: Option<String>,
    pub forecast_minutes: Option<i32>,
    /// A pack sold when the amendment is signed (more hours).
    pub pack_id: Option<i64>,
}

fn signature_of(
    signed_at: Option<chrono::DateTime<Utc>>,
    method: Option<SignatureMethod>,
    candidate_signer: Option<String>,
    guardian_signer: Option<String>,
    recorded_by: Option<i64>,
    scan_document_id: Option<i64>,
) -> Option<Signature> {
    Some(Signature {
        signed_at: signed_at?,
        method: method?,
        candidate_signer: candidate_signer?,
        guardian_signer,
        recorded_by,
        scan_document_id,
    })
}

fn amendment_of(m: amendment::Model) -> Amendment {
    Amendment {
        id: m.id,
        contract_id: m.contract_id,
        position: m.position,
        status: m.status,
        summary: m.summary,
        forecast_minutes: m.forecast_minutes,
        pack_id: m.pack_id,
        sale_id: m.sale_id,
        signature: signature_of(
            m.signed_at,
            m.signature_method,
            m.candidate_signer,
            m.guardian_signer,
            m.signed_by,
            m.scan_document_id,
        ),
        created_at: m.created_at,
    }
}

fn funding_of(m: &funding::Model, decimals: u32) -> Funding {
    Funding {
        source: m.source,
        amount: money::from_minor(m.amount_minor, decimals),
        reference: m.reference.clone(),
        lender: m.lender.clone(),
        expected_on: m.expected_on,
    }
}

/// The digest of `terms` as stated (SHA-256 of their JSON, hex).
pub fn terms_digest(terms: &Terms) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(terms).unwrap_or_default();
    hex::encode(Sha256::digest(json))
}

/// The terms a draft would be signed under today.
async fn draft_terms(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    row: &contract::Model,
    fundings: &[funding::Model],
) -> AppResult<Terms> {
    let organization = organizations::get(db, org).await?;
    let decimals = u32::from(organization.currency_decimals);
    let rules = settings::get(db, org).await?;
    let candidate = candidates::get(db, cipher, org, row.candidate_id).await?;
    let file = row_of(db, org, row.candidate_id).await?;
    let today = organizations::today(db, org).await?;
    let evaluation = evaluations(db, org, row.candidate_id)
        .await?
        .into_iter()
        .find(|e| e.id == row.evaluation_id)
        .ok_or(AppError::NotFound)?;
    let pack = packs::get(db, org, row.pack_id).await?;
    let price_list = packs::list(db, org, true)
        .await?
        .into_iter()
        .map(|p| PriceLine { name: p.name, driving_minutes: p.driving_minutes, price_incl_tax: p.price_incl_tax })
        .collect();
    let fundings: Vec<Funding> = fundings.iter().map(|f| funding_of(f, decimals)).collect();
    let funded: Decimal = fundings.iter().filter(|f| f.source != FundingSource::Personal).map(|f| f.amount).sum();
    Ok(Terms {
        school_name: organization.name.clone(),
        school_address: organization.address.clone(),
        approval_number: rules.approval_number.clone(),
        candidate_number: candidate.summary.number.clone(),
        candidate_name: candidate.summary.full_name(),
        category: candidate.summary.category.clone(),
        neph: file.neph.clone(),
        guardian_name: file.guardian_name.clone(),
        minor: candidate.birth_date.is_some_and(|b| age_on(b, today) < 18),
        evaluated_on: evaluation.evaluated_on,
        evaluator: evaluation.instructor_name,
        evaluation_result: evaluation.result,
        forecast_minutes: evaluation.forecast_minutes,
        pack_name: pack.name,
        pack_minutes: pack.driving_minutes,
        pack_price: pack.price_incl_tax,
        hour_price: rules.hour_price,
        price_list,
        currency: organization.currency,
        own_part: (pack.price_incl_tax - funded).max(Decimal::ZERO),
        fundings,
        instalments: row.instalments,
        first_due_on: row.first_due_on,
        cancellation_notice_hours: rules.cancellation_notice_hours,
        daily_limit_minutes: rules.daily_limit_minutes,
    })
}

async fn fundings_of(db: &impl ConnectionTrait, contract_id: i64) -> AppResult<Vec<funding::Model>> {
    Ok(funding::Entity::find()
        .filter(funding::Column::ContractId.eq(contract_id))
        .order_by_asc(funding::Column::Id)
        .all(db)
        .await?)
}

/// The amendments of these contracts, in order, in one query.
async fn amendments_of(db: &impl ConnectionTrait, contract_ids: &[i64]) -> AppResult<HashMap<i64, Vec<Amendment>>> {
    let mut by: HashMap<i64, Vec<Amendment>> = HashMap::new();
    if contract_ids.is_empty() {
        return Ok(by);
    }
    let rows = amendment::Entity::find()
        .filter(amendment::Column::ContractId.is_in(contract_ids.iter().copied()))
        .order_by_asc(amendment::Column::ContractId)
        .order_by_asc(amendment::Column::Position)
        .all(db)
        .await?;
    for row in rows {
        by.entry(row.contract_id).or_default().push(amendment_of(row));
    }
    Ok(by)
}

async fn view(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    row: contract::Model,
    amendments: Vec<Amendment>,
) -> AppResult<Contract> {
    let terms = match row.terms.as_deref() {
        Some(json) => {
            serde_json::from_str(json).map_err(|e| AppError::Internal(format!("stored contract terms: {e}")))?
        }
        None => draft_terms(db, cipher, org, &row, &fundings_of(db, row.id).await?).await?,
    };
    Ok(Contract {
        terms_digest: terms_digest(&terms),
        id: row.id,
        candidate_id: row.candidate_id,
        number: row.number,
        status: row.status,
        evaluation_id: row.evaluation_id,
        pack_id: row.pack_id,
        instalments: row.instalments,
        first_due_on: row.first_due_on,
        terms,
        signature: signature_of(
            row.signed_at,
            row.signature_method,
            row.candidate_signer,
            row.guardian_signer,
            row.signed_by,
            row.scan_document_id,
        ),
        sale_id: row.sale_id,
        ended_on: row.ended_on,
        end_reason: row.end_reason,
        end_note: row.end_note,
        amendments,
        created_at: row.created_at,
    })
}

pub async fn get_contract(db: &impl ConnectionTrait, cipher: &FieldCipher, org: OrgId, id: i64) -> AppResult<Contract> {
    let row = tenant::find::<contract::Entity>(db, org, id).await?;
    let amendments = amendments_of(db, &[id]).await?.remove(&id).unwrap_or_default();
    view(db, cipher, org, row, amendments).await
}

/// A candidate's latest contract, if any (what their file and their space show).
pub async fn latest_contract(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    candidate_id: i64,
) -> AppResult<Option<Contract>> {
    let row = contract::Entity::find()
        .filter(contract::Column::OrganizationId.eq(org.get()))
        .filter(contract::Column::CandidateId.eq(candidate_id))
        .order_by_desc(contract::Column::Id)
        .one(db)
        .await?;
    match row {
        Some(row) => {
            let amendments = amendments_of(db, &[row.id]).await?.remove(&row.id).unwrap_or_default();
            Ok(Some(view(db, cipher, org, row, amendments).await?))
        }
        None => Ok(None),
    }
}

/// A candidate's contracts, newest first.
pub async fn contracts_of(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    org: OrgId,
    candidate_id: i64,
) -> AppResult<Vec<Contract>> {
    let rows = contract::Entity::find()
        .filter(contract::Column::OrganizationId.eq(org.get()))
        .filter(contract::Column::CandidateId.eq(candidate_id))
        .order_by_desc(contract::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut amendments = amendments_of(db, &ids).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let of = amendments.remove(&row.id).unwrap_or_default();
        out.push(view(db, cipher, org, row, of).await?);
    }
    Ok(out)
}

/// The candidate a contract belongs to (for the portal's access check).
pub async fn candidate_of_contract(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<i64> {
    Ok(tenant::find::<contract::Entity>(db, org, id).await?.candidate_id)
}

/// A funding row as checked: source, amount in minor units, reference, lender, expected day.
type CheckedFunding = (FundingSource, i64, Option<String>, Option<String>, Option<NaiveDate>);

/// A draft's checked terms: the evaluation, the pack, the fundings (minor units).
struct Checked {
    evaluation_id: i64,
    pack_id: i64,
    instalments: i32,
    first_due_on: NaiveDate,
    fundings: Vec<CheckedFunding>,
}

const MAX_FUNDINGS: usize = 6;

async fn check_contract(
    db: &impl ConnectionTrait,
    org: OrgId,
    candidate_id: i64,
    input: &ContractInput,
) -> AppResult<Checked> {
    let organization = organizations::get(db, org).await?;
    let decimals = u32::from(organization.currency_decimals);
    let today = organization.today()?;
    let mut v = Validator::new();
    let latest = evaluations(db, org, candidate_id).await?;
    let evaluation_id = match input.evaluation_id {
        Some(id) if latest.iter().any(|e| e.id == id) => Some(id),
        Some(_) => {
            v.add("evaluation_id", Msg::new("contract.evaluation_unknown"));
            None
        }
        None => latest.first().map(|e| e.id),
    };
    if evaluation_id.is_none() && input.evaluation_id.is_none() {
        return Err(AppError::conflict_on(
            "evaluation_id",
            "evaluation_required",
            Msg::new("contract.evaluation_required"),
        ));
    }
    let pack = match v.required("pack_id", input.pack_id) {
        Some(id) => v.found("pack_id", packs::get(db, org, id).await, Msg::new("pack.unknown"))?,
        None => None,
    };
    if pack.as_ref().is_some_and(|p| !p.active) {
        v.add("pack_id", Msg::new("pack.inactive"));
    }
    let instalments = input.instalments.unwrap_or(1);
    if !(1..=12).contains(&instalments) {
        v.add("instalments", Msg::new("instalment.count_invalid").arg("max", 12));
    }
    let first_due_on = input.first_due_on.unwrap_or(today);
    let earliest = today.checked_sub_days(chrono::Days::new(60)).unwrap_or(today);
    let latest_day = today.checked_add_days(chrono::Days::new(365)).unwrap_or(today);
    if !(earliest..=latest_day).contains(&first_due_on) {
        v.add("first_due_on", Msg::new("instalment.first_due_invalid"));
    }
    if input.fundings.len() > MAX_FUNDINGS {
        v.add("fundings", Msg::new("funding.too_many").arg("max", MAX_FUNDINGS));
    }
    let mut fundings = Vec::new();
    for (i, f) in input.fundings.iter().take(MAX_FUNDINGS).enumerate() {
        let field = |name: &str| format!("fundings[{i}].{name}");
        let source = v.required(&field("source"), f.source);
        let amount = v.required(&field("amount"), f.amount);
        let minor = amount.and_then(|a| {
            money::to_minor(money::round_money(a, decimals), decimals).filter(|m| *m > 0 && a.scale() <= decimals)
        });
        if amount.is_some() && minor.is_none() {
            v.add(&field("amount"), Msg::new("funding.amount_invalid"));
        }
        let reference = v.optional_text(&field("reference"), f.reference.as_deref(), 100);
        let lender = v.optional_text(&field("lender"), f.lender.as_deref(), 100);
        if source == Some(FundingSource::Cpf) && reference.is_none() {
            v.add(&field("reference"), Msg::new("funding.cpf_dossier_required"));
        }
        if source == Some(FundingSource::LoanOneEuro) && lender.is_none() {
            v.add(&field("lender"), Msg::new("funding.lender_required"));
        }
        let latest_payment = today.checked_add_days(chrono::Days::new(730)).unwrap_or(today);
        if f.expected_on.is_some_and(|d| !(earliest..=latest_payment).contains(&d)) {
            v.add(&field("expected_on"), Msg::new("funding.expected_invalid"));
        }
        if let (Some(source), Some(minor)) = (source, minor) {
            fundings.push((source, minor, reference, lender, f.expected_on));
        }
    }
    if let Some(pack) = &pack {
        let price = money::to_minor(pack.price_incl_tax, decimals).unwrap_or(0);
        let total: i64 = fundings.iter().map(|f| f.1).sum();
        if total > price {
            v.add(
                "fundings",
                Msg::new("funding.beyond_price").arg("price", organization.currency.format(pack.price_incl_tax)),
            );
        }
        // The candidate's own part is the price less the funders': a personal row, when
        // given, states it, so it must say the same.
        let personal: Vec<i64> = fundings.iter().filter(|f| f.0 == FundingSource::Personal).map(|f| f.1).collect();
        let others: i64 = fundings.iter().filter(|f| f.0 != FundingSource::Personal).map(|f| f.1).sum();
        if !personal.is_empty() && total <= price && personal.iter().sum::<i64>() != price - others {
            let own = money::from_minor(price - others, decimals);
            v.add("fundings", Msg::new("funding.personal_mismatch").arg("amount", organization.currency.format(own)));
        }
    }
    v.finish()?;
    match (evaluation_id, pack) {
        (Some(evaluation_id), Some(pack)) => Ok(Checked {
            evaluation_id,
            pack_id: pack.id,
            instalments: i32::try_from(instalments).unwrap_or(1),
            first_due_on,
            fundings,
        }),
        _ => Err(AppError::Internal("validator accepted a missing field".to_owned())),
    }
}

async fn write_fundings(txn: &impl ConnectionTrait, org: OrgId, contract_id: i64, checked: &Checked) -> AppResult<()> {
    funding::Entity::delete_many().filter(funding::Column::ContractId.eq(contract_id)).exec(txn).await?;
    let rows = checked.fundings.iter().map(|(source, amount, reference, lender, expected_on)| funding::ActiveModel {
        organization_id: Set(org.get()),
        contract_id: Set(contract_id),
        source: Set(*source),
        amount_minor: Set(*amount),
        reference: Set(reference.clone()),
        lender: Set(lender.clone()),
        expected_on: Set(*expected_on),
        ..Default::default()
    });
    if !checked.fundings.is_empty() {
        funding::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Drafts a candidate's contract from their latest evaluation (409
/// `evaluation_required` without one, `contract_open` while another is under way).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn draft<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    candidate_id: i64,
    input: &ContractInput,
) -> AppResult<Contract> {
    let candidate = candidates::summary_of(db, actor.org, candidate_id).await?;
    let checked = check_contract(db, actor.org, candidate_id, input).await?;
    let id = db::write(db, async |txn| -> AppResult<i64> {
        let rank =
            contract::Entity::find().filter(contract::Column::CandidateId.eq(candidate_id)).count(txn).await? + 1;
        let now = Utc::now();
        let saved = contract::ActiveModel {
            organization_id: Set(actor.org.get()),
            candidate_id: Set(candidate_id),
            number: Set(format!("{}/{rank}", candidate.number)),
            status: Set(ContractStatus::Draft),
            evaluation_id: Set(checked.evaluation_id),
            pack_id: Set(checked.pack_id),
            instalments: Set(checked.instalments),
            first_due_on: Set(checked.first_due_on),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::conflict("contract_open", Msg::new("contract.open")).if_refused(err, Constraint::is_unique)
        })?;
        write_fundings(txn, actor.org, saved.id, &checked).await?;
        audit::record_change(txn, actor, (AUDIT_CONTRACT, saved.id), None, Some(&saved.number)).await?;
        Ok(saved.id)
    })
    .await?;
    get_contract(db, cipher, actor.org, id).await
}

fn signed_conflict() -> AppError {
    AppError::conflict("contract_signed", Msg::new("contract.signed_frozen"))
}

/// Changes a draft's terms (409 `contract_signed` once signed: changes are amendments).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update_draft<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    id: i64,
    input: &ContractInput,
) -> AppResult<Contract> {
    let row = tenant::find::<contract::Entity>(db, actor.org, id).await?;
    if row.status != ContractStatus::Draft {
        return Err(signed_conflict());
    }
    let checked = check_contract(db, actor.org, row.candidate_id, input).await?;
    db::write(db, async |txn| {
        let updated = contract::Entity::update_many()
            .col_expr(contract::Column::EvaluationId, Expr::value(checked.evaluation_id))
            .col_expr(contract::Column::PackId, Expr::value(checked.pack_id))
            .col_expr(contract::Column::Instalments, Expr::value(checked.instalments))
            .col_expr(contract::Column::FirstDueOn, Expr::value(checked.first_due_on))
            .col_expr(contract::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(contract::Column::Id.eq(id))
            .filter(contract::Column::Status.eq(ContractStatus::Draft))
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(signed_conflict());
        }
        write_fundings(txn, actor.org, id, &checked).await?;
        audit::record_change(txn, actor, (AUDIT_CONTRACT, id), Some(&row.number), Some(&row.number)).await
    })
    .await?;
    get_contract(db, cipher, actor.org, id).await
}

/// Deletes a draft (a signed contract is kept: 409 `contract_signed`).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete_draft<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    let row = tenant::find::<contract::Entity>(db, actor.org, id).await?;
    db::write(db, async |txn| {
        let deleted = contract::Entity::delete_many()
            .filter(contract::Column::Id.eq(id))
            .filter(contract::Column::Status.eq(ContractStatus::Draft))
            .exec(txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(signed_conflict());
        }
        audit::record_change(txn, actor, (AUDIT_CONTRACT, id), Some(&row.number), None::<&String>).await
    })
    .await
}

/// Two names are the same person's: case, accents, spacing and order aside.
pub fn same_name(typed: &str, expected: &str) -> bool {
    let words = |s: &str| {
        let mut w: Vec<String> = sort_key(s).split_whitespace().map(str::to_owned).collect();
        w.sort();
        w
    };
    !typed.trim().is_empty() && words(typed) == words(expected)
}

/// Who may sign: the school's staff record either method; a candidate signs on
/// screen from their own space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    School,
    Candidate,
}

struct CheckedSignature {
    method: SignatureMethod,
    candidate_signer: String,
    guardian_signer: Option<String>,
    scan_document_id: Option<i64>,
}

async fn check_signature(
    db: &impl ConnectionTrait,
    org: OrgId,
    signer: Signer,
    terms: &Terms,
    candidate_id: i64,
    input: &SignInput,
) -> AppResult<CheckedSignature> {
    // A minor's guardian signs with them, at the school: a minor alone on their
    // phone could type any name.
    if signer == Signer::Candidate && terms.minor {
        return Err(AppError::conflict("guardian_signs_at_school", Msg::new("contract.guardian_signs_at_school")));
    }
    let mut v = Validator::new();
    let method = v.required("method", input.method);
    if signer == Signer::Candidate && method == Some(SignatureMethod::Paper) {
        v.add("method", Msg::new("contract.paper_by_school"));
    }
    let candidate_signer = v.required_text("candidate_signer", input.candidate_signer.as_deref(), 200);
    if candidate_signer.as_deref().is_some_and(|s| !same_name(s, &terms.candidate_name)) {
        v.add("candidate_signer", Msg::new("contract.signer_mismatch").arg("name", &terms.candidate_name));
    }
    let guardian_signer = v.optional_text("guardian_signer", input.guardian_signer.as_deref(), 200);
    if terms.minor {
        match (&terms.guardian_name, &guardian_signer) {
            (None, _) => {
                return Err(AppError::conflict_on(
                    "guardian_signer",
                    "guardian_required",
                    Msg::new("contract.guardian_required"),
                ));
            }
            (Some(_), None) => v.add("guardian_signer", Msg::new("contract.guardian_signature_required")),
            (Some(expected), Some(typed)) if !same_name(typed, expected) => {
                v.add("guardian_signer", Msg::new("contract.signer_mismatch").arg("name", expected));
            }
            _ => {}
        }
    }
    if method == Some(SignatureMethod::Screen) && !input.accepted {
        v.add("accepted", Msg::new("contract.accept_required"));
    }
    let mut scan_document_id = None;
    if method == Some(SignatureMethod::Paper) {
        match input.document_id {
            None => v.add("document_id", Msg::new("contract.scan_required")),
            Some(id) => {
                let found = crate::documents::service::kinds_of(
                    db,
                    org,
                    OwnerKind::Candidate,
                    &[candidate_id],
                    &[DocumentKind::TrainingContract],
                )
                .await?;
                if found.iter().any(|d| d.id == id) {
                    scan_document_id = Some(id);
                } else {
                    v.add("document_id", Msg::new("contract.scan_unknown"));
                }
            }
        }
    }
    v.finish()?;
    match (method, candidate_signer) {
        (Some(method), Some(candidate_signer)) => Ok(CheckedSignature {
            method,
            candidate_signer,
            guardian_signer: guardian_signer.filter(|_| terms.minor || terms.guardian_name.is_some()),
            scan_document_id,
        }),
        _ => Err(AppError::Internal("validator accepted a missing signature".to_owned())),
    }
}

/// The label an instalment paid by a funder carries on the invoice.
fn payer_label(f: &Funding, tr: Locale) -> String {
    let source = tr.text(f.source.label_key());
    match (&f.reference, &f.lender) {
        (_, Some(lender)) => format!("{source} — {lender}"),
        (Some(reference), None) => format!("{source} {reference}"),
        (None, None) => source.to_owned(),
    }
}

/// Signs a draft: its terms frozen as they read now, its pack sold with the
/// funders' parts first in the invoice's schedule, in one transaction. A
/// candidate may sign only their own contract, on screen.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn sign<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    signer: Signer,
    id: i64,
    input: &SignInput,
) -> AppResult<Contract> {
    let row = tenant::find::<contract::Entity>(db, actor.org, id).await?;
    if row.status != ContractStatus::Draft {
        return Err(signed_conflict());
    }
    let fundings = fundings_of(db, id).await?;
    let terms = draft_terms(db, cipher, actor.org, &row, &fundings).await?;
    // A contract without the school's approval or its hour price lacks a
    // mandatory clause (Code de la route, L213-2): it is not signed so.
    if terms.approval_number.is_none() || terms.hour_price.is_zero() {
        return Err(AppError::conflict("school_terms_missing", Msg::new("contract.school_terms_missing")));
    }
    if input.terms_digest.as_deref().is_some_and(|d| d != terms_digest(&terms)) {
        return Err(AppError::conflict("contract_changed", Msg::new("contract.changed")));
    }
    // A minor's guardian consented first (their consent's day is on the file).
    if terms.minor && row_of(db, actor.org, row.candidate_id).await?.guardian_consent_on.is_none() {
        return Err(AppError::conflict_on(
            "guardian_signer",
            "guardian_required",
            Msg::new("contract.guardian_required"),
        ));
    }
    let checked = check_signature(db, actor.org, signer, &terms, row.candidate_id, input).await?;
    let organization = organizations::get(db, actor.org).await?;
    let decimals = u32::from(organization.currency_decimals);
    let tr = organization.locale;
    let funded: Vec<crate::billing::invoices::instalments::Part> = terms
        .fundings
        .iter()
        .filter(|f| f.source != FundingSource::Personal)
        .map(|f| crate::billing::invoices::instalments::Part {
            due_on: f.expected_on.unwrap_or(terms.first_due_on),
            amount_minor: money::to_minor(f.amount, decimals).unwrap_or(0),
            payer: Some(payer_label(f, tr)),
        })
        .collect();
    let frozen = serde_json::to_string(&terms).map_err(|e| AppError::Internal(format!("contract terms: {e}")))?;
    db::write(db, async |txn| {
        let payment = packs::ContractPayment {
            instalments: u32::try_from(row.instalments).unwrap_or(1),
            first_due: row.first_due_on,
            funded: funded.clone(),
        };
        let (sale, _) = packs::sell_in(txn, cipher, actor, row.candidate_id, row.pack_id, payment).await?;
        let signed = contract::Entity::update_many()
            .col_expr(contract::Column::Status, Expr::value(ContractStatus::Signed))
            .col_expr(contract::Column::Terms, Expr::value(frozen.clone()))
            .col_expr(contract::Column::SignedAt, Expr::value(Utc::now()))
            .col_expr(contract::Column::SignatureMethod, Expr::value(checked.method))
            .col_expr(contract::Column::CandidateSigner, Expr::value(checked.candidate_signer.clone()))
            .col_expr(contract::Column::GuardianSigner, Expr::value(checked.guardian_signer.clone()))
            .col_expr(contract::Column::SignedBy, Expr::value(actor.user_id))
            .col_expr(contract::Column::ScanDocumentId, Expr::value(checked.scan_document_id))
            .col_expr(contract::Column::SaleId, Expr::value(sale.id))
            .col_expr(contract::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(contract::Column::Id.eq(id))
            .filter(contract::Column::Status.eq(ContractStatus::Draft))
            .filter(contract::Column::UpdatedAt.eq(row.updated_at))
            .exec(txn)
            .await?;
        // Signed meanwhile by someone else, or its draft changed since it was
        // read: this transaction's sale goes with it.
        if signed.rows_affected == 0 {
            let now = tenant::find::<contract::Entity>(txn, actor.org, id).await?;
            return Err(match now.status {
                ContractStatus::Draft => AppError::conflict("contract_changed", Msg::new("contract.changed")),
                _ => signed_conflict(),
            });
        }
        let record = serde_json::json!({
            "number": row.number,
            "method": checked.method,
            "candidate_signer": checked.candidate_signer,
            "guardian_signer": checked.guardian_signer,
            "sale_id": sale.id,
        });
        audit::record_change(
            txn,
            actor,
            (AUDIT_CONTRACT, id),
            Some(&serde_json::json!({ "status": "draft" })),
            Some(&record),
        )
        .await
    })
    .await?;
    get_contract(db, cipher, actor.org, id).await
}

/// Ends a signed contract: training completed, the candidate transferred to
/// another school (`note` names it), or terminated.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn end<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    id: i64,
    input: &EndInput,
) -> AppResult<Contract> {
    let row = tenant::find::<contract::Entity>(db, actor.org, id).await?;
    let today = organizations::today(db, actor.org).await?;
    let mut v = Validator::new();
    let reason = v.required("reason", input.reason);
    let note = v.optional_long_text("note", input.note.as_deref(), 500);
    if reason == Some(EndReason::Transfer) && note.is_none() {
        v.add("note", Msg::new("contract.transfer_school_required"));
    }
    let ended_on = input.ended_on.unwrap_or(today);
    if ended_on > today || row.signed_at.is_some_and(|s| ended_on < s.date_naive()) {
        v.add("ended_on", Msg::new("contract.end_date_invalid"));
    }
    v.finish()?;
    if row.status != ContractStatus::Signed {
        return Err(AppError::conflict("contract_not_signed", Msg::new("contract.not_signed")));
    }
    db::write(db, async |txn| {
        let ended = contract::Entity::update_many()
            .col_expr(contract::Column::Status, Expr::value(ContractStatus::Ended))
            .col_expr(contract::Column::EndedOn, Expr::value(ended_on))
            .col_expr(contract::Column::EndReason, Expr::value(reason))
            .col_expr(contract::Column::EndNote, Expr::value(note.clone()))
            .col_expr(contract::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(contract::Column::Id.eq(id))
            .filter(contract::Column::Status.eq(ContractStatus::Signed))
            .exec(txn)
            .await?;
        if ended.rows_affected == 0 {
            return Err(AppError::conflict("contract_not_signed", Msg::new("contract.not_signed")));
        }
        // An amendment still waiting for its signature dies with the contract.
        amendment::Entity::delete_many()
            .filter(amendment::Column::ContractId.eq(id))
            .filter(amendment::Column::Status.eq(AmendmentStatus::Draft))
            .exec(txn)
            .await?;
        let after = serde_json::json!({ "status": "ended", "reason": reason, "ended_on": ended_on, "note": note });
        audit::record_change(
            txn,
            actor,
            (AUDIT_CONTRACT, id),
            Some(&serde_json::json!({ "status": "signed" })),
            Some(&after),
        )
        .await
    })
    .await?;
    get_contract(db, cipher, actor.org, id).await
}

/// Drafts an amendment of a signed contract.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn amend<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    contract_id: i64,
    input: &AmendmentInput,
) -> AppResult<Contract> {
    let row = tenant::find::<contract::Entity>(db, actor.org, contract_id).await?;
    let mut v = Validator::new();
    let summary = v.required_long_text("summary", input.summary.as_deref(), 2000);
    if input.forecast_minutes.is_some_and(|m| !(60..=12000).contains(&m)) {
        v.add("forecast_minutes", Msg::new("school.out_of_range").arg("min", 60).arg("max", 12000));
    }
    if let Some(id) = input.pack_id
        && let Some(pack) = v.found("pack_id", packs::get(db, actor.org, id).await, Msg::new("pack.unknown"))?
        && !pack.active
    {
        v.add("pack_id", Msg::new("pack.inactive"));
    }
    v.finish()?;
    if row.status != ContractStatus::Signed {
        return Err(AppError::conflict("contract_not_signed", Msg::new("contract.not_signed")));
    }
    let summary = summary.unwrap_or_default();
    db::write(db, async |txn| {
        let open = amendment::Entity::find()
            .filter(amendment::Column::ContractId.eq(contract_id))
            .filter(amendment::Column::Status.eq(AmendmentStatus::Draft))
            .count(txn)
            .await?;
        if open > 0 {
            return Err(AppError::conflict("amendment_open", Msg::new("contract.amendment_open")));
        }
        let position =
            amendment::Entity::find().filter(amendment::Column::ContractId.eq(contract_id)).count(txn).await? + 1;
        let saved = amendment::ActiveModel {
            organization_id: Set(actor.org.get()),
            contract_id: Set(contract_id),
            position: Set(i32::try_from(position).unwrap_or(i32::MAX)),
            status: Set(AmendmentStatus::Draft),
            summary: Set(summary.clone()),
            forecast_minutes: Set(input.forecast_minutes),
            pack_id: Set(input.pack_id),
            created_by: Set(actor.user_id),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| {
            AppError::conflict("amendment_open", Msg::new("contract.amendment_open"))
                .if_refused(err, Constraint::is_unique)
        })?;
        audit::record_change(txn, actor, (AUDIT_AMENDMENT, saved.id), None, Some(&summary)).await
    })
    .await?;
    get_contract(db, cipher, actor.org, contract_id).await
}

/// Deletes an amendment waiting for its signature (a signed one is kept: 409 `amendment_signed`).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete_amendment<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<i64> {
    let row = tenant::find::<amendment::Entity>(db, actor.org, id).await?;
    db::write(db, async |txn| {
        let deleted = amendment::Entity::delete_many()
            .filter(amendment::Column::Id.eq(id))
            .filter(amendment::Column::Status.eq(AmendmentStatus::Draft))
            .exec(txn)
            .await?;
        if deleted.rows_affected == 0 {
            return Err(AppError::conflict("amendment_signed", Msg::new("contract.amendment_signed")));
        }
        audit::record_change(txn, actor, (AUDIT_AMENDMENT, id), Some(&row.summary), None::<&String>).await
    })
    .await?;
    Ok(row.contract_id)
}

/// The contract an amendment belongs to.
pub async fn contract_of_amendment(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<i64> {
    Ok(tenant::find::<amendment::Entity>(db, org, id).await?.contract_id)
}

/// Signs an amendment: its pack sold (paid by the candidate), its forecast made
/// the candidate's.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn sign_amendment<C: Writer>(
    db: &C,
    cipher: &FieldCipher,
    actor: &Actor,
    signer: Signer,
    id: i64,
    input: &SignInput,
) -> AppResult<Contract> {
    let row = tenant::find::<amendment::Entity>(db, actor.org, id).await?;
    let contract = get_contract(db, cipher, actor.org, row.contract_id).await?;
    if row.status != AmendmentStatus::Draft {
        return Err(AppError::conflict("amendment_signed", Msg::new("contract.amendment_signed")));
    }
    if contract.status != ContractStatus::Signed {
        return Err(AppError::conflict("contract_not_signed", Msg::new("contract.not_signed")));
    }
    // A minor then may have come of age: the guardian's signature follows today's file.
    let mut terms = contract.terms.clone();
    let file = get_file(db, cipher, actor.org, contract.candidate_id).await?;
    terms.minor = file.minor;
    terms.guardian_name = file.guardian.as_ref().map(|g| g.name.clone());
    let checked = check_signature(db, actor.org, signer, &terms, contract.candidate_id, input).await?;
    let today = organizations::today(db, actor.org).await?;
    db::write(db, async |txn| {
        let sale_id = match row.pack_id {
            Some(pack_id) => {
                let payment = packs::ContractPayment { instalments: 1, first_due: today, funded: Vec::new() };
                Some(packs::sell_in(txn, cipher, actor, contract.candidate_id, pack_id, payment).await?.0.id)
            }
            None => None,
        };
        if let Some(minutes) = row.forecast_minutes {
            candidates::set_forecast_minutes(txn, actor.org, contract.candidate_id, minutes).await?;
        }
        let signed = amendment::Entity::update_many()
            .col_expr(amendment::Column::Status, Expr::value(AmendmentStatus::Signed))
            .col_expr(amendment::Column::SignedAt, Expr::value(Utc::now()))
            .col_expr(amendment::Column::SignatureMethod, Expr::value(checked.method))
            .col_expr(amendment::Column::CandidateSigner, Expr::value(checked.candidate_signer.clone()))
            .col_expr(amendment::Column::GuardianSigner, Expr::value(checked.guardian_signer.clone()))
            .col_expr(amendment::Column::SignedBy, Expr::value(actor.user_id))
            .col_expr(amendment::Column::ScanDocumentId, Expr::value(checked.scan_document_id))
            .col_expr(amendment::Column::SaleId, Expr::value(sale_id))
            .filter(amendment::Column::Id.eq(id))
            .filter(amendment::Column::Status.eq(AmendmentStatus::Draft))
            .exec(txn)
            .await?;
        if signed.rows_affected == 0 {
            return Err(AppError::conflict("amendment_signed", Msg::new("contract.amendment_signed")));
        }
        let record = serde_json::json!({ "method": checked.method, "candidate_signer": checked.candidate_signer, "sale_id": sale_id });
        audit::record_change(txn, actor, (AUDIT_AMENDMENT, id), Some(&serde_json::json!({ "status": "draft" })), Some(&record))
            .await
    })
    .await?;
    get_contract(db, cipher, actor.org, row.contract_id).await
}

// ---------------------------------------------------------------- transfer

/// A lesson done, as the learning record lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct RecordedLesson {
    pub day: NaiveDate,
    pub minutes: i32,
    pub kind: crate::school::planning::service::LessonKind,
    pub instructor: String,
    pub notes: Option<String>,
}

/// What a candidate leaving for another school takes: their learning record
/// (the REMC grid), the hours done and the lessons, evaluations and validated
/// exam results. No public specification exists for an electronic exchange
/// between schools or with the ANTS: this record is the extension point
/// (docs/school.md, "Transfer").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LearningRecord {
    pub format: String,
    pub school_name: String,
    pub approval_number: Option<String>,
    pub candidate_number: String,
    pub candidate_name: String,
    pub category: String,
    pub neph: Option<String>,
    pub registered_on: NaiveDate,
    pub driving_minutes_done: i32,
    pub lessons: Vec<RecordedLesson>,
    pub evaluations: Vec<Evaluation>,
    pub grid: Vec<crate::school::candidates::progress::CompetencyProgress>,
    pub exam_results: Vec<crate::school::exams::service::ExamResult>,
    pub made_on: NaiveDate,
}

pub async fn learning_record(
    db: &impl ConnectionTrait,
    cipher: &FieldCipher,
    actor: &Actor,
    candidate_id: i64,
) -> AppResult<LearningRecord> {
    let org = actor.org;
    let candidate = candidates::get(db, cipher, org, candidate_id).await?;
    let file = row_of(db, org, candidate_id).await?;
    let organization = organizations::get(db, org).await?;
    let zone = organization.zone()?;
    let rules = settings::get(db, org).await?;
    let lessons = crate::school::planning::service::done_lessons(db, org, candidate_id).await?;
    let results = crate::school::exams::service::list_results(
        db,
        actor,
        crate::school::access::Viewer::Candidate(candidate_id),
        Some(candidate_id),
    )
    .await?;
    Ok(LearningRecord {
        format: "volant.learning-record/1".to_owned(),
        school_name: organization.name.clone(),
        approval_number: rules.approval_number,
        candidate_number: candidate.summary.number.clone(),
        candidate_name: candidate.summary.full_name(),
        category: candidate.summary.category.clone(),
        neph: file.neph,
        registered_on: candidate.summary.registered_on,
        driving_minutes_done: candidate.summary.hours.done_minutes,
        lessons: lessons
            .into_iter()
            .map(|l| RecordedLesson {
                day: l.starts_at.with_timezone(&zone).date_naive(),
                minutes: l.minutes,
                kind: l.kind,
                instructor: l.instructor_name,
                notes: l.notes,
            })
            .collect(),
        evaluations: evaluations(db, org, candidate_id).await?,
        grid: crate::school::candidates::progress::grid_of(db, candidate_id).await?,
        exam_results: results,
        made_on: organization.today()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(day(2009, 12, 6), day(2026, 12, 6)), 17);
        assert_eq!(age_on(day(2009, 12, 7), day(2026, 12, 6)), 16);
        assert_eq!(age_on(day(2008, 2, 29), day(2026, 2, 28)), 17);
    }

    fn facts(category: &str, birth: Option<NaiveDate>) -> Facts<'_> {
        Facts {
            category,
            birth_date: birth,
            today: day(2026, 12, 6),
            medical_required: false,
            has_ephoto: false,
            guardian_complete: false,
        }
    }

    fn required(items: &[ChecklistItem]) -> Vec<Piece> {
        items.iter().filter(|i| i.required).map(|i| i.piece).collect()
    }

    #[test]
    fn the_checklist_follows_age_and_category() {
        use Piece as P;
        // 17: ASSR, JDC and a guardian.
        let minor = checklist(facts("B", Some(day(2009, 6, 1))), &[]);
        assert_eq!(
            required(&minor),
            [P::IdentityDocument, P::ProofOfAddress, P::Photo, P::RoadSafety, P::Jdc, P::Guardian]
        );
        // 40, lorry: a medical certificate, no ASSR (21 or older), no JDC.
        let driver = checklist(facts("C", Some(day(1986, 6, 1))), &[]);
        assert_eq!(required(&driver), [P::IdentityDocument, P::ProofOfAddress, P::Photo, P::MedicalCertificate]);
        // 24: the JDC still (before 25), no ASSR (21 or older).
        let young = checklist(facts("B", Some(day(2002, 6, 1))), &[]);
        assert_eq!(required(&young), [P::IdentityDocument, P::ProofOfAddress, P::Photo, P::Jdc]);
        // 25 on the day: no JDC any more.
        let adult = checklist(facts("B", Some(day(2001, 12, 6))), &[]);
        assert_eq!(required(&adult), [P::IdentityDocument, P::ProofOfAddress, P::Photo]);
        // 20: the ASSR.
        let twenty = checklist(facts("B", Some(day(2006, 6, 1))), &[]);
        assert!(required(&twenty).contains(&P::RoadSafety));
        // No birth date: asked as of the youngest, except the guardian.
        let unknown = checklist(facts("B", None), &[]);
        assert!(required(&unknown).contains(&P::Jdc) && !required(&unknown).contains(&P::Guardian));
    }

    #[test]
    fn documents_and_the_ephoto_code_provide_pieces() {
        let mut f = facts("B", Some(day(2006, 6, 1)));
        f.has_ephoto = true;
        let items = checklist(f, &[(DocumentKind::IdentityDocument, 7), (DocumentKind::Assr, 9)]);
        let done: Vec<Piece> = items.iter().filter(|i| i.done).map(|i| i.piece).collect();
        assert_eq!(done, [Piece::IdentityDocument, Piece::Photo, Piece::RoadSafety]);
        assert_eq!(items[0].document_id, Some(7));
    }

    #[test]
    fn a_candidate_comes_of_age_on_their_18th_birthday() {
        assert_eq!(coming_of_age(day(2009, 12, 6)), day(2027, 12, 6));
        assert_eq!(coming_of_age(day(2008, 2, 29)), day(2026, 3, 1));
    }

    #[test]
    fn neph_and_ephoto_codes_are_checked() {
        assert_eq!(check_neph("1207 7501 2345").as_deref(), Ok("120775012345"));
        assert!(check_neph("12077501234").is_err());
        assert!(check_neph("12077501234A").is_err());
        assert_eq!(check_ephoto("ab12-cd34-ef").as_deref(), Ok("AB12CD34EF"));
        assert!(check_ephoto("ab").is_err());
    }

    #[test]
    fn signers_are_matched_by_name_whatever_the_order_and_accents() {
        assert!(same_name("martin lea", "Léa Martin"));
        assert!(same_name("  LÉA   MARTIN ", "Léa Martin"));
        assert!(!same_name("Léa Martine", "Léa Martin"));
        assert!(!same_name("", "Léa Martin"));
    }
}
