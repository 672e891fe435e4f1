//! The school's weather page: whether forecasts are on, the thresholds, and the
//! coming lessons at risk.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self, RiskLevel, WeatherSettings};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

pub fn routes() -> Routes {
    vec![("/school/weather", get(weather_page).post(save))]
}

#[derive(Template, WebTemplate)]
#[template(path = "school/weather/settings.html")]
struct WeatherPage {
    page: PageCtx,
    s: WeatherSettings,
    /// Whether a weather service is configured (otherwise the page says so).
    service: bool,
    /// Whether the school has a located meeting point (forecasts need one).
    located: bool,
    /// Each hazard's row: field names (medium, high), label, values.
    values: Vec<(&'static str, &'static str, &'static str, String, String)>,
    errors: FormErrors,
}

type Row = (&'static str, &'static str, &'static str, String, String);

fn rows_of(s: &WeatherSettings) -> Vec<Row> {
    let n = |x: f64| format!("{x}");
    vec![
        ("rain_medium_mm", "rain_high_mm", "weather.rain_mm", n(s.rain_medium_mm), n(s.rain_high_mm)),
        ("heat_medium_c", "heat_high_c", "weather.heat_c", n(s.heat_medium_c), n(s.heat_high_c)),
        ("wind_medium_kmh", "wind_high_kmh", "weather.wind_kmh", n(s.wind_medium_kmh), n(s.wind_high_kmh)),
        ("snow_medium_cm", "snow_high_cm", "weather.snow_cm", n(s.snow_medium_cm), n(s.snow_high_cm)),
    ]
}

impl WeatherPage {
    fn new(
        page: PageCtx,
        caller: &Caller,
        s: WeatherSettings,
        values: Vec<Row>,
        (located, errors): (bool, FormErrors),
    ) -> Self {
        Self { page, s, service: caller.config.geo.weather_url.is_some(), located, values, errors }
    }
}

async fn located(caller: &Caller) -> Result<bool, crate::platform::error::AppError> {
    let positions = crate::school::meeting_points::service::positions(&caller.db, caller.org).await?;
    Ok(positions.of(None).is_some())
}

async fn weather_page(caller: Caller, page: PageCtx) -> WebResult<WeatherPage> {
    let s = service::settings(&caller.db, caller.org).await?;
    let located = located(&caller).await?;
    let values = rows_of(&s);
    Ok(WeatherPage::new(page, &caller, s, values, (located, FormErrors::default())))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WeatherForm {
    enabled: Option<String>,
    rain_medium_mm: String,
    rain_high_mm: String,
    heat_medium_c: String,
    heat_high_c: String,
    wind_medium_kmh: String,
    wind_high_kmh: String,
    snow_medium_cm: String,
    snow_high_cm: String,
}

async fn save(caller: Caller, page: PageCtx, FormBody(form): FormBody<WeatherForm>) -> WebResult<Response> {
    let tr = i18n::current();
    let mut errors = FormErrors::default();
    let mut number = |field: &str, text: &str| match text.trim().replace(',', ".").parse::<f64>() {
        Ok(value) if value.is_finite() => value,
        _ => {
            errors.add(field, Msg::new("field.not_a_number").render(tr));
            f64::NAN
        }
    };
    let input = WeatherSettings {
        enabled: form.enabled.is_some(),
        rain_medium_mm: number("rain_medium_mm", &form.rain_medium_mm),
        rain_high_mm: number("rain_high_mm", &form.rain_high_mm),
        heat_medium_c: number("heat_medium_c", &form.heat_medium_c),
        heat_high_c: number("heat_high_c", &form.heat_high_c),
        wind_medium_kmh: number("wind_medium_kmh", &form.wind_medium_kmh),
        wind_high_kmh: number("wind_high_kmh", &form.wind_high_kmh),
        snow_medium_cm: number("snow_medium_cm", &form.snow_medium_cm),
        snow_high_cm: number("snow_high_cm", &form.snow_high_cm),
    };
    if errors.is_empty() {
        match service::update_settings(&caller.db, &caller.actor, &input).await {
            Ok(_) => return Ok(redirect_with_flash("/school/weather", "success", tr.text("weather.saved"))),
            Err(err) => errors = FormErrors::from_app_error(err)?,
        }
    }
    let located = located(&caller).await?;
    // What was typed is shown again as typed.
    let typed =
        |(medium, high, label, _, _): Row, (m, h): (&String, &String)| (medium, high, label, m.clone(), h.clone());
    let values = rows_of(&input)
        .into_iter()
        .zip([
            (&form.rain_medium_mm, &form.rain_high_mm),
            (&form.heat_medium_c, &form.heat_high_c),
            (&form.wind_medium_kmh, &form.wind_high_kmh),
            (&form.snow_medium_cm, &form.snow_high_cm),
        ])
        .map(|(row, text)| typed(row, text))
        .collect();
    Ok(unprocessable(WeatherPage::new(page, &caller, input, values, (located, errors))))
}

/// The badge a lesson's risk shows on the planning (none for a low risk).
pub fn badge(risk: Option<RiskLevel>) -> Option<(&'static str, &'static str)> {
    match risk {
        Some(RiskLevel::High) => Some(("high", "weather.badge_high")),
        Some(RiskLevel::Medium) => Some(("medium", "weather.badge_medium")),
        _ => None,
    }
}
