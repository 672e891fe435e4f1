//! A page helper the school's parts share: the sign-in account a form links.

use crate::identity::Caller;
use crate::platform::error::AppError;
use crate::platform::i18n::{self, Msg};
use crate::platform::web::FormErrors;

/// The sign-in account a form links by its e-mail: none for an empty field; a
/// field error when no account of the organization has that address.
pub(crate) async fn linked_account(
    caller: &Caller,
    email: &str,
    errors: &mut FormErrors,
) -> Result<Option<i64>, AppError> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let found = match crate::platform::validate::check_email(email) {
        Ok(email) => crate::identity::users::service::account_of(&caller.db, &email).await?,
        Err(_) => None,
    };
    match found {
        Some((account_org, id)) if account_org == caller.org => Ok(Some(id)),
        _ => {
            errors.add("account_email", Msg::new("school.account_unknown").render(i18n::current()));
            Ok(None)
        }
    }
}
