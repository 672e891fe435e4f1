//! A check-in as a PDF: the garage, the vehicle and its customer, mileage and
//! fuel gauge, the outline with its damaged zones filled, notes, photos, and the
//! customer's signature.

use crate::fleet::vehicles::service::Vehicle;
use crate::identity::organizations::service::Organization;
use crate::platform::error::AppResult;
use crate::platform::pdf::{
    Align, BODY, Issuer, LINE, Layout, MARGIN, RIGHT, TABLE_W, finish, issuer_block, raster, wrap,
};

/// Everything the check-in's PDF shows.
pub struct CheckinDocument {
    pub organization: Organization,
    pub logo: Option<crate::identity::organizations::logo::Logo>,
    pub vehicle: Vehicle,
    pub client_name: Option<String>,
    pub intervention: String,
    /// When it was signed, in the organization's time zone.
    pub signed_at: String,
    pub mileage_km: Option<i64>,
    pub fuel_eighths: Option<i32>,
    pub damages: Vec<String>,
    pub notes: Option<String>,
    pub signed_by: String,
    /// A PNG.
    pub signature: Vec<u8>,
    /// (content type, bytes) of up to six photos, reduced.
    pub photos: Vec<(String, Vec<u8>)>,
}

/// A box of the outline: x, y, width, height.
type Area = (f32, f32, f32, f32);

/// The outline's zones, as boxes of a car seen from above, its front up.
const OUTLINE: [(&str, Area); 9] = [
    ("front", (40.0, 0.0, 80.0, 22.0)),
    ("bonnet", (40.0, 22.0, 80.0, 50.0)),
    ("windscreen", (40.0, 72.0, 80.0, 22.0)),
    ("roof", (40.0, 94.0, 80.0, 80.0)),
    ("rear", (40.0, 174.0, 80.0, 46.0)),
    ("left_front", (0.0, 22.0, 40.0, 90.0)),
    ("left_rear", (0.0, 112.0, 40.0, 90.0)),
    ("right_front", (120.0, 22.0, 40.0, 90.0)),
    ("right_rear", (120.0, 112.0, 40.0, 90.0)),
];

