//! Each report is a table computed in a few grouped queries; files are produced
//! from the same table, in the background: a request is recorded `pending`, a
//! task fills it `ready` (or `failed`), and the periodic task picks up any request
//! a stopped process left behind.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::report;
use crate::identity::audit::Actor;
use crate::identity::organizations::service as organizations;
use crate::notify::{self, Event, Notice};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::files::FileStore;
use crate::platform::i18n::{Locale, Msg};
use crate::platform::jobs::{self, NewJob};
use crate::platform::money;
use crate::platform::pagination::PageRequest;
use crate::platform::pdf;
use crate::platform::tabular::{self, Cell};
use crate::platform::tenant::OrgId;
use crate::school::candidates::service::{self as candidates, CandidateFilter};
use crate::school::cars::service as vehicles;
use crate::school::exams::service as exams;
use crate::school::instructors::entity::{availability, day_off};
use crate::school::instructors::service as instructors;
use crate::school::planning::entity::lesson;
use crate::school::planning::service::{LessonKind, LessonStatus};
use crate::school::settings::service as settings;

/// Longest period a report covers.
pub const MAX_DAYS: i64 = 366;
/// Hours a training car is counted available each day (the planning board's day).
const CAR_DAY_MINUTES: i64 = 14 * 60;

string_enum! {
    // Which report: its code names it in URLs, requests and files, its label titles it.
    #[derive(ToSchema)]
    pub enum ReportKind (labels "report.") {
        PassRates,
        CandidateHours,
        InstructorUtilisation,
        VehicleUtilisation,
        Revenue,
        /// Driving hours done per instructor and per candidate, month by month
        /// (what the prefecture's ETP count of exam slots starts from).
        MonthlyHours,
        /// Exam presentations and success rates by licence category.
        ExamCategories,
    }
}

string_enum! {
    // What file a report is produced as.
    #[derive(ToSchema)]
    pub enum FileFormat {
        Csv,
        Xlsx,
        Pdf,
    }
}

impl FileFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Self::Pdf => "application/pdf",
        }
    }
}

string_enum! {
    // Where a report file stands: `pending` until a worker makes it `ready` (or `failed`).
    pub enum ReportStatus (labels "report.status_") {
        Pending,
        Ready,
        Failed,
    }
}

/// A report's content: headings and rows of typed cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub kind: ReportKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// Each row's label and main figure, for a chart.
    pub chart: Vec<(String, i64)>,
}

/// A table as JSON: cells as text.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TableView {
    pub kind: ReportKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub headings: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl From<&Table> for TableView {
    fn from(t: &Table) -> Self {
        Self {
            kind: t.kind,
            from: t.from,
            to: t.to,
            headings: t.headings.clone(),
            rows: t.rows.iter().map(|r| r.iter().map(Cell::plain).collect()).collect(),
        }
    }
}

pub fn check_period(from: NaiveDate, to: NaiveDate) -> AppResult<()> {
    if from > to || (to - from).num_days() > MAX_DAYS {
        return Err(AppError::validation("to", Msg::new("report.period_invalid").arg("days", MAX_DAYS)));
    }
    Ok(())
}

fn hours(minutes: i64) -> Cell {
    Cell::Number(Decimal::new(minutes * 100 / 60, 2))
}

/// A share in percent with one decimal (16 h of 2,352 h is 0.7 %, not 0 %).
fn percent(part: i64, whole: i64) -> Cell {
    if whole > 0 {
        let share = Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole);
        let mut share = share.round_dp_with_strategy(1, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        share.rescale(1);
        Cell::Number(share)
    } else {
        Cell::Empty
    }
}

fn bounds(zone: Tz, from: NaiveDate, to: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |d: NaiveDate| {
        zone.from_local_datetime(&d.and_time(NaiveTime::MIN))
            .earliest()
            .map_or_else(|| d.and_time(NaiveTime::MIN).and_utc(), |t| t.with_timezone(&Utc))
    };
    (at(from), at(to + Duration::days(1)))
}

