pub mod api;
pub mod entity;
pub mod money;
pub mod pdf;
pub mod service;
pub mod share;
pub mod web;
