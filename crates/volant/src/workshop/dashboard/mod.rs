pub mod api;
pub mod service;
pub mod web;
