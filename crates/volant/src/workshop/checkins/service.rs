//! Recording a check-in: its photos go up as the intervention's documents, then
//! one transaction stores the signature, the check-in, its PDF (kept with the
//! intervention) and the e-mail to the customer. One check-in per intervention
//! (a unique index: two devices signing at once make one, the other gets a 409).

use chrono::Utc;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use utoipa::ToSchema;

use super::entity::checkin;
use crate::documents::model::{DocumentKind, Owner, OwnerKind};
use crate::documents::service::{self as documents, Incoming, Storage, UploadInput, Variant};
use crate::fleet::vehicles::service as vehicles;
use crate::identity::audit::{self, Actor};
use crate::identity::organizations::service as organizations;
use crate::notify;
use crate::platform::db::{self, Writer};
use crate::platform::error::{AppError, AppResult, Constraint, FieldError};
use crate::platform::i18n::Msg;
use crate::platform::tenant::OrgId;
use crate::platform::validate::Validator;
use crate::workshop::clients::service as clients;
use crate::workshop::history::service as history;

/// The zones of the vehicle's outline a damage is marked on.
pub const ZONES: [&str; 9] =
    ["front", "bonnet", "windscreen", "roof", "rear", "left_front", "left_rear", "right_front", "right_rear"];

/// The largest signature taken (a PNG drawn on a phone is a few kilobytes).
const MAX_SIGNATURE_BYTES: usize = 512 * 1024;

/// A check-in as recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Checkin {
    pub id: i64,
    pub intervention_id: i64,
    pub vehicle_id: i64,
    pub mileage_km: Option<i64>,
    /// Fuel level in eighths of a tank (0 to 8).
    pub fuel_eighths: Option<i32>,
    /// Damaged zones: `front`, `bonnet`, `windscreen`, `roof`, `rear`, `left_front`, `left_rear`, `right_front`, `right_rear`.
    pub damages: Vec<String>,
    pub notes: Option<String>,
    /// Who signed (the customer's name as typed).
    pub signed_by: String,
    /// The signature's document.
    pub signature_document_id: i64,
    /// The check-in's PDF, a document of the intervention.
    pub report_document_id: Option<i64>,
    /// Where the PDF was e-mailed (none when the customer has no address).
    pub emailed_to: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
}

impl From<checkin::Model> for Checkin {
    fn from(m: checkin::Model) -> Self {
        Self {
            id: m.id,
            intervention_id: m.intervention_id,
            vehicle_id: m.vehicle_id,
            mileage_km: m.mileage_km,
            fuel_eighths: m.fuel_eighths,
            damages: m.damages.split(',').filter(|z| !z.is_empty()).map(str::to_owned).collect(),
            notes: m.notes,
            signed_by: m.signed_by,
            signature_document_id: m.signature_attachment_id,
            report_document_id: m.report_attachment_id,
            emailed_to: m.emailed_to,
            created_at: m.created_at,
        }
    }
}

/// A check-in as a form or a client sends it (text fields as typed).
#[derive(Debug, Clone, Default)]
pub struct CheckinInput {
    pub mileage_km: String,
    pub fuel_eighths: String,
    pub damages: Vec<String>,
    pub notes: String,
    pub signed_by: String,
    /// The signature drawn: a PNG, or a `data:image/png;base64,…` URL from the page's canvas.
    pub signature: Vec<u8>,
    /// Send the PDF to the customer (when they have an address).
    pub email: bool,
}

impl CheckinInput {
    /// Reads a form's fields (`damage` repeated, `signature` a data URL or a file).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut input = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "mileage_km" => input.mileage_km.clone_from(value),
                "fuel_eighths" => input.fuel_eighths.clone_from(value),
                "damage" => input.damages.push(value.clone()),
                "notes" => input.notes.clone_from(value),
                "signed_by" => input.signed_by.clone_from(value),
                "signature" if !value.is_empty() => input.signature = value.as_bytes().to_vec(),
                "email" => input.email = matches!(value.as_str(), "on" | "true" | "1"),
                _ => {}
            }
        }
        input
    }
}

struct Valid {
    mileage_km: Option<i64>,
    fuel_eighths: Option<i32>,
    damages: Vec<String>,
    notes: Option<String>,
    signed_by: String,
    signature_png: Vec<u8>,
}

fn signature_png(raw: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let text = std::str::from_utf8(raw).ok();
    let bytes = match text.and_then(|t| t.trim().strip_prefix("data:image/png;base64,")) {
        Some(encoded) => base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?,
        None => raw.to_vec(),
    };
    (bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() <= MAX_SIGNATURE_BYTES).then_some(bytes)
}

