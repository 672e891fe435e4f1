//! The catalogue's items: listed and searched by any word of their description,
//! suggested to the line editor, written with an audit record. A description is
//! unique per organization (the database holds it: a unique index on the
//! organization and the description's words), so two people adding the same
//! part at once get one item and a 409.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::item;
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint};
use crate::platform::i18n::Msg;
use crate::platform::lines::{lenient_decimal, percent_bp, unit_price_e4};
use crate::platform::money;
use crate::platform::pagination::{Page, PageRequest};
use crate::platform::search::{search_term, words};
use crate::platform::tenant::{self, OrgId};
use crate::platform::validate::Validator;
use crate::workshop::quotes::model::LineKind;

/// Most suggestions the editor offers at once.
pub const SUGGESTIONS: u64 = 8;

impl tenant::Owned for item::Entity {
    const ORGANIZATION_ID: Self::Column = item::Column::OrganizationId;
    const ID: Self::Column = item::Column::Id;
}

/// A part or a labour the garage quotes often, at its usual price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CatalogueItem {
    pub id: i64,
    pub kind: LineKind,
    pub description: String,
    pub unit: Option<String>,
    /// Excluding tax, up to 4 decimals.
    #[schema(value_type = String, example = "48.90")]
    pub unit_price: Decimal,
    /// Percent.
    #[schema(value_type = String, example = "20")]
    pub vat_rate: Decimal,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<item::Model> for CatalogueItem {
    fn from(m: item::Model) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            description: m.description,
            unit: m.unit,
            unit_price: money::from_scaled(m.unit_price_e4, 4),
            vat_rate: money::from_scaled(i64::from(m.vat_rate_bp), 2),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// An item as entered.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct CatalogueItemInput {
    /// `part`, `labour` or `other` (default `part`).
    pub kind: Option<LineKind>,
    #[schema(required = true, nullable = false, example = "Plaquettes de frein avant")]
    pub description: Option<String>,
    #[schema(example = "pièce")]
    pub unit: Option<String>,
    /// Excluding tax, up to 4 decimals (`"48.90"`, `"48,90"` or a number).
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = crate::platform::lines::DecimalInput, required = true, example = "48.90")]
    pub unit_price: Option<Decimal>,
    /// Percent, default 20.
    #[serde(default, deserialize_with = "lenient_decimal")]
    #[schema(value_type = Option<crate::platform::lines::DecimalInput>, example = "20")]
    pub vat_rate: Option<Decimal>,
}

/// What the audit trail keeps of an item.
#[derive(Serialize)]
struct Audited<'a> {
    description: &'a str,
    kind: &'a str,
    unit: Option<&'a str>,
    unit_price: String,
    vat_rate: String,
}

impl<'a> From<&'a item::Model> for Audited<'a> {
    fn from(m: &'a item::Model) -> Self {
        Self {
            description: &m.description,
            kind: m.kind.as_str(),
            unit: m.unit.as_deref(),
            unit_price: money::from_scaled(m.unit_price_e4, 4).normalize().to_string(),
            vat_rate: money::from_scaled(i64::from(m.vat_rate_bp), 2).normalize().to_string(),
        }
    }
}

struct Checked {
    kind: LineKind,
    description: String,
    search_name: String,
    unit: Option<String>,
    unit_price_e4: i64,
    vat_rate_bp: i32,
}

fn check(input: &CatalogueItemInput) -> AppResult<Checked> {
    let mut v = Validator::new();
    let description = v.required_long_text("description", input.description.as_deref(), 500);
    let unit = v.optional_text("unit", input.unit.as_deref(), 20);
    let unit_price_e4 = v.required("unit_price", input.unit_price).and_then(|p| unit_price_e4(&mut v, "unit_price", p));
    let vat_rate_bp = percent_bp(&mut v, "vat_rate", input.vat_rate.unwrap_or(Decimal::from(20)));
    if let Some(d) = &description
        && words(d).is_empty()
    {
        v.add("description", Msg::new("catalogue.description_without_words"));
    }
    v.finish()?;
    let description = description.unwrap_or_default();
    Ok(Checked {
        kind: input.kind.unwrap_or(LineKind::Part),
        search_name: search_name(&description),
        description,
        unit,
        unit_price_e4: unit_price_e4.unwrap_or_default(),
        vat_rate_bp: vat_rate_bp.unwrap_or_default(),
    })
}

/// ` plaquettes de frein avant`: a space before each word, so any word's start is `% word`.
fn search_name(description: &str) -> String {
    format!(" {}", words(description))
}

/// Items having a word starting with each word searched (a scan of the
/// organization's own catalogue: a garage's, hundreds of lines).
fn matching(q: &str) -> Condition {
    words(&search_term(q))
        .split(' ')
        .filter(|w| !w.is_empty())
        .fold(Condition::all(), |all, word| all.add(item::Column::SearchName.like(format!("% {word}%"))))
}

