//! The billing pages.

use crate::identity::auth::web_pages::Page;

pub fn pages() -> Vec<Page> {
    Vec::new()
}