/// The lessons (not cancelled, in a car) of the period: (instructor, car, status, minutes, start, late).
async fn lessons_in(
    db: &impl ConnectionTrait,
    org: OrgId,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(i64, Option<i64>, LessonStatus, i32, DateTime<Utc>, bool)>> {
    let (start, end) = bounds(zone, from, to);
    Ok(lesson::Entity::find()
        .select_only()
        .column(lesson::Column::InstructorId)
        .column(lesson::Column::VehicleId)
        .column(lesson::Column::Status)
        .column(lesson::Column::Minutes)
        .column(lesson::Column::StartsAt)
        .column(lesson::Column::LateCancellation)
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::StartsAt.gte(start))
        .filter(lesson::Column::StartsAt.lt(end))
        .filter(lesson::Column::Kind.ne(LessonKind::Theory))
        .into_tuple()
        .all(db)
        .await?)
}

/// Builds a report's table.
pub async fn build(
    db: &impl ConnectionTrait,
    org: OrgId,
    kind: ReportKind,
    from: NaiveDate,
    to: NaiveDate,
    tr: Locale,
) -> AppResult<Table> {
    check_period(from, to)?;
    let zone = organizations::zone(db, org).await?;
    let (headings, rows, chart) = match kind {
        ReportKind::PassRates => pass_rates(db, org, from, to, tr).await?,
        ReportKind::CandidateHours => candidate_hours(db, org, tr).await?,
        ReportKind::InstructorUtilisation => instructor_utilisation(db, org, zone, from, to, tr).await?,
        ReportKind::VehicleUtilisation => vehicle_utilisation(db, org, zone, from, to, tr).await?,
        ReportKind::Revenue => revenue(db, org, zone, from, to, tr).await?,
        ReportKind::MonthlyHours => monthly_hours(db, org, zone, from, to, tr).await?,
        ReportKind::ExamCategories => exam_categories(db, org, from, to, tr).await?,
    };
    Ok(Table { kind, from, to, headings, rows, chart })
}

/// A report's headings: its catalogue keys, in the reader's language.
fn headings(tr: Locale, keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| tr.text(k).to_owned()).collect()
}

/// Per instructor and exam: validated results passed and failed, and the rate.
async fn pass_rates(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    tr: Locale,
) -> AppResult<Built> {
    let rates = exams::pass_rates(db, org, from, to).await?;
    let rows = rates
        .iter()
        .map(|r| {
            let exam = tr.text(r.exam_type.label_key());
            vec![
                Cell::text(r.instructor_name.clone().or_else(|| Some(tr.text("report.no_instructor").to_owned()))),
                Cell::Text(exam.to_owned()),
                Cell::Int(r.passed),
                Cell::Int(r.failed),
                percent(r.passed, r.passed + r.failed),
            ]
        })
        .collect();
    let chart =
        rates.iter().map(|r| (r.instructor_name.clone().unwrap_or_default(), r.rate_percent.unwrap_or(0))).collect();
    let keys = ["report.instructor", "report.exam", "report.passed", "report.failures", "report.rate"];
    Ok((headings(tr, &keys), rows, chart))
}

/// Per candidate, to date: hours forecast, bought, done, scheduled, due and remaining.
async fn candidate_hours(db: &impl ConnectionTrait, org: OrgId, tr: Locale) -> AppResult<Built> {
    let mut rows = Vec::new();
    let mut chart = Vec::new();
    let mut page = PageRequest::first(500);
    loop {
        let found = candidates::list(db, org, &CandidateFilter::default(), page).await?;
        for c in &found.items {
            let h = &c.hours;
            rows.push(vec![
                Cell::Text(c.number.clone()),
                Cell::Text(format!("{} {}", c.last_name, c.first_name)),
                Cell::Text(c.category.clone()),
                h.forecast_minutes.map_or(Cell::Empty, |m| hours(i64::from(m))),
                hours(i64::from(h.bought_minutes)),
                hours(i64::from(h.done_minutes)),
                hours(i64::from(h.scheduled_minutes)),
                hours(i64::from(h.due_minutes)),
                hours(i64::from(h.remaining_minutes)),
            ]);
            chart.push((c.full_name(), i64::from(h.done_minutes) / 60));
        }
        match found.next_cursor.as_deref() {
            Some(cursor) => page = PageRequest::parse(Some("500"), Some(cursor))?,
            None => break,
        }
    }
    let keys = [
        "report.number",
        "report.candidate",
        "report.category",
        "hours.forecast",
        "hours.bought",
        "hours.done",
        "hours.scheduled",
        "hours.due",
        "hours.remaining",
    ];
    Ok((headings(tr, &keys), rows, chart))
}

