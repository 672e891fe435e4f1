//! Organizations: the tenants every row belongs to.

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, QueryOrder, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::{self, Entity as Organizations};
use crate::platform::db::{self, Writer};
use crate::platform::enums::string_enum;
use crate::platform::error::{AppError, AppResult};
use crate::platform::i18n::{Locale, Msg};
use crate::platform::money::Currency;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::platform::web::Module;

string_enum! {
    // What the business does, which decides the modules its people see.
    #[derive(ToSchema, Default)]
    pub enum BusinessKind (labels "organization.kind.") {
        /// A garage or a garage network: the workshop.
        Garage,
        /// A driving school.
        School,
        /// Both.
        #[default]
        Both,
    }
}

impl BusinessKind {
    /// Whether this business works with `module` (every business has an administration).
    pub fn runs(self, module: Module) -> bool {
        match module {
            Module::Workshop => self != Self::School,
            Module::School => self != Self::Garage,
            Module::Billing | Module::Administration => true,
        }
    }
}

/// France's rates: standard, intermediate, reduced, super-reduced.
const DEFAULT_VAT_RATES: &str = r#"["20","10","5.5","2.1"]"#;

/// An organization's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Organization {
    pub id: i64,
    pub name: String,
    #[schema(value_type = String)]
    pub kind: BusinessKind,
    /// Postal address, on several lines.
    pub address: Option<String>,
    pub phone: Option<String>,
    /// Where customers write; e-mails leave from it when the organization has
    /// its own mail server.
    pub email: Option<String>,
    /// SIRET (France), NINEA (Senegal) or another company registration number.
    pub registration_number: Option<String>,
    /// Intra-community VAT number.
    pub vat_number: Option<String>,
    /// Whether a logo is set.
    pub has_logo: bool,
    /// Whether its people put the welcome checklist away.
    pub welcome_dismissed: bool,
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
    /// Whether photos are kept as taken, with their metadata (date, camera, GPS
    /// position); by default they are re-encoded without it.
    pub keep_photo_metadata: bool,
    /// Whether administrators and managers must sign in with a second factor (a
    /// code from an authenticator app); they set it up at their next sign-in.
    pub require_two_factor: bool,
}

impl From<entity::Model> for Organization {
    fn from(m: entity::Model) -> Self {
        Self {
            id: m.id,
            currency_decimals: m.currency.minor_digits(),
            name: m.name,
            kind: m.kind,
            address: m.address,
            phone: m.phone,
            email: m.email,
            registration_number: m.registration_number,
            vat_number: m.vat_number,
            has_logo: m.logo_key.is_some(),
            welcome_dismissed: m.welcome_dismissed,
            currency: m.currency,
            vat_rates: m.vat_rates.and_then(|v| serde_json::from_str(&v).ok()).unwrap_or_default(),
            locale: m.locale,
            time_zone: m.time_zone,
            keep_photo_metadata: m.keep_photo_metadata,
            require_two_factor: m.require_two_factor,
        }
    }
}

/// Some settings (absent fields are kept; `null` or `""` clears an optional one).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct OrganizationPatch {
    /// Kept when absent or `null`.
    pub name: Option<String>,
    /// `garage`, `school` or `both`.
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "crate::platform::http::extract::double_option")]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::platform::http::extract::double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::platform::http::extract::double_option")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::platform::http::extract::double_option")]
    pub registration_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::platform::http::extract::double_option")]
    pub vat_number: Option<Option<String>>,
    pub currency: Option<String>,
    pub vat_rates: Option<Vec<String>>,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub keep_photo_metadata: Option<bool>,
    pub require_two_factor: Option<bool>,
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId) -> AppResult<Organization> {
    Organizations::find_by_id(org.get()).one(db).await?.map(Organization::from).ok_or(AppError::NotFound)
}

