//! Exam sessions, registrations and results. A result is entered, then validated
//! by an administrator, a manager or an instructor — with four-eyes, someone other
//! than the person who entered it (a CHECK constraint holds that too). Only
//! validated results are final: they reach the candidate, and the database refuses
//! to change them (a trigger); a correction is a new record naming the one it
//! corrects.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, Func};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{exam_session, registration, result};
use crate::identity::audit::{self, Actor};
use crate::notify::{self, Event, Notice};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult, Constraint, constraint_violation};
use crate::platform::i18n::{Locale, Msg};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::school::access::Viewer;
use crate::school::candidates::entity::candidate;
use crate::school::candidates::service::{self as candidates, CandidateSummary, TheoryStatus};
use crate::school::instructors::service as instructors;
use crate::school::planning::service::format_duration;
use crate::school::settings::service as settings;

string_enum! {
    // What an exam session examines.
    #[derive(ToSchema)]
    pub enum SessionKind (labels "exam.type_") {
        Theory,
        Practical,
    }
}

string_enum! {
    // Which exam a result is for.
    #[derive(ToSchema)]
    pub enum ExamType (labels "exam.type_") {
        Theory,
        Practical,
        Final,
    }
}

string_enum! {
    // What an exam's result says.
    #[derive(ToSchema)]
    pub enum Outcome (labels "exam.outcome_") {
        Passed,
        Failed,
    }
}

