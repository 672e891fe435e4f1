//! Demo data: garages in France and West Africa with a few hundred vehicles,
//! created through the services (same rules as users) in one transaction.

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};

use super::garages::service::{self as garages, GarageInput};
use super::vehicles::model::FuelType;
use super::vehicles::service::{self as vehicles, VehicleInput};
use crate::identity::audit::Actor;
use crate::platform::db;
use crate::platform::error::{AppError, AppResult};
use crate::platform::tenant::OrgId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub garages: usize,
    pub vehicles: usize,
}

/// Where a demo organization's garages are: France (euros, the driving school
/// too) or West Africa (Dakar, Thiès, Abidjan, Cotonou: one network invoicing in
/// CFA francs, its own organization).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    France,
    WestAfrica,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PlateStyle {
    /// SIV: AB-123-CD
    France,
    /// DK-1234-AB
    Senegal,
    /// 1234 AB 01
    IvoryCoast,
    /// AB 1234 RB
    Benin,
}

struct DemoGarage {
    name: &'static str,
    address: &'static str,
    postal_code: Option<&'static str>,
    city: &'static str,
    phone: &'static str,
    style: PlateStyle,
    vehicles: usize,
    /// Where it is (the demo works without a geocoder).
    position: (f64, f64),
}

const GARAGES: &[DemoGarage] = &[
    DemoGarage {
        name: "Garage du Centre",
        address: "12 rue de la République",
        postal_code: Some("69002"),
        city: "Lyon",
        phone: "+33 4 78 42 10 10",
        style: PlateStyle::France,
        vehicles: 48,
        position: (45.7630, 4.8357),
    },
    DemoGarage {
        name: "Atelier Saint-Michel",
        address: "8 boulevard Saint-Michel",
        postal_code: Some("75006"),
        city: "Paris",
        phone: "+33 1 43 26 00 00",
        style: PlateStyle::France,
        vehicles: 42,
        position: (48.8531, 2.3440),
    },
    DemoGarage {
        name: "Garage des Chartrons",
        address: "45 quai des Chartrons",
        postal_code: Some("33000"),
        city: "Bordeaux",
        phone: "+33 5 56 00 12 34",
        style: PlateStyle::France,
        vehicles: 36,
        position: (44.8510, -0.5700),
    },
    DemoGarage {
        name: "Auto Service Plateau",
        address: "Avenue Léopold Sédar Senghor",
        postal_code: None,
        city: "Dakar",
        phone: "+221 33 821 00 00",
        style: PlateStyle::Senegal,
        vehicles: 44,
        position: (14.6700, -17.4380),
    },
    DemoGarage {
        name: "Garage Thiès Motors",
        address: "Route de Dakar",
        postal_code: None,
        city: "Thiès",
        phone: "+221 33 951 00 00",
        style: PlateStyle::Senegal,
        vehicles: 30,
        position: (14.7880, -16.9450),
    },
    DemoGarage {
        name: "Abidjan Auto Cocody",
        address: "Boulevard de France, Cocody",
        postal_code: None,
        city: "Abidjan",
        phone: "+225 27 22 44 00 00",
        style: PlateStyle::IvoryCoast,
        vehicles: 46,
        position: (5.3400, -3.9900),
    },
    DemoGarage {
        name: "Garage de Treichville",
        address: "Rue 12, Treichville",
        postal_code: None,
        city: "Abidjan",
        phone: "+225 27 21 24 00 00",
        style: PlateStyle::IvoryCoast,
        vehicles: 34,
        position: (5.2930, -4.0050),
    },
    DemoGarage {
        name: "Cotonou Mécanique",
        address: "Boulevard de la Marina",
        postal_code: None,
        city: "Cotonou",
        phone: "+229 21 31 00 00",
        style: PlateStyle::Benin,
        vehicles: 40,
        position: (6.3560, 2.4200),
    },
];

