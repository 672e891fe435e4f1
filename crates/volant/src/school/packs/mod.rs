//! The school's packs (forfaits) and the packs sold to candidates, invoiced by
//! billing and paid at once or in instalments.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
