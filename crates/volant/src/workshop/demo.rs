//! Demo data for the workshop, on top of the fleet's: clients owning the demo
//! vehicles, a year of quotes in every status, the work carried out, mileage
//! readings and the maintenance alerts they lead to. Created through the services.

use chrono::{Days, NaiveDate, Utc};
use rust_decimal::Decimal;
use sea_orm::{DatabaseConnection, DatabaseTransaction};

use super::clients::service::{self as clients, Client, ClientInput, ClientKind};
use super::history::service::{self as history, FromQuoteInput, ServiceInfo};
use super::maintenance::service as maintenance;
use super::quotes::service::{self as quotes, Decision, DecisionInput, LineInput, LineKind, QuoteInput};
use crate::fleet::demo::Region;
use crate::fleet::vehicles::service::{self as vehicles, Vehicle, VehicleFilter};
use crate::identity::audit::Actor;
use crate::platform::db;
use crate::platform::error::AppResult;
use crate::platform::pagination::PageRequest;
use crate::platform::tenant::OrgId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub clients: usize,
    pub quotes: usize,
    pub interventions: usize,
    pub alerts: usize,
}

/// A demo client: name and phone.
type Person = (&'static str, &'static str);

const PEOPLE_FRANCE: &[Person] = &[
    ("Jeanne Martin", "06 12 34 56 78"),
    ("Paul Durand", "06 98 76 54 32"),
    ("Louis Bernard", "07 11 22 33 44"),
    ("Camille Petit", "06 55 44 33 22"),
    ("Chloé Moreau", "06 01 02 03 04"),
    ("Léa Fournier", "07 66 77 88 99"),
    ("Hugo Lambert", "06 45 67 89 01"),
    ("Nathalie Girard", "06 23 45 67 89"),
    ("Thomas Roux", "07 34 56 78 90"),
    ("Sarah Fontaine", "06 87 65 43 21"),
];

const PEOPLE_WEST_AFRICA: &[Person] = &[
    ("Fatou Diop", "+221 77 123 45 67"),
    ("Mamadou Ndiaye", "+221 76 234 56 78"),
    ("Aïssatou Sow", "+221 78 345 67 89"),
    ("Ibrahima Fall", "+221 70 987 65 43"),
    ("Ousmane Camara", "+221 77 765 43 21"),
    ("Kouassi Yao", "+225 07 01 02 03 04"),
    ("Moussa Traoré", "+225 05 44 33 22 11"),
    ("Mariam Coulibaly", "+225 01 23 45 67 89"),
    ("Adjoa Mensah", "+229 97 12 34 56"),
    ("Koffi Houngbédji", "+229 96 45 67 89"),
];

/// Company and contact.
const COMPANIES_FRANCE: &[(&str, &str)] =
    &[("Transports Rhône Express", "Marc Girard"), ("Ambulances du Lyonnais", "Sophie Roux")];
const COMPANIES_WEST_AFRICA: &[(&str, &str)] =
    &[("Taxis Dakar Plateau", "Cheikh Gueye"), ("Livraisons Abidjan Sud", "Awa Bamba")];

