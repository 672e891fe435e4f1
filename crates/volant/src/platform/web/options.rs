//! The choices of a `<select>`.

/// An option of a `<select>`.
#[derive(Debug, Clone)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One option per `(value, label)`, the one whose value is `selected` marked, after
/// a first empty-valued option labelled `blank` ("all", "none", "choose…") when
/// given, itself marked when nothing is selected.
pub fn options(
    blank: Option<&str>,
    selected: &str,
    values: impl IntoIterator<Item = (String, String)>,
) -> Vec<SelectOption> {
    let blank = blank.map(|label| SelectOption {
        value: String::new(),
        label: label.to_owned(),
        selected: selected.is_empty(),
    });
    blank
        .into_iter()
        .chain(values.into_iter().map(|(value, label)| SelectOption { selected: value == selected, value, label }))
        .collect()
}

/// [`options`] over rows named by their id (garages, candidates, instructors…).
pub fn id_options(
    blank: Option<&str>,
    selected: Option<i64>,
    rows: impl IntoIterator<Item = (i64, String)>,
) -> Vec<SelectOption> {
    let selected = selected.map(|id| id.to_string()).unwrap_or_default();
    options(blank, &selected, rows.into_iter().map(|(id, label)| (id.to_string(), label)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_blank_option_comes_first_and_is_selected_when_nothing_is() {
        let none = options(Some("Tous"), "", [("a".to_owned(), "A".to_owned())]);
        assert_eq!(none.iter().map(|o| (o.value.as_str(), o.selected)).collect::<Vec<_>>(), [("", true), ("a", false)]);
        let some = id_options(None, Some(2), [(1, "Un".to_owned()), (2, "Deux".to_owned())]);
        assert_eq!(
            some.iter().map(|o| (o.value.as_str(), o.selected)).collect::<Vec<_>>(),
            [("1", false), ("2", true)]
        );
    }
}
