pub mod api;
pub mod entity;
pub mod profile;
pub mod roles_entity;
pub mod service;
pub mod web;
