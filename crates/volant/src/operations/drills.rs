//! Restore drills: the newest backup restored into a scratch database, checked
//! against its manifest and dropped, every `VOLANT_RESTORE_DRILL_DAYS` (the
//! seeds' monthly restore test, made automatic) or on demand (`volant
//! restore-drill`). Each run is recorded; a failure is told to the platform
//! operators, and the status page and the metrics say how old the last good one is.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set};
use serde::Serialize;
use utoipa::ToSchema;

use crate::notify::{Event, Notice};
use crate::platform::backup;
use crate::platform::config::Config;
use crate::platform::db::table;
use crate::platform::error::AppResult;
use crate::platform::i18n::Msg;

/// The kind of the scheduled drill's job.
pub const JOB: &str = "ops.restore_drill";

table! {
    pub mod drill = "restore_drills" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub started_at: DateTimeUtc,
        pub finished_at: DateTimeUtc,
        pub backup_file: Option<String>,
        pub succeeded: bool,
        #[sea_orm(column_type = "Text")]
        pub detail: String,
        pub tables_checked: i32,
        pub rows_checked: i64,
    }
}

/// A drill as the status page and the API show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DrillRun {
    pub finished_at: DateTime<Utc>,
    /// The backup file restored (none when there was no backup to drill).
    pub backup_file: Option<String>,
    pub succeeded: bool,
    /// What was checked, or why it failed.
    pub detail: String,
    pub tables_checked: i32,
    pub rows_checked: i64,
}

impl From<drill::Model> for DrillRun {
    fn from(row: drill::Model) -> Self {
        Self {
            finished_at: row.finished_at,
            backup_file: row.backup_file,
            succeeded: row.succeeded,
            detail: row.detail,
            tables_checked: row.tables_checked,
            rows_checked: row.rows_checked,
        }
    }
}

/// The latest drill, and the latest that succeeded.
pub async fn latest(db: &impl ConnectionTrait) -> AppResult<(Option<DrillRun>, Option<DrillRun>)> {
    let last = drill::Entity::find().order_by_desc(drill::Column::FinishedAt).one(db).await?;
    let good = match &last {
        Some(row) if row.succeeded => Some(row.clone()),
        _ => {
            drill::Entity::find()
                .filter(drill::Column::Succeeded.eq(true))
                .order_by_desc(drill::Column::FinishedAt)
                .one(db)
                .await?
        }
    };
    Ok((last.map(Into::into), good.map(Into::into)))
}

/// Whether a drill is due: none succeeded in the last `days` (less half a day, so
/// that a daily check finds a drill of `days` ago due, whatever time it ended).
/// A failed drill does not count: the next daily check drills again.
pub async fn due(db: &impl ConnectionTrait, days: u32) -> AppResult<bool> {
    let (_, good) = latest(db).await?;
    let interval = chrono::Duration::days(i64::from(days)) - chrono::Duration::hours(12);
    Ok(good.is_none_or(|run| Utc::now() - run.finished_at >= interval))
}