/// A line of a demo job: kind, description, quantity, unit, unit price in euros,
/// unit price in CFA francs (what a garage there charges, not a conversion).
type JobLine = (LineKind, &'static str, &'static str, &'static str, &'static str, &'static str);

/// Demo jobs: their lines and the maintenance they carry out.
const JOBS: &[(&[JobLine], &[&str])] = &[
    (
        &[
            (LineKind::Part, "Huile moteur 5W30", "4.5", "l", "12.90", "6500"),
            (LineKind::Part, "Filtre à huile", "1", "", "14.50", "7500"),
            (LineKind::Labour, "Vidange", "0.5", "h", "62", "10000"),
        ],
        &["oil_service"],
    ),
    (
        &[
            (LineKind::Part, "Plaquettes de frein avant", "1", "jeu", "48.90", "30000"),
            (LineKind::Labour, "Remplacement plaquettes", "1.2", "h", "62", "10000"),
        ],
        &["brakes"],
    ),
    (
        &[
            (LineKind::Part, "Pneumatique 195/65 R15", "2", "", "89.00", "55000"),
            (LineKind::Labour, "Montage et équilibrage", "2", "", "15", "5000"),
        ],
        &["tyres"],
    ),
    (
        &[
            (LineKind::Part, "Kit de distribution", "1", "", "289.00", "180000"),
            (LineKind::Part, "Pompe à eau", "1", "", "74.90", "45000"),
            (LineKind::Labour, "Remplacement distribution", "3.5", "h", "62", "10000"),
        ],
        &[],
    ),
    (&[(LineKind::Other, "Préparation au contrôle technique", "1", "", "49.00", "25000")], &["inspection"]),
];

/// What differs between the demo's regions: their clients, prices and VAT.
struct Local {
    region: Region,
    people: &'static [Person],
    companies: &'static [(&'static str, &'static str)],
    /// Where the clients' e-mail addresses are.
    mail_domain: &'static str,
    vat_rate: &'static str,
}

impl Local {
    fn of(region: Region) -> Self {
        match region {
            Region::France => Self {
                region,
                people: PEOPLE_FRANCE,
                companies: COMPANIES_FRANCE,
                mail_domain: "exemple.fr",
                vat_rate: "20",
            },
            // Senegal, Côte d'Ivoire and Benin: 18 % VAT.
            Region::WestAfrica => Self {
                region,
                people: PEOPLE_WEST_AFRICA,
                companies: COMPANIES_WEST_AFRICA,
                mail_domain: "exemple.sn",
                vat_rate: "18",
            },
        }
    }

    fn price(&self, line: &JobLine) -> &'static str {
        if self.region == Region::France { line.4 } else { line.5 }
    }
}

fn d(text: &str) -> Option<Decimal> {
    quotes::parse_decimal(text)
}

/// Fills the workshop of an organization whose fleet was just seeded.
pub async fn seed(db: &DatabaseConnection, org: OrgId, region: Region) -> AppResult<SeedReport> {
    let local = Local::of(region);
    let mut rng = fastrand::Rng::with_seed(2027);
    let actor = Actor::system(org);
    let today = Utc::now().date_naive();
    let fleet = vehicles::list(db, org, &VehicleFilter::default(), PageRequest::first(200)).await?.items;
    let report = db::write(db, async |txn| {
        let owners = seed_clients(txn, &actor, &mut rng, &local).await?;
        let owned = seed_owners(txn, &actor, &mut rng, &fleet, &owners, local.people.len(), today).await?;
        let mut report = SeedReport { clients: owners.len(), quotes: 0, interventions: 0, alerts: 0 };
        seed_quotes(txn, &actor, &mut rng, (&fleet, &owned), &local, today, &mut report).await?;
        seed_service_history(txn, &actor, &mut rng, today, &mut report).await?;
        seed_work_under_way(txn, &actor, today, &mut report).await?;
        AppResult::Ok(report)
    })
    .await?;
    // The expiry takes its own turn to write.
    quotes::expire_past_due(db, Utc::now()).await?;
    Ok(report)
}

async fn seed_clients(
    txn: &DatabaseTransaction,
    actor: &Actor,
    rng: &mut fastrand::Rng,
    local: &Local,
) -> AppResult<Vec<Client>> {
    let mut owners = Vec::new();
    let mailbox = |name: &str| {
        let ascii: String = name
            .to_lowercase()
            .chars()
            .map(|c| match c {
                'é' | 'è' | 'ê' | 'ë' => 'e',
                'ï' | 'î' => 'i',
                'ô' => 'o',
                'à' | 'â' => 'a',
                'ç' => 'c',
                ' ' => '.',
                c => c,
            })
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
            .collect();
        format!("{ascii}@{}", local.mail_domain)
    };
    for (i, (name, phone)) in local.people.iter().enumerate() {
        let email = mailbox(name);
        let input = ClientInput {
            kind: Some(ClientKind::Individual),
            name: Some((*name).to_owned()),
            email: Some(email),
            phone: Some((*phone).to_owned()),
            consent_notifications: Some(i % 3 != 2),
            consent_marketing: Some(i % 4 == 0),
            ..Default::default()
        };
        owners.push(clients::create(txn, actor, &input).await?);
    }
    for (company, contact) in local.companies {
        // A French company's intra-EU VAT number; elsewhere none is made up.
        let tax_id =
            (local.region == Region::France).then(|| format!("FR{:011}", rng.u64(10_000_000_000..99_999_999_999)));
        let input = ClientInput {
            kind: Some(ClientKind::Company),
            name: Some((*contact).to_owned()),
            company_name: Some((*company).to_owned()),
            tax_id,
            email: Some(mailbox(&format!("atelier {}", company.replace(' ', "-")))),
            consent_notifications: Some(true),
            ..Default::default()
        };
        owners.push(clients::create(txn, actor, &input).await?);
    }
    Ok(owners)
}