/// Booked (not cancelled) and done minutes of a lesson, added to a resource's tally.
fn tally(entry: &mut (i64, i64), status: LessonStatus, minutes: i32) {
    if status != LessonStatus::Cancelled {
        entry.0 += i64::from(minutes);
    }
    if status == LessonStatus::Done {
        entry.1 += i64::from(minutes);
    }
}

/// Per instructor: hours available (weekly windows less days off), booked and
/// done, and the share booked.
async fn instructor_utilisation(
    db: &impl ConnectionTrait,
    org: OrgId,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
    tr: Locale,
) -> AppResult<Built> {
    let teachers = instructors::list(db, org).await?;
    let ids: Vec<i64> = teachers.iter().map(|i| i.id).collect();
    let windows = if ids.is_empty() {
        Vec::new()
    } else {
        availability::Entity::find().filter(availability::Column::InstructorId.is_in(ids.clone())).all(db).await?
    };
    let offs = if ids.is_empty() {
        Vec::new()
    } else {
        day_off::Entity::find()
            .filter(day_off::Column::InstructorId.is_in(ids.clone()))
            .filter(day_off::Column::Day.gte(from))
            .filter(day_off::Column::Day.lte(to))
            .all(db)
            .await?
    };
    let mut booked: HashMap<i64, (i64, i64)> = HashMap::new();
    for (instructor, _, status, minutes, _, _) in lessons_in(db, org, zone, from, to).await? {
        tally(booked.entry(instructor).or_default(), status, minutes);
    }
    let mut rows = Vec::new();
    let mut chart = Vec::new();
    for t in teachers {
        let mut available = 0_i64;
        let mut day = from;
        while day <= to {
            if !offs.iter().any(|d| d.instructor_id == t.id && d.day == day) {
                let weekday = i16::try_from(day.weekday().number_from_monday()).unwrap_or(0);
                available += windows
                    .iter()
                    .filter(|w| w.instructor_id == t.id && w.weekday == weekday)
                    .map(|w| i64::from(w.end_minute - w.start_minute))
                    .sum::<i64>();
            }
            day += Duration::days(1);
        }
        let (taken, done) = booked.get(&t.id).copied().unwrap_or_default();
        let rate = if available > 0 { taken * 100 / available } else { 0 };
        chart.push((t.full_name(), rate));
        rows.push(vec![
            Cell::Text(t.full_name()),
            hours(available),
            hours(taken),
            hours(done),
            percent(taken, available),
        ]);
    }
    let keys = ["report.instructor", "report.available", "report.booked", "hours.done", "report.rate"];
    Ok((headings(tr, &keys), rows, chart))
}

/// Per training car: hours open (the planning board's day, every day), booked
/// and done, and the share booked.
async fn vehicle_utilisation(
    db: &impl ConnectionTrait,
    org: OrgId,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
    tr: Locale,
) -> AppResult<Built> {
    let cars = vehicles::list(db, org).await?;
    let mut booked: HashMap<i64, (i64, i64)> = HashMap::new();
    for (_, vehicle, status, minutes, _, _) in lessons_in(db, org, zone, from, to).await? {
        let Some(vehicle) = vehicle else { continue };
        tally(booked.entry(vehicle).or_default(), status, minutes);
    }
    let open = ((to - from).num_days() + 1) * CAR_DAY_MINUTES;
    let mut rows = Vec::new();
    let mut chart = Vec::new();
    for car in cars {
        let (taken, done) = booked.get(&car.vehicle_id).copied().unwrap_or_default();
        chart.push((car.license_plate.clone(), taken * 100 / open.max(1)));
        rows.push(vec![
            Cell::Text(car.label()),
            Cell::Text(car.category.clone()),
            hours(open),
            hours(taken),
            hours(done),
            percent(taken, open),
        ]);
    }
    let keys = ["report.vehicle", "report.category", "report.available", "report.booked", "hours.done", "report.rate"];
    Ok((headings(tr, &keys), rows, chart))
}

type Built = (Vec<String>, Vec<Vec<Cell>>, Vec<(String, i64)>);

