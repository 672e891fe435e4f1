use crate::platform::db::table;

table! {
    "organizations" {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        /// ISO 4217 code, e.g. `EUR`, `XOF`.
        pub currency: crate::platform::money::Currency,
        /// `fr` or `en`.
        pub locale: crate::platform::i18n::Locale,
        /// IANA zone, e.g. `Europe/Paris`, `Africa/Dakar`.
        pub time_zone: String,
        pub address: Option<String>,
        pub kind: super::service::BusinessKind,
        pub phone: Option<String>,
        pub email: Option<String>,
        /// SIRET in France, NINEA in Senegal…
        pub registration_number: Option<String>,
        /// Intra-community VAT number.
        pub vat_number: Option<String>,
        /// The current logo's key (its content's hash; the image is in `organization_logos`).
        pub logo_key: Option<String>,
        /// The welcome checklist was put away before it was done.
        pub welcome_dismissed: bool,
        /// JSON array of percentages as strings.
        pub vat_rates: Option<String>,
        /// Photos are kept as taken (date, camera, GPS position) instead of re-encoded.
        pub keep_photo_metadata: bool,
        /// Administrators and managers must sign in with a second factor (TOTP).
        pub require_two_factor: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}

/// An organization's logo (PNG or JPEG, at most 512 KiB).
pub mod logo {
    use crate::platform::db::table;

    table! {
        "organization_logos" {
            #[sea_orm(primary_key, auto_increment = false)]
            pub organization_id: i64,
            /// `image/png` or `image/jpeg`.
            pub content_type: String,
            pub bytes: Vec<u8>,
            pub updated_at: DateTimeUtc,
        }
    }
}
