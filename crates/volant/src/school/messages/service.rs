//! Threads and messages. A candidate sees their own threads; an instructor the
//! threads of the candidates assigned to them; the school's staff all of them.
//! Each person's reading position is kept per thread, so unread counts are theirs.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait, Func, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{message, thread, thread_read};
use crate::identity::audit::Actor;
use crate::identity::auth::CurrentUser;
use crate::identity::roles::Role;
use crate::identity::users::service as users;
use crate::notify::{self, Event, Notice};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::school::access::Viewer;
use crate::school::candidates::entity::candidate;
use crate::school::candidates::service as candidates;
use crate::school::instructors::service as instructors;

const MAX_BODY: usize = 5000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ThreadSummary {
    pub id: i64,
    pub candidate_id: i64,
    pub candidate_name: String,
    pub subject: String,
    pub last_message_at: DateTime<Utc>,
    /// Messages from others the reader has not opened yet.
    pub unread: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    pub author_name: String,
    pub from_candidate: bool,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl From<message::Model> for Message {
    fn from(m: message::Model) -> Self {
        Self {
            id: m.id,
            author_name: m.author_name,
            from_candidate: m.from_candidate,
            body: m.body,
            created_at: m.created_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Thread {
    pub id: i64,
    pub candidate_id: i64,
    pub candidate_name: String,
    pub subject: String,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewThread {
    /// Required from the school's side; a candidate writes about themselves.
    pub candidate_id: Option<i64>,
    #[schema(required = true, nullable = false, example = "Report de la leçon de jeudi")]
    pub subject: Option<String>,
    #[schema(required = true, nullable = false)]
    pub body: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewMessage {
    #[schema(required = true, nullable = false)]
    pub body: Option<String>,
}

/// Who writes: the signed-in person and their place in the school.
#[derive(Debug, Clone)]
pub struct Author {
    pub user_id: i64,
    pub name: String,
    pub viewer: Viewer,
}

/// The signed-in person as the author of what they write.
pub async fn author(db: &impl ConnectionTrait, current: &CurrentUser) -> AppResult<Author> {
    let viewer = Viewer::of(db, current).await?;
    Ok(Author { user_id: current.user.id, name: current.user.display_name.clone(), viewer })
}

/// The candidates whose threads a viewer sees (`None`: all of the organization's).
async fn visible_candidates(db: &impl ConnectionTrait, org: OrgId, viewer: Viewer) -> AppResult<Option<Vec<i64>>> {
    Ok(match viewer {
        Viewer::School => None,
        Viewer::Candidate(id) => Some(vec![id]),
        Viewer::Instructor(id) => Some(
            candidate::Entity::find()
                .select_only()
                .column(candidate::Column::Id)
                .filter(candidate::Column::OrganizationId.eq(org.get()))
                .filter(candidate::Column::InstructorId.eq(id))
                .into_tuple()
                .all(db)
                .await?,
        ),
        Viewer::Nobody => Some(Vec::new()),
    })
}

async fn find_thread(db: &impl ConnectionTrait, org: OrgId, viewer: Viewer, id: i64) -> AppResult<thread::Model> {
    let row = thread::Entity::find_by_id(id)
        .filter(thread::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    match visible_candidates(db, org, viewer).await? {
        Some(ids) if !ids.contains(&row.candidate_id) => Err(AppError::NotFound),
        _ => Ok(row),
    }
}

/// Unread messages per thread for a reader, in one grouped query.
async fn unread_counts(db: &impl ConnectionTrait, user_id: i64, thread_ids: &[i64]) -> AppResult<HashMap<i64, i64>> {
    if thread_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let last_read =
        Func::coalesce([Expr::col((thread_read::Entity, thread_read::Column::LastReadId)), Expr::val(0_i64)]);
    let query = Query::select()
        .column((message::Entity, message::Column::ThreadId))
        .expr(Func::cast_as(Func::count(Expr::col((message::Entity, message::Column::Id))), "BIGINT"))
        .from(message::Entity)
        .left_join(
            thread_read::Entity,
            Condition::all()
                .add(
                    Expr::col((thread_read::Entity, thread_read::Column::ThreadId))
                        .equals((message::Entity, message::Column::ThreadId)),
                )
                .add(Expr::col((thread_read::Entity, thread_read::Column::UserId)).eq(user_id)),
        )
        .and_where(Expr::col((message::Entity, message::Column::ThreadId)).is_in(thread_ids.iter().copied()))
        .and_where(Expr::col((message::Entity, message::Column::Id)).gt(last_read))
        .cond_where(
            Condition::any()
                .add(Expr::col((message::Entity, message::Column::AuthorUserId)).is_null())
                .add(Expr::col((message::Entity, message::Column::AuthorUserId)).ne(user_id)),
        )
        .group_by_col((message::Entity, message::Column::ThreadId))
        .to_owned();
    let rows = db.query_all(&query).await?;
    let mut counts = HashMap::with_capacity(rows.len());
    for row in rows {
        counts.insert(row.try_get_by_index::<i64>(0)?, row.try_get_by_index::<i64>(1)?);
    }
    Ok(counts)
}

/// The reader's threads, most recent first (at most 200).
pub async fn list(db: &impl ConnectionTrait, org: OrgId, reader: &Author) -> AppResult<Vec<ThreadSummary>> {
    let mut query = thread::Entity::find()
        .filter(thread::Column::OrganizationId.eq(org.get()))
        .order_by_desc(thread::Column::LastMessageAt)
        .order_by_desc(thread::Column::Id)
        .limit(200);
    if let Some(ids) = visible_candidates(db, org, reader.viewer).await? {
        query = query.filter(thread::Column::CandidateId.is_in(ids));
    }
    let rows = query.all(db).await?;
    let ids: Vec<i64> = rows.iter().map(|t| t.id).collect();
    let candidate_ids: Vec<i64> = rows.iter().map(|t| t.candidate_id).collect();
    let names = candidates::names_of(db, &candidate_ids).await?;
    let unread = unread_counts(db, reader.user_id, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|t| ThreadSummary {
            id: t.id,
            candidate_name: names.get(&t.candidate_id).cloned().unwrap_or_default(),
            candidate_id: t.candidate_id,
            subject: t.subject,
            last_message_at: t.last_message_at,
            unread: unread.get(&t.id).copied().unwrap_or(0),
        })
        .collect())
}

/// How many unread messages the reader has, all threads together.
pub async fn unread_total(db: &impl ConnectionTrait, org: OrgId, reader: &Author) -> AppResult<i64> {
    Ok(list(db, org, reader).await?.iter().map(|t| t.unread).sum())
}

/// A thread with its messages; opening it marks them read for the reader.
pub async fn open<C: Writer>(db: &C, org: OrgId, reader: &Author, id: i64) -> AppResult<Thread> {
    let row = find_thread(db, org, reader.viewer, id).await?;
    let messages = message::Entity::find()
        .filter(message::Column::ThreadId.eq(id))
        .order_by_asc(message::Column::Id)
        .all(db)
        .await?;
    if let Some(last) = messages.last() {
        mark_read(db, id, reader.user_id, last.id).await?;
    }
    let name = candidates::names_of(db, &[row.candidate_id]).await?.remove(&row.candidate_id).unwrap_or_default();
    Ok(Thread {
        id,
        candidate_id: row.candidate_id,
        candidate_name: name,
        subject: row.subject,
        messages: messages.into_iter().map(Message::from).collect(),
    })
}

async fn mark_read<C: Writer>(db: &C, thread_id: i64, user_id: i64, last_id: i64) -> AppResult<()> {
    use sea_orm::sea_query::OnConflict;
    let upsert = thread_read::Entity::insert(thread_read::ActiveModel {
        thread_id: Set(thread_id),
        user_id: Set(user_id),
        last_read_id: Set(last_id),
    })
    .on_conflict(
        OnConflict::columns([thread_read::Column::ThreadId, thread_read::Column::UserId])
            .update_column(thread_read::Column::LastReadId)
            .to_owned(),
    );
    db::write(db, async |txn| upsert.exec_without_returning(txn).await).await?;
    Ok(())
}

fn check_body(v: &mut Validator, body: Option<&str>) -> Option<String> {
    v.required_long_text("body", body, MAX_BODY)
}

/// Starts a thread with its first message.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn start<C: Writer>(db: &C, actor: &Actor, author: &Author, input: &NewThread) -> AppResult<Thread> {
    let mut v = Validator::new();
    let subject = v.required_text("subject", input.subject.as_deref(), 200);
    let body = check_body(&mut v, input.body.as_deref());
    let candidate_id = match author.viewer {
        Viewer::Candidate(id) => Some(id),
        _ => v.required("candidate_id", input.candidate_id),
    };
    v.finish()?;
    let (Some(subject), Some(body), Some(candidate_id)) = (subject, body, candidate_id) else {
        return Err(AppError::Internal("validator accepted a missing field".into()));
    };
    match visible_candidates(db, actor.org, author.viewer).await? {
        Some(ids) if !ids.contains(&candidate_id) => {
            return Err(AppError::validation("candidate_id", Msg::new("school.candidate_unknown")));
        }
        _ => {}
    }
    let exists = candidate::Entity::find_by_id(candidate_id)
        .filter(candidate::Column::OrganizationId.eq(actor.org.get()))
        .one(db)
        .await?
        .is_some();
    if !exists {
        return Err(AppError::validation("candidate_id", Msg::new("school.candidate_unknown")));
    }
    let now = Utc::now();
    let id = db::write(db, async |txn| {
        let saved = thread::ActiveModel {
            organization_id: Set(actor.org.get()),
            candidate_id: Set(candidate_id),
            subject: Set(subject.clone()),
            created_by: Set(Some(author.user_id)),
            created_at: Set(now),
            last_message_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        insert_message(txn, actor.org, author, &saved, &body, now).await?;
        AppResult::Ok(saved.id)
    })
    .await?;
    open(db, actor.org, author, id).await
}

/// Adds a message to a thread.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn reply<C: Writer>(
    db: &C,
    actor: &Actor,
    author: &Author,
    id: i64,
    input: &NewMessage,
) -> AppResult<Message> {
    let row = find_thread(db, actor.org, author.viewer, id).await?;
    let mut v = Validator::new();
    let body = check_body(&mut v, input.body.as_deref());
    v.finish()?;
    let body = body.unwrap_or_default();
    let now = Utc::now();
    db::write(db, async |txn| {
        let saved = insert_message(txn, actor.org, author, &row, &body, now).await?;
        thread::Entity::update_many()
            .col_expr(thread::Column::LastMessageAt, Expr::value(now))
            .filter(thread::Column::Id.eq(id))
            .exec(txn)
            .await?;
        Ok(Message::from(saved))
    })
    .await
}

/// Stores a message, moves the author's reading position past it, and e-mails
/// the other side: the candidate, or their instructor (the school's managers
/// when none is assigned).
async fn insert_message(
    txn: &impl ConnectionTrait,
    org: OrgId,
    author: &Author,
    row: &thread::Model,
    body: &str,
    now: DateTime<Utc>,
) -> AppResult<message::Model> {
    use sea_orm::sea_query::OnConflict;
    let from_candidate = matches!(author.viewer, Viewer::Candidate(_));
    let saved = message::ActiveModel {
        thread_id: Set(row.id),
        author_user_id: Set(Some(author.user_id)),
        author_name: Set(author.name.chars().take(120).collect()),
        from_candidate: Set(from_candidate),
        body: Set(body.to_owned()),
        created_at: Set(now),
        ..Default::default()
    }
    .insert(txn)
    .await?;
    thread_read::Entity::insert(thread_read::ActiveModel {
        thread_id: Set(row.id),
        user_id: Set(author.user_id),
        last_read_id: Set(saved.id),
    })
    .on_conflict(
        OnConflict::columns([thread_read::Column::ThreadId, thread_read::Column::UserId])
            .update_column(thread_read::Column::LastReadId)
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await?;
    let file = candidate::Entity::find_by_id(row.candidate_id).one(txn).await?.ok_or(AppError::NotFound)?;
    // Who is told: the candidate's instructor (or the managers) when the
    // candidate writes; the candidate otherwise.
    let recipients: Vec<(Option<i64>, Option<String>, Option<String>)> = if from_candidate {
        let instructor = match file.instructor_id {
            Some(id) => instructors::get(txn, org, id).await.ok(),
            None => None,
        };
        match instructor {
            Some(i) if i.email.is_some() || i.user_id.is_some() => {
                let email = match (i.email, i.user_id) {
                    (Some(email), _) => Some(email),
                    (None, Some(user_id)) => users::get(txn, org, user_id).await.ok().map(|u| u.email),
                    (None, None) => None,
                };
                vec![(i.user_id, email, None)]
            }
            _ => users::with_roles(txn, org, &[Role::Admin, Role::Manager])
                .await?
                .into_iter()
                .map(|(id, email)| (Some(id), Some(email), None))
                .collect(),
        }
    } else {
        vec![(file.user_id, file.email, None)]
    };
    let locale = crate::identity::organizations::service::get(txn, org).await?.locale;
    let subject = Msg::new("message.notice_subject").arg("subject", &row.subject).render(locale);
    let text = Msg::new("message.notice_body")
        .arg("author", &author.name)
        .arg("body", body)
        .render(locale)
        .replace("\\n", "\n");
    for (user, email, phone) in recipients {
        let notice = Notice::new(Event::MessageReceived, subject.clone(), text.clone())
            .user(user)
            .email(email)
            .phone(phone)
            .link(format!("/messages/{}", row.id));
        notify::send(txn, org, notice).await?;
    }
    Ok(saved)
}
