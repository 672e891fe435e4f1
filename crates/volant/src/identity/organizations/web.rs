//! The organization settings page (administrators), and the business details
//! form it shares with the one-time setup page.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self, BusinessKind, Organization, OrganizationPatch};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::http::extract::{FormBody, FormWithFiles};
use crate::platform::i18n;
use crate::platform::money::Currency;
use crate::platform::web::{
    FormErrors, PageCtx, SelectOption, WebResult, form_flow, options, redirect_with_flash, unprocessable,
};

pub fn routes() -> Routes {
    vec![
        ("/admin/organization", get(show).post(save)),
        ("/admin/organization/logo", get(logo_image).post(upload_logo)),
        ("/admin/organization/logo/delete", axum::routing::post(delete_logo)),
    ]
}

/// What customer-facing documents say of the business, as a form has it.
#[derive(Debug, Deserialize)]
#[serde(default)]
pub struct BusinessForm {
    pub name: String,
    pub kind: String,
    pub address: String,
    pub phone: String,
    pub email: String,
    pub registration_number: String,
    pub vat_number: String,
    pub currency: String,
    pub time_zone: String,
}

impl Default for BusinessForm {
    fn default() -> Self {
        Self {
            name: String::new(),
            kind: BusinessKind::Garage.as_str().to_owned(),
            address: String::new(),
            phone: String::new(),
            email: String::new(),
            registration_number: String::new(),
            vat_number: String::new(),
            currency: Currency::EUR.code().to_owned(),
            time_zone: "Europe/Paris".to_owned(),
        }
    }
}

impl BusinessForm {
    pub fn of(o: &Organization) -> Self {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        Self {
            name: o.name.clone(),
            kind: o.kind.as_str().to_owned(),
            address: text(&o.address),
            phone: text(&o.phone),
            email: text(&o.email),
            registration_number: text(&o.registration_number),
            vat_number: text(&o.vat_number),
            currency: o.currency.to_string(),
            time_zone: o.time_zone.clone(),
        }
    }

    /// The settings it sets (a blank optional field clears it).
    pub fn patch(&self) -> OrganizationPatch {
        let optional = |value: &str| Some(Some(value.to_owned()));
        OrganizationPatch {
            name: Some(self.name.clone()),
            kind: Some(self.kind.clone()),
            address: optional(&self.address),
            phone: optional(&self.phone),
            email: optional(&self.email),
            registration_number: optional(&self.registration_number),
            vat_number: optional(&self.vat_number),
            currency: Some(self.currency.clone()),
            time_zone: Some(self.time_zone.clone()),
            ..OrganizationPatch::default()
        }
    }

    /// The choices of its lists, in the current language.
    pub fn choices(&self) -> BusinessChoices {
        let tr = i18n::current();
        let kinds = BusinessKind::ALL.map(|k| (k.as_str().to_owned(), tr.text(k.label_key()).to_owned()));
        let currencies = Currency::ALL.into_iter().map(|c| {
            let decimals = c.decimals().to_string();
            (
                c.code().to_owned(),
                tr.format("organization.currency_option", &[("code", c.code()), ("decimals", &decimals)]),
            )
        });
        BusinessChoices {
            kinds: options(None, &self.kind, kinds),
            currencies: options(None, &self.currency, currencies),
            zones: chrono_tz::TZ_VARIANTS.iter().map(|z| z.name()).collect(),
        }
    }
}

