//! Lesson weather: thresholds (the school's settings), the risk of a lesson from
//! an hourly forecast, and the `school.weather` job that assesses the coming
//! lessons. Pages and the API only read what the job stored: a weather service
//! that is down, slow or answers nonsense never fails a page.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify::{self, Event, Notice};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::AppResult;
use crate::platform::i18n::{Locale, Msg};
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::platform::weather::{self, Hour, WeatherService};
use crate::school::meeting_points::service as meeting_points;
use crate::school::planning::entity::lesson;
use crate::school::planning::service::{LessonKind, LessonStatus};

pub mod lesson_weather {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_lesson_weather")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub lesson_id: i64,
        pub organization_id: i64,
        pub risk: super::RiskLevel,
        pub reasons: String,
        pub precipitation_mm: f64,
        pub temperature_max_c: f64,
        pub temperature_min_c: f64,
        pub wind_gusts_kmh: f64,
        pub snowfall_cm: f64,
        pub forecast_at: DateTimeUtc,
        pub assessed_at: DateTimeUtc,
        pub notified_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod weather_settings {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "school_weather_settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub organization_id: i64,
        pub enabled: bool,
        pub rain_medium_mm: f64,
        pub rain_high_mm: f64,
        pub heat_medium_c: f64,
        pub heat_high_c: f64,
        pub wind_medium_kmh: f64,
        pub wind_high_kmh: f64,
        pub snow_medium_cm: f64,
        pub snow_high_cm: f64,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

string_enum! {
    /// How risky the weather makes a lesson.
    #[derive(ToSchema, PartialOrd, Ord)]
    pub enum RiskLevel (labels "weather.risk.") {
        Low,
        Medium,
        High,
    }
}

string_enum! {
    /// What makes a lesson risky.
    #[derive(ToSchema)]
    pub enum Hazard (labels "weather.hazard.") {
        /// Rain over the lesson's day.
        Rain,
        /// The day's highest temperature.
        Heat,
        /// Gusts during the lesson.
        Wind,
        /// Snow over the lesson's day.
        Snow,
        /// Freezing during the lesson after rain or snow that day: black ice.
        Ice,
    }
}

/// The school's thresholds: a figure above a `medium` threshold makes the lesson a
/// medium risk, above a `high` one a high risk. The defaults are document 002's
/// (rain 10 and 20 mm, heat 30 and 35 °C) with wind and snow added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WeatherSettings {
    /// Forecast the coming lessons at all (and notify).
    pub enabled: bool,
    /// Rain over the lesson's day, in mm.
    #[schema(example = 10.0, minimum = 0, maximum = 500)]
    pub rain_medium_mm: f64,
    #[schema(example = 20.0, minimum = 0, maximum = 500)]
    pub rain_high_mm: f64,
    /// The day's highest temperature, in °C.
    #[schema(example = 30.0, minimum = -50, maximum = 60)]
    pub heat_medium_c: f64,
    #[schema(example = 35.0, minimum = -50, maximum = 60)]
    pub heat_high_c: f64,
    /// The strongest gust during the lesson, in km/h.
    #[schema(example = 60.0, minimum = 0, maximum = 300)]
    pub wind_medium_kmh: f64,
    #[schema(example = 80.0, minimum = 0, maximum = 300)]
    pub wind_high_kmh: f64,
    /// Fresh snow over the lesson's day, in cm.
    #[schema(example = 0.0, minimum = 0, maximum = 200)]
    pub snow_medium_cm: f64,
    #[schema(example = 1.0, minimum = 0, maximum = 200)]
    pub snow_high_cm: f64,
}

impl Default for WeatherSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            rain_medium_mm: 10.0,
            rain_high_mm: 20.0,
            heat_medium_c: 30.0,
            heat_high_c: 35.0,
            wind_medium_kmh: 60.0,
            wind_high_kmh: 80.0,
            snow_medium_cm: 0.0,
            snow_high_cm: 1.0,
        }
    }
}

/// A hazard, its medium and high thresholds, the bounds they may take, and
/// their field names.
type Thresholds = (Hazard, f64, f64, (f64, f64), (&'static str, &'static str));

