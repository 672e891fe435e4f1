//! Choosing a password through a single-use link: "forgotten password" (asked for
//! on the sign-in page or through the API), a link an administrator sends from a
//! user's page, or one an operator prints with `volant reset-password`.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
