//! The data generator: organizations, garages and vehicles at benchmark scale,
//! reproducible (fixed seed) and loaded in batched multi-row inserts.

use std::time::Instant;
use volant::fleet::vehicles::model::FuelType;
use volant::workshop::clients::service::ClientKind;

use chrono::{Duration, TimeZone, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, TransactionTrait};
use volant::fleet::garages::entity as garages;
use volant::fleet::vehicles::entity as vehicles;
use volant::identity::organizations::service::{self as organizations, NewOrganization};
use volant::identity::roles::Role;
use volant::identity::users::service::{self as users, NewUser};
use volant::platform::tenant::OrgId;
use volant::school::candidates::service::TheoryStatus;
use volant::school::planning::service::{LessonKind, LessonStatus};

/// The benchmark's user: an administrator of the first organization.
pub const BENCH_EMAIL: &str = "bench@volant.test";
pub const BENCH_PASSWORD: &str = "Banc-d'essai Volant 2026";

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Scale {
    pub organizations: usize,
    pub garages_per_organization: usize,
    pub vehicles: usize,
    /// Workshop clients of the benchmark's organization, most of them owning a vehicle.
    #[serde(default)]
    pub clients: usize,
    /// The benchmark organization's driving school: instructors (each with a
    /// training car), candidates and lessons.
    #[serde(default)]
    pub instructors: usize,
    #[serde(default)]
    pub candidates: usize,
    #[serde(default)]
    pub lessons: usize,
    /// The workshop's records: quotes (with lines), interventions, issued invoices.
    #[serde(default)]
    pub quotes: usize,
    #[serde(default)]
    pub interventions: usize,
    #[serde(default)]
    pub invoices: usize,
}

impl Scale {
    /// The issue's scale: 10 organizations, 1,000 garages, 1,000,000 vehicles;
    /// in the benchmark's organization 100,000 clients, 300,000 quotes,
    /// 1,000,000 interventions, 100,000 invoices, and a school of 5,000
    /// candidates with 1,000,000 lessons.
    pub const FULL: Self = Self {
        organizations: 10,
        garages_per_organization: 100,
        vehicles: 1_000_000,
        clients: 100_000,
        instructors: 150,
        candidates: 5_000,
        lessons: 1_000_000,
        quotes: 300_000,
        interventions: 1_000_000,
        invoices: 100_000,
    };
    /// Enough rows for every scenario to mean something, loaded in seconds (CI).
    pub const QUICK: Self = Self {
        organizations: 2,
        garages_per_organization: 10,
        vehicles: 20_000,
        clients: 5_000,
        instructors: 12,
        candidates: 300,
        lessons: 15_000,
        quotes: 3_000,
        interventions: 10_000,
        invoices: 1_000,
    };

    pub fn name(self) -> String {
        format!(
            "{}o-{}g-{}v-{}c-{}l-{}q",
            self.organizations, self.garages_per_organization, self.vehicles, self.clients, self.lessons, self.quotes
        )
    }
}

const ROWS_PER_INSERT: usize = 1_000;
const ROWS_PER_TRANSACTION: usize = 50_000;

/// Letters of French SIV plates (I, O and U are never used); Z is left out so that
/// plates made during the benchmark (`Z…`) never meet a seeded one.
const PLATE_LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTVWXY";

/// Brands with their models, weighted roughly like a French or West African workshop's intake.
const CATALOG: &[(&str, u32, &[&str])] = &[
    ("Renault", 18, &["Clio", "Mégane", "Captur", "Kangoo", "Twingo", "Scénic", "Master", "Zoe"]),
    ("Peugeot", 17, &["208", "308", "2008", "3008", "Partner", "Expert", "508"]),
    ("Citroën", 10, &["C3", "C4", "Berlingo", "C5 Aircross", "Jumpy"]),
    ("Toyota", 12, &["Yaris", "Corolla", "Hilux", "RAV4", "Land Cruiser", "Prado"]),
    ("Volkswagen", 8, &["Golf", "Polo", "Tiguan", "Passat", "Transporter"]),
    ("Dacia", 8, &["Sandero", "Duster", "Logan", "Jogger", "Spring"]),
    ("Hyundai", 5, &["i10", "i20", "Tucson", "Santa Fe"]),
    ("Kia", 4, &["Picanto", "Rio", "Sportage"]),
    ("Ford", 4, &["Fiesta", "Focus", "Ranger", "Transit"]),
    ("Mercedes-Benz", 4, &["Classe A", "Classe C", "Sprinter", "Vito"]),
    ("Nissan", 4, &["Micra", "Qashqai", "Navara"]),
    ("BMW", 3, &["Série 1", "Série 3", "X1"]),
    ("Suzuki", 2, &["Swift", "Vitara"]),
    ("Mitsubishi", 1, &["L200", "Pajero"]),
];