/// Why `volant restore-drill` has nothing to drill here, if so: no backup
/// folder, no complete backup in it, or an encrypted newest backup and no key
/// to open it. Checked before anything is recorded: a command typed on the
/// wrong host says so without alerting anyone. (The scheduled drill records a
/// missing key: a worker configured so is a failure to tell.) It reads the
/// folder directly: for the command line, not the async workers.
pub fn unconfigured(config: &Config) -> Option<String> {
    let Some(dir) = &config.backup_dir else {
        return Some("VOLANT_BACKUP_DIR is not set: there is no backup folder to drill".to_owned());
    };
    let Some(newest) = backup::newest(dir) else {
        return Some(format!("no complete backup (a file with its manifest) in {}", dir.display()));
    };
    let encrypted = backup::read_manifest(&newest).is_ok_and(|m| m.encrypted);
    if encrypted && config.backup_identity_file.is_none() {
        return Some(format!(
            "{} is encrypted: set VOLANT_BACKUP_IDENTITY_FILE to the identity file that opens it",
            newest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
    }
    None
}

/// Drills the newest backup of the configured folder now, records the outcome,
/// and tells the operators of a failure.
#[tracing::instrument(skip_all)]
pub async fn run(db: &DatabaseConnection, config: &Config) -> AppResult<DrillRun> {
    let started_at = Utc::now();
    let drilled = match (&config.backup_dir, &config.backup_identity_file) {
        (None, _) => backup::Drill { file: None, outcome: Err("no backup folder (VOLANT_BACKUP_DIR)".to_owned()) },
        (Some(dir), identity_file) => {
            let identities = match identity_file {
                Some(file) => {
                    let file = file.clone();
                    tokio::task::spawn_blocking(move || backup::read_identities(&file))
                        .await
                        .map_err(|e| crate::platform::error::AppError::Internal(e.to_string()))?
                }
                None => Ok(Vec::new()),
            };
            match identities {
                Ok(identities) => {
                    backup::drill(dir, &config.database_url, config.restore_drill_database_url.as_deref(), &identities)
                        .await
                }
                Err(e) => {
                    let newest = backup::newest_of(dir).await;
                    let file = newest.and_then(|f| Some(f.file_name()?.to_string_lossy().into_owned()));
                    backup::Drill { file, outcome: Err(e) }
                }
            }
        }
    };
    let (succeeded, detail, tables, rows) = match &drilled.outcome {
        // Backups meant to be encrypted and written in clear: the drill is where that shows.
        Ok(restored) if !restored.encrypted && !config.backup_recipients.is_empty() => {
            (false, "the newest backup is not encrypted, though VOLANT_BACKUP_RECIPIENTS is set".to_owned(), 0, 0)
        }
        Ok(restored) => (
            true,
            format!(
                "{} tables, {} rows and {} files restored and checked",
                restored.tables, restored.rows, restored.files
            ),
            i32::try_from(restored.tables).unwrap_or(i32::MAX),
            restored.rows,
        ),
        Err(reason) => (false, reason.chars().take(2000).collect(), 0, 0),
    };
    let row = drill::ActiveModel {
        started_at: Set(started_at),
        finished_at: Set(Utc::now()),
        backup_file: Set(drilled.file.clone()),
        succeeded: Set(succeeded),
        detail: Set(detail.clone()),
        tables_checked: Set(tables),
        rows_checked: Set(rows),
        ..Default::default()
    };
    let run: DrillRun = crate::platform::db::write(db, async |txn| -> AppResult<drill::Model> {
        let row = drill::Entity::insert(row).exec_with_returning(txn).await?;
        if !succeeded {
            tell_operators(txn, &row).await?;
        }
        Ok(row)
    })
    .await?
    .into();
    if succeeded {
        tracing::info!(file = run.backup_file.as_deref().unwrap_or("-"), tables, rows, "restore drill succeeded");
    } else {
        tracing::error!(file = run.backup_file.as_deref().unwrap_or("-"), reason = %run.detail, "restore drill failed");
    }
    Ok(run)
}

/// An in-app notice and an e-mail to every platform operator.
async fn tell_operators(txn: &impl ConnectionTrait, row: &drill::Model) -> AppResult<()> {
    for (org, user_id, email) in crate::identity::users::service::operators(txn).await? {
        let locale = crate::identity::organizations::service::get(txn, org).await?.locale;
        let title = Msg::new("ops.drill_failed_title").render(locale);
        let body = Msg::new("ops.drill_failed_body")
            .arg("file", row.backup_file.clone().unwrap_or_else(|| "—".to_owned()))
            .arg("reason", row.detail.clone())
            .render(locale);
        let notice = Notice::new(Event::OperationsFailing, title, body)
            .user(Some(user_id))
            .email(Some(email))
            .link("/admin/status");
        crate::notify::send(txn, org, notice).await?;
    }
    Ok(())
}
