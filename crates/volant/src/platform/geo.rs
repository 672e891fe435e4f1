//! Where things are: each garage, client and meeting point has a place, written
//! with its address in the same transaction, then located by the `geo.locate`
//! job through a Nominatim-compatible geocoder (answers cached, one request at a
//! time with a pause between them, as the public service asks) or pinned by hand.
//! A geocoder that is down or slow never holds a page: the address is kept and the
//! job tries again later. See docs/integrations.md.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::platform::enums::string_enum;
use crate::platform::error::AppResult;
use crate::platform::tenant::OrgId;

pub mod place {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "places")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject_id: i64,
        pub organization_id: i64,
        pub address: String,
        pub latitude: Option<f64>,
        pub longitude: Option<f64>,
        pub status: super::LocationStatus,
        pub attempts: i32,
        pub next_try_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod geocoded {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "geocode_cache")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub query: String,
        pub latitude: Option<f64>,
        pub longitude: Option<f64>,
        pub label: Option<String>,
        pub fetched_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

string_enum! {
    /// Whether a place's coordinates are known, and how.
    #[derive(ToSchema)]
    pub enum LocationStatus (labels "geo.status.") {
        /// Its address waits for the geocoder.
        Pending,
        /// Found by the geocoder from its address.
        Located,
        /// Placed by hand on the map.
        Pinned,
        /// The geocoder does not know the address: a pin is needed.
        NotFound,
        /// The geocoder could not be reached: tried again later.
        Unavailable,
    }
}

string_enum! {
    /// What a place belongs to.
    pub enum Subject {
        Garage,
        Client,
        MeetingPoint,
    }
}

/// A place as pages and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Location {
    /// Degrees north (WGS 84); `null` until located.
    #[schema(example = 45.7578)]
    pub latitude: Option<f64>,
    /// Degrees east (WGS 84); `null` until located.
    #[schema(example = 4.8320)]
    pub longitude: Option<f64>,
    pub status: LocationStatus,
}

impl Location {
    pub const PENDING: Self = Self { latitude: None, longitude: None, status: LocationStatus::Pending };

    fn of(row: &place::Model) -> Self {
        Self { latitude: row.latitude, longitude: row.longitude, status: row.status }
    }

    pub fn point(&self) -> Option<(f64, f64)> {
        self.latitude.zip(self.longitude)
    }
}

/// Coordinates typed or sent: both or neither, each within its range.
pub fn check_pin(latitude: Option<f64>, longitude: Option<f64>) -> Result<Option<(f64, f64)>, &'static str> {
    match (latitude, longitude) {
        (None, None) => Ok(None),
        (Some(lat), Some(lon)) if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) => {
            Ok(Some((lat, lon)))
        }
        (Some(lat), Some(_)) if !(-90.0..=90.0).contains(&lat) => Err("latitude"),
        (Some(_), Some(_)) => Err("longitude"),
        (None, Some(_)) => Err("latitude"),
        (Some(_), None) => Err("longitude"),
    }
}

/// How a saved subject is to be placed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placing {
    /// From its address: a new address waits for the geocoder, an unchanged one
    /// keeps where it is (a pin stays until the address changes).
    Address,
    /// Pinned there by hand.
    Pin(f64, f64),
    /// From its address, even if it was pinned (the pin was taken away).
    Unpin,
}

impl Placing {
    /// Coordinates sent (both or neither, checked), or the pin taken away.
    pub fn of(pin: Option<(f64, f64)>, unpin: bool) -> Self {
        match pin {
            Some((lat, lon)) => Self::Pin(lat, lon),
            None if unpin => Self::Unpin,
            None => Self::Address,
        }
    }
}

