//! Organizations: the tenants every row belongs to.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{self, Entity as Organizations};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::{Locale, Msg};
use crate::platform::money::Currency;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

/// France's rates: standard, intermediate, reduced, super-reduced.
const DEFAULT_VAT_RATES: &str = r#"["20","10","5.5","2.1"]"#;

/// An organization's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    pub address: Option<String>,
    /// ISO 4217 code.
    #[schema(value_type = String)]
    pub currency: Currency,
    /// Digits after the decimal point for this currency (EUR 2, XOF 0).
    pub currency_decimals: u8,
    /// VAT rates in percent, as decimal strings (`"5.5"`).
    pub vat_rates: Vec<String>,
    /// `fr` or `en`: the language of the pages.
    #[schema(value_type = String)]
    pub locale: Locale,
    /// IANA time zone, e.g. `Europe/Paris`, `Africa/Dakar`.
    pub time_zone: String,
}

impl From<entity::Model> for Organization {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            currency_decimals: m.currency.minor_digits(),
            name: m.name,
            address: m.address,
            currency: m.currency,
            vat_rates: m.vat_rates.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default(),
            locale: m.locale,
            time_zone: m.time_zone,
        }
    }
}

/// Some settings (absent fields are kept; `null` clears the address).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "crate::platform::http::extract::double_option")]
    pub address: Option<Option<String>>,
    pub currency: Option<String>,
    pub vat_rates: Option<Vec<String>>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Organization> {
    Organizations::find_by_id(org.get()).one(db).await?.map(Organization::from).ok_or(AppError::NotFound)
}

/// An organization's time zone, where its local days and hours are.
pub async fn zone(db: &impl ConnectionTrait, org: OrgId) -> AppResult<chrono_tz::Tz> {
    get(db, org).await?.zone()
}

impl Organization {
    /// Its time zone. Every write checks it, so one that does not parse is a
    /// damaged row: an internal error, never silently another zone.
    pub fn zone(&self) -> AppResult<chrono_tz::Tz> {
        self.time_zone.parse().map_err(|_| {
            AppError::Internal(format!("organization {}: unknown time zone {:?}", self.id, self.time_zone))
        })
    }
}

fn check_vat_rate(rate: &str) -> bool {
    let rate = rate.trim();
    let (int, frac) = rate.split_once('.').unwrap_or((rate, ""));
    !int.is_empty()
        && int.len() <= 2
        && frac.len() <= 2
        && int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
        && !(rate.contains('.') && frac.is_empty())
}

/// A real IANA zone name (`Europe/Paris`, `Africa/Dakar`, `UTC`).
fn check_time_zone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

/// Changes the settings, audited in the same transaction.
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update<C: Writer>(
    db: &C,
    actor: &crate::identity::audit::Actor,
    patch: OrganizationPatch,
) -> AppResult<Organization> {
    let before = get(db, actor.org).await?;
    let mut v = Validator::new();
    let name = match &patch.name {
        Some(name) => v.required_text("name", Some(name), 120),
        None => Some(before.name.clone()),
    };
    let address = match &patch.address {
        Some(address) => v.optional_text("address", address.as_deref(), 255),
        None => before.address.clone(),
    };
    let currency = match patch.currency.as_deref() {
        Some(code) => currency(&mut v, code),
        None => Some(before.currency),
    };
    let vat_rates: Vec<String> = patch
        .vat_rates
        .clone()
        .map_or(before.vat_rates.clone(), |r| r.iter().map(|x| x.trim().replace(',', ".")).collect());
    if vat_rates.len() > 10 || !vat_rates.iter().all(|r| check_vat_rate(r)) {
        v.add("vat_rates", Msg::new("organization.vat_invalid"));
    }
    let locale = match patch.locale.as_deref() {
        Some(code) => locale(&mut v, code),
        None => Some(before.locale),
    };
    let time_zone = patch.time_zone.as_deref().map_or(before.time_zone.clone(), |t| t.trim().to_owned());
    if !check_time_zone(&time_zone) {
        v.add("time_zone", Msg::new("organization.time_zone_invalid"));
    }
    v.finish()?;
    db::write(db, async |txn| {
        let model = Organizations::find_by_id(actor.org.get()).one(txn).await?.ok_or(AppError::NotFound)?;
        let mut active: entity::ActiveModel = model.into();
        active.name = Set(name.unwrap_or_default());
        active.address = Set(address);
        active.currency = Set(currency.unwrap_or(before.currency));
        active.vat_rates = Set(Some(serde_json::to_string(&vat_rates).unwrap_or_else(|_| "[]".into())));
        active.locale = Set(locale.unwrap_or(before.locale));
        active.time_zone = Set(time_zone);
        active.updated_at = Set(Utc::now());
        active.update(txn).await?;
        let after = get(txn, actor.org).await?;
        crate::identity::audit::record_change(
            txn,
            actor,
            ("organization", actor.org.get()),
            Some(&before),
            Some(&after),
        )
        .await?;
        Ok(after)
    })
    .await
}

