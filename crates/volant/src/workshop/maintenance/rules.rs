//! When maintenance falls due: pure computation over a rule, what is known of
//! the vehicle and when the rule was last carried out. No database here, so every
//! case (date first, mileage first, forecasts) is unit-tested.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How far ahead an alert is raised.
pub const UPCOMING_DAYS: u64 = 30;
pub const UPCOMING_KM: i64 = 1_000;

/// Whether `kind` is written as maintenance kinds are (`oil_service`, `custom_clim`):
/// lower-case letters, digits and underscores, at most 40.
pub fn is_kind_code(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 40
        && kind.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// A maintenance rule as it applies to one vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Rule {
    /// `oil_service`, `inspection`, `insurance`, `tyres`, `brakes`, or `custom_…`.
    pub kind: String,
    pub name: String,
    /// Every this many kilometres…
    pub interval_km: Option<i64>,
    /// …or every this many months, whichever comes first.
    pub interval_months: Option<i32>,
    /// The first time, this many months after first registration (technical inspection: 48).
    pub first_after_months: Option<i32>,
    /// A fixed date (an insurance expiry, a one-off check).
    pub due_on: Option<NaiveDate>,
    /// A fixed mileage.
    pub due_km: Option<i64>,
    pub active: bool,
}

/// The rules every organization starts with (France), until it changes them.
pub fn builtin_rules() -> Vec<Rule> {
    let rule = |kind: &str, name: &str, km: Option<i64>, months: Option<i32>, first: Option<i32>| Rule {
        kind: kind.to_owned(),
        name: name.to_owned(),
        interval_km: km,
        interval_months: months,
        first_after_months: first,
        due_on: None,
        due_km: None,
        active: true,
    };
    vec![
        rule("oil_service", "Vidange", Some(15_000), Some(12), None),
        // Contrôle technique: first at 4 years, then every 2 years.
        rule("inspection", "Contrôle technique", None, Some(24), Some(48)),
        rule("insurance", "Échéance d'assurance", None, None, None),
        rule("tyres", "Contrôle des pneumatiques", Some(20_000), Some(12), None),
        rule("brakes", "Contrôle des freins", Some(30_000), Some(24), None),
    ]
}

/// Words that name a built-in kind's work in a quote line (French and English),
/// each the start of a word (or of a run of words) of the line, and words that make
/// the line about something else ("vidange de la boîte": not the engine oil).
const KIND_WORDS: &[(&str, &[&str], &[&str])] = &[
    (
        "oil_service",
        &["vidange", "huile moteur", "filtre à huile", "révision", "revision", "oil change", "engine oil"],
        &["boîte", "boite", "refroidissement", "liquide", "pont", "transmission", "gearbox", "coolant"],
    ),
    ("brakes", &["frein", "plaquette", "étrier", "etrier", "brake"], &[]),
    ("tyres", &["pneu", "tyre"], &[]),
    ("inspection", &["contrôle technique", "controle technique", "contre visite", "mot test"], &[]),
];

/// Lower-case words of `text`, one space before each (so `" frein"` finds the
/// start of a word).
fn spaced_words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| format!(" {}", w.to_lowercase()))
        .collect()
}

/// The active rules whose work these lines describe: the built-in kinds by their
/// usual words, any rule by its own name ("Courroie de distribution").
pub fn implied_kinds<'a>(rules: &[Rule], lines: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    // Each line on its own: words at the end of one and the start of the next are not a phrase.
    let lines: Vec<String> = lines.into_iter().map(spaced_words).collect();
    rules
        .iter()
        .filter(|r| r.active)
        .filter(|r| {
            let (named, unless) = KIND_WORDS
                .iter()
                .find(|(kind, ..)| *kind == r.kind)
                .map_or((&[][..], &[][..]), |(_, words, unless)| (*words, *unless));
            let own_name = spaced_words(&r.name);
            lines.iter().any(|line| {
                ((!own_name.is_empty() && line.contains(&own_name))
                    || named.iter().any(|word| line.contains(&spaced_words(word))))
                    && !unless.iter().any(|word| line.contains(&spaced_words(word)))
            })
        })
        .map(|r| r.kind.clone())
        .collect()
}