/// Records a subject's address and how to place it (in its caller's transaction).
pub async fn record(
    txn: &impl ConnectionTrait,
    org: OrgId,
    (subject, id): (Subject, i64),
    address: &str,
    placing: Placing,
) -> AppResult<()> {
    let now = Utc::now();
    let address: String = address.trim().chars().take(600).collect();
    let current = place::Entity::find_by_id((subject.as_str().to_owned(), id)).one(txn).await?;
    let unchanged = current.as_ref().is_some_and(|c| c.address == address);
    let pinned = current.as_ref().is_some_and(|c| c.status == LocationStatus::Pinned);
    let pin = match placing {
        Placing::Pin(lat, lon) => Some((lat, lon)),
        Placing::Address if unchanged => return Ok(()),
        Placing::Unpin if unchanged && !pinned => return Ok(()),
        Placing::Address | Placing::Unpin => None,
    };
    let (latitude, longitude) = pin.map_or((None, None), |(lat, lon)| (Some(lat), Some(lon)));
    let status = if pin.is_some() { LocationStatus::Pinned } else { LocationStatus::Pending };
    let row = place::ActiveModel {
        subject: Set(subject.as_str().to_owned()),
        subject_id: Set(id),
        organization_id: Set(org.get()),
        address: Set(address),
        latitude: Set(latitude),
        longitude: Set(longitude),
        status: Set(status),
        attempts: Set(0),
        next_try_at: Set(now),
        updated_at: Set(now),
    };
    place::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([place::Column::Subject, place::Column::SubjectId])
                .update_columns([
                    place::Column::Address,
                    place::Column::Latitude,
                    place::Column::Longitude,
                    place::Column::Status,
                    place::Column::Attempts,
                    place::Column::NextTryAt,
                    place::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    if status == LocationStatus::Pending {
        // One run for all the addresses saved in five seconds (an import of a
        // thousand clients queues a few runs, not a thousand).
        let job = crate::platform::jobs::NewJob::new(LOCATE_JOB, serde_json::json!({}))
            .coalesced(LOCATE_JOB, Duration::from_secs(5));
        crate::platform::jobs::enqueue(txn, job).await?;
    }
    Ok(())
}

/// Forgets a subject's place (with the subject, in its transaction).
pub async fn forget(txn: &impl ConnectionTrait, (subject, id): (Subject, i64)) -> AppResult<()> {
    place::Entity::delete_many()
        .filter(place::Column::Subject.eq(subject.as_str()))
        .filter(place::Column::SubjectId.eq(id))
        .exec(txn)
        .await?;
    Ok(())
}

/// The places of some subjects of an organization, in one query (a subject
/// without a row has none: [`Location::PENDING`] for one with an address).
pub async fn locations(
    db: &impl ConnectionTrait,
    org: OrgId,
    subject: Subject,
    ids: &[i64],
) -> AppResult<HashMap<i64, Location>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = place::Entity::find()
        .filter(place::Column::OrganizationId.eq(org.get()))
        .filter(place::Column::Subject.eq(subject.as_str()))
        .filter(place::Column::SubjectId.is_in(ids.iter().copied()))
        .all(db)
        .await?;
    Ok(rows.iter().map(|row| (row.subject_id, Location::of(row))).collect())
}

/// Every located subject of a kind in an organization (id and coordinates): at
/// most 5,000, nearest first is the caller's business.
pub async fn located(db: &impl ConnectionTrait, org: OrgId, subject: Subject) -> AppResult<HashMap<i64, (f64, f64)>> {
    let rows: Vec<(i64, Option<f64>, Option<f64>)> = place::Entity::find()
        .select_only()
        .column(place::Column::SubjectId)
        .column(place::Column::Latitude)
        .column(place::Column::Longitude)
        .filter(place::Column::OrganizationId.eq(org.get()))
        .filter(place::Column::Subject.eq(subject.as_str()))
        .filter(place::Column::Latitude.is_not_null())
        .limit(5000)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().filter_map(|(id, lat, lon)| Some((id, (lat?, lon?)))).collect())
}

/// The distance between two points along the Earth's surface (haversine, mean
/// radius 6,371 km), in kilometres: as the crow flies, not by road.
pub fn distance_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * 6371.0 * a.sqrt().min(1.0).asin()
}

/// A distance as a page shows it: `850 m`, `12,4 km`, `135 km`.
pub fn format_km(km: f64) -> String {
    if km < 1.0 {
        format!("{} m", ((km * 1000.0 / 10.0).round() * 10.0) as i64)
    } else if km < 100.0 {
        format!("{:.1} km", km).replace('.', ",")
    } else {
        format!("{} km", km.round() as i64)
    }
}

