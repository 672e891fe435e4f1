//! User administration pages (administrators): list, create, change roles and
//! access. The same service as the API: the same rules.

use askama::Template;
use askama_web::WebTemplate;
use axum::response::Response;
use axum::routing::get;

use super::service::{self, NewUser, UserPatch, UserView};
use crate::identity::Caller;
use crate::identity::auth::web_pages::Routes;
use crate::identity::passwords::service::{self as passwords, Purpose};
use crate::identity::roles::{Permission, Role};
use crate::notify::mail_settings;
use crate::platform::error::AppError;
use crate::platform::http::extract::{FormBody, Id};
use crate::platform::i18n;
use crate::platform::pagination::PageRequest;
use crate::platform::proxy::ClientContext;
use crate::platform::web::{FormErrors, FormTarget, PageCtx, WebResult, form_flow, redirect_with_flash, unprocessable};

/// Inviting a colleague: administrators and managers.
pub fn invite_routes() -> Routes {
    vec![("/admin/invitations", get(invite_form).post(invite))]
}

pub fn routes() -> Routes {
    vec![
        ("/admin/users", get(index).post(create)),
        ("/admin/users/new", get(new_form)),
        ("/admin/users/{id}", get(edit_form).post(update)),
    ]
}

/// A role checkbox.
pub struct RoleChoice {
    pub value: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

/// A checkbox for each role `offered`, ticked when `selected`.
pub fn role_choices(offered: &[Role], selected: &[Role]) -> Vec<RoleChoice> {
    let tr = i18n::current();
    offered
        .iter()
        .copied()
        .map(|r| RoleChoice { value: r.as_str(), label: tr.text(role_key(r)), checked: selected.contains(&r) })
        .collect()
}

fn role_key(role: Role) -> &'static str {
    match role {
        Role::Admin => "role.admin",
        Role::Manager => "role.manager",
        Role::Staff => "role.staff",
        Role::Instructor => "role.instructor",
        Role::Candidate => "role.candidate",
    }
}

/// A user row: roles and last sign-in in words.
pub struct UserRow {
    pub user: UserView,
    pub roles: String,
    pub last_login: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/users.html")]
struct ListPage {
    page: PageCtx,
    users: Vec<UserRow>,
}

async fn index(caller: Caller, page: PageCtx) -> WebResult<ListPage> {
    let tr = i18n::current();
    let found =
        service::list(&caller.db, caller.org, PageRequest::first(crate::platform::pagination::MAX_LIMIT)).await?;
    let users = found
        .items
        .into_iter()
        .map(|user| UserRow {
            roles: user.roles.iter().map(|r| tr.text(role_key(*r))).collect::<Vec<_>>().join(", "),
            last_login: user.last_login_at.map_or_else(|| "—".to_owned(), i18n::local_date_time),
            user,
        })
        .collect();
    Ok(ListPage { page, users })
}

/// The form as typed: checkboxes repeat `roles`, so it is read as pairs.
#[derive(Debug, Default)]
struct UserForm {
    email: String,
    display_name: String,
    password: String,
    roles: Vec<Role>,
    active: bool,
}

impl UserForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut form = Self::default();
        for (key, value) in pairs {
            match key.as_str() {
                "email" => form.email = value,
                "display_name" => form.display_name = value,
                "password" => form.password = value,
                "roles" => form.roles.extend(Role::parse(&value)),
                "active" => form.active = true,
                _ => {}
            }
        }
        form
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/user_form.html")]
struct FormPage {
    page: PageCtx,
    target: FormTarget,
    creating: bool,
    email: String,
    display_name: String,
    active: bool,
    roles: Vec<RoleChoice>,
    errors: FormErrors,
    /// The user signs in with a second factor (an administrator may reset it).
    two_factor_on: bool,
}

impl FormPage {
    fn creating(page: PageCtx, form: UserForm, errors: FormErrors) -> Self {
        let target = FormTarget::creating(page.tr.t("users.new").to_owned(), "/admin/users");
        let roles = role_choices(&Role::ALL, &form.roles);
        Self {
            page,
            target,
            creating: true,
            email: form.email,
            display_name: form.display_name,
            active: true,
            roles,
            errors,
            two_factor_on: false,
        }
    }