/// The brands a search scenario looks for, lower-case as a user types them.
pub fn brands() -> Vec<String> {
    CATALOG.iter().map(|(brand, _, _)| brand.to_lowercase()).collect()
}

const CITIES: &[(&str, &str)] = &[
    ("Paris", "75011"),
    ("Lyon", "69003"),
    ("Marseille", "13005"),
    ("Toulouse", "31000"),
    ("Bordeaux", "33000"),
    ("Lille", "59000"),
    ("Nantes", "44000"),
    ("Dakar", ""),
    ("Thiès", ""),
    ("Abidjan", ""),
    ("Bouaké", ""),
    ("Cotonou", ""),
    ("Porto-Novo", ""),
];
const STREETS: &[&str] =
    &["rue de la République", "avenue Jean Jaurès", "boulevard Gambetta", "route de Rufisque", "rue du Commerce"];
const COLORS: &[&str] = &["Blanc", "Gris", "Noir", "Bleu", "Rouge", "Argent", "Vert", "Beige"];
const FUELS: &[FuelType] = &[
    FuelType::Diesel,
    FuelType::Diesel,
    FuelType::Petrol,
    FuelType::Petrol,
    FuelType::Petrol,
    FuelType::Hybrid,
    FuelType::Electric,
    FuelType::Lpg,
];
/// VIN alphabet: digits and capitals except I, O, Q.
const VIN_CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPRSTUVWXYZ";

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SeedReport {
    pub scale: Scale,
    pub seconds: f64,
    pub vehicles_per_second: f64,
}

/// Number of vehicles already there (a database seeded at this scale is reused).
pub async fn vehicle_count(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    vehicles::Entity::find().count(db).await
}

