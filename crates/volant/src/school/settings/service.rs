//! The school's rules: daily lesson limit, cancellation notice, exam eligibility,
//! four-eyes validation, candidate self-booking; and its candidate numbering.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use rust_decimal::Decimal;

use super::entity::settings;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::Msg;
use crate::platform::money;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SchoolSettings {
    /// Most lesson minutes a candidate may have in one day.
    #[schema(minimum = 15, maximum = 720, example = 120)]
    pub daily_limit_minutes: i32,
    /// A cancellation closer than this to the lesson is counted as due.
    #[schema(example = 48)]
    pub cancellation_notice_hours: i32,
    /// Driving minutes done before a candidate may register for a practical exam.
    #[schema(example = 1200)]
    pub min_driving_minutes_for_exam: i32,
    /// An exam result is validated by someone else than the person who entered it.
    pub four_eyes: bool,
    /// Candidates may book free slots themselves from their portal.
    pub candidates_may_book: bool,
    /// One driving hour's price, in the organization's currency (revenue reports).
    #[serde(default)]
    #[schema(value_type = crate::platform::lines::DecimalInput, example = "52.00")]
    pub hour_price: Decimal,
    /// The prefecture's approval number (numéro d'agrément, article R213-1 of the
    /// Code de la route), printed on training contracts.
    #[serde(default)]
    #[schema(example = "E 21 075 0001 0")]
    pub approval_number: Option<String>,
}

impl Default for SchoolSettings {
    fn default() -> Self {
        Self {
            daily_limit_minutes: 120,
            cancellation_notice_hours: 48,
            min_driving_minutes_for_exam: 20 * 60,
            four_eyes: true,
            candidates_may_book: false,
            hour_price: Decimal::ZERO,
            approval_number: None,
        }
    }
}

impl SchoolSettings {
    fn from_row(m: &settings::Model, decimals: u32) -> Self {
        Self {
            hour_price: money::from_minor(m.hour_price_minor, decimals),
            daily_limit_minutes: m.daily_limit_minutes,
            cancellation_notice_hours: m.cancellation_notice_hours,
            min_driving_minutes_for_exam: m.min_driving_minutes_for_exam,
            four_eyes: m.four_eyes,
            candidates_may_book: m.candidates_may_book,
            approval_number: m.approval_number.clone(),
        }
    }
}

async fn currency_decimals(db: &impl ConnectionTrait, org: OrgId) -> AppResult<u32> {
    Ok(u32::from(organizations::get(db, org).await?.currency_decimals))
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId) -> AppResult<SchoolSettings> {
    let Some(row) = settings::Entity::find_by_id(org.get()).one(db).await? else {
        return Ok(SchoolSettings::default());
    };
    Ok(SchoolSettings::from_row(&row, currency_decimals(db, org).await?))
}

fn validate(input: &SchoolSettings, decimals: u32) -> AppResult<(i64, Option<String>)> {
    let mut v = Validator::new();
    let approval_number = v.optional_text("approval_number", input.approval_number.as_deref(), 40);
    let price = money::to_minor(money::round_money(input.hour_price, decimals), decimals)
        .filter(|p| (0..=100_000_000).contains(p));
    if price.is_none() || input.hour_price.is_sign_negative() {
        v.add("hour_price", Msg::new("school.price_invalid"));
    }
    if !(15..=12 * 60).contains(&input.daily_limit_minutes) {
        v.add("daily_limit_minutes", Msg::new("school.out_of_range").arg("min", 15).arg("max", 12 * 60));
    }
    if !(0..=14 * 24).contains(&input.cancellation_notice_hours) {
        v.add("cancellation_notice_hours", Msg::new("school.out_of_range").arg("min", 0).arg("max", 14 * 24));
    }
    if !(0..=200 * 60).contains(&input.min_driving_minutes_for_exam) {
        v.add("min_driving_minutes_for_exam", Msg::new("school.out_of_range").arg("min", 0).arg("max", 200 * 60));
    }
    v.finish()?;
    Ok((price.unwrap_or(0), approval_number))
}

fn row(
    org: OrgId,
    s: &SchoolSettings,
    hour_price_minor: i64,
    approval_number: Option<String>,
) -> settings::ActiveModel {
    settings::ActiveModel {
        organization_id: Set(org.get()),
        daily_limit_minutes: Set(s.daily_limit_minutes),
        cancellation_notice_hours: Set(s.cancellation_notice_hours),
        min_driving_minutes_for_exam: Set(s.min_driving_minutes_for_exam),
        four_eyes: Set(s.four_eyes),
        candidates_may_book: Set(s.candidates_may_book),
        last_candidate_number: Set(0),
        updated_at: Set(Utc::now()),
        hour_price_minor: Set(hour_price_minor),
        approval_number: Set(approval_number),
    }
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update<C: Writer>(db: &C, actor: &Actor, input: &SchoolSettings) -> AppResult<SchoolSettings> {
    let decimals = currency_decimals(db, actor.org).await?;
    let (hour_price_minor, approval_number) = validate(input, decimals)?;
    let before = get(db, actor.org).await?;
    db::write(db, async |txn| {
        settings::Entity::insert(row(actor.org, input, hour_price_minor, approval_number.clone()))
            .on_conflict(
                OnConflict::column(settings::Column::OrganizationId)
                    .update_columns([
                        settings::Column::DailyLimitMinutes,
                        settings::Column::CancellationNoticeHours,
                        settings::Column::MinDrivingMinutesForExam,
                        settings::Column::FourEyes,
                        settings::Column::CandidatesMayBook,
                        settings::Column::UpdatedAt,
                        settings::Column::HourPriceMinor,
                        settings::Column::ApprovalNumber,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        let saved = SchoolSettings {
            hour_price: money::from_minor(hour_price_minor, decimals),
            approval_number: approval_number.clone(),
            ..input.clone()
        };
        audit::record_change(txn, actor, ("school_settings", actor.org.get()), Some(&before), Some(&saved)).await?;
        Ok(saved)
    })
    .await
}

/// Takes the school's next candidate number in the caller's transaction (the row
/// is created with the defaults the first time).
pub async fn next_candidate_number(txn: &impl ConnectionTrait, org: OrgId) -> AppResult<i64> {
    let defaults = SchoolSettings::default();
    let statement = Query::insert()
        .into_table(settings::Entity)
        .columns([
            settings::Column::OrganizationId,
            settings::Column::DailyLimitMinutes,
            settings::Column::CancellationNoticeHours,
            settings::Column::MinDrivingMinutesForExam,
            settings::Column::FourEyes,
            settings::Column::CandidatesMayBook,
            settings::Column::LastCandidateNumber,
            settings::Column::UpdatedAt,
        ])
        .values_panic([
            org.get().into(),
            defaults.daily_limit_minutes.into(),
            defaults.cancellation_notice_hours.into(),
            defaults.min_driving_minutes_for_exam.into(),
            defaults.four_eyes.into(),
            defaults.candidates_may_book.into(),
            1_i64.into(),
            Utc::now().into(),
        ])
        .on_conflict(
            OnConflict::column(settings::Column::OrganizationId)
                .value(
                    settings::Column::LastCandidateNumber,
                    Expr::col((settings::Entity, settings::Column::LastCandidateNumber)).add(1),
                )
                .to_owned(),
        )
        .returning_col(settings::Column::LastCandidateNumber)
        .to_owned();
    let row = txn
        .query_one(&statement)
        .await?
        .ok_or_else(|| AppError::Internal("candidate counter returned nothing".to_owned()))?;
    Ok(row.try_get_by_index::<i64>(0)?)
}
