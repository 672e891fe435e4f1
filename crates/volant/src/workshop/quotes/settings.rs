//! How an organization's quotes are numbered and worded.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::entity::settings;
use crate::identity::audit::{self, Actor};
use crate::platform::db::{self, Writer};
use crate::platform::error::AppResult;
use crate::platform::i18n::Msg;
use crate::platform::numbering::format_number;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;

/// How an organization's quotes are numbered and worded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkshopSettings {
    /// `{year}` and `{seq}` (or `{seq:4}`, zero-padded) are replaced; e.g. `DEV-{year}-{seq:4}`.
    pub quote_number_format: String,
    /// Days a quote stays valid by default.
    pub quote_validity_days: i32,
    /// Whether clients may accept quotes line by line by default.
    pub line_decisions: bool,
    /// Default terms printed on quotes.
    pub quote_terms: Option<String>,
    /// Legal mentions printed at the foot of every page (SIRET, insurance…).
    pub legal_mentions: Option<String>,
}

impl Default for WorkshopSettings {
    fn default() -> Self {
        Self {
            quote_number_format: "DEV-{year}-{seq:4}".to_owned(),
            quote_validity_days: 30,
            line_decisions: false,
            quote_terms: Some("Devis gratuit. Paiement à réception de facture.".to_owned()),
            legal_mentions: None,
        }
    }
}

pub async fn settings(db: &impl ConnectionTrait, org: OrgId) -> AppResult<WorkshopSettings> {
    Ok(match settings::Entity::find_by_id(org.get()).one(db).await? {
        Some(m) => WorkshopSettings {
            quote_number_format: m.quote_number_format,
            quote_validity_days: m.quote_validity_days,
            line_decisions: m.line_decisions,
            quote_terms: m.quote_terms,
            legal_mentions: m.legal_mentions,
        },
        None => WorkshopSettings::default(),
    })
}

#[tracing::instrument(skip_all, err(level = "debug"))]
pub async fn update_settings<C: Writer>(
    db: &C,
    actor: &Actor,
    input: &WorkshopSettings,
) -> AppResult<WorkshopSettings> {
    let mut v = Validator::new();
    let format = v.required_text("quote_number_format", Some(&input.quote_number_format), 60);
    if let Some(format) = &format
        && format_number(format, 2026, 1).is_none()
    {
        v.add("quote_number_format", Msg::new("quote.format_invalid"));
    }
    if !(1..=365).contains(&input.quote_validity_days) {
        v.add("quote_validity_days", Msg::new("quote.validity_invalid"));
    }
    let terms = v.optional_long_text("quote_terms", input.quote_terms.as_deref(), 5000);
    let legal = v.optional_long_text("legal_mentions", input.legal_mentions.as_deref(), 2000);
    // Printed in every page's footer: what does not fit would not be printed.
    if legal
        .as_deref()
        .is_some_and(|l| crate::platform::pdf::footer_lines(l).len() > crate::platform::pdf::FOOTER_LINES)
    {
        v.add("legal_mentions", Msg::new("quote.legal_too_long").arg("lines", crate::platform::pdf::FOOTER_LINES));
    }
    v.finish()?;
    let before = settings(db, actor.org).await?;
    let after = WorkshopSettings {
        quote_number_format: format.unwrap_or_default(),
        quote_validity_days: input.quote_validity_days,
        line_decisions: input.line_decisions,
        quote_terms: terms,
        legal_mentions: legal,
    };
    let row = settings::ActiveModel {
        organization_id: Set(actor.org.get()),
        quote_number_format: Set(after.quote_number_format.clone()),
        quote_validity_days: Set(after.quote_validity_days),
        line_decisions: Set(after.line_decisions),
        quote_terms: Set(after.quote_terms.clone()),
        legal_mentions: Set(after.legal_mentions.clone()),
        updated_at: Set(Utc::now()),
    };
    db::write(db, async |txn| {
        settings::Entity::insert(row)
            .on_conflict(
                OnConflict::column(settings::Column::OrganizationId)
                    .update_columns([
                        settings::Column::QuoteNumberFormat,
                        settings::Column::QuoteValidityDays,
                        settings::Column::LineDecisions,
                        settings::Column::QuoteTerms,
                        settings::Column::LegalMentions,
                        settings::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
        audit::record_change(txn, actor, ("workshop_settings", actor.org.get()), Some(&before), Some(&after)).await?;
        Ok(after)
    })
    .await
}
