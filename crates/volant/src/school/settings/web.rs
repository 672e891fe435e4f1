//! The school's rules page (staff).

use std::str::FromStr;

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::service::{self as settings, SchoolSettings};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

pub fn routes() -> Routes {
    vec![("/school/settings", get(settings_page).post(save_settings))]
}

#[derive(Template, WebTemplate)]
#[template(path = "school/settings/form.html")]
struct SettingsPage {
    page: PageCtx,
    s: SchoolSettings,
    errors: FormErrors,
}

async fn settings_page(caller: Caller, page: PageCtx) -> WebResult<SettingsPage> {
    Ok(SettingsPage { s: settings::get(&caller.db, caller.org).await?, page, errors: FormErrors::default() })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    daily_limit_hours: String,
    cancellation_notice_hours: String,
    min_driving_hours_for_exam: String,
    hour_price: String,
    approval_number: String,
    four_eyes: Option<String>,
    candidates_may_book: Option<String>,
}

fn minutes_of(text: &str) -> Option<i32> {
    use rust_decimal::prelude::ToPrimitive;
    Decimal::from_str(&text.trim().replace(',', ".")).ok().and_then(|h| (h * Decimal::from(60)).round().to_i32())
}

async fn save_settings(caller: Caller, page: PageCtx, FormBody(form): FormBody<SettingsForm>) -> WebResult<Response> {
    let tr = i18n::current();
    let mut errors = FormErrors::default();
    let mut number = |field: &str, value: Option<i32>| {
        if value.is_none() {
            errors.add(field, Msg::new("field.not_a_number").render(tr));
        }
        value.unwrap_or(-1)
    };
    let input = SchoolSettings {
        daily_limit_minutes: number("daily_limit_hours", minutes_of(&form.daily_limit_hours)),
        cancellation_notice_hours: number(
            "cancellation_notice_hours",
            form.cancellation_notice_hours.trim().parse().ok(),
        ),
        min_driving_minutes_for_exam: number(
            "min_driving_hours_for_exam",
            minutes_of(&form.min_driving_hours_for_exam),
        ),
        four_eyes: form.four_eyes.is_some(),
        candidates_may_book: form.candidates_may_book.is_some(),
        hour_price: Decimal::from_str(&form.hour_price.trim().replace(',', ".")).unwrap_or(Decimal::NEGATIVE_ONE),
        approval_number: Some(form.approval_number).filter(|a| !a.trim().is_empty()),
    };
    if errors.is_empty() {
        match settings::update(&caller.db, &caller.actor, &input).await {
            Ok(_) => return Ok(redirect_with_flash("/school/settings", "success", tr.text("school_settings.saved"))),
            Err(err) => errors = FormErrors::from_app_error(err)?,
        }
    }
    Ok(unprocessable(SettingsPage { page, s: input, errors }))
}
