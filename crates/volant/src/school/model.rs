//! Value types the school's parts share: the licence categories candidates learn,
//! instructors teach and training vehicles serve.

use crate::platform::i18n::Msg;

/// French driving-licence categories.
pub const CATEGORIES: &[&str] = &["AM", "A1", "A2", "A", "B", "BE", "C1", "C1E", "C", "CE", "D1", "D1E", "D", "DE"];

pub fn check_category(value: &str) -> Result<String, Msg> {
    let upper = value.trim().to_uppercase();
    if CATEGORIES.contains(&upper.as_str()) {
        Ok(upper)
    } else {
        Err(Msg::new("school.category_unknown").arg("categories", CATEGORIES.join(", ")))
    }
}

/// At least one known category, each once, in the list's order.
pub fn check_categories(values: &[String]) -> Result<Vec<String>, Msg> {
    let mut categories = Vec::with_capacity(values.len());
    for value in values {
        let category = check_category(value)?;
        if !categories.contains(&category) {
            categories.push(category);
        }
    }
    if categories.is_empty() {
        return Err(Msg::new("field.required"));
    }
    Ok(categories)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_normalized_and_checked() {
        assert_eq!(check_categories(&[" b".into(), "A".into(), "B".into()]), Ok(vec!["B".to_owned(), "A".to_owned()]));
        assert_eq!(check_categories(&[]).map_err(|m| m.key), Err("field.required"));
        assert_eq!(check_categories(&["Z".into()]).map_err(|m| m.key), Err("school.category_unknown"));
    }
}
