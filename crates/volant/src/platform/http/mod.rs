//! HTTP plumbing: the router and its layers, extractors, responses, OpenAPI, assets.

pub mod assets;
pub mod extract;
pub mod keepalive;
pub mod openapi;
pub mod respond;
pub mod router;
