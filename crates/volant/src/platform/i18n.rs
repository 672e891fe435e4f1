//! User-facing text. Every string a person reads lives in `locales/<lang>.txt`
//! (`key = value`, `{name}` placeholders), so a translation is one new file.
//! French is the reference catalog; any other locale falls back to it per key.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::platform::enums::string_enum;

string_enum! {
    /// A language of the pages: `fr` or `en`, as organizations store it.
    #[derive(Default)]
    pub enum Locale {
        #[default]
        Fr,
        En,
    }
}

impl Locale {
    /// Picks the first supported language of an `Accept-Language` header, French otherwise.
    pub fn from_accept_language(header: Option<&str>) -> Self {
        let Some(header) = header else {
            return Self::Fr;
        };
        for tag in header.split(',') {
            let lang = tag.split(';').next().unwrap_or("").trim();
            let primary = lang.split('-').next().unwrap_or("").to_ascii_lowercase();
            match primary.as_str() {
                "fr" => return Self::Fr,
                "en" => return Self::En,
                _ => {}
            }
        }
        Self::Fr
    }

    fn catalog(self) -> &'static HashMap<&'static str, &'static str> {
        static FR: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
        static EN: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
        match self {
            Self::Fr => FR.get_or_init(|| parse_catalog(include_str!("../../locales/fr.txt"))),
            Self::En => EN.get_or_init(|| parse_catalog(include_str!("../../locales/en.txt"))),
        }
    }

    /// The text for `key`, falling back to French, then to the key itself
    /// (a missing key is caught by the catalog tests, never by a user).
    pub fn text(self, key: &str) -> &str {
        self.catalog().get(key).or_else(|| Self::Fr.catalog().get(key)).copied().unwrap_or(key)
    }

    /// The text for `key` when the catalogs have it (for labels of open-ended codes).
    pub fn text_if_any(self, key: &str) -> Option<&'static str> {
        self.catalog().get(key).or_else(|| Self::Fr.catalog().get(key)).copied()
    }

    /// The text for `key` with `{name}` placeholders replaced.
    pub fn format(self, key: &str, args: &[(&str, &str)]) -> String {
        let mut out = self.text(key).to_owned();
        for (name, value) in args {
            out = out.replace(&format!("{{{name}}}"), value);
        }
        out
    }
}

tokio::task_local! {
    static REQUEST_LOCALE: Locale;
    static REQUEST_ZONE: chrono_tz::Tz;
}

/// Runs `fut` showing times in `zone` (the organization's).
pub async fn scope_zone<F: Future>(zone: chrono_tz::Tz, fut: F) -> F::Output {
    REQUEST_ZONE.scope(zone, fut).await
}

/// A stored (UTC) instant in the reader's time zone, formatted; UTC outside a request.
pub fn local_time(instant: chrono::DateTime<chrono::Utc>, format: &str) -> String {
    let zone = REQUEST_ZONE.try_with(|z| *z).unwrap_or(chrono_tz::UTC);
    instant.with_timezone(&zone).format(format).to_string()
}

/// How a language writes days and times: the one place that knows it.
impl Locale {
    const fn date_format(self) -> &'static str {
        match self {
            Self::Fr => "%d/%m/%Y",
            Self::En => "%-d %b %Y",
        }
    }

    /// A calendar day: `14/07/2026`, `14 Jul 2026`.
    pub fn date(self, day: chrono::NaiveDate) -> String {
        day.format(self.date_format()).to_string()
    }

    /// The day of a stored instant, in the reader's time zone.
    pub fn local_date(self, instant: chrono::DateTime<chrono::Utc>) -> String {
        local_time(instant, self.date_format())
    }

    /// A stored instant to the minute, in the reader's time zone: `14/07/2026 12:00`.
    pub fn local_date_time(self, instant: chrono::DateTime<chrono::Utc>) -> String {
        local_time(instant, &format!("{} %H:%M", self.date_format()))
    }

    /// [`Self::local_date_time`] in `zone`, for text written outside a page's
    /// request (a notice from the API or a job) in the organization's zone.
    pub fn date_time_in(self, zone: chrono_tz::Tz, instant: chrono::DateTime<chrono::Utc>) -> String {
        instant.with_timezone(&zone).format(&format!("{} %H:%M", self.date_format())).to_string()
    }

    /// A stored instant to the second, in the reader's time zone: `14/07/2026 12:00:05`.
    pub fn local_timestamp(self, instant: chrono::DateTime<chrono::Utc>) -> String {
        local_time(instant, &format!("{} %H:%M:%S", self.date_format()))
    }
}

/// [`Locale::date`] in the request's language.
pub fn date(day: chrono::NaiveDate) -> String {
    current().date(day)
}

/// [`Locale::local_date`] in the request's language.
pub fn local_date(instant: chrono::DateTime<chrono::Utc>) -> String {
    current().local_date(instant)
}

/// [`Locale::local_date_time`] in the request's language.
pub fn local_date_time(instant: chrono::DateTime<chrono::Utc>) -> String {
    current().local_date_time(instant)
}

/// Runs `fut` with `locale` as the request's language (see [`current`]).
pub async fn scope<F: Future>(locale: Locale, fut: F) -> F::Output {
    REQUEST_LOCALE.scope(locale, fut).await
}

/// The language of the request being served, French outside a request.
pub fn current() -> Locale {
    REQUEST_LOCALE.try_with(|l| *l).unwrap_or_default()
}

