//! Page helpers the school's parts share: select options, a refusal shown as a
//! flash message, the sign-in account a form links.

use axum::response::Response;

use crate::platform::AppState;
use crate::platform::error::AppError;
use crate::platform::i18n::{self, Msg};
use crate::platform::tenant::OrgId;
use crate::platform::web::SelectOption;
use crate::platform::web::{FormErrors, WebResult, redirect_with_flash};

pub(crate) fn options(items: Vec<(i64, String)>, selected: Option<i64>, placeholder: &str) -> Vec<SelectOption> {
    let mut options =
        vec![SelectOption { value: String::new(), label: placeholder.to_owned(), selected: selected.is_none() }];
    options.extend(items.into_iter().map(|(id, label)| SelectOption {
        value: id.to_string(),
        label,
        selected: selected == Some(id),
    }));
    options
}

/// A refusal the user can act on (a conflict, invalid input) shown as an error
/// message on the page they are sent back to; anything else stays an error page.
pub(crate) fn refusal_flash(back: &str, err: AppError) -> WebResult<Response> {
    let tr = i18n::current();
    let text = match err {
        AppError::Conflict { message, .. } | AppError::ConflictWith { message, .. } => message.render(tr),
        AppError::Validation(errors) => errors.iter().map(|e| e.message.render(tr)).collect::<Vec<_>>().join(" "),
        other => return Err(other.into()),
    };
    Ok(redirect_with_flash(back, "error", &text))
}

/// The sign-in account a form links by its e-mail: none for an empty field; a
/// field error when no account of the organization has that address.
pub(crate) async fn linked_account(
    state: &AppState,
    org: OrgId,
    email: &str,
    errors: &mut FormErrors,
) -> Result<Option<i64>, AppError> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let found = match crate::platform::validate::check_email(email) {
        Ok(email) => crate::identity::users::service::account_of(&state.db, &email).await?,
        Err(_) => None,
    };
    match found {
        Some((account_org, id)) if account_org == org => Ok(Some(id)),
        _ => {
            errors.add("account_email", Msg::new("school.account_unknown").render(i18n::current()));
            Ok(None)
        }
    }
}