/// Brand, model, fuel, and the first year that model was sold with that fuel (the
/// demo builds none before it).
const MODELS: &[(&str, &str, FuelType, i32)] = &[
    ("Renault", "Clio", FuelType::Petrol, 2004),
    ("Renault", "Mégane", FuelType::Diesel, 2004),
    ("Renault", "Captur", FuelType::Hybrid, 2020),
    ("Peugeot", "208", FuelType::Petrol, 2012),
    ("Peugeot", "308", FuelType::Diesel, 2007),
    ("Peugeot", "3008", FuelType::Hybrid, 2012),
    ("Peugeot", "e-208", FuelType::Electric, 2019),
    ("Citroën", "C3", FuelType::Petrol, 2004),
    ("Citroën", "C4", FuelType::Diesel, 2004),
    ("Dacia", "Sandero", FuelType::Lpg, 2008),
    ("Dacia", "Duster", FuelType::Diesel, 2010),
    ("Toyota", "Corolla", FuelType::Hybrid, 2019),
    ("Toyota", "Hilux", FuelType::Diesel, 2004),
    ("Toyota", "Land Cruiser", FuelType::Diesel, 2004),
    ("Toyota", "RAV4", FuelType::Hybrid, 2016),
    ("Volkswagen", "Golf", FuelType::Petrol, 2004),
    ("Volkswagen", "Polo", FuelType::Petrol, 2004),
    ("Hyundai", "Tucson", FuelType::Diesel, 2004),
    ("Kia", "Sportage", FuelType::Diesel, 2004),
    ("Mercedes-Benz", "Classe C", FuelType::Diesel, 2004),
    ("Nissan", "Navara", FuelType::Diesel, 2005),
    ("Ford", "Ranger", FuelType::Diesel, 2004),
    ("Suzuki", "Swift", FuelType::Petrol, 2004),
    ("Tesla", "Model 3", FuelType::Electric, 2017),
];

const COLORS: &[&str] = &["Blanc", "Noir", "Gris", "Gris argent", "Bleu", "Rouge", "Beige", "Vert"];
/// SIV plates use neither I, O nor U.
const SIV_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXYZ";
const SENEGAL_REGIONS: &[&str] = &["DK", "TH", "SL", "KL", "ZG"];
const VIN_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

/// What the demo's French business says of itself on its quotes and e-mails, when
/// its organization was never set up (a believable SIRET and VAT number, keys
/// included).
pub fn france_profile() -> crate::identity::organizations::service::OrganizationPatch {
    crate::identity::organizations::service::OrganizationPatch {
        name: Some("Garage & Auto-école du Centre".to_owned()),
        kind: Some("both".to_owned()),
        address: Some(Some("12 rue de la République, 69002 Lyon".to_owned())),
        phone: Some(Some("+33 4 78 42 10 10".to_owned())),
        email: Some(Some("contact@garage-du-centre.example".to_owned())),
        registration_number: Some(Some("84231567800016".to_owned())),
        vat_number: Some(Some("FR46842315678".to_owned())),
        ..Default::default()
    }
}

/// The demo's West African network: a garage business of its own, in CFA francs
/// (no decimals), 18 % VAT, on Dakar's time.
pub fn west_africa() -> crate::identity::organizations::service::NewOrganization {
    use crate::identity::organizations::service::{NewOrganization, OrganizationPatch};
    NewOrganization {
        name: "Sahel Auto Services".to_owned(),
        kind: "garage".to_owned(),
        currency: "XOF".to_owned(),
        locale: "fr".to_owned(),
        time_zone: "Africa/Dakar".to_owned(),
        details: OrganizationPatch {
            address: Some(Some("Avenue Léopold Sédar Senghor, Dakar, Sénégal".to_owned())),
            phone: Some(Some("+221 33 821 00 00".to_owned())),
            email: Some(Some("contact@sahel-auto.example".to_owned())),
            registration_number: Some(Some("NINEA 005432178 2G3".to_owned())),
            vat_rates: Some(vec!["18".to_owned()]),
            ..Default::default()
        },
    }
}

impl PlateStyle {
    fn region(self) -> Region {
        if self == Self::France { Region::France } else { Region::WestAfrica }
    }
}

