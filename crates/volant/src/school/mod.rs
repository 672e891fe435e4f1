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

use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::roles::Permission;
use crate::platform::AppState;

/// The school API. Each operation declares its permission: the files with
/// `school.read`/`school.write`; the planning, results and messages with
/// `school.planning` (each person sees their own part); instructors record how
/// lessons went and enter results with `teaching`.
pub fn api_router() -> OpenApiRouter<AppState> {
    people::api::router()
        .merge(planning::api::router())
        .merge(exams::api::router())
        .merge(messages::api::router())
        .merge(reports::api::router())
}

/// The school's pages: the planning board (instructors see their own week), the
/// booking form (the staff: it lists every candidate, instructor and car), the
/// school's files, the candidate's portal, and the calendar feeds.
pub fn pages() -> Vec<Page> {
    use Permission::{SchoolPlanning, SchoolRead, SchoolWrite, Teaching};
    [
        web_pages::pages(Access::guarded(SchoolPlanning, SchoolWrite), web::planning_routes()),
        web_pages::pages(Access::guarded(SchoolWrite, SchoolWrite), web::booking_routes()),
        web_pages::pages(Access::guarded(SchoolPlanning, SchoolPlanning), web::portal_routes()),
        web_pages::pages(Access::guarded(SchoolRead, SchoolWrite), web::staff_routes()),
        web_pages::pages(Access::guarded(Teaching, Teaching), web::result_pages::routes()),
        web_pages::pages(Access::guarded(SchoolPlanning, Teaching), web::lesson_pages::teaching_routes()),
        web_pages::secret_link_pages(web::public_routes()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The school's jobs: the day-before lesson reminders every 15 minutes (each
/// lesson claimed by a conditional UPDATE), producing a requested report, and
/// an hourly sweep for reports requested before the queue took them.
pub fn register_jobs(registry: &mut crate::platform::jobs::Registry, state: &AppState) {
    let db = state.db.clone();
    registry
        .handle("school.lesson_reminders", move |_job| {
            let db = db.clone();
            async move {
                planning::reminders::send_due(&db, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every("school.lesson_reminders", std::time::Duration::from_secs(15 * 60));
    let (db, files) = (state.db.clone(), state.files.clone());
    registry.handle(reports::service::PRODUCE_JOB, move |job| {
        let (db, files) = (db.clone(), files.clone());
        async move {
            reports::service::produce(&db, &files, job.id_field("id")?).await?;
            Ok(())
        }
    });
    let (db, files) = (state.db.clone(), state.files.clone());
    registry
        .handle("school.reports_sweep", move |_job| {
            let (db, files) = (db.clone(), files.clone());
            async move {
                reports::service::produce_pending(&db, &files).await?;
                Ok(())
            }
        })
        .every("school.reports_sweep", std::time::Duration::from_secs(3600));
}