/// Where a result stands: pending until validated, then its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResultStatus {
    Pending,
    Passed,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ExamSession {
    pub id: i64,
    pub kind: SessionKind,
    pub starts_at: DateTime<Utc>,
    pub centre: String,
    pub seats: i32,
    pub registered: i64,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct SessionInput {
    #[schema(required = true, nullable = false)]
    pub kind: Option<SessionKind>,
    #[schema(required = true, nullable = false, value_type = String, example = "2026-12-08T08:30:00+01:00")]
    pub starts_at: Option<DateTime<FixedOffset>>,
    #[schema(required = true, nullable = false, example = "Centre d'examen de Marseille-Saint-Jérôme")]
    pub centre: Option<String>,
    #[schema(required = true, nullable = false, example = 4)]
    pub seats: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Registration {
    pub id: i64,
    pub session_id: i64,
    pub candidate_id: i64,
    pub candidate_name: String,
    pub registered_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct RegistrationInput {
    #[schema(required = true, nullable = false)]
    pub candidate_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ExamResult {
    pub id: i64,
    pub candidate_id: i64,
    pub registration_id: Option<i64>,
    pub exam_type: ExamType,
    /// `pending` until validated, then the outcome.
    pub status: ResultStatus,
    /// What was entered (final once validated).
    pub outcome: Outcome,
    pub score: Option<i32>,
    pub notes: Option<String>,
    pub taken_on: NaiveDate,
    /// The instructor who prepared the candidate (for pass rates).
    pub instructor_id: Option<i64>,
    pub entered_by: i64,
    pub entered_at: DateTime<Utc>,
    pub four_eyes: bool,
    pub validated_by: Option<i64>,
    pub validated_at: Option<DateTime<Utc>>,
    /// The validated result this one corrects.
    pub corrects_id: Option<i64>,
}

impl From<result::Model> for ExamResult {
    fn from(m: result::Model) -> Self {
        let outcome = m.outcome;
        let status = match (m.validated_at.is_some(), outcome) {
            (false, _) => ResultStatus::Pending,
            (true, Outcome::Passed) => ResultStatus::Passed,
            (true, Outcome::Failed) => ResultStatus::Failed,
        };
        Self {
            id: m.id,
            candidate_id: m.candidate_id,
            registration_id: m.registration_id,
            exam_type: m.exam_type,
            status,
            outcome,
            score: m.score,
            notes: m.notes,
            taken_on: m.taken_on,
            instructor_id: m.instructor_id,
            entered_by: m.entered_by,
            entered_at: m.entered_at,
            four_eyes: m.four_eyes,
            validated_by: m.validated_by,
            validated_at: m.validated_at,
            corrects_id: m.corrects_id,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ResultInput {
    #[schema(required = true, nullable = false)]
    pub candidate_id: Option<i64>,
    /// The registration the result is for, if any.
    pub registration_id: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub exam_type: Option<ExamType>,
    #[schema(required = true, nullable = false)]
    pub outcome: Option<Outcome>,
    /// Theory: correct answers out of 40; practical: points.
    pub score: Option<i32>,
    pub notes: Option<String>,
    /// Today when absent.
    pub taken_on: Option<NaiveDate>,
    /// Default: the candidate's instructor.
    pub instructor_id: Option<i64>,
}

// ---------------------------------------------------------------- sessions

async fn counts(db: &impl ConnectionTrait, session_ids: &[i64]) -> AppResult<HashMap<i64, i64>> {
    if session_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i64)> = registration::Entity::find()
        .select_only()
        .column(registration::Column::SessionId)
        .column_as(
            Expr::expr(Func::cast_as(Func::count(Expr::col(registration::Column::Id)), Alias::new("BIGINT"))),
            "n",
        )
        .filter(registration::Column::SessionId.is_in(session_ids.iter().copied()))
        .group_by(registration::Column::SessionId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

fn session_view(m: exam_session::Model, registered: i64) -> ExamSession {
    ExamSession { id: m.id, kind: m.kind, starts_at: m.starts_at, centre: m.centre, seats: m.seats, registered }
}

async fn find_session(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<exam_session::Model> {
    exam_session::Entity::find_by_id(id)
        .filter(exam_session::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn get_session(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<ExamSession> {
    let m = find_session(db, org, id).await?;
    let n = counts(db, &[id]).await?.get(&id).copied().unwrap_or(0);
    Ok(session_view(m, n))
}

/// Sessions from a week ago on, soonest first.
pub async fn list_sessions(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<ExamSession>> {
    let rows = exam_session::Entity::find()
        .filter(exam_session::Column::OrganizationId.eq(org.get()))
        .filter(exam_session::Column::StartsAt.gte(Utc::now() - chrono::Duration::days(7)))
        .order_by_asc(exam_session::Column::StartsAt)
        .limit(500)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let n = counts(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let registered = n.get(&r.id).copied().unwrap_or(0);
            session_view(r, registered)
        })
        .collect())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create_session<C: Writer>(db: &C, actor: &Actor, input: &SessionInput) -> AppResult<ExamSession> {
    let mut v = Validator::new();
    let kind = v.required("kind", input.kind);
    let starts_at = v.required("starts_at", input.starts_at).map(|d| d.with_timezone(&Utc));
    let centre = v.required_text("centre", input.centre.as_deref(), 200);
    let seats = v.required("seats", input.seats);
    if seats.is_some_and(|s| !(1..=500).contains(&s)) {
        v.add("seats", Msg::new("school.out_of_range").arg("min", 1).arg("max", 500));
    }
    v.finish()?;
    let (Some(kind), Some(starts_at), Some(centre), Some(seats)) = (kind, starts_at, centre, seats) else {
        return Err(AppError::Internal("validator accepted a missing field".into()));
    };
    db::write(db, async |txn| {
        let saved = exam_session::ActiveModel {
            organization_id: Set(actor.org.get()),
            kind: Set(kind),
            starts_at: Set(starts_at),
            centre: Set(centre),
            seats: Set(seats),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let created = session_view(saved, 0);
        audit::record_change(txn, actor, ("exam_session", created.id), None, Some(&created)).await?;
        Ok(created)
    })
    .await
}

pub async fn registrations(db: &impl ConnectionTrait, org: OrgId, session_id: i64) -> AppResult<Vec<Registration>> {
    find_session(db, org, session_id).await?;
    let rows = registration::Entity::find()
        .filter(registration::Column::SessionId.eq(session_id))
        .order_by_asc(registration::Column::Id)
        .all(db)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.candidate_id).collect();
    let names = candidates::names_of(db, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|r| Registration {
            id: r.id,
            session_id: r.session_id,
            candidate_name: names.get(&r.candidate_id).cloned().unwrap_or_default(),
            candidate_id: r.candidate_id,
            registered_at: r.registered_at,
        })
        .collect())
}

fn ineligible(key: &'static str) -> Msg {
    Msg::new(key)
}

/// Registers a candidate for a session: theory passed before a practical exam,
/// enough driving done, a seat left (seats are counted under a lock on the
/// session, so the last seat goes to one candidate only).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn register<C: Writer>(
    db: &C,
    actor: &Actor,
    session_id: i64,
    input: &RegistrationInput,
) -> AppResult<Registration> {
    let session = get_session(db, actor.org, session_id).await?;
    let mut v = Validator::new();
    let candidate_id = v.required("candidate_id", input.candidate_id);
    v.finish()?;
    let candidate = candidates::summary_of(db, actor.org, candidate_id.unwrap_or_default())
        .await
        .map_err(|err| err.missing_as("candidate_id", Msg::new("school.candidate_unknown")))?;
    check_eligible(db, actor.org, &session, &candidate).await?;
    db::write(db, async |txn| {
        db::lock_keys(txn, vec![crate::school::planning::service::lock_key(4, session_id)]).await?;
        let taken =
            registration::Entity::find().filter(registration::Column::SessionId.eq(session_id)).count(txn).await?;
        if taken >= u64::try_from(session.seats).unwrap_or(0) {
            return Err(AppError::Conflict {
                code: "session_full",
                field: None,
                message: Msg::new("exam.session_full"),
            });
        }
        let saved = registration::ActiveModel {
            organization_id: Set(actor.org.get()),
            session_id: Set(session_id),
            candidate_id: Set(candidate.id),
            registered_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await;
        let saved = match saved {
            Ok(saved) => saved,
            Err(err) if matches!(constraint_violation(&err), Some(Constraint::Unique(_))) => {
                return Err(AppError::Conflict {
                    code: "already_registered",
                    field: Some("candidate_id"),
                    message: Msg::new("exam.already_registered"),
                });
            }
            Err(err) => return Err(err.into()),
        };
        let created = Registration {
            id: saved.id,
            session_id,
            candidate_id: candidate.id,
            candidate_name: candidate.full_name(),
            registered_at: saved.registered_at,
        };
        audit::record_change(txn, actor, ("exam_registration", created.id), None, Some(&created)).await?;
        let school = crate::identity::organizations::service::get(txn, actor.org).await?;
        let notice = registration_notice(&session, &candidate, (school.locale, school.zone()?));
        crate::school::enrolment::service::notify_guardian(txn, actor.org, candidate.id, &notice).await?;
        notify::send(txn, actor.org, notice).await?;
        Ok(created)
    })
    .await
}

/// A session still to come; for a practical one, the code passed and enough
/// driving done (the school's minimum).
async fn check_eligible(
    db: &impl ConnectionTrait,
    org: OrgId,
    session: &ExamSession,
    candidate: &CandidateSummary,
) -> AppResult<()> {
    if session.starts_at < Utc::now() {
        return Err(AppError::conflict("session_past", Msg::new("exam.session_past")));
    }
    if session.kind != SessionKind::Practical {
        return Ok(());
    }
    if candidate.theory_status != TheoryStatus::Passed {
        return Err(AppError::conflict_on("candidate_id", "theory_not_passed", ineligible("exam.theory_not_passed")));
    }
    let needed = settings::get(db, org).await?.min_driving_minutes_for_exam;
    if candidate.hours.done_minutes < needed {
        let message = Msg::new("exam.not_enough_driving")
            .arg("needed", format_duration(needed))
            .arg("done", format_duration(candidate.hours.done_minutes));
        return Err(AppError::conflict_on("candidate_id", "not_enough_driving", message));
    }
    Ok(())
}

/// What the candidate is told of a registration, in the school's language and
/// time zone (whether the registration came from a page or the API).
fn registration_notice(
    session: &ExamSession,
    candidate: &CandidateSummary,
    (locale, zone): (Locale, chrono_tz::Tz),
) -> Notice {
    let day = locale.date_time_in(zone, session.starts_at);
    let subject = Msg::new("exam.notice_registered").arg("day", &day).render(locale);
    let body = Msg::new("exam.notice_registered_body")
        .arg("day", &day)
        .arg("centre", &session.centre)
        .render(locale)
        .replace("\\n", "\n");
    Notice::new(Event::ExamRegistered, subject, body)
        .user(candidate.user_id)
        .email(candidate.email.clone())
        .phone(candidate.phone.clone())
        .link("/portal")
}

// ---------------------------------------------------------------- results

async fn find_result(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<result::Model> {
    result::Entity::find_by_id(id)
        .filter(result::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)
}

/// Whether a viewer may see a result: staff all, an instructor those of their
/// candidates or that they entered, a candidate their own validated ones.
fn may_see(viewer: Viewer, actor_user: Option<i64>, row: &result::Model, candidate_instructor: Option<i64>) -> bool {
    match viewer {
        Viewer::School => true,
        Viewer::Instructor(id) => {
            row.instructor_id == Some(id) || candidate_instructor == Some(id) || actor_user == Some(row.entered_by)
        }
        Viewer::Candidate(id) => row.candidate_id == id && row.validated_at.is_some(),
        Viewer::Nobody => false,
    }
}

async fn instructor_of_candidate(db: &impl ConnectionTrait, candidate_id: i64) -> AppResult<Option<i64>> {
    Ok(candidate::Entity::find_by_id(candidate_id)
        .select_only()
        .column(candidate::Column::InstructorId)
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten())
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn get_result(db: &impl ConnectionTrait, actor: &Actor, viewer: Viewer, id: i64) -> AppResult<ExamResult> {
    let row = find_result(db, actor.org, id).await?;
    let theirs = instructor_of_candidate(db, row.candidate_id).await?;
    if !may_see(viewer, actor.user_id, &row, theirs) {
        return Err(AppError::NotFound);
    }
    Ok(ExamResult::from(row))
}

/// Results, newest first (at most 500): a candidate's, or all the viewer may see.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn list_results(
    db: &impl ConnectionTrait,
    actor: &Actor,
    viewer: Viewer,
    candidate_id: Option<i64>,
) -> AppResult<Vec<ExamResult>> {
    let mut query = result::Entity::find()
        .filter(result::Column::OrganizationId.eq(actor.org.get()))
        .order_by_desc(result::Column::Id)
        .limit(500);
    if let Some(id) = candidate_id {
        query = query.filter(result::Column::CandidateId.eq(id));
    }
    query = match viewer {
        Viewer::School => query,
        Viewer::Candidate(id) => {
            query.filter(result::Column::CandidateId.eq(id)).filter(result::Column::ValidatedAt.is_not_null())
        }
        Viewer::Instructor(id) => {
            let theirs: Vec<i64> = candidate::Entity::find()
                .select_only()
                .column(candidate::Column::Id)
                .filter(candidate::Column::InstructorId.eq(id))
                .into_tuple()
                .all(db)
                .await?;
            let mut any = Condition::any()
                .add(result::Column::InstructorId.eq(id))
                .add(result::Column::CandidateId.is_in(theirs));
            if let Some(user) = actor.user_id {
                any = any.add(result::Column::EnteredBy.eq(user));
            }
            query.filter(any)
        }
        Viewer::Nobody => return Ok(Vec::new()),
    };
    Ok(query.all(db).await?.into_iter().map(ExamResult::from).collect())
}

struct ValidResult {
    candidate: candidates::CandidateSummary,
    registration_id: Option<i64>,
    exam_type: ExamType,
    outcome: Outcome,
    score: Option<i32>,
    notes: Option<String>,
    taken_on: NaiveDate,
    instructor_id: Option<i64>,
}

async fn validate_result_input(db: &impl ConnectionTrait, org: OrgId, input: &ResultInput) -> AppResult<ValidResult> {
    let today = crate::identity::organizations::service::today(db, org).await?;
    let mut v = Validator::new();
    let candidate_id = v.required("candidate_id", input.candidate_id);
    let exam_type = v.required("exam_type", input.exam_type);
    let outcome = v.required("outcome", input.outcome);
    if input.score.is_some_and(|s| !(0..=1000).contains(&s)) {
        v.add("score", Msg::new("school.out_of_range").arg("min", 0).arg("max", 1000));
    }
    let notes = v.optional_long_text("notes", input.notes.as_deref(), 5000);
    let taken_on = input.taken_on.unwrap_or(today);
    if taken_on > today {
        v.add("taken_on", Msg::new("history.date_in_future"));
    }
    let candidate = match candidate_id {
        Some(id) => {
            v.found("candidate_id", candidates::summary_of(db, org, id).await, Msg::new("school.candidate_unknown"))?
        }
        None => None,
    };
    if let (Some(registration_id), Some(candidate)) = (input.registration_id, &candidate) {
        let found = registration::Entity::find_by_id(registration_id)
            .filter(registration::Column::OrganizationId.eq(org.get()))
            .filter(registration::Column::CandidateId.eq(candidate.id))
            .one(db)
            .await?;
        if found.is_none() {
            v.add("registration_id", Msg::new("exam.registration_unknown"));
        }
    }
    if let Some(instructor_id) = input.instructor_id {
        let found = instructors::get(db, org, instructor_id).await;
        v.found("instructor_id", found, Msg::new("school.instructor_unknown"))?;
    }
    v.finish()?;
    let (Some(candidate), Some(exam_type), Some(outcome)) = (candidate, exam_type, outcome) else {
        return Err(AppError::Internal("validator accepted a missing field".into()));
    };
    let instructor_id = input.instructor_id.or(candidate.instructor_id);
    Ok(ValidResult {
        candidate,
        registration_id: input.registration_id,
        exam_type,
        outcome,
        score: input.score,
        notes,
        taken_on,
        instructor_id,
    })
}

async fn insert_result<C: Writer>(
    db: &C,
    actor: &Actor,
    valid: ValidResult,
    corrects: Option<i64>,
) -> AppResult<ExamResult> {
    let Some(entered_by) = actor.user_id else {
        return Err(AppError::Forbidden);
    };
    let four_eyes = settings::get(db, actor.org).await?.four_eyes;
    db::write(db, async |txn| {
        let saved = result::ActiveModel {
            organization_id: Set(actor.org.get()),
            candidate_id: Set(valid.candidate.id),
            registration_id: Set(valid.registration_id),
            exam_type: Set(valid.exam_type),
            outcome: Set(valid.outcome),
            score: Set(valid.score),
            notes: Set(valid.notes),
            taken_on: Set(valid.taken_on),
            instructor_id: Set(valid.instructor_id),
            entered_by: Set(entered_by),
            entered_at: Set(Utc::now()),
            four_eyes: Set(four_eyes),
            corrects_id: Set(corrects),
            ..Default::default()
        }
        .insert(txn)
        .await;
        let saved = match saved {
            Ok(saved) => saved,
            Err(err) if corrects.is_some() && matches!(constraint_violation(&err), Some(Constraint::Unique(_))) => {
                return Err(AppError::Conflict {
                    code: "already_corrected",
                    field: None,
                    message: Msg::new("exam.already_corrected"),
                });
            }
            Err(err) => return Err(err.into()),
        };
        let created = ExamResult::from(saved);
        audit::record_change(txn, actor, ("exam_result", created.id), None, Some(&created)).await?;
        Ok(created)
    })
    .await
}

/// Enters a result, pending validation.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn enter_result<C: Writer>(db: &C, actor: &Actor, input: &ResultInput) -> AppResult<ExamResult> {
    let valid = validate_result_input(db, actor.org, input).await?;
    insert_result(db, actor, valid, None).await
}

/// Corrects a validated result: a new pending record naming it (once).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn correct_result<C: Writer>(db: &C, actor: &Actor, id: i64, input: &ResultInput) -> AppResult<ExamResult> {
    let original = find_result(db, actor.org, id).await?;
    if original.validated_at.is_none() {
        return Err(AppError::Conflict {
            code: "result_not_validated",
            field: None,
            message: Msg::new("exam.correct_pending"),
        });
    }
    let mut input = input.clone();
    input.candidate_id = Some(original.candidate_id);
    let valid = validate_result_input(db, actor.org, &input).await?;
    insert_result(db, actor, valid, Some(id)).await
}

/// Validates a pending result: it becomes final and immutable, reaches the
/// candidate, and a passed theory exam marks the candidate's theory as passed.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn validate_result<C: Writer>(db: &C, actor: &Actor, viewer: Viewer, id: i64) -> AppResult<ExamResult> {
    let Some(validator) = actor.user_id else {
        return Err(AppError::Forbidden);
    };
    let row = find_result(db, actor.org, id).await?;
    let theirs = instructor_of_candidate(db, row.candidate_id).await?;
    if matches!(viewer, Viewer::Candidate(_) | Viewer::Nobody) || !may_see(viewer, actor.user_id, &row, theirs) {
        return Err(AppError::NotFound);
    }
    if row.validated_at.is_some() {
        return Err(AppError::Conflict {
            code: "result_already_validated",
            field: None,
            message: Msg::new("exam.already_validated"),
        });
    }
    if row.four_eyes && row.entered_by == validator {
        return Err(AppError::Conflict {
            code: "four_eyes_required",
            field: None,
            message: Msg::new("exam.four_eyes"),
        });
    }
    let now = Utc::now();
    db::write(db, async |txn| {
        let updated = result::Entity::update_many()
            .col_expr(result::Column::ValidatedBy, Expr::value(Some(validator)))
            .col_expr(result::Column::ValidatedAt, Expr::value(Some(now)))
            .filter(result::Column::Id.eq(id))
            .filter(result::Column::ValidatedAt.is_null())
            .exec(txn)
            .await?;
        if updated.rows_affected == 0 {
            return Err(AppError::Conflict {
                code: "result_already_validated",
                field: None,
                message: Msg::new("exam.already_validated"),
            });
        }
        let after = ExamResult::from(find_result(txn, actor.org, id).await?);
        audit::record_change(txn, actor, ("exam_result", id), Some(&ExamResult::from(row)), Some(&after)).await?;
        let data = serde_json::json!({
            "exam_result_id": after.id,
            "candidate_id": after.candidate_id,
            "exam_type": after.exam_type,
            "outcome": after.outcome,
            "score": after.score,
            "taken_on": after.taken_on,
            "instructor_id": after.instructor_id,
            "corrects_id": after.corrects_id,
        });
        let event = crate::notify::webhooks::WebhookEvent::ExamResultValidated;
        crate::notify::webhooks::emit(txn, actor.org, event, data).await?;
        if after.exam_type == ExamType::Theory && after.outcome == Outcome::Passed {
            candidate::Entity::update_many()
                .col_expr(candidate::Column::TheoryStatus, Expr::value(TheoryStatus::Passed))
                .col_expr(candidate::Column::UpdatedAt, Expr::value(now))
                .filter(candidate::Column::Id.eq(after.candidate_id))
                .exec(txn)
                .await?;
        }
        let contact = crate::school::planning::service::candidate_contact(txn, after.candidate_id).await?;
        if let Some(contact) = contact {
            let locale = crate::identity::organizations::service::get(txn, actor.org).await?.locale;
            let outcome = locale.text(after.outcome.label_key());
            let exam = locale.text(after.exam_type.label_key());
            let subject = Msg::new("exam.notice_result").arg("exam", exam).arg("outcome", outcome).render(locale);
            let notice = Notice::new(Event::ExamResult, subject.clone(), subject)
                .user(contact.user_id)
                .email(contact.email)
                .phone(contact.phone)
                .link("/portal");
            crate::school::enrolment::service::notify_guardian(txn, actor.org, after.candidate_id, &notice).await?;
            notify::send(txn, actor.org, notice).await?;
        }
        Ok(after)
    })
    .await
}

// ---------------------------------------------------------------- statistics

/// Pass rate of one instructor's candidates over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct PassRate {
    pub instructor_id: Option<i64>,
    pub instructor_name: Option<String>,
    pub exam_type: ExamType,
    pub passed: i64,
    pub failed: i64,
    /// Passed out of all, in percent (rounded down); absent without results.
    pub rate_percent: Option<i64>,
}

/// The results a validated correction replaces: pass rates count the correction instead.
async fn corrected_ids(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<i64>> {
    Ok(result::Entity::find()
        .select_only()
        .column(result::Column::CorrectsId)
        .filter(result::Column::OrganizationId.eq(org.get()))
        .filter(result::Column::CorrectsId.is_not_null())
        .filter(result::Column::ValidatedAt.is_not_null())
        .into_tuple::<Option<i64>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// Exam presentations of a period by licence category and exam: validated
/// results (a correction counted instead of the result it replaces), passed and failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CategoryResults {
    pub category: String,
    pub exam_type: ExamType,
    pub passed: i64,
    pub failed: i64,
}

pub async fn results_by_category(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<CategoryResults>> {
    let corrected = corrected_ids(db, org).await?;
    let rows: Vec<(String, ExamType, Outcome, i64)> = result::Entity::find()
        .select_only()
        .column_as(Expr::col((candidate::Entity, candidate::Column::Category)), "category")
        .column(result::Column::ExamType)
        .column(result::Column::Outcome)
        .column_as(
            Expr::expr(Func::cast_as(
                Func::count(Expr::col((result::Entity, result::Column::Id))),
                Alias::new("BIGINT"),
            )),
            "n",
        )
        .join(
            sea_orm::JoinType::InnerJoin,
            result::Entity::belongs_to(candidate::Entity)
                .from(result::Column::CandidateId)
                .to(candidate::Column::Id)
                .into(),
        )
        .filter(result::Column::OrganizationId.eq(org.get()))
        .filter(result::Column::ValidatedAt.is_not_null())
        .filter(result::Column::TakenOn.gte(from))
        .filter(result::Column::TakenOn.lte(to))
        .filter(result::Column::Id.is_not_in(corrected))
        .group_by(Expr::col((candidate::Entity, candidate::Column::Category)))
        .group_by(result::Column::ExamType)
        .group_by(result::Column::Outcome)
        .into_tuple()
        .all(db)
        .await?;
    let mut out: Vec<CategoryResults> = Vec::new();
    for (category, exam_type, outcome, n) in rows {
        let index = match out.iter().position(|r| r.category == category && r.exam_type == exam_type) {
            Some(i) => i,
            None => {
                out.push(CategoryResults { category: category.clone(), exam_type, passed: 0, failed: 0 });
                out.len() - 1
            }
        };
        match outcome {
            Outcome::Passed => out[index].passed += n,
            Outcome::Failed => out[index].failed += n,
        }
    }
    let order = |c: &str| crate::school::model::CATEGORIES.iter().position(|k| *k == c).unwrap_or(usize::MAX);
    out.sort_by_key(|r| (order(&r.category), r.exam_type.as_str()));
    Ok(out)
}

/// Pass rates per instructor and exam type, from validated results taken in
/// `[from, to]` that no later correction replaced.
pub async fn pass_rates(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<PassRate>> {
    let corrected = corrected_ids(db, org).await?;
    let rows: Vec<(Option<i64>, ExamType, Outcome, i64)> = result::Entity::find()
        .select_only()
        .column(result::Column::InstructorId)
        .column(result::Column::ExamType)
        .column(result::Column::Outcome)
        .column_as(Expr::expr(Func::cast_as(Func::count(Expr::col(result::Column::Id)), Alias::new("BIGINT"))), "n")
        .filter(result::Column::OrganizationId.eq(org.get()))
        .filter(result::Column::ValidatedAt.is_not_null())
        .filter(result::Column::TakenOn.gte(from))
        .filter(result::Column::TakenOn.lte(to))
        .filter(result::Column::Id.is_not_in(corrected))
        .group_by(result::Column::InstructorId)
        .group_by(result::Column::ExamType)
        .group_by(result::Column::Outcome)
        .into_tuple()
        .all(db)
        .await?;
    let mut rates: Vec<PassRate> = Vec::new();
    for (instructor_id, exam_type, outcome, n) in rows {
        let index = match rates.iter().position(|r| r.instructor_id == instructor_id && r.exam_type == exam_type) {
            Some(i) => i,
            None => {
                rates.push(PassRate {
                    instructor_id,
                    instructor_name: None,
                    exam_type,
                    passed: 0,
                    failed: 0,
                    rate_percent: None,
                });
                rates.len() - 1
            }
        };
        match outcome {
            Outcome::Passed => rates[index].passed += n,
            Outcome::Failed => rates[index].failed += n,
        }
    }
    let ids: Vec<i64> = rates.iter().filter_map(|r| r.instructor_id).collect();
    let names = instructors::get_many(db, org, &ids).await?;
    for rate in &mut rates {
        let total = rate.passed + rate.failed;
        rate.rate_percent = (total > 0).then(|| rate.passed * 100 / total);
        rate.instructor_name = rate.instructor_id.and_then(|id| names.get(&id)).map(instructors::Instructor::full_name);
    }
    rates
        .sort_by(|a, b| a.instructor_name.cmp(&b.instructor_name).then(a.exam_type.as_str().cmp(b.exam_type.as_str())));
    Ok(rates)
}