/// When the rule was last carried out on the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastDone {
    pub on: NaiveDate,
    pub km: Option<i64>,
}

/// What is known of the vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Facts {
    pub first_registration: Option<NaiveDate>,
    pub insurance_expiry: Option<NaiveDate>,
    /// The latest odometer reading.
    pub current_km: Option<i64>,
    /// Average distance: kilometres over days, from its readings.
    pub pace: Option<Pace>,
}

/// An average daily distance, kept as a ratio so no float is involved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub km: i64,
    pub days: i64,
}

impl Pace {
    /// From the first and last readings since the last odometer correction; needs a
    /// week of history and some distance.
    pub fn from_readings(first: (NaiveDate, i64), last: (NaiveDate, i64)) -> Option<Self> {
        let days = (last.0 - first.0).num_days();
        let km = last.1 - first.1;
        (days >= 7 && km > 0).then_some(Self { km, days })
    }

    /// Days to cover `km` kilometres, rounded up.
    pub fn days_for(self, km: i64) -> i64 {
        if km <= 0 { 0 } else { (km * self.days + self.km - 1) / self.km }
    }
}

/// The occurrence of a rule never carried out on the vehicle here: its due point is
/// counted from the registration or from zero km, a guess to check with the owner.
pub const FIRST_OCCURRENCE: &str = "first";

/// The next time a rule falls due on a vehicle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Due {
    /// Identifies this cycle of the rule (one alert per cycle).
    pub occurrence: String,
    /// Due by this date (the rule's months, or its fixed date)…
    pub due_on: Option<NaiveDate>,
    /// …or at this mileage.
    pub due_km: Option<i64>,
    /// When the mileage is expected to be reached, at the vehicle's pace.
    pub expected_on: Option<NaiveDate>,
}

