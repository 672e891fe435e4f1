pub mod entity;
pub mod roles_entity;
pub mod service;
