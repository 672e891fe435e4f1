//! The catalogue's pages: the list with its search and a form to add an item,
//! an item's form (change, remove), and the suggestions the line editor asks
//! for as a description is typed.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::{get, post};
use rust_decimal::Decimal;
use serde::Deserialize;

use super::service::{self, CatalogueItem, CatalogueItemInput};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::roles::Permission;
use crate::platform::http::extract::{ApiQuery, FormBody, Id};
use crate::platform::i18n::{self, Msg, Tr};
use crate::platform::money::format_plain;
use crate::platform::web::{
    FormErrors, FormTarget, Listing, PageCtx, SelectOption, WebResult, redirect_with_flash, respond, submit,
};
use crate::workshop::quotes::service::{LineKind, parse_decimal};
use crate::workshop::quotes::web::{editable_price, kind_options};

pub fn routes() -> Routes {
    vec![
        ("/workshop/catalogue", get(index).post(create)),
        ("/workshop/catalogue/suggest", get(suggest)),
        ("/workshop/catalogue/{id}/delete", post(delete)),
    ]
}

/// The item's form: only for those who may send it.
pub fn form_routes() -> Routes {
    vec![("/workshop/catalogue/{id}/edit", get(edit_form).post(update))]
}

/// An item as the list shows it.
pub struct ItemRow {
    pub id: i64,
    pub description: String,
    pub kind: String,
    pub unit: String,
    pub unit_price: String,
    pub vat_rate: String,
}

fn row(item: &CatalogueItem, page: &PageCtx) -> ItemRow {
    let currency = page.currency();
    let decimals = currency.decimals().max(item.unit_price.scale().min(4));
    ItemRow {
        id: item.id,
        description: item.description.clone(),
        kind: page.tr.t(item.kind.label_key()).to_owned(),
        unit: item.unit.clone().unwrap_or_default(),
        unit_price: crate::platform::money::format_money(item.unit_price, decimals, currency.code()),
        vat_rate: format!("{} %", format_plain(item.vat_rate)),
    }
}

/// The item form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ItemForm {
    pub kind: String,
    pub description: String,
    pub unit: String,
    pub unit_price: String,
    pub vat_rate: String,
}

impl ItemForm {
    fn blank(page: &PageCtx) -> Self {
        Self { kind: LineKind::Part.as_str().to_owned(), vat_rate: page.default_vat(), ..Default::default() }
    }

    fn of(item: &CatalogueItem) -> Self {
        Self {
            kind: item.kind.as_str().to_owned(),
            description: item.description.clone(),
            unit: item.unit.clone().unwrap_or_default(),
            unit_price: editable_price(item.unit_price),
            vat_rate: format_plain(item.vat_rate),
        }
    }

    pub fn kinds(&self, tr: &Tr) -> Vec<SelectOption> {
        kind_options(tr, &self.kind)
    }

