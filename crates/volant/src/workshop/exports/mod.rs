//! Exports of clients, vehicles, quotes (one row per line) and alerts as CSV or
//! XLSX, with the same filters as their lists. Rows are read a keyset page at a
//! time and streamed: CSV chunk by chunk to the client, XLSX into a spreadsheet
//! written with constant memory to a temporary file, then streamed from it.

pub mod api;
pub mod service;
