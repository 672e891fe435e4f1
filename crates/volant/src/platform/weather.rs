//! Hourly forecasts from an Open-Meteo-compatible service (`GET /v1/forecast`),
//! cached per area for 30 minutes: every lesson of an area reads one copy, and the
//! service is asked at most twice an hour per area whatever the number of lessons.
//! Only jobs ask it; pages read what the jobs stored (docs/integrations.md).

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};

use crate::platform::error::AppResult;

pub mod forecast {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "weather_forecasts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub area: String,
        pub latitude: f64,
        pub longitude: f64,
        pub hours: String,
        pub fetched_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// How long a forecast is used before the service is asked again.
pub const FRESH_FOR: chrono::Duration = chrono::Duration::minutes(30);

/// One hour of a forecast, starting at `at`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hour {
    pub at: DateTime<Utc>,
    /// Rain, showers and snow as water, over the hour (mm).
    pub precipitation_mm: f64,
    /// Air temperature at 2 m (°C).
    pub temperature_c: f64,
    /// Strongest gust at 10 m (km/h).
    pub wind_gusts_kmh: f64,
    /// Fresh snow over the hour (cm).
    pub snowfall_cm: f64,
}

/// A forecast and when the service gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub hours: Vec<Hour>,
    pub fetched_at: DateTime<Utc>,
}

/// The area a point belongs to: coordinates rounded to 0.05° (about 5 km), the
/// precision of the forecast models themselves.
pub fn area_of((latitude, longitude): (f64, f64)) -> (String, (f64, f64)) {
    let round = |v: f64| (v * 20.0).round() / 20.0;
    let (lat, lon) = (round(latitude), round(longitude));
    (format!("{lat:.2},{lon:.2}"), (lat, lon))
}

/// The forecast service's client.
pub struct WeatherService {
    client: reqwest::Client,
    base: String,
}

impl WeatherService {
    /// `timeout`: how long one request may take (10 s in production).
    pub fn new(base: &str, user_agent: &str, timeout: Duration) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(user_agent)
            .build()
            .map_err(|e| format!("weather client: {e}"))?;
        Ok(Self { client, base: base.to_owned() })
    }

    /// The next seven days, hour by hour, at a point.
    pub async fn fetch(&self, (latitude, longitude): (f64, f64)) -> Result<Vec<Hour>, String> {
        let (lat, lon) = (latitude.to_string(), longitude.to_string());
        let params = [
            ("latitude", lat.as_str()),
            ("longitude", lon.as_str()),
            ("hourly", "precipitation,temperature_2m,wind_gusts_10m,snowfall"),
            ("timezone", "GMT"),
            ("timeformat", "unixtime"),
            ("forecast_days", "7"),
        ];
        let url = crate::platform::geo::endpoint(&self.base, &["v1", "forecast"], &params)?;
        let response = self.client.get(url).send().await.map_err(crate::platform::outbound::describe)?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the weather service answered {status}"));
        }
        let body = response.bytes().await.map_err(crate::platform::outbound::describe)?;
        parse_forecast(&body)
    }
}

#[derive(Deserialize)]
struct Answer {
    hourly: Hourly,
}

#[derive(Deserialize)]
struct Hourly {
    time: Vec<i64>,
    precipitation: Vec<Option<f64>>,
    temperature_2m: Vec<Option<f64>>,
    wind_gusts_10m: Vec<Option<f64>>,
    snowfall: Vec<Option<f64>>,
}

/// Reads an Open-Meteo answer (`timeformat=unixtime`): hours whose figures are
/// missing (`null`) are left out; an answer without any usable hour is an error.
pub fn parse_forecast(body: &[u8]) -> Result<Vec<Hour>, String> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| format!("the weather service's answer is unreadable: {e}"))?;
    let h = answer.hourly;
    let mut hours = Vec::with_capacity(h.time.len());
    for (i, time) in h.time.iter().enumerate() {
        let value = |column: &[Option<f64>]| column.get(i).copied().flatten().filter(|v| v.is_finite());
        let (Some(at), Some(precipitation_mm), Some(temperature_c), Some(wind_gusts_kmh), Some(snowfall_cm)) = (
            DateTime::from_timestamp(*time, 0),
            value(&h.precipitation),
            value(&h.temperature_2m),
            value(&h.wind_gusts_10m),
            value(&h.snowfall),
        ) else {
            continue;
        };
        hours.push(Hour { at, precipitation_mm, temperature_c, wind_gusts_kmh, snowfall_cm });
    }
    if hours.is_empty() {
        return Err("the weather service's answer has no usable hour".to_owned());
    }
    Ok(hours)
}

/// The forecast of a point's area: the stored copy while fresh, else the
/// service's (then stored).
pub async fn forecast_at(
    db: &impl ConnectionTrait,
    service: &WeatherService,
    point: (f64, f64),
    now: DateTime<Utc>,
) -> AppResult<Result<Forecast, String>> {
    let (area, (latitude, longitude)) = area_of(point);
    if let Some(stored) = forecast::Entity::find_by_id(area.clone()).one(db).await?
        && stored.fetched_at + FRESH_FOR > now
        && let Ok(hours) = serde_json::from_str::<Vec<Hour>>(&stored.hours)
    {
        return Ok(Ok(Forecast { hours, fetched_at: stored.fetched_at }));
    }
    let hours = match service.fetch((latitude, longitude)).await {
        Ok(hours) => hours,
        Err(reason) => return Ok(Err(reason)),
    };
    let row = forecast::ActiveModel {
        area: Set(area),
        latitude: Set(latitude),
        longitude: Set(longitude),
        hours: Set(serde_json::to_string(&hours).unwrap_or_else(|_| "[]".to_owned())),
        fetched_at: Set(now),
    };
    forecast::Entity::insert(row)
        .on_conflict(
            OnConflict::column(forecast::Column::Area)
                .update_columns([forecast::Column::Hours, forecast::Column::FetchedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(Ok(Forecast { hours, fetched_at: now }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_meteo_answers_are_read() {
        let body = br#"{"latitude":45.75,"longitude":4.85,"hourly_units":{},"hourly":{
            "time":[1796716800,1796720400,1796724000],
            "precipitation":[0.4,null,2.5],
            "temperature_2m":[3.1,3.0,-1.5],
            "wind_gusts_10m":[20.0,25.0,80.2],
            "snowfall":[0.0,0.0,1.4]}}"#;
        let hours = parse_forecast(body).expect("parsed");
        assert_eq!(hours.len(), 2, "the hour with a missing figure is left out");
        assert_eq!(hours[1].wind_gusts_kmh, 80.2);
        assert_eq!(hours[1].at.timestamp(), 1_796_724_000);
        assert!(parse_forecast(b"{}").is_err());
        assert!(parse_forecast(b"not json").is_err());
        assert!(
            parse_forecast(
                br#"{"hourly":{"time":[],"precipitation":[],"temperature_2m":[],"wind_gusts_10m":[],"snowfall":[]}}"#
            )
            .is_err()
        );
    }

    #[test]
    fn areas_round_to_the_models_precision() {
        assert_eq!(area_of((45.7578, 4.8320)).0, "45.75,4.85");
        assert_eq!(area_of((45.7612, 4.8290)).0, area_of((45.7578, 4.8320)).0);
    }
}