/// Each client owns one or two of the first vehicles; companies own several.
/// Returns the (client, vehicle) pairs.
async fn seed_owners(
    txn: &DatabaseTransaction,
    actor: &Actor,
    rng: &mut fastrand::Rng,
    fleet: &[Vehicle],
    owners: &[Client],
    people: usize,
    today: NaiveDate,
) -> AppResult<Vec<(i64, i64)>> {
    let mut owned: Vec<(i64, i64)> = Vec::new();
    let companies = &owners[people..];
    for (i, vehicle) in fleet.iter().take(60).enumerate() {
        let owner = if i < 40 { &owners[i % people] } else { &companies[i % companies.len()] };
        clients::assign_vehicle(txn, actor, owner.id, vehicle.id).await?;
        // First registration from the model year, for the technical inspection.
        let registered =
            NaiveDate::from_ymd_opt(vehicle.year, 1 + rng.u32(0..12), 1 + rng.u32(0..28)).filter(|d| *d < today);
        history::set_service_info(
            txn,
            actor,
            vehicle.id,
            &ServiceInfo {
                first_registration: registered,
                insurance_expiry: today.checked_add_days(Days::new(rng.u64(5..365))),
            },
        )
        .await?;
        owned.push((owner.id, vehicle.id));
    }
    Ok(owned)
}

/// A year of quotes: most sent, most of those accepted, the accepted ones done.
/// In date order, so that each vehicle's mileage readings follow one another.
async fn seed_quotes(
    txn: &DatabaseTransaction,
    actor: &Actor,
    rng: &mut fastrand::Rng,
    (fleet, owned): (&[Vehicle], &[(i64, i64)]),
    local: &Local,
    today: NaiveDate,
    report: &mut SeedReport,
) -> AppResult<()> {
    let mut plans: Vec<(NaiveDate, (i64, i64), usize)> = (0..48)
        .map(|_| {
            let issued = today.checked_sub_days(Days::new(rng.u64(3..360))).unwrap_or(today);
            (issued, owned[rng.usize(..owned.len())], rng.usize(..JOBS.len()))
        })
        .collect();
    plans.sort_by_key(|(issued, _, _)| *issued);
    for (n, (issued, (client_id, vehicle_id), job)) in plans.into_iter().enumerate() {
        let (lines, services) = JOBS[job];
        let input = QuoteInput {
            client_id: Some(client_id),
            vehicle_id: Some(vehicle_id),
            issue_date: Some(issued),
            valid_until: issued.checked_add_days(Days::new(30)),
            lines: lines
                .iter()
                .map(|line| LineInput {
                    kind: Some(line.0),
                    description: Some(line.1.to_owned()),
                    quantity: d(line.2),
                    unit: (!line.3.is_empty()).then(|| line.3.to_owned()),
                    unit_price: d(local.price(line)),
                    vat_rate: d(local.vat_rate),
                    discount: d(if n % 7 == 0 { "10" } else { "0" }),
                })
                .collect(),
            ..Default::default()
        };
        let quote = quotes::create(txn, actor, &input).await?;
        report.quotes += 1;
        if n % 8 == 7 {
            continue; // a draft
        }
        quotes::send(txn, actor, quote.id).await?;
        let answered = issued.checked_add_days(Days::new(rng.u64(1..10))).unwrap_or(issued).min(today);
        let decision = match n % 8 {
            0..=4 => Decision::Accept,
            5 => Decision::Decline,
            _ => continue, // awaiting an answer (or expiring)
        };
        let input = DecisionInput { decision, accepted_line_ids: None };
        quotes::decide_on(txn, actor, quote.id, &input, answered).await?;
        if decision == Decision::Accept {
            let performed = answered.checked_add_days(Days::new(rng.u64(1..7))).unwrap_or(answered).min(today);
            let mileage = history::readings(txn, actor.org, vehicle_id).await?.last().map(|r| r.mileage_km);
            let base = fleet.iter().find(|v| v.id == vehicle_id).and_then(|v| v.mileage_km).unwrap_or(40_000);
            let km = mileage.unwrap_or(base).max(base) + rng.i64(200..3_000);
            let input = FromQuoteInput {
                performed_on: Some(performed),
                mileage_km: Some(km),
                technician: Some(["Karim", "Sébastien", "Aminata", "Jules"][rng.usize(..4)].to_owned()),
                services: Some(services.iter().map(|s| (*s).to_owned()).collect()),
            };
            // A later reading may already exist for this vehicle: skip what the rules refuse.
            if history::record_from_quote(txn, actor, quote.id, &input).await.is_ok() {
                report.interventions += 1;
            }
        }
    }
    Ok(())
}

