//! Reports: pass rates, hours per candidate, instructor and vehicle utilisation,
//! revenue of lessons sold and done — as tables (with charts on the page), and as
//! CSV, XLSX or PDF files produced in the background.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
