pub mod api;
pub mod entity;
pub mod roles_entity;
pub mod service;
pub mod web;