/// Two vehicles are in the workshop today, their work under way: what the
/// mechanic's page (`/interventions`) shows first.
async fn seed_work_under_way(
    txn: &DatabaseTransaction,
    actor: &Actor,
    today: NaiveDate,
    report: &mut SeedReport,
) -> AppResult<()> {
    const UNDER_WAY: [(&str, &str); 2] = [
        ("Bruit au freinage à l'avant : diagnostic, plaquettes et disques à contrôler", "brakes"),
        ("Vidange, filtres et contrôle des niveaux avant un long trajet", "oil_service"),
    ];
    let page = vehicles::list(txn, actor.org, &VehicleFilter::default(), PageRequest::after_id(2, None)).await?;
    for (vehicle, (description, service)) in page.items.iter().zip(UNDER_WAY) {
        let last = history::readings(txn, actor.org, vehicle.id).await?.last().map(|r| r.mileage_km);
        let input = history::InterventionInput {
            vehicle_id: Some(vehicle.id),
            performed_on: Some(today),
            mileage_km: last.or(vehicle.mileage_km).map(|km| km + 40),
            description: Some(description.to_owned()),
            technician: Some("Atelier".to_owned()),
            services: vec![service.to_owned()],
            lines: Vec::new(),
            in_progress: true,
        };
        if history::record(txn, actor, &input).await.is_ok() {
            report.interventions += 1;
        }
    }
    Ok(())
}

/// Most vehicles came with a service history: a recent service of oil, tyres and
/// brakes, after whatever the quotes did, so that the alerts are the few a real
/// workshop would have, not every rule of every vehicle.
async fn seed_service_history(
    txn: &DatabaseTransaction,
    actor: &Actor,
    rng: &mut fastrand::Rng,
    today: NaiveDate,
    report: &mut SeedReport,
) -> AppResult<()> {
    let org = actor.org;
    let mut after = None;
    loop {
        let page = vehicles::list(txn, org, &VehicleFilter::default(), PageRequest::after_id(200, after)).await?;
        for vehicle in &page.items {
            if rng.u8(..100) >= 85 {
                continue;
            }
            let last = history::readings(txn, org, vehicle.id).await?.last().map(|r| (r.read_on, r.mileage_km));
            let earliest = last.map_or(today.checked_sub_days(Days::new(300)).unwrap_or(today), |(on, _)| on);
            let performed =
                today.checked_sub_days(Days::new(rng.u64(20..250))).unwrap_or(today).max(earliest).min(today);
            let km =
                last.map_or(vehicle.mileage_km.unwrap_or(30_000), |(_, km)| km.max(vehicle.mileage_km.unwrap_or(0)));
            let input = history::InterventionInput {
                vehicle_id: Some(vehicle.id),
                performed_on: Some(performed),
                mileage_km: Some(km + rng.i64(100..2_000)),
                description: Some("Révision constructeur".to_owned()),
                technician: Some("Atelier".to_owned()),
                services: vec!["oil_service".to_owned(), "tyres".to_owned(), "brakes".to_owned()],
                lines: Vec::new(),
                in_progress: false,
            };
            if history::record(txn, actor, &input).await.is_ok() {
                report.interventions += 1;
            }
        }
        let ids: Vec<i64> = page.items.iter().map(|v| v.id).collect();
        report.alerts += maintenance::refresh(txn, org, &ids, today).await?.len();
        match page.next_cursor {
            Some(_) => after = page.items.last().map(|v| v.id),
            None => break,
        }
    }
    Ok(())
}
