//! The school's rules and its candidate numbering.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