pub fn render(doc: &CheckinDocument) -> AppResult<Vec<u8>> {
    let tr = doc.organization.locale;
    let mut layout = Layout::new();
    let org = &doc.organization;
    let logo = doc.logo.as_ref().and_then(|l| raster(&l.bytes, &l.content_type));
    let issuer = Issuer {
        name: &org.name,
        address: org.address.as_deref(),
        phone: org.phone.as_deref(),
        email: org.email.as_deref(),
        registration_number: org.registration_number.as_deref(),
        vat_number: org.vat_number.as_deref(),
    };
    let top = issuer_block(&mut layout, logo.as_ref(), &issuer, tr);
    layout.text(RIGHT, MARGIN + 14.0, 16.0, true, Align::Right, tr.text("checkin.pdf_title"));
    layout.text(RIGHT, MARGIN + 30.0, BODY, false, Align::Right, doc.signed_at.clone());
    layout.y = top + 16.0;

    let v = &doc.vehicle;
    let mut facts: Vec<(String, String)> = vec![
        (tr.text("checkin.vehicle").to_owned(), format!("{} · {} {} ({})", v.license_plate, v.brand, v.model, v.year)),
        (tr.text("checkin.customer").to_owned(), doc.client_name.clone().unwrap_or_else(|| "—".to_owned())),
        (tr.text("checkin.work").to_owned(), doc.intervention.lines().next().unwrap_or_default().to_owned()),
        (
            tr.text("checkin.mileage").to_owned(),
            doc.mileage_km
                .map_or_else(|| "—".to_owned(), |km| format!("{} km", crate::platform::money::group_thousands(km))),
        ),
        (tr.text("checkin.fuel").to_owned(), doc.fuel_eighths.map_or_else(|| "—".to_owned(), |f| format!("{f}/8"))),
    ];
    if let Some(vin) = &v.vin {
        facts.insert(1, ("VIN".to_owned(), vin.clone()));
    }
    for (label, value) in &facts {
        layout.text(MARGIN, layout.y, BODY, true, Align::Left, label.clone());
        for line in wrap(value, BODY, false, TABLE_W - 110.0) {
            layout.text(MARGIN + 110.0, layout.y, BODY, false, Align::Left, line);
            layout.y += LINE;
        }
    }
    if let Some(level) = doc.fuel_eighths {
        // The gauge: eight boxes, the level's filled.
        let y = layout.y;
        for i in 0..8 {
            let x = MARGIN + 110.0 + i as f32 * 14.0;
            layout.fill(x, y, 12.0, 8.0, if i < level { 60 } else { 225 });
        }
        layout.y += 16.0;
    }

    // The outline, damaged zones dark, and their names beside it.
    layout.y += 8.0;
    layout.text(MARGIN, layout.y, BODY + 1.0, true, Align::Left, tr.text("checkin.damages"));
    layout.y += 8.0;
    let (ox, oy) = (MARGIN, layout.y);
    for (zone, (x, y, w, h)) in OUTLINE {
        let damaged = doc.damages.iter().any(|d| d == zone);
        layout.fill(ox + x + 1.0, oy + y + 1.0, w - 2.0, h - 2.0, if damaged { 90 } else { 235 });
    }
    let mut ty = oy + 10.0;
    if doc.damages.is_empty() {
        layout.text(ox + 190.0, ty, BODY, false, Align::Left, tr.text("checkin.no_damage"));
    }
    for zone in &doc.damages {
        layout.text(
            ox + 190.0,
            ty,
            BODY,
            false,
            Align::Left,
            format!("• {}", tr.text(&format!("checkin.zone.{zone}"))),
        );
        ty += LINE;
    }
    layout.y = oy + 230.0;

    if let Some(notes) = doc.notes.as_deref().filter(|n| !n.trim().is_empty()) {
        layout.ensure(40.0);
        layout.text(MARGIN, layout.y, BODY + 1.0, true, Align::Left, tr.text("checkin.notes"));
        layout.y += LINE + 2.0;
        for line in notes.lines().flat_map(|l| wrap(l, BODY, false, TABLE_W)) {
            layout.ensure(LINE);
            layout.text(MARGIN, layout.y, BODY, false, Align::Left, line);
            layout.y += LINE;
        }
        layout.y += 6.0;
    }

    let photos: Vec<_> = doc.photos.iter().filter_map(|(t, b)| raster(b, t)).collect();
    if !photos.is_empty() {
        layout.ensure(140.0);
        layout.text(MARGIN, layout.y, BODY + 1.0, true, Align::Left, tr.text("checkin.photos"));
        layout.y += 8.0;
        let (w, h) = (TABLE_W / 3.0 - 8.0, 110.0);
        for (i, photo) in photos.iter().enumerate() {
            if i % 3 == 0 && i > 0 {
                layout.y += h + 8.0;
                layout.ensure(h + 8.0);
            }
            let x = MARGIN + (i % 3) as f32 * (w + 8.0);
            layout.image(x, layout.y, (w, h), photo);
        }
        layout.y += h + 16.0;
    }

    // The signature, under the statement the customer signed.
    layout.ensure(120.0);
    for line in wrap(tr.text("checkin.statement"), BODY, false, TABLE_W) {
        layout.text(MARGIN, layout.y, BODY, false, Align::Left, line);
        layout.y += LINE;
    }
    layout.y += 4.0;
    layout.text(MARGIN, layout.y, BODY, true, Align::Left, tr.format("checkin.signed_by", &[("name", &doc.signed_by)]));
    layout.y += 6.0;
    if let Some(signature) = raster(&doc.signature, "image/png") {
        layout.image(MARGIN, layout.y, (220.0, 80.0), &signature);
    }
    layout.y += 86.0;
    let title = format!("{} {}", tr.text("checkin.pdf_title"), v.license_plate);
    finish(layout, &title, "", tr)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_outline_names_every_zone_once() {
        let zones: Vec<&str> = super::OUTLINE.iter().map(|(z, _)| *z).collect();
        assert_eq!(zones, super::super::service::ZONES);
    }
}