/// A supported currency, its code given in any case.
fn currency(v: &mut Validator, code: &str) -> Option<Currency> {
    let currency = Currency::parse(&code.trim().to_uppercase());
    if currency.is_none() {
        v.add("currency", Msg::new("organization.currency_unknown"));
    }
    currency
}

/// A language of the pages.
fn locale(v: &mut Validator, code: &str) -> Option<Locale> {
    let locale = Locale::parse(code);
    if locale.is_none() {
        v.add("locale", Msg::new("organization.locale_unknown"));
    }
    locale
}

/// What a new organization is made of.
#[derive(Debug, Clone)]
pub struct NewOrganization {
    pub name: String,
    pub currency: String,
    pub locale: String,
    pub time_zone: String,
}

impl Default for NewOrganization {
    fn default() -> Self {
        Self {
            name: "Mon organisation".to_owned(),
            currency: "EUR".to_owned(),
            locale: "fr".to_owned(),
            time_zone: "Europe/Paris".to_owned(),
        }
    }
}

/// Creates an organization under the same rules as its settings: a name, a
/// supported currency (code in any case), a known language and time zone.
pub async fn create(db: &impl ConnectionTrait, new: NewOrganization) -> AppResult<OrgId> {
    let mut v = Validator::new();
    let name = v.required_text("name", Some(&new.name), 120);
    let currency = currency(&mut v, &new.currency);
    let locale = locale(&mut v, &new.locale);
    let time_zone = new.time_zone.trim().to_owned();
    if !check_time_zone(&time_zone) {
        v.add("time_zone", Msg::new("organization.time_zone_invalid"));
    }
    v.finish()?;
    let now = Utc::now();
    let model = entity::ActiveModel {
        name: Set(name.unwrap_or_default()),
        currency: Set(currency.unwrap_or(Currency::EUR)),
        locale: Set(locale.unwrap_or_default()),
        time_zone: Set(time_zone),
        vat_rates: Set(Some(DEFAULT_VAT_RATES.to_owned())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await?;
    tracing::info!(organization_id = model.id, "organization created");
    Ok(OrgId::new(model.id))
}

/// The first organization, created on first start when there is none.
pub async fn ensure_default(db: &impl ConnectionTrait) -> AppResult<OrgId> {
    if let Some(existing) = Organizations::find().order_by_asc(entity::Column::Id).one(db).await? {
        return Ok(OrgId::new(existing.id));
    }
    create(db, NewOrganization::default()).await?;
    // Two instances starting together may both create one: both then use the oldest.
    let first = Organizations::find().order_by_asc(entity::Column::Id).one(db).await?;
    Ok(OrgId::new(first.map_or(0, |o| o.id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_zone_that_does_not_parse_is_an_internal_error() {
        let mut org = Organization {
            id: 7,
            name: "Garage".into(),
            address: None,
            currency: Currency::parse("EUR").expect("EUR"),
            currency_decimals: 2,
            vat_rates: vec![],
            locale: Locale::Fr,
            time_zone: "Africa/Dakar".into(),
        };
        assert_eq!(org.zone().expect("zone"), chrono_tz::Africa::Dakar);
        org.time_zone = "Mars/Olympus".into();
        assert!(matches!(org.zone(), Err(AppError::Internal(m)) if m.contains("Mars/Olympus")));
    }

    #[test]
    fn vat_rates_and_time_zones() {
        for ok in ["20", "5.5", "2.1", "0", "18", "10.25"] {
            assert!(check_vat_rate(ok), "{ok}");
        }
        for bad in ["", "abc", "100", "5.", ".5", "5.555", "-1", "20%"] {
            assert!(!check_vat_rate(bad), "{bad}");
        }
        for ok in ["Europe/Paris", "Africa/Dakar", "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT+1"] {
            assert!(check_time_zone(ok), "{ok}");
        }
        for bad in ["", "Paris", "Europe//Paris", "Europe/Paris; DROP", "Mars/Olympus"] {
            assert!(!check_time_zone(bad), "{bad}");
        }
    }
}
