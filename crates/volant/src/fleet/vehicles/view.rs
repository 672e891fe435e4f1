//! A vehicle as pages show it: the fleet's own pages, and other domains' pages
//! that list vehicles (a client's cars).

use super::service::Vehicle;
use crate::platform::i18n;
use crate::platform::money::group_thousands;

/// A vehicle as a page shows it: numbers and dates in the reader's formats.
#[derive(Debug, Clone)]
pub struct VehicleRow {
    pub id: i64,
    pub garage_id: i64,
    pub garage_name: String,
    pub license_plate: String,
    pub brand: String,
    pub model: String,
    pub year: i32,
    pub mileage: String,
    pub fuel: String,
    pub color: String,
    pub vin: String,
    pub updated_at: String,
}

impl VehicleRow {
    pub fn new(v: Vehicle, garage_name: String) -> Self {
        let tr = i18n::current();
        Self {
            id: v.id,
            garage_id: v.garage_id,
            garage_name,
            license_plate: v.license_plate,
            brand: v.brand,
            model: v.model,
            year: v.year,
            mileage: v.mileage_km.map_or_else(|| "—".to_owned(), |km| format!("{} km", group_thousands(km))),
            fuel: v.fuel_type.map_or_else(|| "—".to_owned(), |f| tr.text(f.label_key()).to_owned()),
            color: v.color.unwrap_or_else(|| "—".to_owned()),
            vin: v.vin.unwrap_or_else(|| "—".to_owned()),
            updated_at: i18n::local_date_time(v.updated_at),
        }
    }
}