impl WeatherSettings {
    fn of(row: &weather_settings::Model) -> Self {
        Self {
            enabled: row.enabled,
            rain_medium_mm: row.rain_medium_mm,
            rain_high_mm: row.rain_high_mm,
            heat_medium_c: row.heat_medium_c,
            heat_high_c: row.heat_high_c,
            wind_medium_kmh: row.wind_medium_kmh,
            wind_high_kmh: row.wind_high_kmh,
            snow_medium_cm: row.snow_medium_cm,
            snow_high_cm: row.snow_high_cm,
        }
    }

    /// Each hazard's thresholds (medium, high), its figure's bounds and field names.
    fn pairs(&self) -> [Thresholds; 4] {
        [
            (Hazard::Rain, self.rain_medium_mm, self.rain_high_mm, (0.0, 500.0), ("rain_medium_mm", "rain_high_mm")),
            (Hazard::Heat, self.heat_medium_c, self.heat_high_c, (-50.0, 60.0), ("heat_medium_c", "heat_high_c")),
            (
                Hazard::Wind,
                self.wind_medium_kmh,
                self.wind_high_kmh,
                (0.0, 300.0),
                ("wind_medium_kmh", "wind_high_kmh"),
            ),
            (Hazard::Snow, self.snow_medium_cm, self.snow_high_cm, (0.0, 200.0), ("snow_medium_cm", "snow_high_cm")),
        ]
    }
}

pub async fn settings(db: &impl ConnectionTrait, org: OrgId) -> AppResult<WeatherSettings> {
    Ok(weather_settings::Entity::find_by_id(org.get())
        .one(db)
        .await?
        .map_or_else(WeatherSettings::default, |row| WeatherSettings::of(&row)))
}

