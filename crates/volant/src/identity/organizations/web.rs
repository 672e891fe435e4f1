//! The organization settings page (administrators).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::service::{self, OrganizationPatch};
use crate::identity::Tenant;
use crate::identity::audit::Actor;
use crate::identity::auth::web_pages::Routes;
use crate::platform::AppState;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n;
use crate::platform::money::Currency;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

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

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/organization.html")]
struct SettingsPage {
    page: PageCtx,
    form: SettingsForm,
    currencies: Vec<Choice>,
    locales: Vec<Choice>,
    errors: FormErrors,
}

fn settings_page(page: PageCtx, form: SettingsForm, errors: FormErrors) -> SettingsPage {
    let currencies = Currency::ALL
        .into_iter()
        .map(|c| Choice {
            value: c.code().to_owned(),
            label: format!("{c} ({} déc.)", c.decimals()),
            selected: c.code() == form.currency,
        })
        .collect();
    let locales = [("fr", "Français"), ("en", "English")]
        .into_iter()
        .map(|(v, l)| Choice { value: v.to_owned(), label: l.to_owned(), selected: v == form.locale })
        .collect();
    SettingsPage { page, form, currencies, locales, errors }
}

async fn show(State(state): State<AppState>, Tenant(org): Tenant, page: PageCtx) -> WebResult<SettingsPage> {
    let o = service::get(&state.db, org).await?;
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

async fn save(
    State(state): State<AppState>,
    actor: Actor,
    page: PageCtx,
    FormBody(form): FormBody<SettingsForm>,
) -> WebResult<Response> {
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
    match service::update(&state.db, &actor, patch).await {
        Ok(_) => Ok(redirect_with_flash("/admin/organization", "success", i18n::current().text("organization.saved"))),
        Err(err) => Ok(unprocessable(settings_page(page, form, FormErrors::from_app_error(err)?))),
    }
}