    fn parse(&self) -> Result<CatalogueItemInput, FormErrors> {
        let mut errors = FormErrors::default();
        let mut number = |field: &str, raw: &str| -> Option<Decimal> {
            let raw = raw.trim();
            if raw.is_empty() {
                return None;
            }
            parse_decimal(raw).or_else(|| {
                errors.add(field, Msg::new("field.not_a_number").render(i18n::current()));
                None
            })
        };
        let input = CatalogueItemInput {
            kind: LineKind::parse(self.kind.trim()),
            description: Some(self.description.clone()),
            unit: Some(self.unit.clone()),
            unit_price: number("unit_price", &self.unit_price),
            vat_rate: number("vat_rate", &self.vat_rate),
        };
        if errors.is_empty() { Ok(input) } else { Err(errors) }
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/catalogue/list.html")]
struct ListPage {
    page: PageCtx,
    q: String,
    items: Vec<ItemRow>,
    total: String,
    next_url: Option<String>,
    previous_url: Option<String>,
    form: ItemForm,
    errors: FormErrors,
}

impl ListPage {
    async fn build(
        caller: &Caller,
        page: PageCtx,
        listing: &Listing,
        form: ItemForm,
        errors: FormErrors,
    ) -> crate::platform::error::AppResult<Self> {
        let found = service::list(&caller.db, caller.org, Some(&listing.q), listing.request.clone()).await?;
        let total = match listing.q.trim() {
            "" => listing.total::<super::entity::item::Entity>(&caller.db, caller.org).await?,
            q => Listing::matching_of(service::count(&caller.db, caller.org, Some(q)).await?),
        };
        Ok(Self {
            items: found.items.iter().map(|i| row(i, &page)).collect(),
            next_url: listing.next_url(found.next_cursor.as_deref()),
            previous_url: listing.previous_url(),
            q: listing.q.clone(),
            total,
            form,
            errors,
            page,
        })
    }
}

async fn index(caller: Caller, page: PageCtx, listing: Listing) -> WebResult<ListPage> {
    let form = ItemForm::blank(&page);
    Ok(ListPage::build(&caller, page, &listing, form, FormErrors::default()).await?)
}

async fn create(
    caller: Caller,
    page: PageCtx,
    listing: Listing,
    FormBody(form): FormBody<ItemForm>,
) -> WebResult<Response> {
    let write = async |input| service::create(&caller.db, &caller.actor, &input).await;
    let done = |item: CatalogueItem| {
        let message = i18n::current().format("catalogue.added", &[("description", &item.description)]);
        redirect_with_flash("/workshop/catalogue", "success", &message)
    };
    respond(submit(form.parse(), write).await?, done, async |errors| {
        ListPage::build(&caller, page, &listing, form, errors).await
    })
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/catalogue/form.html")]
struct FormPage {
    page: PageCtx,
    target: FormTarget,
    id: i64,
    form: ItemForm,
    errors: FormErrors,
}

fn edit_target(page: &PageCtx, id: i64, description: &str) -> FormTarget {
    FormTarget::new(
        page.tr.f("catalogue.edit", "description", description),
        format!("/workshop/catalogue/{id}/edit"),
        "/workshop/catalogue",
    )
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let item = service::get(&caller.db, caller.org, id).await?;
    let target = edit_target(&page, id, &item.description);
    Ok(FormPage { page, target, id, form: ItemForm::of(&item), errors: FormErrors::default() })
}

async fn update(caller: Caller, page: PageCtx, Id(id): Id, FormBody(form): FormBody<ItemForm>) -> WebResult<Response> {
    let write = async |input| service::replace(&caller.db, &caller.actor, id, &input).await;
    let done = |item: CatalogueItem| {
        let message = i18n::current().format("catalogue.saved", &[("description", &item.description)]);
        redirect_with_flash("/workshop/catalogue", "success", &message)
    };
    respond(submit(form.parse(), write).await?, done, async |errors| {
        let current = service::get(&caller.db, caller.org, id).await?;
        let target = edit_target(&page, id, &current.description);
        Ok(FormPage { page, target, id, form, errors })
    })
    .await
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let item = service::get(&caller.db, caller.org, id).await?;
    service::delete(&caller.db, &caller.actor, id).await?;
    let message = i18n::current().format("catalogue.removed", &[("description", &item.description)]);
    Ok(redirect_with_flash("/workshop/catalogue", "success", &message))
}

#[derive(Debug, Default, Deserialize)]
struct SuggestQuery {
    /// The description being typed in an editor row.
    description: Option<String>,
}

/// One suggestion: what fills the row when chosen.
pub struct Suggestion {
    pub description: String,
    pub kind: &'static str,
    pub unit: String,
    pub unit_price: String,
    pub vat_rate: String,
    /// "Pièce · 48,90 €"
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "workshop/catalogue/_suggestions.html")]
struct SuggestionsFragment {
    suggestions: Vec<Suggestion>,
}

/// The editor's suggestions for a description being typed: a `<datalist>` that
/// htmx swaps in.
async fn suggest(
    caller: Caller,
    page: PageCtx,
    ApiQuery(query): ApiQuery<SuggestQuery>,
) -> WebResult<SuggestionsFragment> {
    let found = service::suggest(&caller.db, caller.org, query.description.as_deref().unwrap_or_default()).await?;
    let suggestions = found
        .iter()
        .map(|item| {
            let shown = row(item, &page);
            Suggestion {
                description: item.description.clone(),
                kind: item.kind.as_str(),
                unit: shown.unit.clone(),
                unit_price: editable_price(item.unit_price),
                vat_rate: format_plain(item.vat_rate),
                label: format!("{} · {}", shown.kind, shown.unit_price),
            }
        })
        .collect();
    Ok(SuggestionsFragment { suggestions })
}
