//! Document numbers as an organization formats them (`DEV-{year}-{seq:4}`,
//! `FAC-{year}-{seq:5}`): quotes, invoices and credit notes.

/// `DEV-{year}-{seq:4}` → `DEV-2026-0042`; `None` when the format has no `{seq}`
/// or an unknown placeholder.
pub fn format_number(format: &str, year: i32, sequence: i64) -> Option<String> {
    let mut out = String::new();
    let mut rest = format;
    let mut has_sequence = false;
    while let Some(open) = rest.find('{') {
        if rest[..open].contains('}') {
            return None;
        }
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let placeholder = &rest[open + 1..close];
        match placeholder.split_once(':') {
            None if placeholder == "year" => out.push_str(&year.to_string()),
            None if placeholder == "seq" => {
                has_sequence = true;
                out.push_str(&sequence.to_string());
            }
            Some(("seq", width)) => {
                let width: usize = width.parse().ok().filter(|w| (1..=9).contains(w))?;
                has_sequence = true;
                out.push_str(&format!("{sequence:0width$}"));
            }
            _ => return None,
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') {
        return None;
    }
    out.push_str(rest);
    has_sequence.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_format() {
        assert_eq!(format_number("DEV-{year}-{seq:4}", 2026, 1).as_deref(), Some("DEV-2026-0001"));
        assert_eq!(format_number("D{year}/{seq}", 2026, 12345).as_deref(), Some("D2026/12345"));
        assert_eq!(format_number("Q-{seq:6}", 2027, 42).as_deref(), Some("Q-000042"));
        for bad in ["DEV-{year}", "DEV-{month}-{seq}", "DEV-{seq", "DEV}-{seq}", "{seq:0}", "{seq:x}"] {
            assert_eq!(format_number(bad, 2026, 1), None, "{bad}");
        }
    }
}