/// Fills an empty, migrated database. The default organization is the first one.
pub async fn seed(db: &DatabaseConnection, first_org: OrgId, scale: Scale) -> Result<SeedReport, String> {
    let started = Instant::now();
    let err = |e: sea_orm::DbErr| e.to_string();
    let mut rng = fastrand::Rng::with_seed(20_261_121);
    let mut orgs = vec![first_org];
    for n in 1..scale.organizations {
        let new = NewOrganization { name: format!("Réseau de garages {n}"), ..Default::default() };
        orgs.push(organizations::create(db, new).await.map_err(|e| e.to_string())?);
    }
    let user = NewUser {
        email: BENCH_EMAIL.to_owned(),
        display_name: "Banc d'essai".to_owned(),
        password: BENCH_PASSWORD.to_owned(),
        roles: vec![Role::Admin],
    };
    users::create(db, first_org, user).await.map_err(|e| format!("bench user: {e}"))?;

    let epoch = Utc.with_ymd_and_hms(2021, 1, 1, 8, 0, 0).single().ok_or("epoch")?;
    let mut garage_ids: Vec<Vec<i64>> = Vec::with_capacity(orgs.len());
    for org in &orgs {
        let mut rows = Vec::with_capacity(scale.garages_per_organization);
        for n in 0..scale.garages_per_organization {
            let (city, postal) = CITIES[rng.usize(..CITIES.len())];
            rows.push(garages::ActiveModel {
                organization_id: sea_orm::Set(org.get()),
                name: sea_orm::Set(format!("Garage {city} {}", n + 1)),
                sort_name: sea_orm::Set(volant::platform::search::sort_key(&format!("Garage {city} {}", n + 1))),
                address: sea_orm::Set(format!("{} {}", rng.u32(1..200), STREETS[rng.usize(..STREETS.len())])),
                city: sea_orm::Set(Some(city.to_owned())),
                postal_code: sea_orm::Set((!postal.is_empty()).then(|| postal.to_owned())),
                phone: sea_orm::Set(Some(format!("+33 4 {:02} {:02} {:02} {:02}", n % 100, n / 100, n % 7, n % 13))),
                created_at: sea_orm::Set(epoch),
                updated_at: sea_orm::Set(epoch),
                ..Default::default()
            });
        }
        garages::Entity::insert_many(rows).exec_without_returning(db).await.map_err(err)?;
        let ids = garages::Entity::find()
            .filter_by_org(org.get())
            .all(db)
            .await
            .map_err(err)?
            .into_iter()
            .map(|g| g.id)
            .collect();
        garage_ids.push(ids);
    }

    let total_weight: u32 = CATALOG.iter().map(|(_, w, _)| w).sum();
    let span_minutes = Duration::days(5 * 365).num_minutes();
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    // PostgreSQL: the garage-count triggers would update a garage row per vehicle
    // (a million row versions); they are skipped while loading and the counts
    // computed once at the end. The data is valid by construction.
    let begin = || async {
        let txn = db.begin().await?;
        if postgres {
            txn.execute_unprepared("SET LOCAL session_replication_role = replica").await?;
        }
        Ok::<_, sea_orm::DbErr>(txn)
    };
    let mut txn = begin().await.map_err(err)?;
    let mut batch = Vec::with_capacity(ROWS_PER_INSERT);
    for i in 0..scale.vehicles {
        // Vehicles arrive over time across every organization and garage, so a
        // garage's rows are scattered through the table as they would be in life.
        let org_index = i % orgs.len();
        let nth_in_org = i / orgs.len();
        let garages_of_org = &garage_ids[org_index];
        let garage_id = garages_of_org[rng.usize(..garages_of_org.len())];
        let mut pick = rng.u32(..total_weight);
        let (brand, _, models) = CATALOG
            .iter()
            .find(|(_, w, _)| {
                if pick < *w {
                    true
                } else {
                    pick -= w;
                    false
                }
            })
            .unwrap_or(&CATALOG[0]);
        let (display, normalized) = plate(nth_in_org, org_index);
        let created = epoch + Duration::minutes(span_minutes * i as i64 / scale.vehicles.max(1) as i64);
        batch.push(vehicles::ActiveModel {
            organization_id: sea_orm::Set(orgs[org_index].get()),
            garage_id: sea_orm::Set(garage_id),
            brand: sea_orm::Set((*brand).to_owned()),
            model: sea_orm::Set(models[rng.usize(..models.len())].to_owned()),
            year: sea_orm::Set(rng.i32(1998..=2026)),
            license_plate: sea_orm::Set(display),
            plate_normalized: sea_orm::Set(normalized),
            vin: sea_orm::Set((rng.u8(..10) < 7).then(|| vin(i))),
            mileage_km: sea_orm::Set(Some(rng.i64(0..320_000))),
            fuel_type: sea_orm::Set(Some(FUELS[rng.usize(..FUELS.len())])),
            color: sea_orm::Set(Some(COLORS[rng.usize(..COLORS.len())].to_owned())),
            created_at: sea_orm::Set(created),
            updated_at: sea_orm::Set(created),
            ..Default::default()
        });
        if batch.len() == ROWS_PER_INSERT {
            vehicles::Entity::insert_many(std::mem::take(&mut batch))
                .exec_without_returning(&txn)
                .await
                .map_err(err)?;
            if (i + 1) % ROWS_PER_TRANSACTION == 0 {
                txn.commit().await.map_err(err)?;
                txn = begin().await.map_err(err)?;
                eprint!("\r  {} / {} vehicles", i + 1, scale.vehicles);
            }
        }
    }
    if !batch.is_empty() {
        vehicles::Entity::insert_many(batch).exec_without_returning(&txn).await.map_err(err)?;
    }
    txn.commit().await.map_err(err)?;
    eprintln!();
    if postgres {
        db.execute_unprepared(
            "UPDATE garages SET vehicle_count = (SELECT COUNT(*) FROM vehicles WHERE vehicles.garage_id = garages.id)",
        )
        .await
        .map_err(err)?;
    }
    seed_clients(db, first_org, scale.clients, epoch, &mut rng).await?;
    seed_school(db, first_org, scale).await?;
    seed_notifications(db, first_org).await?;
    seed_billing(db, first_org).await?;
    crate::seed_records::seed(db, first_org, scale).await?;
    // Fresh statistics, as a production database would have after autovacuum.
    db.execute_unprepared("ANALYZE").await.map_err(err)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(SeedReport { scale, seconds, vehicles_per_second: scale.vehicles as f64 / seconds })
}

