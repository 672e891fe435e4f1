//! Notifications. For now the e-mail outbox: what other modules ask to send,
//! recorded in their own transaction so that nothing is lost before delivery.

pub mod outbox;