/// The catalogue, oldest first, or the items matching `q`.
pub async fn list(
    db: &impl ConnectionTrait,
    org: OrgId,
    q: Option<&str>,
    page: PageRequest,
) -> AppResult<Page<CatalogueItem>> {
    let query = tenant::scoped::<item::Entity>(org).filter(matching(q.unwrap_or_default()));
    Ok(page.fetch(db, query, item::Column::Id, sea_orm::Order::Asc, |m| m.id).await?.map(CatalogueItem::from))
}

/// How many items the search keeps (all of them without one).
pub async fn count(db: &impl ConnectionTrait, org: OrgId, q: Option<&str>) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(tenant::scoped::<item::Entity>(org).filter(matching(q.unwrap_or_default())).count(db).await?)
}

/// What the editor offers for a description being typed: the first items in
/// alphabetical order having a word starting with each word typed.
pub async fn suggest(db: &impl ConnectionTrait, org: OrgId, typed: &str) -> AppResult<Vec<CatalogueItem>> {
    if words(&search_term(typed)).is_empty() {
        return Ok(Vec::new());
    }
    let rows = tenant::scoped::<item::Entity>(org)
        .filter(matching(typed))
        .order_by_asc(item::Column::SearchName)
        .limit(SUGGESTIONS)
        .all(db)
        .await?;
    Ok(rows.into_iter().map(CatalogueItem::from).collect())
}

pub async fn get(db: &impl ConnectionTrait, org: OrgId, id: i64) -> AppResult<CatalogueItem> {
    Ok(tenant::find::<item::Entity>(db, org, id).await?.into())
}

fn duplicate(err: sea_orm::DbErr) -> AppError {
    AppError::conflict_on("description", "duplicate_catalogue_item", Msg::new("catalogue.duplicate"))
        .if_refused(err, Constraint::is_unique)
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn create<C: Writer>(db: &C, actor: &Actor, input: &CatalogueItemInput) -> AppResult<CatalogueItem> {
    let c = check(input)?;
    let now = Utc::now();
    let saved = db::write(db, async |txn| {
        let saved = item::ActiveModel {
            organization_id: Set(actor.org.get()),
            kind: Set(c.kind),
            description: Set(c.description.clone()),
            search_name: Set(c.search_name.clone()),
            unit: Set(c.unit.clone()),
            unit_price_e4: Set(c.unit_price_e4),
            vat_rate_bp: Set(c.vat_rate_bp),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(duplicate)?;
        audit::record_change(txn, actor, ("catalogue_item", saved.id), None, Some(&Audited::from(&saved))).await?;
        AppResult::Ok(saved)
    })
    .await?;
    Ok(saved.into())
}

/// Replaces every field of an item (quotes already written keep their lines).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn replace<C: Writer>(
    db: &C,
    actor: &Actor,
    id: i64,
    input: &CatalogueItemInput,
) -> AppResult<CatalogueItem> {
    let c = check(input)?;
    let saved = db::write(db, async |txn| {
        let before = tenant::find::<item::Entity>(txn, actor.org, id).await?;
        let mut row: item::ActiveModel = before.clone().into();
        row.kind = Set(c.kind);
        row.description = Set(c.description.clone());
        row.search_name = Set(c.search_name.clone());
        row.unit = Set(c.unit.clone());
        row.unit_price_e4 = Set(c.unit_price_e4);
        row.vat_rate_bp = Set(c.vat_rate_bp);
        row.updated_at = Set(Utc::now());
        let saved = row.update(txn).await.map_err(duplicate)?;
        let (old, new) = (Audited::from(&before), Audited::from(&saved));
        audit::record_change(txn, actor, ("catalogue_item", id), Some(&old), Some(&new)).await?;
        AppResult::Ok(saved)
    })
    .await?;
    Ok(saved.into())
}

/// Removes an item (quotes already written keep their lines).
#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn delete<C: Writer>(db: &C, actor: &Actor, id: i64) -> AppResult<()> {
    db::write(db, async |txn| {
        let before = tenant::find::<item::Entity>(txn, actor.org, id).await?;
        item::Entity::delete_many()
            .filter(item::Column::OrganizationId.eq(actor.org.get()))
            .filter(item::Column::Id.eq(id))
            .exec(txn)
            .await?;
        audit::record_change(txn, actor, ("catalogue_item", id), Some(&Audited::from(&before)), None).await?;
        AppResult::Ok(())
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_word_of_a_description_can_be_found() {
        assert_eq!(search_name("Main-d'œuvre  Carrosserie"), " main d œuvre carrosserie");
        assert_eq!(search_name("Plaquettes AV 5W30"), " plaquettes av 5w30");
    }
}