fn validate(input: &CheckinInput) -> AppResult<Valid> {
    let mut v = Validator::new();
    let mileage_km = match input.mileage_km.trim().replace([' ', '\u{202f}', '\u{a0}'], "").as_str() {
        "" => None,
        raw => match raw.parse::<i64>() {
            Ok(km) if (0..=5_000_000).contains(&km) => Some(km),
            _ => {
                v.add("mileage_km", Msg::new("checkin.mileage_invalid"));
                None
            }
        },
    };
    let fuel_eighths = match input.fuel_eighths.trim() {
        "" => None,
        raw => match raw.parse::<i32>() {
            Ok(level) if (0..=8).contains(&level) => Some(level),
            _ => {
                v.add("fuel_eighths", Msg::new("checkin.fuel_invalid"));
                None
            }
        },
    };
    let mut damages = Vec::new();
    for zone in &input.damages {
        match ZONES.iter().find(|z| **z == zone.trim()) {
            Some(zone) if !damages.iter().any(|d: &String| d == zone) => damages.push((*zone).to_owned()),
            Some(_) => {}
            None => v.add("damage", Msg::new("checkin.zone_invalid")),
        }
    }
    damages.sort_by_key(|d| ZONES.iter().position(|z| z == d));
    let notes = v.optional_long_text("notes", Some(&input.notes), 2000);
    let signed_by = v.required_text("signed_by", Some(&input.signed_by), 120);
    let signature = signature_png(&input.signature);
    if signature.is_none() {
        v.add("signature", Msg::new("checkin.signature_missing"));
    }
    v.finish()?;
    Ok(Valid {
        mileage_km,
        fuel_eighths,
        damages,
        notes,
        signed_by: signed_by.unwrap_or_default(),
        signature_png: signature.unwrap_or_default(),
    })
}

/// The intervention's check-in, if it has one.
pub async fn of_intervention(
    db: &impl ConnectionTrait,
    org: OrgId,
    intervention_id: i64,
) -> AppResult<Option<Checkin>> {
    history::get(db, org, intervention_id).await?;
    Ok(checkin::Entity::find()
        .filter(checkin::Column::OrganizationId.eq(org.get()))
        .filter(checkin::Column::InterventionId.eq(intervention_id))
        .one(db)
        .await?
        .map(Checkin::from))
}

fn already() -> AppError {
    AppError::conflict("checkin_exists", Msg::new("checkin.exists"))
}