/// Per month: each instructor's driving hours done, then each candidate's
/// (lessons recorded done, theory aside), with the number of lessons; the chart
/// is the month's total.
async fn monthly_hours(
    db: &impl ConnectionTrait,
    org: OrgId,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
    tr: Locale,
) -> AppResult<Built> {
    use std::collections::BTreeMap;
    let (start, end) = bounds(zone, from, to);
    let done: Vec<(i64, i64, i32, DateTime<Utc>)> = lesson::Entity::find()
        .select_only()
        .column(lesson::Column::CandidateId)
        .column(lesson::Column::InstructorId)
        .column(lesson::Column::Minutes)
        .column(lesson::Column::StartsAt)
        .filter(lesson::Column::OrganizationId.eq(org.get()))
        .filter(lesson::Column::StartsAt.gte(start))
        .filter(lesson::Column::StartsAt.lt(end))
        .filter(lesson::Column::Kind.ne(LessonKind::Theory))
        .filter(lesson::Column::Status.eq(LessonStatus::Done))
        .into_tuple()
        .all(db)
        .await?;
    // (month, 0 for an instructor or 1 for a candidate, id) → (minutes, lessons)
    let mut tally: BTreeMap<(String, u8, i64), (i64, i64)> = BTreeMap::new();
    let mut months: BTreeMap<String, i64> = BTreeMap::new();
    for (candidate, instructor, minutes, starts_at) in done {
        let month = starts_at.with_timezone(&zone).format("%Y-%m").to_string();
        for key in [(month.clone(), 0, instructor), (month.clone(), 1, candidate)] {
            let entry = tally.entry(key).or_default();
            entry.0 += i64::from(minutes);
            entry.1 += 1;
        }
        *months.entry(month).or_default() += i64::from(minutes);
    }
    let mut candidate_ids: Vec<i64> = tally.keys().filter(|k| k.1 == 1).map(|k| k.2).collect();
    candidate_ids.dedup();
    let mut instructor_ids: Vec<i64> = tally.keys().filter(|k| k.1 == 0).map(|k| k.2).collect();
    instructor_ids.sort_unstable();
    instructor_ids.dedup();
    let learners = candidates::names_of(db, &candidate_ids).await?;
    let teachers = instructors::get_many(db, org, &instructor_ids).await?;
    let mut rows: Vec<(String, u8, String, Vec<Cell>)> = tally
        .into_iter()
        .map(|((month, who, id), (minutes, lessons))| {
            let (kind, name) = match who {
                0 => {
                    ("report.instructor", teachers.get(&id).map(instructors::Instructor::full_name).unwrap_or_default())
                }
                _ => ("report.candidate", learners.get(&id).cloned().unwrap_or_default()),
            };
            let cells = vec![
                Cell::Text(month.clone()),
                Cell::Text(tr.text(kind).to_owned()),
                Cell::Text(name.clone()),
                hours(minutes),
                Cell::Int(lessons),
            ];
            (month, who, name, cells)
        })
        .collect();
    rows.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    let chart = months.into_iter().map(|(month, minutes)| (month, minutes / 60)).collect();
    let keys = ["report.month", "report.person_kind", "report.name", "hours.done", "report.lessons"];
    Ok((headings(tr, &keys), rows.into_iter().map(|r| r.3).collect(), chart))
}

/// Per licence category and exam: presentations (validated results), passed,
/// failed and the success rate.
async fn exam_categories(
    db: &impl ConnectionTrait,
    org: OrgId,
    from: NaiveDate,
    to: NaiveDate,
    tr: Locale,
) -> AppResult<Built> {
    let results = exams::results_by_category(db, org, from, to).await?;
    let mut rows = Vec::new();
    let mut chart = Vec::new();
    for r in &results {
        let exam = tr.text(r.exam_type.label_key());
        let presented = r.passed + r.failed;
        rows.push(vec![
            Cell::Text(r.category.clone()),
            Cell::Text(exam.to_owned()),
            Cell::Int(presented),
            Cell::Int(r.passed),
            Cell::Int(r.failed),
            percent(r.passed, presented),
        ]);
        chart.push((format!("{} · {exam}", r.category), if presented > 0 { r.passed * 100 / presented } else { 0 }));
    }
    let keys =
        ["report.category", "report.exam", "report.presented", "report.passed", "report.failures", "report.rate"];
    Ok((headings(tr, &keys), rows, chart))
}