const FIRST_NAMES: &[&str] = &[
    "Jeanne",
    "Paul",
    "Fatou",
    "Mamadou",
    "Aïssatou",
    "Louis",
    "Camille",
    "Ibrahima",
    "Awa",
    "Lucas",
    "Chloé",
    "Moussa",
    "Emma",
    "Ousmane",
    "Léa",
    "Kofi",
    "Adjoa",
    "Hugo",
    "Mariam",
    "Nathan",
    "Inès",
    "Cheikh",
    "Sophie",
    "Yao",
];
const LAST_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Diop",
    "Ndiaye",
    "Traoré",
    "Koné",
    "Dubois",
    "Durand",
    "Sow",
    "Fall",
    "Kouassi",
    "Petit",
    "Leroy",
    "Moreau",
    "Diallo",
    "Camara",
    "Mensah",
    "Lefebvre",
    "Garcia",
    "Coulibaly",
    "Faye",
    "Roux",
    "Fournier",
    "Girard",
    "Bamba",
    "Touré",
    "Sylla",
    "Lambert",
    "Bonnet",
    "Gueye",
];

/// The last names the client-search scenario types (their first letters).
pub fn client_name_prefixes() -> Vec<String> {
    LAST_NAMES.iter().map(|n| n.to_lowercase().chars().take(4).collect()).collect()
}

/// The benchmark organization's clients, indexed for search exactly as the service
/// indexes them, each of the first ones owning one of the organization's vehicles.
async fn seed_clients(
    db: &DatabaseConnection,
    org: OrgId,
    count: usize,
    epoch: chrono::DateTime<Utc>,
    rng: &mut fastrand::Rng,
) -> Result<(), String> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
    use volant::workshop::clients::entity::{client, ownership, search_term};
    use volant::workshop::clients::service::terms_of;
    if count == 0 {
        return Ok(());
    }
    let err = |e: sea_orm::DbErr| e.to_string();
    let vehicle_ids: Vec<i64> = vehicles::Entity::find()
        .select_only()
        .column(vehicles::Column::Id)
        .filter(vehicles::Column::OrganizationId.eq(org.get()))
        .order_by_asc(vehicles::Column::Id)
        .limit(count as u64)
        .into_tuple()
        .all(db)
        .await
        .map_err(err)?;
    let mut done = 0;
    while done < count {
        let chunk = (count - done).min(ROWS_PER_INSERT);
        let txn = db.begin().await.map_err(err)?;
        let mut rows = Vec::with_capacity(chunk);
        let mut details = Vec::with_capacity(chunk);
        for n in done..done + chunk {
            let first = FIRST_NAMES[rng.usize(..FIRST_NAMES.len())];
            let last = LAST_NAMES[rng.usize(..LAST_NAMES.len())];
            let name = format!("{first} {last}");
            let company = (n % 9 == 0).then(|| format!("Transports {last} {n}"));
            let email = format!("{}.{}{n}@exemple.fr", first.to_lowercase(), last.to_lowercase());
            let phone =
                format!("06 {:02} {:02} {:02} {:02}", n / 1_000_000 % 100, n / 10_000 % 100, n / 100 % 100, n % 100);
            rows.push(client::ActiveModel {
                organization_id: Set(org.get()),
                kind: Set(if company.is_some() { ClientKind::Company } else { ClientKind::Individual }),
                sort_name: Set(volant::platform::search::sort_key(company.as_deref().unwrap_or(&name))),
                name: Set(name.clone()),
                company_name: Set(company.clone()),
                tax_id: Set(None),
                email: Set(Some(email.clone())),
                phone: Set(Some(phone.clone())),
                address: Set(None),
                notes: Set(None),
                consent_marketing: Set(false),
                consent_notifications: Set(n % 3 == 0),
                created_at: Set(epoch),
                updated_at: Set(epoch),
                ..Default::default()
            });
            details.push((name, company, email, phone));
        }
        client::Entity::insert_many(rows).exec_without_returning(&txn).await.map_err(err)?;
        // The ids just given, in insertion order (a single loader: they are consecutive).
        let ids: Vec<i64> = client::Entity::find()
            .select_only()
            .column(client::Column::Id)
            .filter(client::Column::OrganizationId.eq(org.get()))
            .order_by_desc(client::Column::Id)
            .limit(chunk as u64)
            .into_tuple()
            .all(&txn)
            .await
            .map_err(err)?;
        let mut terms = Vec::new();
        let mut owned = Vec::new();
        for (offset, id) in ids.iter().rev().enumerate() {
            let (name, company, email, phone) = &details[offset];
            for term in terms_of(name, company.as_deref(), Some(email), Some(phone)) {
                terms.push(search_term::ActiveModel {
                    organization_id: Set(org.get()),
                    term: Set(term),
                    client_id: Set(*id),
                });
            }
            if let Some(vehicle) = vehicle_ids.get(done + offset) {
                owned.push(ownership::ActiveModel {
                    organization_id: Set(org.get()),
                    vehicle_id: Set(*vehicle),
                    client_id: Set(*id),
                    started_at: Set(epoch),
                    ended_at: Set(None),
                    ..Default::default()
                });
            }
        }
        for batch in terms.chunks(ROWS_PER_INSERT) {
            search_term::Entity::insert_many(batch.to_vec()).exec_without_returning(&txn).await.map_err(err)?;
        }
        if !owned.is_empty() {
            ownership::Entity::insert_many(owned).exec_without_returning(&txn).await.map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        done += chunk;
        eprint!("\r  {done} / {count} clients");
    }
    eprintln!();
    Ok(())
}