/// A message with its arguments, rendered in whatever language the reader uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Msg {
    pub fn new(key: &'static str) -> Self {
        Self { key, args: Vec::new() }
    }

    #[must_use]
    pub fn arg(mut self, name: &'static str, value: impl std::fmt::Display) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    pub fn render(&self, locale: Locale) -> String {
        let args: Vec<(&str, &str)> = self.args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        locale.format(self.key, &args)
    }
}

fn parse_catalog(source: &'static str) -> HashMap<&'static str, &'static str> {
    source
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim(), value.trim()))
        .collect()
}

/// Template helper: `{{ tr.t("key") }}`.
#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Locale);

impl Tr {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        self.0.text(key)
    }

    pub fn f(&self, key: &str, name: &str, value: &str) -> String {
        self.0.format(key, &[(name, value)])
    }

    pub fn lang(&self) -> &'static str {
        self.0.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogs_have_no_duplicate_or_malformed_lines() {
        for (name, source) in
            [("fr", include_str!("../../locales/fr.txt")), ("en", include_str!("../../locales/en.txt"))]
        {
            let mut seen = std::collections::HashSet::new();
            for line in source.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("{name}: no '=' in {line:?}"));
                assert!(seen.insert(key.trim()), "{name}: duplicate key {key}");
                assert!(!value.trim().is_empty(), "{name}: empty value for {key}");
            }
        }
    }

    #[test]
    fn english_translates_every_french_key() {
        let en = Locale::En.catalog();
        let missing: Vec<&&str> = Locale::Fr.catalog().keys().filter(|k| !en.contains_key(*k)).collect();
        assert!(missing.is_empty(), "missing from en.txt: {missing:?}");
    }

    #[test]
    fn every_english_key_exists_in_french() {
        let fr = Locale::Fr.catalog();
        for key in Locale::En.catalog().keys() {
            assert!(fr.contains_key(key), "en key {key} missing from fr");
        }
    }

    #[test]
    fn every_key_used_in_code_and_templates_exists_in_french() {
        let fr = Locale::Fr.catalog();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        collect_files(&root.join("src"), &mut files);
        collect_files(&root.join("templates"), &mut files);
        let key_pattern = ["t(\"", "f(\"", "Msg::new(\"", "text(\"", "format(\""];
        for file in files {
            let source = std::fs::read_to_string(&file).unwrap_or_default();
            for pattern in key_pattern {
                for (pos, _) in source.match_indices(pattern) {
                    let rest = &source[pos + pattern.len()..];
                    let Some(end) = rest.find('"') else { continue };
                    let key = &rest[..end];
                    if key.contains('.') && !key.contains(' ') && !key.contains('{') {
                        assert!(fr.contains_key(key), "{}: key {key} missing from fr.txt", file.display());
                    }
                }
            }
        }
    }

    fn collect_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                collect_files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[tokio::test]
    async fn times_are_shown_in_the_request_zone() {
        let instant = chrono::DateTime::parse_from_rfc3339("2026-07-14T10:00:00Z").expect("instant").to_utc();
        assert_eq!(local_time(instant, "%H:%M"), "10:00", "UTC outside a request");
        let paris = scope_zone(chrono_tz::Europe::Paris, async { local_time(instant, "%d/%m/%Y %H:%M") }).await;
        assert_eq!(paris, "14/07/2026 12:00");
        let dakar = scope_zone(chrono_tz::Africa::Dakar, async { local_time(instant, "%H:%M") }).await;
        assert_eq!(dakar, "10:00");
    }

    #[tokio::test]
    async fn each_language_writes_dates_its_way() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 7, 4).expect("day");
        assert_eq!(Locale::Fr.date(day), "04/07/2026");
        assert_eq!(Locale::En.date(day), "4 Jul 2026");
        let instant = chrono::DateTime::parse_from_rfc3339("2026-07-14T10:00:05Z").expect("instant").to_utc();
        let paris = scope_zone(chrono_tz::Europe::Paris, async {
            [Locale::Fr, Locale::En]
                .map(|l| (l.local_date(instant), l.local_date_time(instant), l.local_timestamp(instant)))
        })
        .await;
        assert_eq!(paris[0], ("14/07/2026".into(), "14/07/2026 12:00".into(), "14/07/2026 12:00:05".into()));
        assert_eq!(paris[1], ("14 Jul 2026".into(), "14 Jul 2026 12:00".into(), "14 Jul 2026 12:00:05".into()));
        assert_eq!(scope(Locale::En, async { date(day) }).await, "4 Jul 2026");
        assert_eq!(date(day), "04/07/2026", "French outside a request");
    }

    #[test]
    fn accept_language_picks_first_supported() {
        assert_eq!(Locale::from_accept_language(Some("en-US,en;q=0.9")), Locale::En);
        assert_eq!(Locale::from_accept_language(Some("de, fr;q=0.5")), Locale::Fr);
        assert_eq!(Locale::from_accept_language(Some("de")), Locale::Fr);
        assert_eq!(Locale::from_accept_language(None), Locale::Fr);
    }

    #[test]
    fn format_replaces_placeholders() {
        let msg = Msg::new("vehicle.plate_taken").arg("plate", "AB-123-CD").arg("garage", "Garage du Centre");
        let text = msg.render(Locale::Fr);
        assert!(text.contains("AB-123-CD") && text.contains("Garage du Centre"), "{text}");
    }
}