/// What a page's map needs: the tiles, their attribution, and whether addresses
/// are located by a geocoder (otherwise pages say that places are pinned by hand).
#[derive(Debug, Clone)]
pub struct MapView {
    pub tiles: String,
    pub attribution: String,
    pub geocoder: bool,
    /// Who found the places from their addresses (when a geocoder does).
    pub geocoder_credit: Option<String>,
}

impl MapView {
    pub fn of(config: &crate::platform::config::Config) -> Self {
        Self {
            tiles: config.geo.tile_url.clone(),
            attribution: config.geo.attribution.clone(),
            geocoder: config.geo.geocoder_url.is_some(),
            geocoder_credit: config.geo.geocoder_url.as_ref().map(|_| config.geo.geocoder_attribution.clone()),
        }
    }

    /// The sentence that says where a place stands (the key in the catalogues).
    pub fn status_key(&self, status: LocationStatus) -> &'static str {
        match status {
            LocationStatus::Pending if !self.geocoder => "geo.no_geocoder",
            other => other.label_key(),
        }
    }
}

/// A point on a map: its name, a line under it, where it leads.
#[derive(Debug, Clone)]
pub struct MapPoint {
    pub label: String,
    pub detail: String,
    pub href: String,
    pub lat: String,
    pub lon: String,
}

impl MapPoint {
    pub fn new(label: &str, detail: &str, href: String, (lat, lon): (f64, f64)) -> Self {
        Self { label: label.to_owned(), detail: detail.to_owned(), href, lat: lat.to_string(), lon: lon.to_string() }
    }
}

/// What a form's position fields mean for a subject pinned at `pinned_at` (if it
/// is): blank fields take the pin away; the same pin sent again under a new
/// address is the form's copy, not a choice (the new address is located).
/// Returns the pin to place and whether to take the pin away.
pub fn form_pin(
    typed: Option<(f64, f64)>,
    pinned_at: Option<(f64, f64)>,
    address_changed: bool,
) -> (Option<(f64, f64)>, bool) {
    match (typed, pinned_at) {
        (None, Some(_)) => (None, true),
        (Some(pin), Some(at)) if pin == at && address_changed => (None, false),
        (typed, _) => (typed, false),
    }
}

/// A form's latitude and longitude fields (`45,76` or `45.76`; blank is none),
/// or a 422 naming the first that is not a number.
pub fn form_coordinates(
    latitude: &str,
    longitude: &str,
) -> Result<(Option<f64>, Option<f64>), crate::platform::error::AppError> {
    let read = |field: &'static str, text: &str| {
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.replace(',', ".").parse::<f64>().ok().filter(|v| v.is_finite()).map(Some).ok_or_else(|| {
            crate::platform::error::AppError::validation(field, crate::platform::i18n::Msg::new("field.not_a_number"))
        })
    };
    Ok((read("latitude", latitude)?, read("longitude", longitude)?))
}

/// The job that locates places waiting for the geocoder.
pub const LOCATE_JOB: &str = "geo.locate";

/// Places one run of the job locates at most (at one request a second, a minute's work).
const BATCH: u64 = 60;

/// How long the geocoder's answers are trusted: addresses do not move, but a miss
/// may be found once the map knows a new street.
const CACHE_FOUND: chrono::Duration = chrono::Duration::days(180);
const CACHE_MISSED: chrono::Duration = chrono::Duration::days(7);

/// What asking the geocoder gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Geocoded {
    Found { latitude: f64, longitude: f64, label: String },
    NotFound,
}

/// A Nominatim-compatible geocoder (`GET /search?q=…&format=jsonv2`), one
/// request at a time with `interval` between them.
pub struct Geocoder {
    client: reqwest::Client,
    base: String,
    interval: Duration,
    last: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

impl Geocoder {
    /// `timeout`: how long one request may take (10 s in production).
    pub fn new(base: &str, interval: Duration, user_agent: &str, timeout: Duration) -> Result<Self, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(user_agent)
            .build()
            .map_err(|e| format!("geocoder client: {e}"))?;
        Ok(Self { client, base: base.to_owned(), interval, last: tokio::sync::Mutex::new(None) })
    }