/// Per month: lesson hours done and their value, hours due (late cancellations
/// and no-shows) and theirs; then what was sold to date and the prepaid balance.
async fn revenue(
    db: &impl ConnectionTrait,
    org: OrgId,
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
    tr: Locale,
) -> AppResult<Built> {
    let organization = organizations::get(db, org).await?;
    let decimals = u32::from(organization.currency_decimals);
    let price = settings::get(db, org).await?.hour_price;
    let value = |minutes: i64| money::round_money(price * Decimal::from(minutes) / Decimal::from(60), decimals);
    let mut months: Vec<(String, i64, i64)> = Vec::new();
    for (_, _, status, minutes, starts_at, late) in lessons_in(db, org, zone, from, to).await? {
        let month = starts_at.with_timezone(&zone).format("%Y-%m").to_string();
        let index = match months.iter().position(|m| m.0 == month) {
            Some(i) => i,
            None => {
                months.push((month, 0, 0));
                months.len() - 1
            }
        };
        let minutes = i64::from(minutes);
        if status == LessonStatus::Done {
            months[index].1 += minutes;
        } else if status == LessonStatus::NoShow || (status == LessonStatus::Cancelled && late) {
            months[index].2 += minutes;
        }
    }
    months.sort();
    let mut rows = Vec::new();
    let mut chart = Vec::new();
    for (month, done, due) in &months {
        chart.push((month.clone(), money::to_minor(value(*done + *due), decimals).unwrap_or(0)));
        rows.push(vec![
            Cell::Text(month.clone()),
            hours(*done),
            Cell::Money(value(*done)),
            hours(*due),
            Cell::Money(value(*due)),
            Cell::Money(value(*done + *due)),
        ]);
    }
    // What candidates have bought, and what of it they have used, to date.
    let mut bought = 0_i64;
    let mut used = 0_i64;
    let mut page = PageRequest::first(500);
    loop {
        let found = candidates::list(db, org, &CandidateFilter::default(), page).await?;
        for c in &found.items {
            bought += i64::from(c.hours.bought_minutes);
            used += i64::from(c.hours.done_minutes + c.hours.due_minutes);
        }
        match found.next_cursor.as_deref() {
            Some(cursor) => page = PageRequest::parse(Some("500"), Some(cursor))?,
            None => break,
        }
    }
    rows.push(vec![
        Cell::Text(tr.text("report.sold_to_date").to_owned()),
        hours(bought),
        Cell::Money(value(bought)),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
    ]);
    rows.push(vec![
        Cell::Text(tr.text("report.prepaid_balance").to_owned()),
        hours(bought - used),
        Cell::Money(value(bought - used)),
        Cell::Empty,
        Cell::Empty,
        Cell::Empty,
    ]);
    let keys = ["report.month", "hours.done", "report.done_value", "hours.due", "report.due_value", "report.total"];
    Ok((headings(tr, &keys), rows, chart))
}

/// The table as a file.
pub async fn render(table: Table, format: FileFormat, tr: Locale) -> AppResult<Vec<u8>> {
    let title = tr.text(table.kind.label_key()).to_owned();
    let subtitle = Msg::new("report.period").arg("from", tr.date(table.from)).arg("to", tr.date(table.to)).render(tr);
    pdf::render_off_runtime(move || match format {
        FileFormat::Csv => tabular::csv_bytes(&table.headings, &table.rows, tabular::CsvDialect::for_locale(tr))
            .map_err(AppError::Internal),
        FileFormat::Xlsx => tabular::xlsx_bytes(&title, &table.headings, table.rows).map_err(AppError::Internal),
        FileFormat::Pdf => {
            let columns: Vec<pdf::Column<'_>> = table
                .headings
                .iter()
                .enumerate()
                .map(|(i, h)| pdf::Column {
                    heading: h,
                    share: if i == 0 { 2.5 } else { 1.0 },
                    align: if i == 0 { pdf::Align::Left } else { pdf::Align::Right },
                })
                .collect();
            let rows: Vec<Vec<String>> =
                table.rows.iter().map(|r| r.iter().map(|c| display_cell(c, tr)).collect()).collect();
            pdf::table(&title, &subtitle, &columns, &rows, tr)
        }
    })
    .await
}

