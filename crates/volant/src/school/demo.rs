//! Demo data for the driving school, on top of the fleet's: instructors with their
//! weeks, training cars, candidates at every stage, last week's lessons reported on
//! the competency grid, this week's and next week's planning, an exam session.
//! Created through the services, so every rule applies; a booking a rule refuses
//! is simply left out.

use chrono::{Datelike, Duration, NaiveTime, TimeZone, Utc};
use rust_decimal::Decimal;
use sea_orm::DatabaseConnection;

use super::access::Viewer;
use super::candidates::progress::Assessment;
use super::candidates::service::{self as candidates, CandidateFilter, CandidateInput, TheoryStatus};
use super::cars::service::{self as vehicles, TrainingVehicleInput};
use super::exams::service::{self as exams, RegistrationInput, SessionInput, SessionKind};
use super::instructors::service::{self as instructors, Availability, InstructorInput, WeeklySlot};
use super::planning::service::{self as planning, LessonInput, LessonKind, LessonStatus, OutcomeInput, SAFETY_KINDS};
use super::settings::service::{self as settings, SchoolSettings};
use crate::fleet::vehicles::service::{self as fleet, VehicleFilter};
use crate::identity::audit::Actor;
use crate::identity::organizations::service as organizations;
use crate::platform::crypto::FieldCipher;
use crate::platform::error::AppResult;
use crate::platform::pagination::PageRequest;
use crate::platform::tenant::OrgId;
use crate::workshop::maintenance::service::{self as maintenance, AlertFilter};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedReport {
    pub instructors: usize,
    pub candidates: usize,
    pub lessons: usize,
}

const INSTRUCTORS: &[(&str, &str, &str)] = &[
    ("Karim", "Benali", "E 13 075 0042 0"),
    ("Sophie", "Marchand", "E 13 075 0117 0"),
    ("Aliou", "Diallo", "E 13 075 0203 0"),
];

/// First name, last name, theory status, hours bought, hours forecast.
const CANDIDATES: &[(&str, &str, TheoryStatus, i32, i32)] = &[
    ("Léa", "Martin", TheoryStatus::Passed, 30, 28),
    ("Hugo", "Bernard", TheoryStatus::InProgress, 20, 25),
    ("Fatou", "Sy", TheoryStatus::Passed, 25, 24),
    ("Lucas", "Petit", TheoryStatus::NotStarted, 10, 30),
    ("Inès", "Moreau", TheoryStatus::Passed, 35, 32),
    ("Yanis", "Haddad", TheoryStatus::InProgress, 20, 22),
    ("Chloé", "Roux", TheoryStatus::Passed, 40, 35),
    ("Mamadou", "Ba", TheoryStatus::InProgress, 15, 26),
];

/// Accounts to link to the demo's first instructor and first candidate files, so
/// that one can sign in as each (their user ids).
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoAccounts {
    pub instructor: Option<i64>,
    pub candidate: Option<i64>,
}

/// What instructors write after a lesson.
const LESSON_NOTES: &[&str] = &[
    "Démarrages en côte et trajectoire en virage ; à revoir : le regard loin.",
    "Insertion sur voie rapide réussie ; rétrogradages encore hésitants.",
    "Créneau et bataille : bonne méthode, manque de précision côté trottoir.",
    "Ronds-points en ville : priorités bien lues, clignotant parfois oublié en sortie.",
    "Circulation de nuit et croisements : feux bien gérés, vitesse à adapter.",
    "Conduite autonome sur 20 km : bonne anticipation, distances de sécurité respectées.",
];

