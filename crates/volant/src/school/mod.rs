//! Driving school (seed 003, auto-école): candidates, instructors, training
//! vehicles (fleet vehicles flagged for the school), lesson planning under
//! conflict rules, exams with manual validation.

pub mod access;
pub mod demo;
pub mod entity;
pub mod exams;
pub mod messages;
pub mod people;
pub mod planning;
pub mod progress;
pub mod reports;
pub mod web;

use utoipa_axum::router::OpenApiRouter;

use crate::identity::{self, roles::Permission};
use crate::platform::AppState;

/// The school API: its files with `SchoolRead`/`SchoolWrite`; the planning is read
/// by everyone with a place in the school (each sees their own); instructors
/// record how lessons went.
pub fn api_router(state: &AppState) -> OpenApiRouter<AppState> {
    identity::guard(people::api::router(), state, Permission::SchoolRead, Permission::SchoolWrite)
        .merge(identity::guard(planning::api::router(), state, Permission::SchoolPlanning, Permission::SchoolWrite))
        .merge(identity::guard(planning::api::teaching_router(), state, Permission::Teaching, Permission::Teaching))
        .merge(identity::guard(exams::api::router(), state, Permission::SchoolRead, Permission::SchoolWrite))
        .merge(identity::guard(
            exams::api::results_router(),
            state,
            Permission::SchoolPlanning,
            Permission::SchoolPlanning,
        ))
        .merge(identity::guard(exams::api::teaching_router(), state, Permission::Teaching, Permission::Teaching))
        .merge(identity::guard(
            planning::api::self_router(),
            state,
            Permission::SchoolPlanning,
            Permission::SchoolPlanning,
        ))
        .merge(identity::guard(messages::api::router(), state, Permission::SchoolPlanning, Permission::SchoolPlanning))
        .merge(identity::guard(reports::api::router(), state, Permission::SchoolRead, Permission::SchoolWrite))
}

/// The school's pages: the planning board (instructors see their own week; the
/// staff book), and the candidate's portal.
pub fn web_router(state: &AppState) -> axum::Router<AppState> {
    identity::auth::web_pages::guard(web::router(), state, Permission::SchoolPlanning, Permission::SchoolWrite)
        .merge(identity::auth::web_pages::guard(
            web::portal_router(),
            state,
            Permission::SchoolPlanning,
            Permission::SchoolPlanning,
        ))
        .merge(identity::auth::web_pages::guard(
            web::staff_router(),
            state,
            Permission::SchoolRead,
            Permission::SchoolWrite,
        ))
        .merge(identity::auth::web_pages::guard(
            web::result_pages::router(),
            state,
            Permission::Teaching,
            Permission::Teaching,
        ))
        .merge(identity::auth::web_pages::guard(
            web::lesson_pages::teaching_router(),
            state,
            Permission::SchoolPlanning,
            Permission::Teaching,
        ))
        .merge(web::public_router())
}

/// How often the school's periodic tasks look for work.
const PERIODIC_TASKS_EVERY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// Runs the school's periodic tasks in the server process: the day-before lesson
/// reminders (each claimed by a conditional UPDATE, so instances agree) and the
/// reports waiting to be produced.
pub fn spawn_periodic_tasks(db: sea_orm::DatabaseConnection) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(PERIODIC_TASKS_EVERY);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(err) = planning::reminders::send_due(&db, chrono::Utc::now()).await {
                tracing::error!(error = %err, "lesson reminders failed");
            }
            if let Err(err) = reports::service::produce_pending(&db).await {
                tracing::error!(error = %err, "producing reports failed");
            }
        }
    })
}