    /// Asks the geocoder for an address (after the pause since the last request);
    /// its lines are sent as one, separated by commas.
    pub async fn search(&self, address: &str) -> Result<Geocoded, String> {
        let query = address.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(", ");
        let mut last = self.last.lock().await;
        if let Some(at) = *last {
            tokio::time::sleep_until(at + self.interval).await;
        }
        *last = Some(tokio::time::Instant::now());
        let params = [("q", query.as_str()), ("format", "jsonv2"), ("limit", "1"), ("accept-language", "fr")];
        let url = endpoint(&self.base, &["search"], &params)?;
        let response = self.client.get(url).send().await.map_err(crate::platform::outbound::describe)?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the geocoder answered {status}"));
        }
        let body = response.bytes().await.map_err(crate::platform::outbound::describe)?;
        parse_search(&body)
    }
}

/// A service's address with a path under its base (which may hold a path and a
/// query, such as a key) and more query parameters.
pub fn endpoint(base: &str, path: &[&str], params: &[(&str, &str)]) -> Result<url::Url, String> {
    let mut url = url::Url::parse(base).map_err(|e| format!("the service's address: {e}"))?;
    url.path_segments_mut()
        .map_err(|()| "the service's address cannot have a path".to_owned())?
        .pop_if_empty()
        .extend(path);
    url.query_pairs_mut().extend_pairs(params);
    Ok(url)
}

/// Reads a Nominatim search answer: an array whose first element has `lat` and
/// `lon` (strings, as Nominatim writes them, or numbers) and `display_name`.
pub fn parse_search(body: &[u8]) -> Result<Geocoded, String> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the geocoder's answer is not JSON: {e}"))?;
    let Some(results) = value.as_array() else {
        return Err("the geocoder's answer is not a list".to_owned());
    };
    let Some(first) = results.first() else {
        return Ok(Geocoded::NotFound);
    };
    let number = |name: &str| match first.get(name) {
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        _ => None,
    };
    match check_pin(number("lat"), number("lon")) {
        Ok(Some((latitude, longitude))) => {
            let label = first.get("display_name").and_then(|v| v.as_str()).unwrap_or_default();
            Ok(Geocoded::Found { latitude, longitude, label: label.chars().take(600).collect() })
        }
        _ => Err("the geocoder's answer has no valid coordinates".to_owned()),
    }
}

/// How the cache names a query: trimmed, lower case, single spaces.
fn cache_key(address: &str) -> String {
    address.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase().chars().take(600).collect()
}

/// The next try after `attempts` failures: 2, 4, 8… minutes, at most six hours.
fn retry_after(attempts: i32) -> chrono::Duration {
    let minutes = 2_i64.saturating_pow(u32::try_from(attempts.clamp(1, 20)).unwrap_or(1));
    chrono::Duration::minutes(minutes.min(360))
}

/// Locates the places waiting for the geocoder (the `geo.locate` job): from the
/// cache, or by asking the geocoder. When it cannot be reached the places are
/// marked `unavailable` and tried again later, and the run stops there. Without a
/// geocoder configured, nothing is done (pins still work).
pub async fn locate_due(db: &DatabaseConnection, geocoder: Option<&Geocoder>, now: DateTime<Utc>) -> AppResult<usize> {
    let Some(geocoder) = geocoder else {
        return Ok(0);
    };
    // Answers past their use are forgotten (the cache is not an address book).
    {
        let _turn = crate::platform::db::Writer::write_turn(db).await;
        geocoded::Entity::delete_many().filter(geocoded::Column::FetchedAt.lt(now - CACHE_FOUND)).exec(db).await?;
    }
    let due = place::Entity::find()
        .filter(place::Column::Status.is_in([LocationStatus::Pending, LocationStatus::Unavailable]))
        .filter(place::Column::NextTryAt.lte(now))
        .order_by_asc(place::Column::NextTryAt)
        .limit(BATCH)
        .all(db)
        .await?;
    let mut located = 0;
    for row in due {
        if !claim(db, &row, now).await? {
            continue;
        }
        let key = cache_key(&row.address);
        let cached = geocoded::Entity::find_by_id(key.clone()).one(db).await?.filter(|c| {
            let keep = if c.latitude.is_some() { CACHE_FOUND } else { CACHE_MISSED };
            c.fetched_at + keep > now
        });
        let answer = match cached {
            Some(c) => match c.latitude.zip(c.longitude) {
                Some((latitude, longitude)) => {
                    Ok(Geocoded::Found { latitude, longitude, label: c.label.unwrap_or_default() })
                }
                None => Ok(Geocoded::NotFound),
            },
            None => {
                let answer = geocoder.search(&row.address).await;
                if let Ok(found) = &answer {
                    remember(db, &key, found, Utc::now()).await?;
                }
                answer
            }
        };
        let failed = answer.is_err();
        settle(db, &row, answer, Utc::now()).await?;
        if failed {
            break;
        }
        located += 1;
    }
    Ok(located)
}