trait FilterByOrg {
    fn filter_by_org(self, org: i64) -> Self;
}

impl FilterByOrg for sea_orm::Select<garages::Entity> {
    fn filter_by_org(self, org: i64) -> Self {
        use sea_orm::{ColumnTrait, QueryFilter, QueryOrder};
        self.filter(garages::Column::OrganizationId.eq(org)).order_by_asc(garages::Column::Id)
    }
}

/// The n-th plate of an organization, French SIV style (`AB-123-CD`): a bijection
/// of n, so plates are unique within the organization yet not in sequence.
fn plate(n: usize, org_index: usize) -> (String, String) {
    let letters = PLATE_LETTERS.len();
    let space = letters * letters * 999 * letters * letters;
    // 7_919 is prime and does not divide `space`, so n ↦ n·7919 + k is a permutation.
    let mut k = (n * 7_919 + org_index * 104_729) % space;
    let mut letter = || {
        let c = PLATE_LETTERS[k % letters] as char;
        k /= letters;
        c
    };
    let (a, b, c, d) = (letter(), letter(), letter(), letter());
    let number = k % 999 + 1;
    let display = format!("{a}{b}-{number:03}-{c}{d}");
    let normalized = format!("{a}{b}{number:03}{c}{d}");
    (display, normalized)
}

/// A VIN unique to the vehicle's global index.
fn vin(i: usize) -> String {
    let mut out = String::from("VF1");
    let base = VIN_CHARS.len();
    let mut k = i;
    let mut tail = Vec::with_capacity(14);
    for _ in 0..14 {
        tail.push(VIN_CHARS[k % base] as char);
        k /= base;
    }
    out.extend(tail.into_iter().rev());
    out
}

/// The candidate whose portal the portal scenario reads.
pub const BENCH_CANDIDATE_EMAIL: &str = "candidat@volant.test";
/// Lessons a day per instructor, at these hours (UTC: 9:00 to 17:00 in Paris).
const LESSON_HOURS: [i64; 6] = [8, 9, 10, 14, 15, 16];
/// Days of lessons already booked ahead of today.
const SCHOOL_DAYS_AHEAD: i64 = 30;

/// How many lessons the school holds (a reused database may predate the school).
pub async fn lesson_count(db: &DatabaseConnection) -> Result<u64, sea_orm::DbErr> {
    volant::school::planning::entity::lesson::Entity::find().count(db).await
}

