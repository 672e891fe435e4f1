pub mod api;
pub mod entity;
pub mod pdf;
pub mod service;
pub mod share;
pub mod web;