/// Fills an empty organization with the region's garages. Refuses to touch an
/// organization that already has garages.
pub async fn seed(db: &DatabaseConnection, org: OrgId, region: Region) -> AppResult<SeedReport> {
    if crate::platform::tenant::has_any::<crate::fleet::garages::entity::Entity>(db, org).await? {
        return Err(AppError::Internal(
            "the organization already has garages: seed-demo only fills an empty database".into(),
        ));
    }
    let mut rng = fastrand::Rng::with_seed(if region == Region::France { 2026 } else { 2221 });
    let actor = Actor::system(org);
    db::write(db, async |txn| {
        let mut report = SeedReport { garages: 0, vehicles: 0 };
        let mut serial = 0_u32;
        for demo in GARAGES.iter().filter(|g| g.style.region() == region) {
            let garage = garages::create(
                txn,
                &actor,
                &GarageInput {
                    name: Some(demo.name.into()),
                    address: Some(demo.address.into()),
                    city: Some(demo.city.into()),
                    postal_code: demo.postal_code.map(Into::into),
                    phone: Some(demo.phone.into()),
                    latitude: Some(demo.position.0),
                    longitude: Some(demo.position.1),
                    unpin: false,
                },
            )
            .await?;
            report.garages += 1;
            for _ in 0..demo.vehicles {
                serial += 1;
                let (brand, model, fuel, since) = MODELS[rng.usize(..MODELS.len())];
                let year = build_year(&mut rng, since);
                let age = i64::from(2026 - year);
                let input = VehicleInput {
                    garage_id: Some(garage.id),
                    brand: Some(brand.into()),
                    model: Some(model.into()),
                    year: Some(year),
                    license_plate: Some(plate(demo.style, serial, &mut rng)),
                    vin: rng.bool().then(|| vin(&mut rng)),
                    mileage_km: Some(age * rng.i64(6_000..=22_000) + rng.i64(0..5_000)),
                    fuel_type: Some(fuel),
                    color: Some(COLORS[rng.usize(..COLORS.len())].into()),
                };
                vehicles::create(txn, &actor, &input).await?;
                report.vehicles += 1;
            }
        }
        Ok(report)
    })
    .await
}

fn letters(rng: &mut fastrand::Rng, alphabet: &[u8], n: usize) -> String {
    (0..n).map(|_| char::from(alphabet[rng.usize(..alphabet.len())])).collect()
}

/// A plate in the garage's country format; `serial` keeps every plate unique.
fn plate(style: PlateStyle, serial: u32, rng: &mut fastrand::Rng) -> String {
    let a = letters(rng, SIV_LETTERS, 2);
    match style {
        PlateStyle::France => format!("{a}-{:03}-{}", serial % 1000, letters(rng, SIV_LETTERS, 2)),
        PlateStyle::Senegal => {
            format!("{}-{:04}-{a}", SENEGAL_REGIONS[rng.usize(..SENEGAL_REGIONS.len())], serial)
        }
        PlateStyle::IvoryCoast => format!("{:04} {a} 01", serial),
        PlateStyle::Benin => format!("{a} {:04} RB", serial),
    }
}

/// A model year for a vehicle of a model first sold in `since`, in the demo's 2004–2025.
fn build_year(rng: &mut fastrand::Rng, since: i32) -> i32 {
    rng.i32(since.max(2004)..=2025)
}

fn vin(rng: &mut fastrand::Rng) -> String {
    letters(rng, VIN_CHARS, 17)
}

/// Used by tests and tools to see whether a database is empty.
pub async fn garage_count(db: &DatabaseConnection) -> AppResult<u64> {
    Ok(crate::fleet::garages::entity::Entity::find().count(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_model_is_built_before_it_was_sold() {
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..1_000 {
            let (_, model, _, since) = MODELS[rng.usize(..MODELS.len())];
            let year = build_year(&mut rng, since);
            assert!(year >= since, "{model} {year}");
        }
        assert!(MODELS.iter().any(|(_, model, _, since)| *model == "Model 3" && *since == 2017));
    }
}
