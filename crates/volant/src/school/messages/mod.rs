//! Messaging between a candidate and the school: threads, unread counts, an
//! e-mail to the other side on each new message.

pub mod api;
pub mod entity;
pub mod service;
pub mod web;
