//! The organization settings page (administrators).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self, OrganizationPatch};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n;
use crate::platform::money::Currency;
use crate::platform::web::{FormErrors, PageCtx, SelectOption, WebResult, form_flow, options, redirect_with_flash};

pub fn routes() -> Routes {
    vec![("/admin/organization", get(show).post(save))]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SettingsForm {
    name: String,
    address: String,
    currency: String,
    vat_rates: String,
    locale: String,
    time_zone: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/organization.html")]
struct SettingsPage {
    page: PageCtx,
    form: SettingsForm,
    currencies: Vec<SelectOption>,
    locales: Vec<SelectOption>,
    errors: FormErrors,
}

fn settings_page(page: PageCtx, form: SettingsForm, errors: FormErrors) -> SettingsPage {
    let currencies = Currency::ALL.into_iter().map(|c| (c.code().to_owned(), format!("{c} ({} déc.)", c.decimals())));
    let currencies = options(None, &form.currency, currencies);
    let locales = [("fr", "Français"), ("en", "English")].map(|(v, l)| (v.to_owned(), l.to_owned()));
    let locales = options(None, &form.locale, locales);
    SettingsPage { page, form, currencies, locales, errors }
}

async fn show(caller: Caller, page: PageCtx) -> WebResult<SettingsPage> {
    let o = service::get(&caller.db, caller.org).await?;
    let form = SettingsForm {
        name: o.name,
        address: o.address.unwrap_or_default(),
        currency: o.currency.to_string(),
        vat_rates: o.vat_rates.join(" ; "),
        locale: o.locale.to_string(),
        time_zone: o.time_zone,
    };
    Ok(settings_page(page, form, FormErrors::default()))
}

async fn save(caller: Caller, page: PageCtx, FormBody(form): FormBody<SettingsForm>) -> WebResult<Response> {
    let vat_rates =
        form.vat_rates.split([';', ' ']).map(str::trim).filter(|r| !r.is_empty()).map(str::to_owned).collect();
    let patch = OrganizationPatch {
        name: Some(form.name.clone()),
        address: Some(Some(form.address.clone())),
        currency: Some(form.currency.clone()),
        vat_rates: Some(vat_rates),
        locale: Some(form.locale.clone()),
        time_zone: Some(form.time_zone.clone()),
    };
    let result = service::update(&caller.db, &caller.actor, patch).await;
    let done = |_| redirect_with_flash("/admin/organization", "success", i18n::current().text("organization.saved"));
    form_flow(result, done, async |errors| Ok(settings_page(page, form, errors))).await
}
