//! Volant: operations software for garage networks and driving schools.
//!
//! Business domains (`fleet`, `workshop`, `school`, `identity`, `notify`) and the
//! instance's `operations` over a thin `platform` layer, put together in [`app`];
//! see `docs/architecture.md`.

pub mod app;
pub mod billing;
pub mod documents;
pub mod fleet;
pub mod identity;
pub mod imports;
pub mod notify;
pub mod operations;
pub mod platform;
pub mod school;
pub mod workshop;

pub use app::{App, StartupError, page_table};
