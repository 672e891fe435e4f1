//! Prefix search helpers shared by every module: a prefix as an index range that
//! SQLite and PostgreSQL (whatever its collation) both walk.

use sea_orm::Condition;
use sea_orm::sea_query::{Expr, ExprTrait};

/// What is worth searching for: control characters (PostgreSQL refuses NUL in
/// text) and surrounding spaces removed, at most 100 characters.
pub fn search_term(raw: &str) -> String {
    raw.chars().filter(|c| !c.is_control()).take(100).collect::<String>().trim().to_owned()
}

/// `Émile  d'Aubigné` → `émile d aubigné`: lower-case words, what word searches
/// compare (it holds no LIKE wildcard).
pub fn words(text: &str) -> String {
    text.to_lowercase().split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// `Émile  d'Aubigné` → `emile d aubigne`: what a list sorted by name compares
/// (its rows' `sort_name`), lower-case words without accents, so that "Émile"
/// sorts with "emile" on SQLite as on PostgreSQL.
pub fn sort_key(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    // Recomposed once the accents are gone: a Hangul syllable stays one character.
    words(&text.nfd().filter(|c| !is_combining_mark(*c)).nfc().collect::<String>())
}

/// `expr` starts with `prefix`, written as `prefix <= expr < next(prefix)` so that
/// both SQLite and PostgreSQL (whatever its collation) walk an index range.
pub fn prefix_range(expr: Expr, prefix: &str) -> Condition {
    let lower = Condition::all().add(expr.clone().gte(prefix));
    match next_prefix(prefix) {
        Some(upper) => lower.add(expr.lt(upper)),
        None => lower,
    }
}

/// The smallest string greater than every string starting with `prefix`.
pub fn next_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The surrogate range holds no characters: U+D7FF is followed by U+E000.
        let next = if last == '\u{D7FF}' { Some('\u{E000}') } else { char::from_u32(u32::from(last) + 1) };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{next_prefix, sort_key};

    #[test]
    fn sort_keys_set_case_accents_and_punctuation_aside() {
        assert_eq!(sort_key("Émile  d'Aubigné"), "emile d aubigne");
        assert_eq!(sort_key("GARAGE DU CENTRE"), sort_key("Garage du Centre"));
        let mut names = ["Zoé", "émile", "Éric", "Ava"].map(sort_key);
        names.sort();
        assert_eq!(names, ["ava", "emile", "eric", "zoe"]);
        assert_eq!(sort_key("김민준").chars().count(), 3, "no longer than the name");
    }

    #[test]
    fn next_prefix_bounds_every_string_with_the_prefix() {
        assert_eq!(next_prefix("ab12").as_deref(), Some("ab13"));
        assert_eq!(next_prefix("peugeot").as_deref(), Some("peugeou"));
        assert_eq!(next_prefix("citroë").as_deref(), Some("citroì"));
        // The last character cannot grow: the bound moves to the one before.
        assert_eq!(next_prefix(&format!("a{}", char::MAX)).as_deref(), Some("b"));
        assert_eq!(next_prefix(&char::MAX.to_string()), None);
        assert_eq!(next_prefix("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        for word in ["ab12", "ab129zz", "ab12~"] {
            let upper = next_prefix("ab12").unwrap_or_default();
            assert!(word >= "ab12" && word < upper.as_str(), "{word}");
        }
        assert!("ab13" >= next_prefix("ab12").unwrap_or_default().as_str());
    }
}
