//! Checked value types for vehicles: parse once at the edge, then the rest of
//! the code cannot hold an invalid plate, VIN or fuel type.

use std::fmt;

use utoipa::ToSchema;

use crate::platform::enums::string_enum;
use crate::platform::i18n::Msg;

/// A licence plate as entered (trimmed), with its normalized form: upper-case
/// without spaces or dashes. Two plates are the same vehicle when their
/// normalized forms are equal (`ab-123-cd` = `AB 123 CD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plate {
    display: String,
    normalized: String,
}

pub const PLATE_MAX_LEN: usize = 20;
const PLATE_MIN_NORMALIZED: usize = 2;
const PLATE_MAX_NORMALIZED: usize = 12;

impl Plate {
    pub fn parse(input: &str) -> Result<Self, Msg> {
        let display = collapse_spaces(input.trim());
        if display.is_empty() {
            return Err(Msg::new("field.required"));
        }
        if display.chars().count() > PLATE_MAX_LEN {
            return Err(Msg::new("field.too_long").arg("max", PLATE_MAX_LEN));
        }
        if !display.chars().all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '-') {
            return Err(Msg::new("vehicle.plate_invalid"));
        }
        let normalized = normalize_plate(&display);
        if !(PLATE_MIN_NORMALIZED..=PLATE_MAX_NORMALIZED).contains(&normalized.len()) {
            return Err(Msg::new("vehicle.plate_invalid"));
        }
        Ok(Self { display, normalized })
    }

    /// As the user typed it, for display.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The comparison key stored under the unique index.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// Upper-case, spaces and dashes removed. Also used to search by partial plate.
pub fn normalize_plate(input: &str) -> String {
    input.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect()
}

fn collapse_spaces(input: &str) -> String {
    input.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A Vehicle Identification Number (ISO 3779): 17 characters, digits and capital
/// letters except I, O and Q. The check digit is only mandatory in North America,
/// so it is not enforced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vin(String);

impl Vin {
    pub fn parse(input: &str) -> Result<Self, Msg> {
        let vin: String = input.trim().to_ascii_uppercase();
        let valid = vin.len() == 17
            && vin.chars().all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !matches!(c, 'I' | 'O' | 'Q')));
        if valid { Ok(Self(vin)) } else { Err(Msg::new("vehicle.vin_invalid")) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

string_enum! {
    #[derive(ToSchema)]
    pub enum FuelType (labels "fuel.") {
        Petrol,
        Diesel,
        Hybrid,
        Electric,
        Lpg,
        Other,
    }
}

/// The first car (Benz Patent-Motorwagen) dates from 1886.
pub const FIRST_YEAR: i32 = 1886;

/// Model years run up to next year (cars are sold ahead of their model year).
pub fn check_year(year: i32, current_year: i32) -> Result<i32, Msg> {
    let last = current_year + 1;
    if (FIRST_YEAR..=last).contains(&year) {
        Ok(year)
    } else {
        Err(Msg::new("vehicle.year_out_of_range").arg("min", FIRST_YEAR).arg("max", last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plates_from_several_countries_are_accepted() {
        for plate in ["AB-123-CD", "1234 AB 01", "DK-1234-AB", "ab123cd", "CI 4521 AB 01", "75 ABC 123"] {
            assert!(Plate::parse(plate).is_ok(), "{plate}");
        }
    }

    #[test]
    fn plate_keeps_display_and_normalizes_key() {
        let plate = Plate::parse("  ab-123  cd ").expect("valid");
        assert_eq!(plate.as_str(), "ab-123 cd");
        assert_eq!(plate.normalized(), "AB123CD");
    }

    #[test]
    fn bad_plates_are_rejected_with_a_reason() {
        assert_eq!(Plate::parse("   ").map_err(|m| m.key), Err("field.required"));
        assert_eq!(Plate::parse("AB_123").map_err(|m| m.key), Err("vehicle.plate_invalid"));
        assert_eq!(Plate::parse("A").map_err(|m| m.key), Err("vehicle.plate_invalid"));
        assert_eq!(Plate::parse("--").map_err(|m| m.key), Err("vehicle.plate_invalid"));
        assert_eq!(Plate::parse("ÉÉ-123").map_err(|m| m.key), Err("vehicle.plate_invalid"));
        assert_eq!(Plate::parse(&"A".repeat(21)).map_err(|m| m.key), Err("field.too_long"));
    }

    #[test]
    fn vin_rules() {
        assert_eq!(Vin::parse("vf1rfb00x63504123").map(|v| v.0).ok().as_deref(), Some("VF1RFB00X63504123"));
        assert!(Vin::parse("VF1RFB00X6350412").is_err(), "16 chars");
        assert!(Vin::parse("VF1RFB00I63504123").is_err(), "letter I");
        assert!(Vin::parse("VF1RFB00O63504123").is_err(), "letter O");
    }

    #[test]
    fn year_bounds() {
        assert!(check_year(1886, 2026).is_ok());
        assert!(check_year(2027, 2026).is_ok());
        assert!(check_year(1885, 2026).is_err());
        assert!(check_year(2028, 2026).is_err());
    }

    fn plate_chars() -> impl Strategy<Value = String> {
        "[A-Za-z0-9]{2,10}"
    }

    proptest! {
        #[test]
        fn normalization_is_idempotent(s in "\\PC{0,30}") {
            let once = normalize_plate(&s);
            prop_assert_eq!(normalize_plate(&once), once);
        }

        #[test]
        fn separators_and_case_never_change_identity(core in plate_chars(), cuts in proptest::collection::vec((0usize..10, prop_oneof![Just(" "), Just("-")]), 0..4)) {
            let mut decorated = core.to_lowercase();
            for (pos, sep) in cuts {
                let at = pos.min(decorated.len());
                decorated.insert_str(at, sep);
            }
            let a = Plate::parse(&core);
            let b = Plate::parse(&decorated);
            prop_assert!(a.is_ok());
            if let (Ok(a), Ok(b)) = (a, b) {
                prop_assert_eq!(a.normalized(), b.normalized());
            }
        }

        #[test]
        fn accepted_plates_have_a_bounded_alphanumeric_key(s in "\\PC{0,25}") {
            if let Ok(plate) = Plate::parse(&s) {
                let key = plate.normalized();
                prop_assert!((2..=12).contains(&key.len()));
                prop_assert!(key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()));
                prop_assert!(plate.as_str().chars().count() <= PLATE_MAX_LEN);
            }
        }

        #[test]
        fn plate_parsing_never_panics(s in "\\PC*") {
            let _ = Plate::parse(&s);
            let _ = Vin::parse(&s);
        }
    }
}