/// Records the check-in of an intervention (409 `checkin_exists` for a second one).
pub async fn record<C: Writer>(
    db: &C,
    storage: Storage<'_>,
    actor: &Actor,
    intervention_id: i64,
    input: &CheckinInput,
    photos: Vec<Incoming>,
) -> AppResult<Checkin> {
    let org = actor.org;
    let intervention = history::get(db, org, intervention_id).await?;
    let valid = validate(input)?;
    if of_intervention(db, org, intervention_id).await?.is_some() {
        return Err(already());
    }
    // The signature decoded and printable before anything is kept.
    let signature_refused = || AppError::validation("signature", Msg::new("checkin.signature_unreadable"));
    let signature =
        crate::platform::uploads::process(valid.signature_png.clone(), false).await.map_err(|_| signature_refused())?;
    let printable = signature
        .width
        .zip(signature.height)
        .is_some_and(|(w, h)| u64::from(w) * u64::from(h) <= crate::platform::pdf::MAX_RASTER_PIXELS);
    if !printable || crate::platform::pdf::check_raster(&valid.signature_png, "image/png").is_err() {
        return Err(signature_refused());
    }
    let owner = Owner { kind: OwnerKind::Intervention, id: intervention_id };
    // The photos first: kept as the intervention's documents even if the signature is refused next.
    let photo_ids: Vec<i64> = if photos.is_empty() {
        Vec::new()
    } else {
        let described = UploadInput { kind: DocumentKind::CheckinPhoto.as_str().to_owned(), ..Default::default() };
        documents::upload(db, storage, actor, owner, &described, photos)
            .await
            .map_err(|err| match err {
                AppError::Validation(errors) => {
                    AppError::Validation(errors.into_iter().map(|e| FieldError::new("photos", e.message)).collect())
                }
                other => other,
            })?
            .into_iter()
            .map(|d| d.id)
            .collect()
    };
    let vehicle = vehicles::get(db, org, intervention.vehicle_id).await?;
    let client = match intervention.client_id {
        Some(id) => Some(clients::get(db, org, id).await?),
        None => clients::current_owner(db, org, intervention.vehicle_id).await?,
    };
    let organization = organizations::get(db, org).await?;
    let logo = match organization.has_logo {
        true => crate::identity::organizations::logo::get(db, org).await?,
        false => None,
    };
    let mut photo_previews = Vec::new();
    for id in photo_ids.iter().take(6) {
        let found = documents::read(db, storage, org, *id, Variant::Preview).await?;
        photo_previews.push((found.content_type.to_owned(), found.bytes));
    }
    let tr = crate::platform::i18n::current();
    let now = Utc::now();
    let zone = organization.zone()?;
    let document = super::pdf::CheckinDocument {
        organization: organization.clone(),
        logo,
        vehicle: vehicle.clone(),
        client_name: client.as_ref().map(|c| c.name.clone()),
        intervention: intervention.description.clone(),
        signed_at: tr.date_time_in(zone, now),
        mileage_km: valid.mileage_km,
        fuel_eighths: valid.fuel_eighths,
        damages: valid.damages.clone(),
        notes: valid.notes.clone(),
        signed_by: valid.signed_by.clone(),
        signature: valid.signature_png.clone(),
        photos: photo_previews,
    };
    let pdf = crate::platform::pdf::render_off_runtime(move || super::pdf::render(&document)).await?;
    let to = client.as_ref().and_then(|c| c.email.clone()).filter(|_| input.email);
    let file_name = format!("etat-des-lieux-{}.pdf", vehicle.license_plate.replace(' ', ""));
    // Both files in the store first: the transaction only writes rows.
    let signature = documents::store_generated(
        storage,
        actor,
        owner,
        DocumentKind::Signature,
        &Msg::new("checkin.signature_title").arg("name", &valid.signed_by).render(tr),
        valid.signature_png.clone(),
    )
    .await?;
    let report = documents::store_generated(
        storage,
        actor,
        owner,
        DocumentKind::CheckinReport,
        &Msg::new("checkin.report_title").arg("plate", &vehicle.license_plate).render(tr),
        pdf.clone(),
    )
    .await?;
    db::write(db, async |txn| {
        let signature = documents::insert_generated(txn, actor, signature).await?;
        let report = documents::insert_generated(txn, actor, report).await?;
        let mut emailed_to = None;
        if let Some(to) = &to {
            let subject = tr.format(
                "checkin.email_subject",
                &[("plate", &vehicle.license_plate), ("organization", &organization.name)],
            );
            let body = tr
                .format(
                    "checkin.email_body",
                    &[
                        ("client", client.as_ref().map_or("", |c| c.name.as_str())),
                        ("plate", &vehicle.license_plate),
                        ("organization", &organization.name),
                    ],
                )
                .replace("\\n", "\n");
            let attachment = notify::Attachment {
                name: file_name.clone(),
                content_type: "application/pdf".to_owned(),
                bytes: pdf.clone(),
            };
            let notice = notify::Notice::new(notify::Event::CheckinSigned, subject, body)
                .email(Some(to.clone()))
                .attach(attachment);
            if notify::send(txn, org, notice).await?.email_id.is_some() {
                emailed_to = Some(to.clone());
            }
        }
        let saved = checkin::ActiveModel {
            organization_id: Set(org.get()),
            intervention_id: Set(intervention_id),
            vehicle_id: Set(intervention.vehicle_id),
            mileage_km: Set(valid.mileage_km),
            fuel_eighths: Set(valid.fuel_eighths),
            damages: Set(valid.damages.join(",")),
            notes: Set(valid.notes.clone()),
            signed_by: Set(valid.signed_by.clone()),
            signature_attachment_id: Set(signature.id),
            report_attachment_id: Set(Some(report.id)),
            emailed_to: Set(emailed_to),
            created_by: Set(actor.user_id),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(txn)
        .await
        .map_err(|err| already().if_refused(err, Constraint::is_unique))?;
        let recorded = Checkin::from(saved);
        audit::record_change(txn, actor, ("vehicle_checkin", recorded.id), None, Some(&recorded)).await?;
        Ok(recorded)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_canvas_signature_is_read_from_its_data_url() {
        let png = b"\x89PNG\r\n\x1a\nrest of the image";
        // "iVBORw0KGgpyZXN0IG9mIHRoZSBpbWFnZQ==" is the same bytes in base64.
        let url = b"data:image/png;base64,iVBORw0KGgpyZXN0IG9mIHRoZSBpbWFnZQ==";
        assert_eq!(signature_png(url).as_deref(), Some(&png[..]));
        assert_eq!(signature_png(png).as_deref(), Some(&png[..]));
        assert_eq!(signature_png(b"data:image/png;base64,!!!"), None);
        assert_eq!(signature_png(b"data:image/svg+xml;base64,PHN2Zz4="), None);
        assert_eq!(signature_png(b""), None);
    }
}