/// The lists of the business details form.
pub struct BusinessChoices {
    pub kinds: Vec<SelectOption>,
    pub currencies: Vec<SelectOption>,
    /// Every IANA zone, offered as the time zone field is typed.
    pub zones: Vec<&'static str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    #[serde(flatten)]
    business: BusinessForm,
    vat_rates: String,
    locale: String,
    /// A ticked checkbox sends `on`; an unticked one nothing.
    keep_photo_metadata: Option<String>,
    require_two_factor: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/organization.html")]
struct SettingsPage {
    page: PageCtx,
    business: BusinessForm,
    choices: BusinessChoices,
    vat_rates: String,
    locales: Vec<SelectOption>,
    keep_photo_metadata: bool,
    require_two_factor: bool,
    errors: FormErrors,
    /// The current logo's key (the preview's address changes with it).
    logo_key: Option<String>,
}

fn settings_page(page: PageCtx, form: SettingsForm, errors: FormErrors, logo_key: Option<String>) -> SettingsPage {
    let locales = [("fr", "Français"), ("en", "English")].map(|(v, l)| (v.to_owned(), l.to_owned()));
    let locales = options(None, &form.locale, locales);
    let choices = form.business.choices();
    let keep_photo_metadata = form.keep_photo_metadata.is_some();
    let require_two_factor = form.require_two_factor.is_some();
    SettingsPage {
        page,
        business: form.business,
        choices,
        vat_rates: form.vat_rates,
        locales,
        keep_photo_metadata,
        require_two_factor,
        errors,
        logo_key,
    }
}

fn form_of(o: &Organization) -> SettingsForm {
    SettingsForm {
        business: BusinessForm::of(o),
        vat_rates: o.vat_rates.join(" ; "),
        locale: o.locale.to_string(),
        keep_photo_metadata: o.keep_photo_metadata.then(|| "on".to_owned()),
        require_two_factor: o.require_two_factor.then(|| "on".to_owned()),
    }
}

async fn show(caller: Caller, page: PageCtx) -> WebResult<SettingsPage> {
    let o = service::get(&caller.db, caller.org).await?;
    let key = logo_key(&caller).await?;
    Ok(settings_page(page, form_of(&o), FormErrors::default(), key))
}

async fn logo_key(caller: &Caller) -> crate::platform::error::AppResult<Option<String>> {
    super::logo::key(&caller.db, caller.org).await
}

/// The logo, for the settings page's preview.
async fn logo_image(caller: Caller) -> WebResult<Response> {
    let logo = super::logo::get(&caller.db, caller.org).await?.ok_or(crate::platform::error::AppError::NotFound)?;
    Ok(super::api::logo_response(logo))
}

/// A new logo from the settings page's file field; its refusal shown on the page.
async fn upload_logo(caller: Caller, page: PageCtx, mut form: FormWithFiles<LogoForm>) -> WebResult<Response> {
    // No file chosen: the service says the logo is missing.
    let bytes = form.take_file("logo").unwrap_or_default();
    match super::logo::set(&caller.db, &caller.actor, bytes).await {
        Ok(_) => Ok(redirect_with_flash("/admin/organization", "success", i18n::current().text("logo.saved"))),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let o = service::get(&caller.db, caller.org).await?;
            let key = logo_key(&caller).await?;
            Ok(unprocessable(settings_page(page, form_of(&o), errors, key)))
        }
    }
}

/// The logo form has no field of its own but the file (its `_csrf` is checked upstream).
#[derive(Debug, Default, serde::Deserialize)]
struct LogoForm {}

async fn delete_logo(caller: Caller) -> WebResult<Response> {
    super::logo::remove(&caller.db, &caller.actor).await?;
    Ok(redirect_with_flash("/admin/organization", "success", i18n::current().text("logo.removed")))
}

async fn save(caller: Caller, page: PageCtx, FormBody(form): FormBody<SettingsForm>) -> WebResult<Response> {
    let vat_rates =
        form.vat_rates.split([';', ' ']).map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect();
    let patch = OrganizationPatch {
        vat_rates: Some(vat_rates),
        locale: Some(form.locale.clone()),
        keep_photo_metadata: Some(form.keep_photo_metadata.is_some()),
        require_two_factor: Some(form.require_two_factor.is_some()),
        ..form.business.patch()
    };
    let result = service::update(&caller.db, &caller.actor, patch).await;
    // The confirmation speaks the language just chosen.
    let done = |saved: Organization| {
        redirect_with_flash("/admin/organization", "success", saved.locale.text("organization.saved"))
    };
    let key = logo_key(&caller).await?;
    form_flow(result, done, async |errors| Ok(settings_page(page, form, errors, key))).await
}