fn validate(input: &WeatherSettings) -> AppResult<()> {
    let mut v = Validator::new();
    for (_, medium, high, (min, max), (medium_field, high_field)) in input.pairs() {
        let within = |x: f64| x.is_finite() && (min..=max).contains(&x);
        if !within(medium) {
            v.add(medium_field, Msg::new("school.out_of_range").arg("min", min).arg("max", max));
        }
        if !within(high) {
            v.add(high_field, Msg::new("school.out_of_range").arg("min", min).arg("max", max));
        } else if within(medium) && high < medium {
            v.add(high_field, Msg::new("weather.high_below_medium"));
        }
    }
    v.finish()
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update_settings<C: Writer>(db: &C, actor: &Actor, input: &WeatherSettings) -> AppResult<WeatherSettings> {
    validate(input)?;
    let before = settings(db, actor.org).await?;
    let row = weather_settings::ActiveModel {
        organization_id: Set(actor.org.get()),
        enabled: Set(input.enabled),
        rain_medium_mm: Set(input.rain_medium_mm),
        rain_high_mm: Set(input.rain_high_mm),
        heat_medium_c: Set(input.heat_medium_c),
        heat_high_c: Set(input.heat_high_c),
        wind_medium_kmh: Set(input.wind_medium_kmh),
        wind_high_kmh: Set(input.wind_high_kmh),
        snow_medium_cm: Set(input.snow_medium_cm),
        snow_high_cm: Set(input.snow_high_cm),
        updated_at: Set(Utc::now()),
    };
    use weather_settings::Column as C;
    db::write(db, async |txn| {
        weather_settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(C::OrganizationId)
                    .update_columns([
                        C::Enabled,
                        C::RainMediumMm,
                        C::RainHighMm,
                        C::HeatMediumC,
                        C::HeatHighC,
                        C::WindMediumKmh,
                        C::WindHighKmh,
                        C::SnowMediumCm,
                        C::SnowHighCm,
                        C::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        if input.enabled {
            // New thresholds: the coming lessons are assessed again at once.
            assess_soon(txn, actor.org).await?;
        } else {
            // Without forecasts, no risk is shown that nobody keeps up to date.
            lesson_weather::Entity::delete_many()
                .filter(lesson_weather::Column::OrganizationId.eq(actor.org.get()))
                .exec(txn)
                .await?;
        }
        audit::record_change(txn, actor, ("school_weather_settings", actor.org.get()), Some(&before), Some(input))
            .await?;
        Ok(input.clone())
    })
    .await
}

/// What the forecast says of a lesson: over its day (rain, heat, snow) and its
/// hours (gusts, the lowest temperature).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    pub precipitation_mm: f64,
    pub temperature_max_c: f64,
    pub temperature_min_c: f64,
    pub wind_gusts_kmh: f64,
    pub snowfall_cm: f64,
}

/// The figures of a lesson from an hourly forecast: `day` is the lesson's local
/// day, `lesson` its hours. Open-Meteo's rain, snow and gusts at `at` are those of
/// the hour *ending* at `at`: an hour counts for the lesson when it overlaps it,
/// for the day when it ends within it. `None` when the forecast does not reach
/// the lesson or its day.
pub fn figures(
    hours: &[Hour],
    day: (DateTime<Utc>, DateTime<Utc>),
    lesson: (DateTime<Utc>, DateTime<Utc>),
) -> Option<Figures> {
    let touches = |h: &&Hour| h.at > lesson.0 && h.at - Duration::hours(1) < lesson.1;
    let during: Vec<&Hour> = hours.iter().filter(touches).collect();
    let that_day: Vec<&Hour> = hours.iter().filter(|h| h.at > day.0 && h.at <= day.1).collect();
    if during.is_empty() || that_day.is_empty() {
        return None;
    }
    let sum = |f: fn(&Hour) -> f64| that_day.iter().map(|h| f(h)).sum::<f64>();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    Some(Figures {
        precipitation_mm: round(sum(|h| h.precipitation_mm)),
        snowfall_cm: round(sum(|h| h.snowfall_cm)),
        temperature_max_c: round(that_day.iter().map(|h| h.temperature_c).fold(f64::MIN, f64::max)),
        temperature_min_c: round(during.iter().map(|h| h.temperature_c).fold(f64::MAX, f64::min)),
        wind_gusts_kmh: round(during.iter().map(|h| h.wind_gusts_kmh).fold(0.0, f64::max)),
    })
}

/// The risk of figures against thresholds, and what makes it (worst first).
pub fn assess(settings: &WeatherSettings, f: &Figures) -> (RiskLevel, Vec<(Hazard, RiskLevel)>) {
    let values = [f.precipitation_mm, f.temperature_max_c, f.wind_gusts_kmh, f.snowfall_cm];
    let mut hazards: Vec<(Hazard, RiskLevel)> = settings
        .pairs()
        .into_iter()
        .zip(values)
        .filter_map(|((hazard, medium, high, _, _), value)| {
            if value > high {
                Some((hazard, RiskLevel::High))
            } else if value > medium {
                Some((hazard, RiskLevel::Medium))
            } else {
                None
            }
        })
        .collect();
    // Below freezing at the wheel after rain or snow that day: black ice.
    if f.temperature_min_c <= 0.0 && (f.precipitation_mm > 0.0 || f.snowfall_cm > 0.0) {
        hazards.push((Hazard::Ice, RiskLevel::Medium));
    }
    hazards.sort_by_key(|h| std::cmp::Reverse(h.1));
    let risk = hazards.first().map_or(RiskLevel::Low, |h| h.1);
    (risk, hazards)
}

fn reasons_text(hazards: &[(Hazard, RiskLevel)]) -> String {
    hazards.iter().map(|(h, r)| format!("{h}:{r}")).collect::<Vec<_>>().join(",")
}

fn reasons_of(text: &str) -> Vec<(Hazard, RiskLevel)> {
    text.split(',')
        .filter_map(|pair| {
            let (hazard, risk) = pair.split_once(':')?;
            Some((Hazard::parse(hazard)?, RiskLevel::parse(risk)?))
        })
        .collect()
}

/// A lesson's weather as stored by the job.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LessonWeather {
    pub lesson_id: i64,
    pub risk: RiskLevel,
    /// What makes the risk, worst first.
    pub hazards: Vec<HazardLevel>,
    #[serde(flatten)]
    pub figures: Figures,
    /// When the weather service gave the forecast.
    pub forecast_at: DateTime<Utc>,
    /// When the lesson was last assessed.
    pub assessed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, ToSchema)]
pub struct HazardLevel {
    pub hazard: Hazard,
    pub risk: RiskLevel,
}

impl LessonWeather {
    fn of(row: &lesson_weather::Model) -> Self {
        Self {
            lesson_id: row.lesson_id,
            risk: row.risk,
            hazards: reasons_of(&row.reasons).into_iter().map(|(hazard, risk)| HazardLevel { hazard, risk }).collect(),
            figures: Figures {
                precipitation_mm: row.precipitation_mm,
                temperature_max_c: row.temperature_max_c,
                temperature_min_c: row.temperature_min_c,
                wind_gusts_kmh: row.wind_gusts_kmh,
                snowfall_cm: row.snowfall_cm,
            },
            forecast_at: row.forecast_at,
            assessed_at: row.assessed_at,
        }
    }

