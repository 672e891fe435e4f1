//! The page where an organization sets its own SMTP server and sender, and tries
//! them with a test e-mail (administrators).

use askama::Template;
use askama_web::WebTemplate;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::mail_settings::{self, MailInput, MailSettings, TestOutcome};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::platform::error::AppError;
use crate::platform::http::extract::FormBody;
use crate::platform::i18n;
use crate::platform::web::{FormErrors, PageCtx, WebResult, redirect_with_flash, unprocessable};

pub fn routes() -> Routes {
    vec![("/admin/mail", get(show).post(save)), ("/admin/mail/test", post(test)), ("/admin/mail/delete", post(clear))]
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MailForm {
    smtp_url: String,
    mail_from: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "notify/mail.html")]
struct MailPage {
    page: PageCtx,
    settings: Option<MailSettings>,
    /// The instance's own server is configured (`SMTP_URL`).
    instance_delivers: bool,
    form: MailForm,
    errors: FormErrors,
    /// Where the test e-mail goes: the signed-in administrator.
    test_to: String,
    tested: Option<TestOutcome>,
}

async fn page(
    caller: &Caller,
    page: PageCtx,
    form: Option<MailForm>,
    errors: FormErrors,
) -> Result<MailPage, AppError> {
    let settings = mail_settings::shown(&caller.db, &caller.cipher, caller.org).await?;
    let form = form.unwrap_or_else(|| MailForm {
        smtp_url: String::new(),
        mail_from: settings.as_ref().map(|s| s.mail_from.clone()).unwrap_or_default(),
    });
    Ok(MailPage {
        page,
        settings,
        instance_delivers: caller.config.notify.delivers_email(),
        form,
        errors,
        test_to: caller.current.user.email.clone(),
        tested: None,
    })
}

async fn show(caller: Caller, page_ctx: PageCtx) -> WebResult<MailPage> {
    Ok(page(&caller, page_ctx, None, FormErrors::default()).await?)
}

async fn save(caller: Caller, page_ctx: PageCtx, FormBody(form): FormBody<MailForm>) -> WebResult<Response> {
    let input = MailInput { smtp_url: Some(form.smtp_url.clone()), mail_from: Some(form.mail_from.clone()) };
    match mail_settings::set(
        &caller.db,
        (&caller.cipher, caller.config.notify.mail_allow_private_hosts),
        &caller.actor,
        &input,
    )
    .await
    {
        Ok(_) => Ok(redirect_with_flash("/admin/mail", "success", i18n::current().text("mail.saved"))),
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            let form = MailForm { smtp_url: String::new(), ..form };
            Ok(unprocessable(page(&caller, page_ctx, Some(form), errors).await?))
        }
    }
}

/// Sends the test e-mail now and shows the server's answer on the page.
async fn test(caller: Caller, page_ctx: PageCtx) -> WebResult<Response> {
    let tr = i18n::current();
    let organization = crate::identity::organizations::service::get(&caller.db, caller.org).await?;
    let words = (tr.text("mail.test_subject"), tr.text("mail.test_body"));
    let to = caller.current.user.email.clone();
    match mail_settings::test(
        &caller.db,
        (&caller.cipher, caller.config.notify.mail_allow_private_hosts),
        caller.org,
        (&to, &organization.name),
        words,
    )
    .await
    {
        Ok(outcome) => {
            let mut shown = page(&caller, page_ctx, None, FormErrors::default()).await?;
            shown.tested = Some(outcome);
            Ok(shown.into_response())
        }
        Err(err) => crate::platform::web::refusal_to_flash("/admin/mail", err),
    }
}

async fn clear(caller: Caller) -> WebResult<Response> {
    mail_settings::clear(&caller.db, &caller.actor).await?;
    Ok(redirect_with_flash("/admin/mail", "success", i18n::current().text("mail.cleared")))
}