pub async fn seed(
    db: &DatabaseConnection,
    cipher: &FieldCipher,
    org: OrgId,
    accounts: DemoAccounts,
) -> AppResult<SeedReport> {
    let existing = candidates::list(db, org, &CandidateFilter::default(), PageRequest::first(1)).await?;
    if !existing.items.is_empty() {
        return Ok(SeedReport { instructors: 0, candidates: 0, lessons: 0 });
    }
    let actor = Actor::system(org);
    let zone = organizations::zone(db, org).await?;
    let rules = SchoolSettings {
        hour_price: Decimal::new(52, 0),
        approval_number: Some("E 24 075 0042 0".to_owned()),
        ..SchoolSettings::default()
    };
    settings::update(db, &actor, &rules).await?;
    // Where lessons start, pinned (the demo works without a geocoder): the weather
    // of each lesson is forecast there.
    for (name, address, (lat, lon)) in [
        ("Devant l'auto-école", "12 rue de la République, 69002 Lyon", (45.7630, 4.8357)),
        ("Gare Part-Dieu", "Place Charles Béraudier, 69003 Lyon", (45.7606, 4.8593)),
    ] {
        let input = crate::school::meeting_points::service::MeetingPointInput {
            name: Some(name.to_owned()),
            address: Some(address.to_owned()),
            latitude: Some(lat),
            longitude: Some(lon),
            unpin: false,
        };
        crate::school::meeting_points::service::create(db, &actor, &input).await?;
    }

    // Monday to Saturday, 08:00–12:00 and 14:00–19:00 (Saturday morning only).
    let mut weekly = Vec::new();
    for weekday in 1..=6 {
        weekly.push(WeeklySlot { weekday, start: "08:00".into(), end: "12:00".into() });
        if weekday < 6 {
            weekly.push(WeeklySlot { weekday, start: "14:00".into(), end: "19:00".into() });
        }
    }
    let mut teachers = Vec::new();
    for (i, (first, last, licence)) in INSTRUCTORS.iter().enumerate() {
        let input = InstructorInput {
            user_id: if i == 0 { accounts.instructor } else { None },
            first_name: Some((*first).to_owned()),
            last_name: Some((*last).to_owned()),
            licence_number: Some((*licence).to_owned()),
            categories: vec!["B".to_owned()],
            ..InstructorInput::default()
        };
        let instructor = instructors::create(db, &actor, &input).await?;
        let week = Availability { weekly: weekly.clone(), days_off: Vec::new() };
        instructors::set_availability(db, &actor, instructor.id, &week).await?;
        teachers.push(instructor.id);
    }
    // Three cars of the fleet on the road (the workshop's demo raises alerts, and has cars in).
    let today = Utc::now().with_timezone(&zone).date_naive();
    let fleet = fleet::list(db, org, &VehicleFilter::default(), PageRequest::first(100)).await?.items;
    let mut cars = Vec::new();
    for vehicle in &fleet {
        if cars.len() == 3 {
            break;
        }
        // Not in the workshop (the workshop's demo has two there), nothing past due in
        // two weeks, known or to check (the lesson rules refuse all three).
        if crate::workshop::history::service::in_progress_on(db, org, vehicle.id).await?.is_some() {
            continue;
        }
        let filter = AlertFilter { vehicle_ids: Some(vec![vehicle.id]), ..AlertFilter::default() };
        let soon = today + Duration::days(14);
        let alerts = maintenance::list(db, org, &filter, PageRequest::first(20), soon).await?;
        if alerts.items.iter().any(|a| SAFETY_KINDS.contains(&a.kind.as_str()) && a.due_on.is_some_and(|d| d <= soon)) {
            continue;
        }
        let input = TrainingVehicleInput { category: Some("B".into()), dual_controls: true, active: Some(true) };
        cars.push(vehicles::set(db, &actor, vehicle.id, &input).await?.vehicle_id);
    }

    let mut people = Vec::new();
    for (i, (first, last, theory, bought, forecast)) in CANDIDATES.iter().enumerate() {
        let input = CandidateInput {
            user_id: if i == 0 { accounts.candidate } else { None },
            first_name: Some((*first).to_owned()),
            last_name: Some((*last).to_owned()),
            category: Some("B".into()),
            theory_status: Some(*theory),
            instructor_id: teachers.get(i % teachers.len().max(1)).copied(),
            // The first bought her hours through Volant (a pack, below); the others before it.
            bought_minutes: Some(if i == 0 { 0 } else { bought * 60 }),
            forecast_minutes: Some(forecast * 60),
            // The range ARCEP keeps for fiction: no one's real number.
            phone: Some(format!("06 39 98 {:02} {:02}", 10 + i, 20 + i)),
            ..CandidateInput::default()
        };
        people.push(candidates::create(db, cipher, &actor, &input).await?.summary.id);
    }
    seed_packs(db, cipher, &actor, people.first().copied()).await?;
    seed_files(db, cipher, &actor, &people, today).await?;

    // Last week (done, reported on the grid), this week and next week (scheduled).
    let monday = today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
    let mut lessons = 0;
    if cars.is_empty() {
        return Ok(SeedReport { instructors: teachers.len(), candidates: people.len(), lessons });
    }
    let hours = [9, 10, 15, 17];
    for week in -1..=1_i64 {
        for day in 0..5_i64 {
            let date = monday + Duration::days(week * 7 + day);
            for (slot, hour) in hours.iter().enumerate() {
                let n = usize::try_from(week + 1).unwrap_or(0) * 20 + usize::try_from(day).unwrap_or(0) * 4 + slot;
                let candidate = people[n % people.len()];
                let instructor = teachers[slot % teachers.len()];
                let car = cars[slot % cars.len()];
                let at = |h: u32| {
                    NaiveTime::from_hms_opt(h, 0, 0)
                        .and_then(|t| zone.from_local_datetime(&date.and_time(t)).earliest())
                        .map(|t| t.fixed_offset())
                };
                let input = LessonInput {
                    candidate_id: Some(candidate),
                    instructor_id: Some(instructor),
                    vehicle_id: Some(car),
                    kind: Some(LessonKind::Driving),
                    starts_at: at(*hour),
                    ends_at: at(hour + 1),
                    meeting_point: Some("Devant l'auto-école".into()),
                };
                let Ok(lesson) = planning::book(db, &actor, &input).await else { continue };
                lessons += 1;
                if lesson.starts_at < Utc::now() - Duration::hours(1) {
                    let progress = ["C1a", "C1b", "C1c", "C1d", "C2a"]
                        .iter()
                        .take(1 + n % 5)
                        .map(|item| Assessment {
                            item: (*item).to_owned(),
                            level: i16::try_from(1 + n % 3).unwrap_or(1),
                            comment: None,
                        })
                        .collect();
                    // A missed lesson has nothing to report.
                    let missed = n % 11 == 0;
                    let outcome = OutcomeInput {
                        status: Some(if missed { LessonStatus::NoShow } else { LessonStatus::Done }),
                        notes: (!missed).then(|| LESSON_NOTES[n % LESSON_NOTES.len()].to_owned()),
                        progress: if missed { Vec::new() } else { progress },
                    };
                    planning::record_outcome(db, &actor, Viewer::School, lesson.id, &outcome).await?;
                }
            }
        }
    }

    // A theory session in three weeks, with the candidates still studying.
    let at = zone
        .from_local_datetime(
            &(today + Duration::days(21)).and_time(NaiveTime::from_hms_opt(8, 30, 0).unwrap_or(NaiveTime::MIN)),
        )
        .earliest()
        .map(|t| t.fixed_offset());
    let session = SessionInput {
        kind: Some(SessionKind::Theory),
        starts_at: at,
        centre: Some("Centre d'examen de Marseille".into()),
        seats: Some(6),
    };
    let session = exams::create_session(db, &actor, &session).await?;
    for (id, (_, _, theory, _, _)) in people.iter().zip(CANDIDATES) {
        if *theory == TheoryStatus::InProgress {
            exams::register(db, &actor, session.id, &RegistrationInput { candidate_id: Some(*id) }).await?;
        }
    }
    Ok(SeedReport { instructors: teachers.len(), candidates: people.len(), lessons })
}