/// Every organization with its time zone (an error for a damaged one, so that
/// the jobs that run per organization in its own day go on with the others).
pub async fn zones(db: &impl ConnectionTrait) -> AppResult<Vec<(OrgId, AppResult<chrono_tz::Tz>)>> {
    Ok(Organizations::find()
        .order_by_asc(entity::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .map(Organization::from)
        .map(|o| (OrgId::new(o.id), o.zone()))
        .collect())
}

/// An organization's time zone, where its local days and hours are.
pub async fn zone(db: &impl ConnectionTrait, org: OrgId) -> AppResult<chrono_tz::Tz> {
    get(db, org).await?.zone()
}

/// Today where the organization is: the date its documents carry and its
/// deadlines are counted from (not the UTC day, a day off around midnight).
pub async fn today(db: &impl ConnectionTrait, org: OrgId) -> AppResult<chrono::NaiveDate> {
    get(db, org).await?.today()
}

impl Organization {
    /// Today in its time zone.
    pub fn today(&self) -> AppResult<chrono::NaiveDate> {
        Ok(chrono::Utc::now().with_timezone(&self.zone()?).date_naive())
    }

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
    let kind = match patch.kind.as_deref() {
        Some(code) => business_kind(&mut v, code),
        None => Some(before.kind),
    };
    let address = match &patch.address {
        Some(address) => v.optional_long_text("address", address.as_deref(), 255),
        None => before.address.clone(),
    };
    let phone = match &patch.phone {
        Some(phone) => v.optional_phone("phone", phone.as_deref()),
        None => before.phone.clone(),
    };
    let email = match &patch.email {
        Some(email) => v.optional_email("email", email.as_deref()),
        None => before.email.clone(),
    };
    let registration_number = match &patch.registration_number {
        Some(number) => registration(&mut v, number.as_deref()),
        None => before.registration_number.clone(),
    };
    let vat_number = match &patch.vat_number {
        Some(number) => vat_number(&mut v, number.as_deref()),
        None => before.vat_number.clone(),
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
        active.kind = Set(kind.unwrap_or(before.kind));
        active.address = Set(address);
        active.phone = Set(phone);
        active.email = Set(email);
        active.registration_number = Set(registration_number);
        active.vat_number = Set(vat_number);
        active.currency = Set(currency.unwrap_or(before.currency));
        active.vat_rates = Set(Some(serde_json::to_string(&vat_rates).unwrap_or_else(|_| "[]".into())));
        active.locale = Set(locale.unwrap_or(before.locale));
        active.time_zone = Set(time_zone);
        active.keep_photo_metadata = Set(patch.keep_photo_metadata.unwrap_or(before.keep_photo_metadata));
        active.require_two_factor = Set(patch.require_two_factor.unwrap_or(before.require_two_factor));
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

/// Puts the welcome checklist away (or brings it back).
pub async fn dismiss_welcome(db: &impl ConnectionTrait, org: OrgId, dismissed: bool) -> AppResult<()> {
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, QueryFilter};
    Organizations::update_many()
        .col_expr(entity::Column::WelcomeDismissed, Expr::value(dismissed))
        .filter(entity::Column::Id.eq(org.get()))
        .exec(db)
        .await?;
    Ok(())
}

/// A supported currency, its code given in any case.
fn currency(v: &mut Validator, code: &str) -> Option<Currency> {
    let currency = Currency::parse(&code.trim().to_uppercase());
    if currency.is_none() {
        v.add("currency", Msg::new("organization.currency_unknown"));
    }
    currency
}

/// A kind of business, by its code.
fn business_kind(v: &mut Validator, code: &str) -> Option<BusinessKind> {
    let kind = BusinessKind::parse(code.trim());
    if kind.is_none() {
        v.add("kind", Msg::new("organization.kind_unknown"));
    }
    kind
}

/// A company registration number: letters, digits and spaces; a French SIRET
/// (14 digits) is checked with its Luhn key, so a mistyped one is caught.
fn registration(v: &mut Validator, number: Option<&str>) -> Option<String> {
    let number = v.optional_text("registration_number", number, 40)?;
    let digits: String = number.chars().filter(|c| !c.is_whitespace()).collect();
    let readable = digits.chars().all(|c| c.is_ascii_alphanumeric() || "-./".contains(c));
    if !readable || (digits.len() == 14 && digits.chars().all(|c| c.is_ascii_digit()) && !luhn(&digits)) {
        v.add("registration_number", Msg::new("organization.registration_invalid"));
        return None;
    }
    Some(number)
}

/// The Luhn check SIRET and SIREN numbers carry (La Poste's SIRETs excepted).
fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .chars()
        .rev()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10) || digits.starts_with("356000000")
}

/// An intra-community VAT number: two letters and up to 13 letters or digits,
/// written without spaces in capitals (`FR40303265045`).
fn vat_number(v: &mut Validator, number: Option<&str>) -> Option<String> {
    let number = v.optional_text("vat_number", number, 20)?;
    let compact: String = number.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    // ASCII only, so that the country code is the first two bytes.
    let (country, rest) = if compact.is_ascii() { compact.split_at(compact.len().min(2)) } else { ("", "") };
    let valid = country.len() == 2
        && country.chars().all(|c| c.is_ascii_uppercase())
        && (2..=13).contains(&rest.len())
        && rest.chars().all(|c| c.is_ascii_alphanumeric());
    if !valid {
        v.add("vat_number", Msg::new("organization.vat_number_invalid"));
        return None;
    }
    Some(compact)
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
    /// `garage`, `school` or `both`.
    pub kind: String,
    pub currency: String,
    pub locale: String,
    pub time_zone: String,
    /// What customer-facing documents say of it (address, phone, numbers…),
    /// checked like its settings.
    pub details: OrganizationPatch,
}

