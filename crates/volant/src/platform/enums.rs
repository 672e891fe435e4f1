//! Closed sets of values stored and exchanged as text (statuses, kinds): each is
//! declared once with [`string_enum!`], which writes its code (the variant's name
//! in snake case) in the database, in JSON and in forms, and reads it back.
//!
//! A stored code the program does not know is a database error (an internal
//! error for whoever asked), never silently another value.

/// A code that names none of an enum's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {code:?}")]
pub struct UnknownCode {
    pub kind: &'static str,
    pub code: String,
}

/// Declares an enum whose values are written as their names in snake case:
///
/// ```ignore
/// string_enum! {
///     #[derive(ToSchema)]
///     pub enum QuoteStatus (labels "quote.status.") {
///         Draft,
///         NoShow,
///     }
/// }
/// ```
///
/// gives `QuoteStatus::ALL`, `as_str()` (`"draft"`, `"no_show"`), `parse()` (for
/// input: `None` when unknown), `Display`/`FromStr`, serde with the codes, a
/// database value (an entity's column may be a `QuoteStatus`: an unknown stored
/// code fails the query) and, with `labels`, `label_key()`: the prefix and the
/// code (`"quote.status.draft"`), the key of the value's name in the catalogues.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ( labels $labels:literal ) {
            $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)?
        }
    ) => {
        $crate::platform::enums::string_enum! {
            $(#[$meta])*
            $vis enum $name {
                $( $(#[$vmeta])* $variant ),+
            }
        }

        impl $name {
            /// The key of this value's name in the catalogues.
            pub fn label_key(self) -> &'static str {
                match self {
                    $( Self::$variant => $crate::platform::enums::code!($labels, $variant) ),+
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sea_orm::DeriveValueType)]
        #[serde(rename_all = "snake_case")]
        #[sea_orm(value_type = "String")]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in the order of the declaration.
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            /// The code written in the database, in JSON and in forms.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $crate::platform::enums::code!("", $variant) ),+
                }
            }

            /// The value of a code given as input; `None` when it names none.
            pub fn parse(code: &str) -> Option<Self> {
                Self::ALL.into_iter().find(|value| value.as_str() == code)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::platform::enums::UnknownCode;

            fn from_str(code: &str) -> Result<Self, Self::Err> {
                Self::parse(code).ok_or_else(|| $crate::platform::enums::UnknownCode {
                    kind: stringify!($name),
                    code: code.to_owned(),
                })
            }
        }
    };
}

/// `prefix` followed by a variant's name in snake case, as a `&'static str`
/// computed at compile time (`code!("a.", InApp)` is `"a.in_app"`).
macro_rules! code {
    ($prefix:literal, $variant:ident) => {{
        const BYTES: [u8; $crate::platform::enums::code_len($prefix, stringify!($variant))] =
            $crate::platform::enums::code_bytes($prefix, stringify!($variant));
        const CODE: &str = match std::str::from_utf8(&BYTES) {
            Ok(code) => code,
            Err(_) => "",
        };
        CODE
    }};
}

pub(crate) use {code, string_enum};

/// The length of `prefix` and `name` in snake case.
#[doc(hidden)]
pub const fn code_len(prefix: &str, name: &str) -> usize {
    let name = name.as_bytes();
    let mut len = prefix.len() + name.len();
    let mut i = 1;
    while i < name.len() {
        if name[i].is_ascii_uppercase() {
            len += 1;
        }
        i += 1;
    }
    len
}

/// `prefix` and `name` in snake case (`InApp` → `in_app`).
#[doc(hidden)]
pub const fn code_bytes<const N: usize>(prefix: &str, name: &str) -> [u8; N] {
    let mut out = [0_u8; N];
    let prefix = prefix.as_bytes();
    let mut j = 0;
    while j < prefix.len() {
        out[j] = prefix[j];
        j += 1;
    }
    let name = name.as_bytes();
    let mut i = 0;
    while i < name.len() {
        if name[i].is_ascii_uppercase() {
            if i > 0 {
                out[j] = b'_';
                j += 1;
            }
            out[j] = name[i].to_ascii_lowercase();
        } else {
            out[j] = name[i];
        }
        i += 1;
        j += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    string_enum! {
        enum Light (labels "light.") {
            Red,
            AmberLight,
        }
    }

    #[test]
    fn codes_go_both_ways() {
        assert_eq!(Light::ALL, [Light::Red, Light::AmberLight]);
        assert_eq!(Light::AmberLight.as_str(), "amber_light");
        assert_eq!(Light::parse("red"), Some(Light::Red));
        assert_eq!(Light::parse("green"), None);
        assert_eq!("green".parse::<Light>().map_err(|e| e.to_string()), Err("unknown Light \"green\"".to_owned()));
        assert_eq!(Light::AmberLight.label_key(), "light.amber_light");
        assert_eq!(serde_json::to_string(&Light::AmberLight).ok().as_deref(), Some("\"amber_light\""));
        assert_eq!(Light::Red.to_string(), "red");
    }
}
