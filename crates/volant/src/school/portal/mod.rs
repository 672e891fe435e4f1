//! The candidate's own pages.

pub mod web;