    /// "Pluie 24 mm, rafales 85 km/h": what makes the risk, in words.
    pub fn summary(&self, locale: Locale) -> String {
        let f = &self.figures;
        let number = |x: f64| format!("{x}").replace('.', if locale == Locale::Fr { "," } else { "." });
        self.hazards
            .iter()
            .map(|h| {
                let value = match h.hazard {
                    Hazard::Rain => number(f.precipitation_mm),
                    Hazard::Heat => number(f.temperature_max_c),
                    Hazard::Wind => number(f.wind_gusts_kmh),
                    Hazard::Snow => number(f.snowfall_cm),
                    Hazard::Ice => number(f.temperature_min_c),
                };
                Msg::new(h.hazard.label_key()).arg("value", value).render(locale)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The stored weather of some lessons, in one query.
pub async fn of_lessons(db: &impl ConnectionTrait, org: OrgId, ids: &[i64]) -> AppResult<HashMap<i64, LessonWeather>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = lesson_weather::Entity::find()
        .filter(lesson_weather::Column::OrganizationId.eq(org.get()))
        .filter(lesson_weather::Column::LessonId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.iter().map(|r| (r.lesson_id, LessonWeather::of(r))).collect())
}

/// Forgets a lesson's weather (moved: the next assessment will say), in the
/// move's transaction, and asks for that assessment.
pub async fn reassess(txn: &impl ConnectionTrait, org: OrgId, lesson_id: i64) -> AppResult<()> {
    lesson_weather::Entity::delete_many().filter(lesson_weather::Column::LessonId.eq(lesson_id)).exec(txn).await?;
    assess_soon(txn, org).await
}

/// Asks for the school's lessons to be assessed within ten seconds: one run for
/// every change of those ten seconds (a day's bookings, thresholds saved).
async fn assess_soon(txn: &impl ConnectionTrait, org: OrgId) -> AppResult<()> {
    let job = crate::platform::jobs::NewJob::new(JOB, serde_json::json!({ "organization_id": org.get() }))
        .for_org(org)
        .coalesced(&format!("{JOB}:{}", org.get()), std::time::Duration::from_secs(10));
    crate::platform::jobs::enqueue(txn, job).await?;
    Ok(())
}

/// The scheduled assessment.
pub const JOB: &str = "school.weather";

/// How far ahead lessons are assessed (the forecast's own reach).
const DAYS_AHEAD: i64 = 7;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    pub assessed: usize,
    pub notified: usize,
    /// Areas whose forecast could not be had (service down, unreadable answer).
    pub failed_areas: usize,
}

/// Assesses the coming driving lessons of every school (or of one) from the
/// forecasts, and tells the instructor and the managers of each lesson that
/// turns high-risk (once). Lessons whose forecast cannot be had keep their last
/// assessment.
#[tracing::instrument(skip_all, err)]
pub async fn refresh(
    db: &DatabaseConnection,
    service: Option<&WeatherService>,
    only: Option<OrgId>,
    now: DateTime<Utc>,
) -> AppResult<Refreshed> {
    let mut done = Refreshed::default();
    let Some(service) = service else {
        return Ok(done);
    };
    {
        // Forecasts of areas no lesson needs any more.
        let _turn = db.write_turn().await;
        weather::forecast::Entity::delete_many()
            .filter(weather::forecast::Column::FetchedAt.lt(now - Duration::days(1)))
            .exec(db)
            .await?;
    }
    let mut orgs = lesson::Entity::find()
        .select_only()
        .column(lesson::Column::OrganizationId)
        .distinct()
        .filter(lesson::Column::Status.eq(LessonStatus::Scheduled))
        .filter(lesson::Column::StartsAt.gte(now - Duration::hours(2)))
        .filter(lesson::Column::StartsAt.lt(now + Duration::days(DAYS_AHEAD)));
    if let Some(org) = only {
        orgs = orgs.filter(lesson::Column::OrganizationId.eq(org.get()));
    }
    let orgs: Vec<i64> = orgs.into_tuple().all(db).await?;
    for org in orgs.into_iter().map(OrgId::new) {
        let rules = settings(db, org).await?;
        if !rules.enabled {
            continue;
        }
        let one = refresh_school(db, service, org, &rules, now).await?;
        done.assessed += one.assessed;
        done.notified += one.notified;
        done.failed_areas += one.failed_areas;
    }
    Ok(done)
}

async fn refresh_school(
    db: &DatabaseConnection,
    service: &WeatherService,
    org: OrgId,
    rules: &WeatherSettings,
    now: DateTime<Utc>,
) -> AppResult<Refreshed> {
    let mut done = Refreshed::default();
    let organization = organizations::get(db, org).await?;
    let zone = organization.zone()?;
    let positions = meeting_points::positions(db, org).await?;
    let lessons = lesson::Entity::find()
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::Status.eq(LessonStatus::Scheduled))
        .filter(lesson::Column::Kind.ne(LessonKind::Theory))
        .filter(lesson::Column::StartsAt.gte(now - Duration::hours(2)))
        .filter(lesson::Column::StartsAt.lt(now + Duration::days(DAYS_AHEAD)))
        .order_by_asc(lesson::Column::StartsAt)
        .limit(2000)
        .all(db)
        .await?;
    let mut by_area: BTreeMap<String, ((f64, f64), Vec<lesson::Model>)> = BTreeMap::new();
    for l in lessons {
        let Some(point) = positions.of(l.meeting_point.as_deref()) else { continue };
        let (area, _) = weather::area_of(point);
        by_area.entry(area).or_insert_with(|| (point, Vec::new())).1.push(l);
    }
    let mut high = Vec::new();
    for (area, (point, lessons)) in by_area {
        let forecast = match weather::forecast_at(db, service, point, now).await? {
            Ok(forecast) => forecast,
            Err(reason) => {
                tracing::warn!(%area, %reason, "no forecast: the lessons keep their last assessment");
                done.failed_areas += 1;
                continue;
            }
        };
        let mut assessed = Vec::new();
        for l in lessons {
            let local = l.starts_at.with_timezone(&zone).date_naive();
            let bounds = |d: chrono::NaiveDate| {
                crate::school::planning::web::local_instant(zone, d, NaiveTime::MIN)
                    .unwrap_or_else(|| d.and_time(NaiveTime::MIN).and_utc())
            };
            let day = (bounds(local), bounds(local.succ_opt().unwrap_or(local)));
            let Some(f) = figures(&forecast.hours, day, (l.starts_at, l.ends_at)) else { continue };
            let (risk, hazards) = assess(rules, &f);
            assessed.push((l, f, risk, hazards));
        }
        let rows = assessed.iter().map(|(l, f, risk, hazards)| lesson_weather::ActiveModel {
            lesson_id: Set(l.id),
            organization_id: Set(org.get()),
            risk: Set(*risk),
            reasons: Set(reasons_text(hazards)),
            precipitation_mm: Set(f.precipitation_mm),
            temperature_max_c: Set(f.temperature_max_c),
            temperature_min_c: Set(f.temperature_min_c),
            wind_gusts_kmh: Set(f.wind_gusts_kmh),
            snowfall_cm: Set(f.snowfall_cm),
            forecast_at: Set(forecast.fetched_at),
            assessed_at: Set(now),
            notified_at: Set(None),
        });
        // A lesson no longer high-risk is told about again if it turns so again.
        let (high_rows, other_rows): (Vec<_>, Vec<_>) = rows.partition(|row| row.risk.as_ref() == &RiskLevel::High);
        db::write(db, async |txn| {
            save_assessments(txn, high_rows, false).await?;
            save_assessments(txn, other_rows, true).await
        })
        .await?;
        done.assessed += assessed.len();
        // Told about before they begin, not during.
        high.extend(assessed.into_iter().filter(|a| a.2 == RiskLevel::High && a.0.starts_at > now).map(|a| a.0));
    }
    done.notified = warn_of(db, org, &organization, high, now).await?;
    Ok(done)
}

/// Writes assessments, several rows a statement; `forget_notice` clears the mark
/// of a lesson already told about.
async fn save_assessments(
    txn: &impl ConnectionTrait,
    rows: Vec<lesson_weather::ActiveModel>,
    forget_notice: bool,
) -> AppResult<()> {
    use lesson_weather::Column as C;
    let mut update = vec![
        C::Risk,
        C::Reasons,
        C::PrecipitationMm,
        C::TemperatureMaxC,
        C::TemperatureMinC,
        C::WindGustsKmh,
        C::SnowfallCm,
        C::ForecastAt,
        C::AssessedAt,
    ];
    if forget_notice {
        update.push(C::NotifiedAt);
    }
    // 200 rows of 12 values: within every backend's limit on parameters.
    for chunk in rows.chunks(200) {
        lesson_weather::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::column(C::LessonId).update_columns(update.clone()).to_owned())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// A lesson to tell about, as a notice's line reads it.
struct Flagged {
    lesson: lesson::Model,
    line: String,
}

/// Tells each lesson's instructor and the school's managers, once per lesson,
/// that booked lessons are now high-risk: one notice per person and run (a storm
/// over a week of lessons is one message, not forty), each lesson claimed by a
/// conditional update so that two runs at once tell it once. Returns how many
/// lessons were told about.
async fn warn_of(
    db: &DatabaseConnection,
    org: OrgId,
    organization: &organizations::Organization,
    high: Vec<lesson::Model>,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    use crate::identity::roles::Role;
    if high.is_empty() {
        return Ok(0);
    }
    let locale = organization.locale;
    let zone = organization.zone()?;
    db::write(db, async |txn| {
        // Claimed in one statement: what another run claimed first is not told twice.
        let ids: Vec<i64> = high.iter().map(|l| l.id).collect();
        let claimed: std::collections::HashSet<i64> = lesson_weather::Entity::update_many()
            .col_expr(lesson_weather::Column::NotifiedAt, sea_orm::sea_query::Expr::value(Some(now)))
            .filter(lesson_weather::Column::LessonId.is_in(ids))
            .filter(lesson_weather::Column::NotifiedAt.is_null())
            .exec_with_returning(txn)
            .await?
            .into_iter()
            .map(|row| row.lesson_id)
            .collect();
        let mut flagged: Vec<lesson::Model> = high.into_iter().filter(|l| claimed.contains(&l.id)).collect();
        flagged.sort_by_key(|l| (l.starts_at, l.id));
        if flagged.is_empty() {
            return Ok(0);
        }
        let mut candidate_ids: Vec<i64> = flagged.iter().map(|l| l.candidate_id).collect();
        candidate_ids.sort_unstable();
        candidate_ids.dedup();
        let candidates = crate::school::candidates::service::names_of(txn, &candidate_ids).await?;
        let mut instructor_ids: Vec<i64> = flagged.iter().map(|l| l.instructor_id).collect();
        instructor_ids.sort_unstable();
        instructor_ids.dedup();
        let instructors = crate::school::instructors::service::get_many(txn, org, &instructor_ids).await?;
        let ids: Vec<i64> = flagged.iter().map(|l| l.id).collect();
        let weather = of_lessons(txn, org, &ids).await?;
        let lines: Vec<Flagged> = flagged
            .into_iter()
            .map(|l| {
                let at = l.starts_at.with_timezone(&zone);
                let line = Msg::new("weather.notice_line")
                    .arg("day", locale.date(at.date_naive()))
                    .arg("start", at.format("%H:%M").to_string())
                    .arg("candidate", candidates.get(&l.candidate_id).cloned().unwrap_or_default())
                    .arg(
                        "instructor",
                        instructors
                            .get(&l.instructor_id)
                            .map(crate::school::instructors::service::Instructor::full_name)
                            .unwrap_or_default(),
                    )
                    .arg("place", l.meeting_point.clone().unwrap_or_else(|| "—".to_owned()))
                    .arg("weather", weather.get(&l.id).map(|w| w.summary(locale)).unwrap_or_default())
                    .render(locale);
                Flagged { lesson: l, line }
            })
            .collect();
        let count = lines.len();
        // Each instructor their own lessons; the managers and administrators all of them.
        let mut told: Vec<i64> = Vec::new();
        for instructor in instructors.values() {
            let Some(user) = instructor.user_id else { continue };
            let theirs: Vec<&Flagged> = lines.iter().filter(|f| f.lesson.instructor_id == instructor.id).collect();
            if theirs.is_empty() {
                continue;
            }
            let notice = notice(locale, zone, &theirs).user(Some(user)).email(instructor.email.clone());
            notify::send(txn, org, notice).await?;
            told.push(user);
        }
        let all: Vec<&Flagged> = lines.iter().collect();
        for (user, email) in
            crate::identity::users::service::with_roles(txn, org, &[Role::Admin, Role::Manager]).await?
        {
            if !told.contains(&user) {
                notify::send(txn, org, notice(locale, zone, &all).user(Some(user)).email(Some(email))).await?;
            }
        }
        Ok(count)
    })
    .await
}

/// The notice about some high-risk lessons: one lesson leads to its page,
/// several to the planning from the first one's day.
fn notice(locale: Locale, zone: chrono_tz::Tz, lessons: &[&Flagged]) -> Notice {
    let first = &lessons[0].lesson;
    let at = first.starts_at.with_timezone(&zone);
    let (title, link) = if lessons.len() == 1 {
        let title = Msg::new("weather.notice_title")
            .arg("day", locale.date(at.date_naive()))
            .arg("start", at.format("%H:%M").to_string())
            .render(locale);
        (title, format!("/school/lessons/{}", first.id))
    } else {
        let title = Msg::new("weather.notice_title_many").arg("count", lessons.len()).render(locale);
        (title, format!("/school/planning?view=3days&week={}", at.date_naive()))
    };
    let list = lessons.iter().map(|f| format!("- {}", f.line)).collect::<Vec<_>>().join("\n");
    let body = Msg::new("weather.notice_body").arg("lessons", list).render(locale).replace("\\n", "\n");
    Notice::new(Event::LessonWeather, title, body).link(link)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("date").with_timezone(&Utc)
    }

    fn hour(time: &str, rain: f64, temp: f64, gusts: f64, snow: f64) -> Hour {
        Hour { at: at(time), precipitation_mm: rain, temperature_c: temp, wind_gusts_kmh: gusts, snowfall_cm: snow }
    }

    #[test]
    fn figures_take_the_day_and_the_lesson_hours() {
        let hours = [
            hour("2026-12-07T06:00:00Z", 8.0, 2.0, 90.0, 0.0),
            hour("2026-12-07T09:00:00Z", 3.0, 4.0, 40.0, 0.0),
            hour("2026-12-07T10:00:00Z", 2.5, 5.0, 55.0, 0.0),
            hour("2026-12-08T09:00:00Z", 30.0, 5.0, 10.0, 0.0),
        ];
        let day = (at("2026-12-07T00:00:00Z"), at("2026-12-08T00:00:00Z"));
        let f = figures(&hours, day, (at("2026-12-07T09:30:00Z"), at("2026-12-07T10:30:00Z"))).expect("figures");
        // The day's rain, the lesson's gusts (not the morning's 90 km/h).
        assert_eq!(f.precipitation_mm, 13.5);
        assert_eq!(f.wind_gusts_kmh, 55.0);
        // Only the hour ending at 10:00 overlaps a lesson from 09:30 to 10:30 here.
        assert_eq!(f.temperature_min_c, 5.0);
        assert_eq!(f.temperature_max_c, 5.0);
        assert!(figures(&hours, day, (at("2026-12-20T09:00:00Z"), at("2026-12-20T10:00:00Z"))).is_none());
    }

    #[test]
    fn thresholds_are_the_seeds() {
        let rules = WeatherSettings::default();
        let calm = Figures {
            precipitation_mm: 10.0,
            temperature_max_c: 30.0,
            temperature_min_c: 12.0,
            wind_gusts_kmh: 60.0,
            snowfall_cm: 0.0,
        };
        assert_eq!(assess(&rules, &calm).0, RiskLevel::Low, "at the threshold is not above it");
        let rain = Figures { precipitation_mm: 10.5, ..calm };
        assert_eq!(assess(&rules, &rain).0, RiskLevel::Medium);
        let storm = Figures { precipitation_mm: 20.5, wind_gusts_kmh: 65.0, ..calm };
        let (risk, hazards) = assess(&rules, &storm);
        assert_eq!(risk, RiskLevel::High);
        assert_eq!(hazards, vec![(Hazard::Rain, RiskLevel::High), (Hazard::Wind, RiskLevel::Medium)]);
        let heat = Figures { temperature_max_c: 35.5, ..calm };
        assert_eq!(assess(&rules, &heat).0, RiskLevel::High);
        let snow = Figures { snowfall_cm: 0.2, temperature_min_c: -1.0, ..calm };
        let (risk, hazards) = assess(&rules, &snow);
        assert_eq!(risk, RiskLevel::Medium);
        assert!(hazards.contains(&(Hazard::Ice, RiskLevel::Medium)));
        assert_eq!(reasons_of(&reasons_text(&hazards)), hazards);
    }
}
