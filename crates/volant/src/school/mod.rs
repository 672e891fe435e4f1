//! Driving school (seed 003, auto-école): candidates, instructors, training
//! vehicles (fleet vehicles flagged for the school), lesson planning under
//! conflict rules, exams with manual validation.

pub mod access;
pub mod accounts;
pub mod candidates;
pub mod cars;
pub mod demo;
pub mod enrolment;
pub mod exams;
pub mod imports;
pub mod instructors;
pub mod meeting_points;
pub mod messages;
pub mod model;
pub mod packs;
pub mod planning;
pub mod portal;
pub mod reports;
pub mod settings;
pub mod weather;
pub mod web;

use utoipa_axum::router::OpenApiRouter;

use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::navigation::MenuEntry;
use crate::identity::roles::Permission;
use futures_util::future::BoxFuture;

use crate::platform::AppState;
use crate::platform::error::AppResult;
use crate::platform::tenant::{self, OrgId};
use crate::platform::web::{Module, WelcomeStep};

/// The school's navigation entries (Auto-école).
pub fn menu() -> Vec<MenuEntry> {
    use crate::identity::navigation::Audience::{May, MayOr, MayWithout, Role};
    use crate::identity::roles::{Permission::*, Role::Candidate};
    use crate::platform::web::Module::School;
    vec![
        MenuEntry::new(School, "nav.planning", "/school/planning", May(Teaching)).also(&["/school/lessons"]),
        MenuEntry::new(School, "exam.results", "/school/results", MayWithout(Teaching, SchoolRead)),
        MenuEntry::new(School, "nav.candidates", "/school/candidates", May(SchoolRead))
            .also(&["/school/files", "/school/contracts"]),
        MenuEntry::new(School, "nav.exams", "/school/exams", May(SchoolRead)),
        MenuEntry::new(School, "nav.reports", "/school/reports", May(SchoolRead)),
        MenuEntry::new(School, "nav.school", "/school/instructors", May(SchoolRead)).also(&[
            "/school/vehicles",
            "/school/settings",
            "/school/packs",
            "/school/meeting-points",
            "/school/weather",
        ]),
        MenuEntry::new(School, "nav.messages", "/messages", MayOr(Teaching, Candidate)),
        MenuEntry::new(School, "nav.portal", "/portal", Role(Candidate)),
    ]
}

/// The school API. Each operation declares its permission: the files with
/// `school.read`/`school.write`; the planning, results and messages with
/// `school.planning` (each person sees their own part); instructors record how
/// lessons went and enter results with `teaching`.
pub fn api_router() -> OpenApiRouter<AppState> {
    settings::api::router()
        .merge(instructors::api::router())
        .merge(cars::api::router())
        .merge(candidates::api::router())
        .merge(planning::api::router())
        .merge(exams::api::router())
        .merge(messages::api::router())
        .merge(reports::api::router())
        .merge(packs::api::router())
        .merge(meeting_points::api::router())
        .merge(weather::api::router())
        .merge(enrolment::api::router())
}