    /// The form of user `id`, called `name`, whose e-mail (which cannot change) is `email`.
    fn editing(page: PageCtx, id: i64, name: &str, email: String, form: UserForm, errors: FormErrors) -> Self {
        let heading = page.tr.f("users.edit", "name", name);
        let target = FormTarget::new(heading, format!("/admin/users/{id}"), "/admin/users");
        let (display_name, active, roles) = (form.display_name, form.active, role_choices(&Role::ALL, &form.roles));
        Self { page, target, creating: false, email, display_name, active, roles, errors, two_factor_on: false }
    }
}

async fn new_form(page: PageCtx) -> FormPage {
    FormPage::creating(page, UserForm::default(), FormErrors::default())
}

async fn create(
    caller: Caller,
    page: PageCtx,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = UserForm::from_pairs(pairs);
    let new = NewUser {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        password: form.password.clone(),
        roles: form.roles.clone(),
    };
    let result = service::create_audited(&caller.db, &caller.actor, new).await;
    let done = |user: UserView| {
        let message = i18n::current().format("users.created", &[("name", &user.display_name)]);
        redirect_with_flash("/admin/users", "success", &message)
    };
    form_flow(result, done, async |errors| Ok(FormPage::creating(page, form, errors))).await
}

async fn edit_form(caller: Caller, page: PageCtx, Id(id): Id) -> WebResult<FormPage> {
    let user = service::get(&caller.db, caller.org, id).await?;
    let form = UserForm {
        display_name: user.display_name.clone(),
        active: user.active,
        roles: user.roles,
        ..Default::default()
    };
    let two_factor_on = crate::identity::two_factor::is_enabled(&caller.db, id).await?;
    Ok(FormPage {
        two_factor_on,
        ..FormPage::editing(page, id, &user.display_name, user.email, form, FormErrors::default())
    })
}

async fn update(
    caller: Caller,
    page: PageCtx,
    Id(id): Id,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = UserForm::from_pairs(pairs);
    let patch = UserPatch {
        display_name: Some(form.display_name.clone()),
        roles: Some(form.roles.clone()),
        active: Some(form.active),
    };
    let result = service::update(&caller.db, &caller.actor, id, patch).await;
    let done = |user: UserView| {
        let message = i18n::current().format("users.updated", &[("name", &user.display_name)]);
        redirect_with_flash("/admin/users", "success", &message)
    };
    form_flow(result, done, async |errors| {
        let current = service::get(&caller.db, caller.org, id).await?;
        let two_factor_on = crate::identity::two_factor::is_enabled(&caller.db, id).await?;
        Ok(FormPage {
            two_factor_on,
            ..FormPage::editing(page, id, &current.display_name, current.email, form, errors)
        })
    })
    .await
}

#[derive(Template, WebTemplate)]
#[template(path = "identity/invitation_form.html")]
struct InvitePage {
    page: PageCtx,
    email: String,
    display_name: String,
    roles: Vec<RoleChoice>,
    /// E-mails leave this instance.
    delivers: bool,
    errors: FormErrors,
}

impl InvitePage {
    async fn new(caller: &Caller, page: PageCtx, form: UserForm, errors: FormErrors) -> Result<Self, AppError> {
        let roles = role_choices(&passwords::grantable(&caller.current.user), &form.roles);
        let delivers = mail_settings::delivers_email(&caller.db, &caller.config.notify, caller.org).await?;
        Ok(Self { page, email: form.email, display_name: form.display_name, roles, delivers, errors })
    }
}

async fn invite_form(caller: Caller, page: PageCtx) -> WebResult<InvitePage> {
    Ok(InvitePage::new(&caller, page, UserForm::default(), FormErrors::default()).await?)
}

/// Administrators go on to the user's page; managers (no user administration)
/// stay on the invitation form, to invite someone else.
async fn invite(
    caller: Caller,
    page: PageCtx,
    client: ClientContext,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> WebResult<Response> {
    let form = UserForm::from_pairs(pairs);
    let invitation = passwords::Invitation {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        roles: form.roles.clone(),
    };
    let invited =
        passwords::invite(&caller.db, &caller.actor, &caller.current.user, invitation, async |_, _| Ok(())).await;
    match invited {
        Ok((user, link)) => {
            let back = if caller.current.user.may(Permission::UsersManage) {
                format!("/admin/users/{}", user.id)
            } else {
                "/admin/invitations".to_owned()
            };
            let made =
                crate::identity::passwords::web::link_made(page, (&caller, &client), link, Purpose::Invitation, &back);
            Ok(made.await?)
        }
        Err(err) => {
            let errors = FormErrors::from_app_error(err)?;
            Ok(unprocessable(InvitePage::new(&caller, page, form, errors).await?))
        }
    }
}