impl Due {
    /// The earliest of the date limit and the expected date of the mileage limit.
    pub fn date(&self) -> Option<NaiveDate> {
        match (self.due_on, self.expected_on) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn add_months(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    date.checked_add_months(Months::new(u32::try_from(months).ok()?))
}

/// The next due point of `rule`, or `None` when nothing can be said (an inactive
/// rule, an insurance rule without expiry date, a first inspection without a first
/// registration date).
pub fn next_due(rule: &Rule, facts: &Facts, last: Option<LastDone>, today: NaiveDate) -> Option<Due> {
    if !rule.active {
        return None;
    }
    let fixed_on = if rule.kind == "insurance" { rule.due_on.or(facts.insurance_expiry) } else { rule.due_on };
    let (occurrence, due_on, due_km) = if fixed_on.is_some() || rule.due_km.is_some() {
        // A fixed point: done once it has been carried out on or after being set up.
        let key =
            format!("fixed:{}:{}", fixed_on.map(|d| d.to_string()).unwrap_or_default(), rule.due_km.unwrap_or(-1));
        if rule.kind != "insurance"
            && let Some(last) = last
            && (fixed_on.is_some_and(|d| last.on >= d.checked_sub_days(Days::new(UPCOMING_DAYS)).unwrap_or(d))
                || rule.due_km.is_some_and(|km| last.km.is_some_and(|done| done >= km - UPCOMING_KM)))
        {
            return None;
        }
        (key, fixed_on, rule.due_km)
    } else {
        match last {
            Some(last) => {
                let on = rule.interval_months.and_then(|m| add_months(last.on, m));
                let km = rule.interval_km.and_then(|i| last.km.map(|done| done + i));
                (format!("after:{}:{}", last.on, last.km.unwrap_or(-1)), on, km)
            }
            None => {
                let on = match (rule.first_after_months, facts.first_registration) {
                    (Some(first), Some(registered)) => add_months(registered, first),
                    (Some(_), None) => return None,
                    (None, Some(registered)) => rule.interval_months.and_then(|m| add_months(registered, m)),
                    (None, None) => None,
                };
                // Never recorded: due at the first interval from zero.
                let km = rule.interval_km;
                if on.is_none() && km.is_none() {
                    return None;
                }
                (FIRST_OCCURRENCE.to_owned(), on, km)
            }
        }
    };
    let expected_on = match (due_km, facts.current_km, facts.pace) {
        (Some(due), Some(current), Some(pace)) => {
            let days = u64::try_from(pace.days_for(due - current)).unwrap_or(0);
            today.checked_add_days(Days::new(days))
        }
        (Some(due), Some(current), None) if due <= current => Some(today),
        _ => None,
    };
    Some(Due { occurrence, due_on, due_km, expected_on })
}

/// How pressing a due point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Past its date or its mileage.
    Overdue,
    /// Within 30 days or 1,000 km.
    Upcoming,
    Later,
}

pub fn urgency(due: &Due, today: NaiveDate, current_km: Option<i64>) -> Urgency {
    let km_left = due.due_km.zip(current_km).map(|(due, current)| due - current);
    if due.due_on.is_some_and(|d| d <= today) || km_left.is_some_and(|left| left <= 0) {
        return Urgency::Overdue;
    }
    let soon = today.checked_add_days(Days::new(UPCOMING_DAYS)).unwrap_or(today);
    if due.date().is_some_and(|d| d <= soon) || km_left.is_some_and(|left| left <= UPCOMING_KM) {
        Urgency::Upcoming
    } else {
        Urgency::Later
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn rule(kind: &str) -> Rule {
        builtin_rules().into_iter().find(|r| r.kind == kind).unwrap_or_else(|| panic!("no {kind} rule"))
    }

    fn oil() -> Rule {
        rule("oil_service")
    }

    #[test]
    fn oil_service_falls_due_by_mileage_first_for_a_busy_vehicle() {
        let today = day(2026, 5, 1);
        let last = LastDone { on: day(2026, 1, 1), km: Some(50_000) };
        // 14,500 km in 120 days: ~121 km a day, 500 km left: due in 5 days.
        let facts = Facts {
            current_km: Some(64_500),
            pace: Pace::from_readings((day(2026, 1, 1), 50_000), (day(2026, 5, 1), 64_500)),
            ..Facts::default()
        };
        let due = next_due(&oil(), &facts, Some(last), today).unwrap_or_else(|| panic!("due"));
        assert_eq!(due.due_on, Some(day(2027, 1, 1)));
        assert_eq!(due.due_km, Some(65_000));
        assert_eq!(due.expected_on, Some(day(2026, 5, 6)));
        assert_eq!(due.date(), Some(day(2026, 5, 6)));
        assert_eq!(urgency(&due, today, facts.current_km), Urgency::Upcoming);
        assert_eq!(urgency(&due, today, Some(65_200)), Urgency::Overdue);
    }

    #[test]
    fn oil_service_falls_due_by_date_first_for_a_quiet_vehicle() {
        let today = day(2026, 12, 10);
        let last = LastDone { on: day(2026, 1, 1), km: Some(50_000) };
        let facts = Facts {
            current_km: Some(53_000),
            pace: Pace::from_readings((day(2026, 1, 1), 50_000), (day(2026, 12, 10), 53_000)),
            ..Facts::default()
        };
        let due = next_due(&oil(), &facts, Some(last), today).unwrap_or_else(|| panic!("due"));
        assert_eq!(due.date(), Some(day(2027, 1, 1)));
        assert!(due.expected_on.is_some_and(|d| d > day(2028, 1, 1)));
        assert_eq!(urgency(&due, today, facts.current_km), Urgency::Upcoming);
        assert_eq!(urgency(&due, day(2026, 11, 1), facts.current_km), Urgency::Later);
        assert_eq!(urgency(&due, day(2027, 1, 1), facts.current_km), Urgency::Overdue);
    }

    #[test]
    fn inspection_is_due_at_four_years_then_every_two() {
        let rule = rule("inspection");
        let facts = Facts { first_registration: Some(day(2022, 3, 15)), ..Facts::default() };
        let first = next_due(&rule, &facts, None, day(2026, 1, 1)).unwrap_or_else(|| panic!("due"));
        assert_eq!((first.occurrence.as_str(), first.due_on), ("first", Some(day(2026, 3, 15))));
        let done = LastDone { on: day(2026, 3, 10), km: Some(60_000) };
        let next = next_due(&rule, &facts, Some(done), day(2026, 4, 1)).unwrap_or_else(|| panic!("due"));
        assert_eq!(next.due_on, Some(day(2028, 3, 10)));
        assert_ne!(next.occurrence, first.occurrence, "a new cycle");
        assert_eq!(next_due(&rule, &Facts::default(), None, day(2026, 1, 1)), None, "no registration date, no guess");
    }

    #[test]
    fn insurance_follows_the_expiry_date() {
        let rule = rule("insurance");
        assert_eq!(next_due(&rule, &Facts::default(), None, day(2026, 1, 1)), None);
        let facts = Facts { insurance_expiry: Some(day(2026, 6, 30)), ..Facts::default() };
        let due = next_due(&rule, &facts, None, day(2026, 6, 10)).unwrap_or_else(|| panic!("due"));
        assert_eq!(due.due_on, Some(day(2026, 6, 30)));
        assert_eq!(urgency(&due, day(2026, 6, 10), None), Urgency::Upcoming);
        let renewed = Facts { insurance_expiry: Some(day(2027, 6, 30)), ..facts };
        assert_ne!(next_due(&rule, &renewed, None, day(2026, 6, 10)).map(|d| d.occurrence), Some(due.occurrence));
    }

    #[test]
    fn a_vehicle_with_no_service_on_record_is_due_from_zero() {
        let facts = Facts { current_km: Some(84_000), ..Facts::default() };
        let due = next_due(&oil(), &facts, None, day(2026, 1, 1)).unwrap_or_else(|| panic!("due"));
        assert_eq!(due.due_km, Some(15_000));
        assert_eq!(urgency(&due, day(2026, 1, 1), facts.current_km), Urgency::Overdue);
        let inactive = Rule { active: false, ..oil() };
        assert_eq!(next_due(&inactive, &facts, None, day(2026, 1, 1)), None);
    }

    #[test]
    fn quote_lines_imply_the_maintenance_they_carry_out() {
        let mut rules = builtin_rules();
        rules.push(Rule { kind: "custom_timing_belt".into(), name: "Courroie de distribution".into(), ..oil() });
        let implied = |lines: &[&str]| implied_kinds(&rules, lines.iter().copied());
        assert_eq!(implied(&["Plaquettes de frein avant", "Main-d'œuvre"]), ["brakes"]);
        assert_eq!(implied(&["Vidange + filtre à huile 5W30"]), ["oil_service"]);
        assert_eq!(implied(&["2 PNEUS Michelin 205/55 R16"]), ["tyres"]);
        assert_eq!(implied(&["Passage au contrôle technique"]), ["inspection"]);
        assert_eq!(implied(&["Kit courroie de distribution"]), ["custom_timing_belt"]);
        // Words inside other words, and work no rule follows, imply nothing.
        assert!(implied(&["Disque d'embrayage", "Essuie-glaces", "Antifreinage"]).is_empty());
        // Another fluid's drain is not the oil service; a visual check is not the inspection;
        // a phrase does not run from one line into the next.
        assert!(implied(&["Vidange boîte de vitesses", "Vidange liquide de refroidissement"]).is_empty());
        assert!(implied(&["Inspection visuelle du soubassement"]).is_empty());
        assert!(implied(&["Diagnostic contrôle", "Technique de pose"]).is_empty());
        let inactive: Vec<Rule> = rules.iter().map(|r| Rule { active: false, ..r.clone() }).collect();
        assert!(implied_kinds(&inactive, ["Plaquettes de frein"]).is_empty());
    }

    #[test]
    fn pace_needs_a_week_and_rounds_up() {
        assert_eq!(Pace::from_readings((day(2026, 1, 1), 0), (day(2026, 1, 3), 500)), None);
        let pace =
            Pace::from_readings((day(2026, 1, 1), 0), (day(2026, 1, 11), 1_000)).unwrap_or(Pace { km: 1, days: 1 });
        assert_eq!(pace.days_for(150), 2);
        assert_eq!(pace.days_for(-5), 0);
    }
}