/// Takes a place for this run (another run skips it for two minutes), unless
/// another run took it first.
async fn claim(db: &DatabaseConnection, row: &place::Model, now: DateTime<Utc>) -> AppResult<bool> {
    let _turn = crate::platform::db::Writer::write_turn(db).await;
    let taken = place::Entity::update_many()
        .filter(place::Column::Subject.eq(row.subject.as_str()))
        .filter(place::Column::SubjectId.eq(row.subject_id))
        .filter(place::Column::NextTryAt.eq(row.next_try_at))
        .filter(place::Column::Status.eq(row.status))
        .col_expr(place::Column::NextTryAt, Expr::value(now + chrono::Duration::minutes(2)))
        .exec(db)
        .await?;
    Ok(taken.rows_affected == 1)
}

async fn remember(db: &impl ConnectionTrait, key: &str, found: &Geocoded, now: DateTime<Utc>) -> AppResult<()> {
    let (latitude, longitude, label) = match found {
        Geocoded::Found { latitude, longitude, label } => (Some(*latitude), Some(*longitude), Some(label.clone())),
        Geocoded::NotFound => (None, None, None),
    };
    let row = geocoded::ActiveModel {
        query: Set(key.to_owned()),
        latitude: Set(latitude),
        longitude: Set(longitude),
        label: Set(label),
        fetched_at: Set(now),
    };
    geocoded::Entity::insert(row)
        .on_conflict(
            OnConflict::column(geocoded::Column::Query)
                .update_columns([
                    geocoded::Column::Latitude,
                    geocoded::Column::Longitude,
                    geocoded::Column::Label,
                    geocoded::Column::FetchedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Writes what became of a place, unless it changed meanwhile (a pin, a new
/// address): only the row as it was read is updated.
async fn settle(
    db: &DatabaseConnection,
    row: &place::Model,
    answer: Result<Geocoded, String>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut update = place::Entity::update_many()
        .filter(place::Column::Subject.eq(row.subject.as_str()))
        .filter(place::Column::SubjectId.eq(row.subject_id))
        .filter(place::Column::Address.eq(row.address.as_str()))
        .filter(place::Column::Status.eq(row.status))
        .col_expr(place::Column::UpdatedAt, Expr::value(now));
    update = match answer {
        Ok(Geocoded::Found { latitude, longitude, .. }) => update
            .col_expr(place::Column::Status, Expr::value(LocationStatus::Located))
            .col_expr(place::Column::Latitude, Expr::value(Some(latitude)))
            .col_expr(place::Column::Longitude, Expr::value(Some(longitude)))
            .col_expr(place::Column::Attempts, Expr::value(0)),
        Ok(Geocoded::NotFound) => update
            .col_expr(place::Column::Status, Expr::value(LocationStatus::NotFound))
            .col_expr(place::Column::Attempts, Expr::value(0)),
        Err(reason) => {
            tracing::warn!(subject = %row.subject, id = row.subject_id, %reason, "geocoder unavailable: tried again later");
            let attempts = row.attempts.saturating_add(1);
            update
                .col_expr(place::Column::Status, Expr::value(LocationStatus::Unavailable))
                .col_expr(place::Column::Attempts, Expr::value(attempts))
                .col_expr(place::Column::NextTryAt, Expr::value(now + retry_after(attempts)))
        }
    };
    let _turn = crate::platform::db::Writer::write_turn(db).await;
    update.exec(db).await?;
    Ok(())
}

/// Makes the places whose geocoder was unreachable due now (an operator who
/// fixed the geocoder's address, a test).
pub async fn retry_unavailable(db: &DatabaseConnection, org: OrgId) -> AppResult<u64> {
    let _turn = crate::platform::db::Writer::write_turn(db).await;
    let result = place::Entity::update_many()
        .filter(place::Column::OrganizationId.eq(org.get()))
        .filter(place::Column::Status.eq(LocationStatus::Unavailable))
        .col_expr(place::Column::NextTryAt, Expr::value(Utc::now()))
        .exec(db)
        .await?;
    Ok(result.rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_great_circle() {
        let paris = (48.8566, 2.3522);
        let lyon = (45.7640, 4.8357);
        let km = distance_km(paris, lyon);
        assert!((km - 391.5).abs() < 1.0, "{km}");
        assert!(distance_km(lyon, lyon).abs() < 1e-9);
        assert_eq!(format_km(0.853), "850 m");
        assert_eq!(format_km(12.44), "12,4 km");
        assert_eq!(format_km(391.5), "392 km");
    }

    #[test]
    fn pins_need_both_coordinates_within_range() {
        assert_eq!(check_pin(Some(45.0), Some(4.0)), Ok(Some((45.0, 4.0))));
        assert_eq!(check_pin(None, None), Ok(None));
        assert_eq!(check_pin(Some(91.0), Some(4.0)), Err("latitude"));
        assert_eq!(check_pin(Some(45.0), Some(181.0)), Err("longitude"));
        assert_eq!(check_pin(Some(45.0), None), Err("longitude"));
    }

    #[test]
    fn nominatim_answers_are_read() {
        let found = parse_search(br#"[{"lat":"45.7578","lon":"4.8320","display_name":"Lyon"}]"#);
        assert_eq!(found, Ok(Geocoded::Found { latitude: 45.7578, longitude: 4.832, label: "Lyon".into() }));
        assert_eq!(parse_search(b"[]"), Ok(Geocoded::NotFound));
        assert!(parse_search(b"<html>").is_err());
        assert!(parse_search(br#"{"error":"x"}"#).is_err());
        assert!(parse_search(br#"[{"lat":"999","lon":"4"}]"#).is_err());
    }

    #[test]
    fn a_form_takes_its_pin_away_or_lets_a_new_address_be_found() {
        let at = Some((45.0, 4.0));
        assert_eq!(form_pin(None, at, false), (None, true), "fields emptied: unpinned");
        assert_eq!(form_pin(at, at, true), (None, false), "new address, pin untouched: located");
        assert_eq!(form_pin(at, at, false), (at, false));
        assert_eq!(form_pin(Some((46.0, 5.0)), at, true), (Some((46.0, 5.0)), false), "moved with the address");
        assert_eq!(form_pin(None, None, true), (None, false));
    }

    #[test]
    fn endpoints_keep_the_base_path_and_query() {
        let base = "https://geo.example/api/?key=K";
        let url = endpoint(base, &["search"], &[("q", "1 rue A, Lyon")]).expect("url");
        assert_eq!(url.as_str(), "https://geo.example/api/search?key=K&q=1+rue+A%2C+Lyon");
        let local = "http://127.0.0.1:8080";
        let url = endpoint(local, &["v1", "forecast"], &[]).expect("url");
        assert_eq!(url.as_str(), "http://127.0.0.1:8080/v1/forecast?");
    }

    #[test]
    fn retries_wait_longer_each_time() {
        assert_eq!(retry_after(1).num_minutes(), 2);
        assert_eq!(retry_after(3).num_minutes(), 8);
        assert_eq!(retry_after(30).num_minutes(), 360);
    }
}