/// The school's pages: the planning board (instructors see their own week), the
/// booking form (the staff: it lists every candidate, instructor and car), the
/// school's files, the candidate's portal, and the calendar feeds.
pub fn pages() -> Vec<Page> {
    use Permission::{SchoolPlanning, SchoolRead, SchoolWrite, Teaching};
    [
        web_pages::pages(Access::guarded(SchoolPlanning, SchoolWrite), planning::web::routes()),
        web_pages::pages(Access::guarded(SchoolWrite, SchoolWrite), planning::web::booking_routes()),
        // Everyone with a place in the school: the portal, messages, one's calendar address.
        web_pages::pages(
            Access::guarded(SchoolPlanning, SchoolPlanning),
            [
                portal::web::routes(),
                packs::web::portal_routes(),
                enrolment::web::portal_routes(),
                messages::web::routes(),
                planning::web::calendar_routes(),
            ]
            .into_iter()
            .flatten(),
        ),
        // The school's files: candidates, instructors, cars, exams, reports (staff).
        web_pages::pages(
            Access::guarded(SchoolRead, SchoolWrite),
            [
                candidates::web::routes(),
                exams::web::routes(),
                reports::web::routes(),
                instructors::web::routes(),
                cars::web::routes(),
                settings::web::routes(),
                packs::web::routes(),
                meeting_points::web::routes(),
                weather::web::routes(),
                enrolment::web::routes(),
            ]
            .into_iter()
            .flatten(),
        ),
        web_pages::pages(Access::guarded(Teaching, Teaching), exams::web::result_routes()),
        web_pages::pages(Access::guarded(Teaching, Teaching), candidates::web::teaching_routes()),
        web_pages::pages(Access::guarded(SchoolPlanning, Teaching), planning::web::teaching_routes()),
        web_pages::secret_link_pages(planning::web::public_routes()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The weather service the configuration names, if any.
fn weather_service(config: &crate::platform::config::Config) -> Option<crate::platform::weather::WeatherService> {
    let url = config.geo.weather_url.as_deref()?;
    let agent = format!("Volant/{} (+{})", env!("CARGO_PKG_VERSION"), config.public_url);
    crate::platform::weather::WeatherService::new(url, &agent, std::time::Duration::from_secs(10))
        .map_err(|err| tracing::error!(%err, "no weather service"))
        .ok()
}

/// The school's jobs: the day-before lesson reminders every 15 minutes (each
/// lesson claimed by a conditional UPDATE), producing a requested report, and
/// an hourly sweep for reports requested before the queue took them.
pub fn register_jobs(registry: &mut crate::platform::jobs::Registry, state: &AppState) {
    // Lesson weather every 30 minutes (the forecasts' cache), and for one school
    // when a lesson moves.
    let db = state.db.clone();
    let service = weather_service(&state.config).map(std::sync::Arc::new);
    registry
        .handle(weather::service::JOB, move |job| {
            let (db, service) = (db.clone(), service.clone());
            async move {
                let only = job.payload.get("organization_id").and_then(serde_json::Value::as_i64).map(OrgId::new);
                weather::service::refresh(&db, service.as_deref(), only, chrono::Utc::now()).await?;
                Ok(())
            }
        })
        .every(weather::service::JOB, std::time::Duration::from_secs(30 * 60));
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

/// The school's first steps: an instructor with hours, a car, a candidate.
pub fn welcome_steps(state: &AppState, org: OrgId) -> BoxFuture<'_, AppResult<Vec<WelcomeStep>>> {
    use sea_orm::sea_query::Query;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

    use instructors::entity::{availability, instructor};
    Box::pin(async move {
        let db = &state.db;
        let teaching = Query::select()
            .column(instructor::Column::Id)
            .from(instructor::Entity)
            .and_where(instructor::Column::OrganizationId.eq(org.get()))
            .to_owned();
        let with_hours = availability::Entity::find()
            .filter(availability::Column::InstructorId.in_subquery(teaching))
            .limit(1)
            .one(db)
            .await?
            .is_some();
        let car = cars::entity::training_vehicle::Entity::find()
            .filter(cars::entity::training_vehicle::Column::OrganizationId.eq(org.get()))
            .limit(1)
            .one(db)
            .await?
            .is_some();
        let candidate = tenant::has_any::<candidates::entity::candidate::Entity>(db, org).await?;
        Ok(vec![
            WelcomeStep::new(
                Module::School,
                "welcome.first_instructor",
                ("/school/instructors", Permission::SchoolWrite),
                with_hours,
            ),
            WelcomeStep::new(Module::School, "welcome.first_car", ("/school/vehicles", Permission::SchoolWrite), car),
            WelcomeStep::new(
                Module::School,
                "welcome.first_candidate",
                ("/school/candidates/new", Permission::SchoolWrite),
                candidate,
            ),
        ])
    })
}