/// A cell as a French reader expects it on paper or on a page (dates as `locale` writes them).
pub fn display_cell(cell: &Cell, locale: Locale) -> String {
    match cell {
        Cell::Money(d) => money::format_decimal(*d, 2),
        Cell::Number(d) => money::format_decimal(*d, d.scale()),
        Cell::Int(n) => n.to_string(),
        Cell::Date(d) => locale.date(*d),
        Cell::Text(t) => t.clone(),
        Cell::Empty => String::new(),
    }
}

// ---------------------------------------------------------------- background files

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportFile {
    pub id: i64,
    pub kind: ReportKind,
    pub format: FileFormat,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// `pending`, `ready` or `failed`.
    #[schema(value_type = String)]
    pub status: ReportStatus,
    pub file_name: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl From<report::Model> for ReportFile {
    fn from(m: report::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            format: m.format,
            from: m.period_from,
            to: m.period_to,
            status: m.status,
            file_name: m.file_name,
            created_at: m.created_at,
            finished_at: m.finished_at,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ReportRequest {
    #[schema(required = true, nullable = false)]
    pub kind: Option<ReportKind>,
    #[schema(required = true, nullable = false)]
    pub format: Option<FileFormat>,
    /// Default: 1 January of this year.
    pub from: Option<NaiveDate>,
    /// Default: today.
    pub to: Option<NaiveDate>,
}

/// Records a request, to be produced in the background.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn request<C: Writer>(db: &C, actor: &Actor, input: &ReportRequest) -> AppResult<ReportFile> {
    let mut v = crate::platform::validate::Validator::new();
    let kind = v.required("kind", input.kind);
    let format = v.required("format", input.format);
    v.finish()?;
    let (Some(kind), Some(format)) = (kind, format) else {
        return Err(AppError::Internal("validator accepted a missing field".into()));
    };
    let today = Utc::now().date_naive();
    let to = input.to.unwrap_or(today);
    let from = input.from.unwrap_or_else(|| NaiveDate::from_ymd_opt(to.year(), 1, 1).unwrap_or(to));
    check_period(from, to)?;
    let saved = db::write(db, async |txn| {
        let saved = report::ActiveModel {
            organization_id: Set(actor.org.get()),
            kind: Set(kind),
            format: Set(format),
            period_from: Set(from),
            period_to: Set(to),
            status: Set(ReportStatus::Pending),
            requested_by: Set(actor.user_id),
            created_at: Set(Utc::now()),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        // Produced by a worker; queued with the request, so a restart loses neither.
        let job = NewJob::new(PRODUCE_JOB, serde_json::json!({ "id": saved.id }))
            .for_org(actor.org)
            .key(format!("report:{}", saved.id))
            .max_attempts(3);
        jobs::enqueue(txn, job).await?;
        AppResult::Ok(saved)
    })
    .await?;
    Ok(ReportFile::from(saved))
}

/// Kind of the job that produces a requested report.
pub const PRODUCE_JOB: &str = "school.report";

/// Where a report's file is kept in the file store.
fn file_key(org: i64, id: i64) -> String {
    format!("reports/{org}/{id}")
}

/// Produces a pending report: the file goes to the file store, then the row
/// says it is ready (a conditional UPDATE: if two processes produce it, one
/// result is kept; the file under the same key is the same).
pub async fn produce<C: Writer>(db: &C, files: &FileStore, id: i64) -> AppResult<()> {
    let Some(row) = report::Entity::find_by_id(id).one(db).await? else { return Ok(()) };
    if row.status != ReportStatus::Pending {
        return Ok(());
    }
    let org = OrgId::new(row.organization_id);
    let (kind, format) = (row.kind, row.format);
    // The file, and its notice, in the organization's language.
    let locale = organizations::get(db, org).await?.locale;
    let outcome = match build(db, org, kind, row.period_from, row.period_to, locale).await {
        Ok(table) => render(table, format, locale).await,
        Err(err) => Err(err),
    };
    if let Ok(bytes) = &outcome {
        // Not stored: the job fails and is tried again later.
        files.put(&file_key(row.organization_id, id), bytes.clone()).await.map_err(AppError::Unavailable)?;
    }
    let now = Utc::now();
    let update = report::Entity::update_many()
        .col_expr(report::Column::FinishedAt, Expr::value(Some(now)))
        .filter(report::Column::Id.eq(id))
        .filter(report::Column::Status.eq(ReportStatus::Pending));
    let ready = outcome.is_ok();
    let update = match outcome {
        Ok(_) => {
            let name = format!("{}-{}-{}.{}", kind.as_str(), row.period_from, row.period_to, format.as_str());
            update
                .col_expr(report::Column::Status, Expr::value(ReportStatus::Ready))
                .col_expr(report::Column::FileName, Expr::value(Some(name)))
                .col_expr(report::Column::ContentType, Expr::value(Some(format.content_type())))
        }
        Err(err) => {
            tracing::error!(report_id = id, error = %err, "report failed");
            update.col_expr(report::Column::Status, Expr::value(ReportStatus::Failed)).col_expr(
                report::Column::Error,
                Expr::value(Some(err.to_string().chars().take(500).collect::<String>())),
            )
        }
    };
    db::write(db, async |txn| {
        let changed = update.exec(txn).await?.rows_affected == 1;
        if changed && let Some(user) = row.requested_by {
            let key = if ready { "report.notice_ready" } else { "report.notice_failed" };
            let title = Msg::new(key).arg("kind", locale.text(kind.label_key())).render(locale);
            let notice = Notice::new(Event::ReportReady, title.clone(), title).user(Some(user)).link("/school/reports");
            notify::send(txn, org, notice).await?;
        }
        Ok(())
    })
    .await
}

/// Produces, in id order, the reports still pending (after a restart, or from
/// another process's requests).
pub async fn produce_pending(db: &DatabaseConnection, files: &FileStore) -> AppResult<u64> {
    let ids: Vec<i64> = report::Entity::find()
        .select_only()
        .column(report::Column::Id)
        .filter(report::Column::Status.eq(ReportStatus::Pending))
        .order_by_asc(report::Column::Id)
        .limit(20)
        .into_tuple()
        .all(db)
        .await?;
    for id in &ids {
        produce(db, files, *id).await?;
    }
    Ok(ids.len() as u64)
}

fn scoped(org: OrgId) -> sea_orm::Select<report::Entity> {
    report::Entity::find().filter(report::Column::OrganizationId.eq(org.get()))
}

/// The organization's latest report files (50), without their content.
pub async fn list(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Vec<ReportFile>> {
    let rows = scoped(org)
        .select_only()
        .columns([
            report::Column::Id,
            report::Column::OrganizationId,
            report::Column::Kind,
            report::Column::Format,
            report::Column::PeriodFrom,
            report::Column::PeriodTo,
            report::Column::Status,
            report::Column::RequestedBy,
            report::Column::CreatedAt,
            report::Column::FinishedAt,
            report::Column::FileName,
            report::Column::ContentType,
            report::Column::Error,
        ])
        .column_as(Expr::value(Option::<Vec<u8>>::None), "content")
        .order_by_desc(report::Column::Id)
        .limit(50)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(ReportFile::from).collect())
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<ReportFile> {
    list_one(db, org, id).await.map(ReportFile::from)
}

async fn list_one(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<report::Model> {
    scoped(org).filter(report::Column::Id.eq(id)).one(db).await?.ok_or(AppError::NotFound)
}

/// A ready report's file: name, type, bytes; 409 while pending or after a failure.
pub async fn download(
    db: &impl ConnectionTrait,
    files: &FileStore,
    org: OrgId,
    id: i64,
) -> AppResult<(String, String, Vec<u8>)> {
    let row = list_one(db, org, id).await?;
    match (row.status, row.file_name, row.content_type, row.content) {
        // Files made before the file store kept their bytes in the row.
        (ReportStatus::Ready, Some(name), Some(content_type), Some(content)) => Ok((name, content_type, content)),
        (ReportStatus::Ready, Some(name), Some(content_type), None) => {
            let bytes =
                files.get(&file_key(org.get(), id)).await.map_err(AppError::Unavailable)?.ok_or(AppError::NotFound)?;
            Ok((name, content_type, bytes))
        }
        (ReportStatus::Failed, ..) => Err(AppError::Conflict {
            code: "report_failed",
            field: None,
            message: Msg::new("report.production_failed"),
        }),
        _ => Err(AppError::Conflict { code: "report_not_ready", field: None, message: Msg::new("report.not_ready") }),
    }
}