/// Each candidate's administrative file: a NEPH, the application filed two
/// months ago; the first three evaluated. No document is attached: the demo's
/// files are all incomplete, as on the day a school starts with Volant.
async fn seed_files(
    db: &DatabaseConnection,
    cipher: &FieldCipher,
    actor: &Actor,
    people: &[i64],
    today: chrono::NaiveDate,
) -> AppResult<()> {
    use super::enrolment::service::{self as enrolment, AntsSteps, EvaluationInput, FileInput};
    for (i, id) in people.iter().enumerate() {
        let input = FileInput {
            neph: Some(format!("{:012}", 120_775_000_000_u64 + i as u64)),
            steps: AntsSteps {
                file_submitted_on: Some(today - Duration::days(60)),
                neph_received_on: Some(today - Duration::days(45)),
                ..AntsSteps::default()
            },
            ..FileInput::default()
        };
        enrolment::update_file(db, cipher, actor, *id, &input).await?;
        if i < 3 {
            let minutes = candidates::summary_of(db, actor.org, *id).await?.hours.forecast_minutes.unwrap_or(25 * 60);
            let evaluation = EvaluationInput {
                evaluated_on: Some(today - Duration::days(50)),
                instructor_id: None,
                result: Some("Coordination correcte, premiers démarrages hésitants.".to_owned()),
                forecast_minutes: Some(minutes.clamp(60, 12_000)),
            };
            enrolment::evaluate(db, actor, *id, &evaluation).await?;
        }
    }
    Ok(())
}

/// The school's packs; the first candidate bought the 20-hour one in three
/// instalments and paid the first at the desk. An organization that cannot
/// invoice yet (its identity incomplete) keeps its packs and sells none.
async fn seed_packs(db: &DatabaseConnection, cipher: &FieldCipher, actor: &Actor, buyer: Option<i64>) -> AppResult<()> {
    use super::packs::service::{self as packs, PackInput, SaleInput};
    use crate::billing::invoices::payments;
    use crate::billing::invoices::service::{PaymentInput, PaymentMethod};
    // Priced including tax, as a school displays them.
    let pack = |name: &str, description: Option<&str>, minutes: i32, price: Decimal| PackInput {
        name: Some(name.to_owned()),
        description: description.map(str::to_owned),
        driving_minutes: Some(minutes),
        unit_price: None,
        price_incl_tax: Some(price),
        vat_rate: None,
        active: Some(true),
    };
    let forfait = packs::create(
        db,
        actor,
        &pack(
            "Forfait B 20 h + code",
            Some("20 heures de conduite\nAccès illimité au code en ligne"),
            1200,
            Decimal::new(1190, 0),
        ),
    )
    .await?;
    packs::create(db, actor, &pack("Heure de conduite", None, 60, Decimal::new(55, 0))).await?;
    let Some(buyer) = buyer else { return Ok(()) };
    let sale = SaleInput { pack_id: Some(forfait.id), instalments: Some(3), ..SaleInput::default() };
    let Ok((_, invoice)) = packs::sell(db, cipher, actor, buyer, &sale).await else { return Ok(()) };
    if let Some(first) = invoice.instalments.first() {
        let paid =
            PaymentInput { method: Some(PaymentMethod::Card), amount: Some(first.amount), ..PaymentInput::default() };
        payments::record(db, actor, invoice.id, &paid).await?;
    }
    Ok(())
}