impl Default for NewOrganization {
    fn default() -> Self {
        Self {
            name: "Mon organisation".to_owned(),
            kind: BusinessKind::Both.as_str().to_owned(),
            currency: "EUR".to_owned(),
            locale: "fr".to_owned(),
            time_zone: "Europe/Paris".to_owned(),
            details: OrganizationPatch::default(),
        }
    }
}

/// Creates an organization under the same rules as its settings: a name, a
/// kind, a supported currency (code in any case), a known language and time
/// zone, then its details (audited as the system's change), all or nothing.
pub async fn create<C: Writer>(db: &C, new: NewOrganization) -> AppResult<OrgId> {
    let mut v = Validator::new();
    let name = v.required_text("name", Some(&new.name), 120);
    let kind = business_kind(&mut v, &new.kind);
    let currency = currency(&mut v, &new.currency);
    let locale = locale(&mut v, &new.locale);
    let time_zone = new.time_zone.trim().to_owned();
    if !check_time_zone(&time_zone) {
        v.add("time_zone", Msg::new("organization.time_zone_invalid"));
    }
    v.finish()?;
    let org = db::write(db, async |txn| {
        let now = Utc::now();
        let model = entity::ActiveModel {
            name: Set(name.unwrap_or_default()),
            kind: Set(kind.unwrap_or_default()),
            currency: Set(currency.unwrap_or(Currency::EUR)),
            locale: Set(locale.unwrap_or_default()),
            time_zone: Set(time_zone),
            vat_rates: Set(Some(DEFAULT_VAT_RATES.to_owned())),
            // Set, not left to the columns' defaults: SQLite's RETURNING may not
            // read back the default of a column added by ALTER TABLE.
            welcome_dismissed: Set(false),
            keep_photo_metadata: Set(false),
            require_two_factor: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await?;
        let org = OrgId::new(model.id);
        if new.details.has_details() {
            update(txn, &crate::identity::audit::Actor::system(org), new.details).await?;
        }
        Ok::<_, AppError>(org)
    })
    .await?;
    tracing::info!(organization_id = org.get(), "organization created");
    Ok(org)
}

impl OrganizationPatch {
    /// Whether it sets one of the details beyond the name and kind.
    fn has_details(&self) -> bool {
        self.address.is_some()
            || self.phone.is_some()
            || self.email.is_some()
            || self.registration_number.is_some()
            || self.vat_number.is_some()
    }
}

/// The first organization, created on first start when there is none.
/// The language of the instance's first organization: what its command line
/// speaks (`None` before there is one).
pub async fn first_locale(db: &impl ConnectionTrait) -> AppResult<Option<Locale>> {
    let first = Organizations::find().order_by_asc(entity::Column::Id).one(db).await?;
    Ok(first.map(|o| o.locale))
}

pub async fn ensure_default<C: Writer>(db: &C) -> AppResult<OrgId> {
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
            kind: BusinessKind::Garage,
            address: None,
            phone: None,
            email: None,
            registration_number: None,
            vat_number: None,
            has_logo: false,
            welcome_dismissed: false,
            currency: Currency::parse("EUR").expect("EUR"),
            currency_decimals: 2,
            vat_rates: vec![],
            locale: Locale::Fr,
            time_zone: "Africa/Dakar".into(),
            keep_photo_metadata: false,
            require_two_factor: false,
        };
        assert_eq!(org.zone().expect("zone"), chrono_tz::Africa::Dakar);
        org.time_zone = "Mars/Olympus".into();
        assert!(matches!(org.zone(), Err(AppError::Internal(m)) if m.contains("Mars/Olympus")));
    }

    #[test]
    fn registration_and_vat_numbers() {
        let mut v = Validator::new();
        // A real SIRET (the French statistics institute's), with or without spaces.
        assert_eq!(registration(&mut v, Some("130 005 481 00010")).as_deref(), Some("130 005 481 00010"));
        assert_eq!(registration(&mut v, Some("13000548100010")).as_deref(), Some("13000548100010"));
        // A Senegalese NINEA and free registration texts.
        assert!(registration(&mut v, Some("005123456 2G3")).is_some());
        assert!(registration(&mut v, Some("RCS Lyon B 123 456 789")).is_some());
        assert!(v.is_valid());
        assert_eq!(registration(&mut v, Some("130 005 481 00011")), None, "a mistyped SIRET");
        assert_eq!(registration(&mut v, Some("<script>")), None);
        assert_eq!(vat_number(&mut v, Some("fr 40 303265045")).as_deref(), Some("FR40303265045"));
        for bad in ["40303265045", "FR", "F1234", "FR40-303265045", "€123", "F€1234", "FRé1234"] {
            assert_eq!(vat_number(&mut v, Some(bad)), None, "{bad}");
        }
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
