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
        /// JSON array of percentages as strings.
        pub vat_rates: Option<String>,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }
}