/// The driving school of the benchmark's organization: instructors, each with
/// a training car, candidates and the scale's lessons (six a day per
/// instructor, every day, up to a month ahead), inserted in bulk (the
/// planning's reads are what is measured, not the booking rules). The first
/// candidate has an account, for the portal.
pub async fn seed_school(db: &DatabaseConnection, org: OrgId, scale: Scale) -> Result<(), String> {
    use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
    use volant::school::candidates::entity::candidate;
    use volant::school::cars::entity::training_vehicle;
    use volant::school::instructors::entity::{availability, instructor};
    use volant::school::planning::entity::lesson;
    let err = |e: sea_orm::DbErr| e.to_string();
    let now = Utc::now();
    let cars: Vec<i64> = vehicles::Entity::find()
        .select_only()
        .column(vehicles::Column::Id)
        .filter(vehicles::Column::OrganizationId.eq(org.get()))
        .order_by_asc(vehicles::Column::Id)
        .limit(scale.instructors as u64)
        .into_tuple()
        .all(db)
        .await
        .map_err(err)?;
    let txn = db.begin().await.map_err(err)?;
    let mut teachers = Vec::with_capacity(scale.instructors);
    for n in 0..scale.instructors {
        let row = instructor::ActiveModel {
            organization_id: Set(org.get()),
            user_id: Set(None),
            first_name: Set(FIRST_NAMES[n % FIRST_NAMES.len()].to_owned()),
            last_name: Set(LAST_NAMES[n % LAST_NAMES.len()].to_owned()),
            email: Set(None),
            phone: Set(None),
            licence_number: Set(format!("BENCH-{n:04}")),
            categories: Set("B".to_owned()),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let id = instructor::Entity::insert(row).exec(&txn).await.map_err(err)?.last_insert_id;
        for weekday in 1..=7 {
            availability::ActiveModel {
                instructor_id: Set(id),
                weekday: Set(weekday),
                start_minute: Set(7 * 60),
                end_minute: Set(21 * 60),
                ..Default::default()
            }
            .insert(&txn)
            .await
            .map_err(err)?;
        }
        teachers.push(id);
    }
    for car in &cars {
        training_vehicle::Entity::insert(training_vehicle::ActiveModel {
            vehicle_id: Set(*car),
            organization_id: Set(org.get()),
            category: Set("B".to_owned()),
            dual_controls: Set(true),
            active: Set(true),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(err)?;
    }
    // A school's cars are kept: insurance current, inspection, tyres, brakes and
    // oil done yesterday at today's mileage (a car without them stays off the road).
    let yesterday = now.date_naive() - Duration::days(1);
    for car in &cars {
        use volant::workshop::history::entity::{intervention, service_done, service_info};
        let mileage = vehicles::Entity::find_by_id(*car).one(&txn).await.map_err(err)?.and_then(|v| v.mileage_km);
        service_info::Entity::insert(service_info::ActiveModel {
            vehicle_id: Set(*car),
            organization_id: Set(org.get()),
            first_registration: Set(Some(yesterday - Duration::days(3 * 365))),
            insurance_expiry: Set(Some(yesterday + Duration::days(365))),
            updated_at: Set(now),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(err)?;
        let kept = intervention::Entity::insert(intervention::ActiveModel {
            organization_id: Set(org.get()),
            vehicle_id: Set(*car),
            client_id: Set(None),
            quote_id: Set(None),
            performed_on: Set(yesterday),
            mileage_km: Set(mileage),
            description: Set("Révision auto-école : freins, pneumatiques, vidange, contrôle technique".to_owned()),
            technician: Set(None),
            currency: Set(volant::platform::money::Currency::EUR),
            total_excl_minor: Set(0),
            created_by: Set(None),
            created_at: Set(now),
            in_progress: Set(false),
            ..Default::default()
        })
        .exec(&txn)
        .await
        .map_err(err)?
        .last_insert_id;
        let done = ["inspection", "tyres", "brakes", "oil_service"]
            .map(|kind| service_done::ActiveModel { intervention_id: Set(kept), kind: Set(kind.to_owned()) });
        service_done::Entity::insert_many(done).exec_without_returning(&txn).await.map_err(err)?;
    }
    let mut rows = Vec::with_capacity(scale.candidates);
    for n in 0..scale.candidates {
        let (first, last) = (FIRST_NAMES[n % FIRST_NAMES.len()], LAST_NAMES[(n / 7) % LAST_NAMES.len()]);
        rows.push(candidate::ActiveModel {
            organization_id: Set(org.get()),
            user_id: Set(None),
            number: Set(format!("B-{n:05}")),
            first_name: Set(first.to_owned()),
            last_name: Set(last.to_owned()),
            search_name: Set(volant::school::candidates::service::search_name(last, first)),
            email: Set(None),
            phone: Set(None),
            category: Set("B".to_owned()),
            registered_on: Set(now.date_naive()),
            theory_status: Set(TheoryStatus::InProgress),
            forecast_minutes: Set(Some(1500)),
            bought_minutes: Set(1200),
            instructor_id: Set(Some(teachers[n % teachers.len()])),
            id_document_enc: Set(None),
            birth_date_enc: Set(None),
            address_enc: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        });
    }
    for batch in rows.chunks(ROWS_PER_INSERT / 4) {
        candidate::Entity::insert_many(batch.to_vec()).exec_without_returning(&txn).await.map_err(err)?;
    }
    let people: Vec<i64> = candidate::Entity::find()
        .select_only()
        .column(candidate::Column::Id)
        .filter(candidate::Column::OrganizationId.eq(org.get()))
        .order_by_asc(candidate::Column::Id)
        .into_tuple()
        .all(&txn)
        .await
        .map_err(err)?;
    txn.commit().await.map_err(err)?;
    let account = NewUser {
        email: BENCH_CANDIDATE_EMAIL.to_owned(),
        display_name: "Candidat du banc d'essai".to_owned(),
        password: BENCH_PASSWORD.to_owned(),
        roles: vec![Role::Candidate],
    };
    let account = users::create(db, org, account).await.map_err(|e| format!("candidate user: {e}"))?;
    candidate::Entity::update_many()
        .col_expr(candidate::Column::UserId, sea_orm::sea_query::Expr::value(account.id))
        .filter(candidate::Column::Id.eq(people[0]))
        .exec(db)
        .await
        .map_err(err)?;

    let per_day = teachers.len() * LESSON_HOURS.len();
    let days = scale.lessons.div_ceil(per_day.max(1)) as i64;
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).ok_or("midnight")?.and_utc();
    let mut batch = Vec::with_capacity(ROWS_PER_INSERT / 2);
    let mut txn = db.begin().await.map_err(err)?;
    let mut n = 0_usize;
    'days: for day in (SCHOOL_DAYS_AHEAD + 1 - days)..=SCHOOL_DAYS_AHEAD {
        for (t, teacher) in teachers.iter().enumerate() {
            for hour in LESSON_HOURS {
                if n == scale.lessons {
                    break 'days;
                }
                let starts_at = midnight + Duration::days(day) + Duration::hours(hour);
                let past = starts_at < now;
                batch.push(lesson::ActiveModel {
                    organization_id: Set(org.get()),
                    candidate_id: Set(people[n % people.len()]),
                    instructor_id: Set(*teacher),
                    vehicle_id: Set(cars.get(t).copied()),
                    kind: Set(LessonKind::Driving),
                    starts_at: Set(starts_at),
                    ends_at: Set(starts_at + Duration::hours(1)),
                    minutes: Set(60),
                    meeting_point: Set(Some("Devant l'auto-école".to_owned())),
                    status: Set(if past { LessonStatus::Done } else { LessonStatus::Scheduled }),
                    cancelled_at: Set(None),
                    cancellation_reason: Set(None),
                    late_cancellation: Set(false),
                    notes: Set(None),
                    created_by: Set(None),
                    created_at: Set(now),
                    updated_at: Set(now),
                    reminder_sent_at: Set(past.then_some(now)),
                    ..Default::default()
                });
                n += 1;
                if batch.len() == ROWS_PER_INSERT / 2 {
                    lesson::Entity::insert_many(std::mem::take(&mut batch))
                        .exec_without_returning(&txn)
                        .await
                        .map_err(err)?;
                    if n.is_multiple_of(ROWS_PER_TRANSACTION) {
                        txn.commit().await.map_err(err)?;
                        txn = db.begin().await.map_err(err)?;
                        eprint!("\r  {n} / {} lessons", scale.lessons);
                    }
                }
            }
        }
    }
    if !batch.is_empty() {
        lesson::Entity::insert_many(batch).exec_without_returning(&txn).await.map_err(err)?;
    }
    txn.commit().await.map_err(err)?;
    eprintln!("\r  school: {} instructors, {} candidates, {n} lessons", teachers.len(), people.len());
    Ok(())
}

/// 5,000 notifications for the benchmark user, one in five unread: the bell's
/// count and the inbox's first page read among them. A reused database that
/// predates them gets them; one that has them is left alone.
pub async fn seed_notifications(db: &DatabaseConnection, org: OrgId) -> Result<(), String> {
    use sea_orm::{ColumnTrait, QueryFilter, Set};
    use volant::notify::entity::notification;
    let err = |e: sea_orm::DbErr| e.to_string();
    let user = volant::identity::users::entity::Entity::find()
        .filter(volant::identity::users::entity::Column::OrganizationId.eq(org.get()))
        .filter(volant::identity::users::entity::Column::EmailNormalized.eq(BENCH_EMAIL))
        .one(db)
        .await
        .map_err(err)?
        .ok_or("the benchmark user is missing")?;
    let present =
        notification::Entity::find().filter(notification::Column::UserId.eq(user.id)).count(db).await.map_err(err)?;
    if present >= 5000 {
        return Ok(());
    }
    let start = Utc::now() - Duration::days(60);
    for batch in 0..10 {
        let rows = (0..500).map(|i| {
            let n = batch * 500 + i;
            let at = start + Duration::minutes(n * 17);
            notification::ActiveModel {
                organization_id: Set(org.get()),
                event: Set("lesson_changed".to_owned()),
                user_id: Set(Some(user.id)),
                recipient: Set(BENCH_EMAIL.to_owned()),
                title: Set(format!("Leçon réservée n° {n}")),
                body: Set("Leçon réservée le lundi à 10:00 avec Karim Benali.".to_owned()),
                link: Set(Some("/school/planning".to_owned())),
                in_app: Set(true),
                created_at: Set(at),
                read_at: Set((n % 5 != 0).then_some(at)),
                ..Default::default()
            }
        });
        notification::Entity::insert_many(rows).exec(db).await.map_err(err)?;
    }
    eprintln!("  notifications: 5000 in the benchmark user's inbox");
    Ok(())
}

/// Issued invoices the payments scenario records on, and the seller's identity
/// that issuing requires. A reused database that has them is left alone.
pub async fn seed_billing(db: &DatabaseConnection, org: OrgId) -> Result<(), String> {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    use volant::billing::invoices::entity::invoice;
    use volant::billing::invoices::service as invoices;
    let err = |e: volant::platform::error::AppError| e.for_operator();
    let actor = volant::identity::audit::Actor::system(org);
    let organization = volant::identity::organizations::service::get(db, org).await.map_err(err)?;
    if organization.registration_number.is_none() {
        volant::identity::organizations::service::update(db, &actor, volant::fleet::demo::france_profile())
            .await
            .map_err(err)?;
    }
    let present = invoice::Entity::find()
        .filter(invoice::Column::OrganizationId.eq(org.get()))
        .filter(invoice::Column::Status.eq(invoices::InvoiceStatus::Issued))
        .count(db)
        .await
        .map_err(|e| e.to_string())?;
    if present >= 200 {
        return Ok(());
    }
    let client = volant::workshop::clients::entity::client::Entity::find()
        .filter(volant::workshop::clients::entity::client::Column::OrganizationId.eq(org.get()))
        .one(db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the benchmark's clients are missing")?;
    for _ in present..200 {
        let input = invoices::InvoiceInput {
            client_id: Some(client.id),
            lines: vec![volant::platform::lines::LineInput {
                description: Some("Vidange".to_owned()),
                unit_price: volant::platform::lines::parse_decimal("60"),
                ..Default::default()
            }],
            ..Default::default()
        };
        let draft = invoices::create(db, &actor, &input).await.map_err(err)?;
        invoices::issue(db, &actor, draft.id).await.map_err(err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn plates_are_unique_within_an_organization_and_valid() {
        let mut seen = HashSet::new();
        for n in 0..200_000 {
            let (display, normalized) = plate(n, 3);
            let parsed = volant::fleet::vehicles::model::Plate::parse(&display).map_err(|_| display.clone());
            assert_eq!(parsed.map(|p| p.normalized().to_owned()), Ok(normalized.clone()));
            assert!(!normalized.starts_with('Z'));
            assert!(seen.insert(normalized), "plate {n} repeats");
        }
    }

    #[test]
    fn vins_are_unique_and_valid() {
        let mut seen = HashSet::new();
        for i in (0..2_000_000).step_by(7) {
            let vin = vin(i);
            assert!(volant::fleet::vehicles::model::Vin::parse(&vin).is_ok(), "{vin}");
            assert!(seen.insert(vin));
        }
    }
}
