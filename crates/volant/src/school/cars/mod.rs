//! Training vehicles: fleet vehicles the school teaches with.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
