//! Documents in the pages: each owner's page loads its documents' panel
//! (thumbnails, downloads, and for those who may, the upload form: several files,
//! a phone's camera, drag and drop); the documents to renew.

use askama::Template;
use askama_web::WebTemplate;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};

use super::model::{DocumentKind, Owner, OwnerKind};
use super::service::{self, Attachment, ExpiryState, Incoming, Storage, UploadInput, Variant};
use crate::identity::Caller;
use crate::identity::auth::web_pages::{self, Access, Page};
use crate::identity::roles::Permission;
use crate::platform::http::extract::{FormWithFiles, Id};
use crate::platform::i18n::{self, Msg};
use crate::platform::web::{PageCtx, WebResult, redirect_with_flash, refusal_to_flash};

pub fn pages() -> Vec<Page> {
    let mut pages = Vec::new();
    for kind in OwnerKind::ALL {
        let (read, write) = kind.permissions();
        let panel_of = move |caller: Caller, page: PageCtx, Id(id): Id| panel(caller, page, Owner { kind, id });
        let upload_to = move |caller: Caller, Id(id): Id, form: FormWithFiles<UploadInput>| {
            upload(caller, Owner { kind, id }, form)
        };
        pages.extend(web_pages::pages(
            Access::guarded(read, write),
            [(
                kind.documents_path(),
                get(panel_of)
                    .post(upload_to)
                    .layer(axum::extract::DefaultBodyLimit::max(crate::platform::http::extract::UPLOAD_LIMIT)),
            )],
        ));
    }
    // Each document's own routes: its owner's permissions are checked by the service.
    pages.extend(web_pages::pages(
        Access::guarded(Permission::OwnProfile, Permission::OwnProfile),
        [
            ("/documents/expiring", get(expiring_page)),
            ("/documents/{id}/file", get(original)),
            ("/documents/{id}/preview", get(preview)),
            ("/documents/{id}/thumbnail", get(thumbnail)),
            ("/documents/{id}/delete", post(delete)),
        ],
    ));
    pages
}

/// A document as the panel shows it.
pub struct DocumentCard {
    pub id: i64,
    pub title: String,
    pub kind: DocumentKind,
    pub is_image: bool,
    pub has_thumbnail: bool,
    pub size: String,
    pub added: String,
    pub expires_on: Option<String>,
    pub expiry: Option<ExpiryState>,
    pub deletable: bool,
}

/// A size as people read it: "850 Ko", "2,4 Mo".
pub fn human_size(bytes: i64) -> String {
    let tr = i18n::current();
    if bytes < 1_000_000 {
        Msg::new("document.size_kb").arg("n", (bytes + 999) / 1000).render(tr)
    } else {
        let tenths = (bytes + 50_000) / 100_000;
        let separator = if tr == i18n::Locale::En { '.' } else { ',' };
        let text = format!("{}{separator}{}", tenths / 10, tenths % 10);
        Msg::new("document.size_mb").arg("n", text).render(tr)
    }
}

fn card(a: &Attachment, today: chrono::NaiveDate, may_delete: bool) -> DocumentCard {
    DocumentCard {
        id: a.id,
        title: a.title.clone(),
        kind: a.kind,
        is_image: a.is_image(),
        has_thumbnail: a.has_thumbnail,
        size: human_size(a.size_bytes),
        added: i18n::date(a.created_at.date_naive()),
        expires_on: a.expires_on.map(i18n::date),
        expiry: a.expiry_state(today),
        deletable: may_delete && !a.kind.is_generated(),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/_panel.html")]
struct Panel {
    page: PageCtx,
    action: String,
    kinds: &'static [DocumentKind],
    photos_first: bool,
    documents: Vec<DocumentCard>,
    may_upload: bool,
    max_mb: u64,
    frozen: bool,
}

async fn panel(caller: Caller, page: PageCtx, owner: Owner) -> WebResult<Panel> {
    let facts = service::owner_facts(&caller.db, &caller.cipher, caller.org, owner).await?;
    let may_upload = service::may(&caller.current, owner.kind, true);
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let documents = service::list(&caller.db, caller.org, owner)
        .await?
        .iter()
        .map(|a| card(a, today, may_upload && !facts.frozen))
        .collect();
    Ok(Panel {
        page,
        action: owner.kind.documents_path().replace("{id}", &owner.id.to_string()),
        kinds: owner.kind.kinds(),
        photos_first: owner.kind.kinds().first().is_some_and(|k| k.is_photo()),
        documents,
        may_upload,
        max_mb: caller.config.upload_max_bytes / 1_000_000,
        frozen: facts.frozen,
    })
}

async fn upload(caller: Caller, owner: Owner, mut form: FormWithFiles<UploadInput>) -> WebResult<Response> {
    let back = owner.kind.page(owner.id);
    let files: Vec<Incoming> =
        form.take_files("file").into_iter().map(|f| Incoming { name: f.name, bytes: f.bytes }).collect();
    match service::upload(&caller.db, Storage::of(&caller.state), &caller.actor, owner, &form.form, files).await {
        Ok(saved) => {
            let message = Msg::new("document.added").arg("n", saved.len()).render(i18n::current());
            Ok(redirect_with_flash(&format!("{back}#documents"), "success", &message))
        }
        Err(err) => refusal_to_flash(&format!("{back}#documents"), err),
    }
}

async fn original(caller: Caller, Id(id): Id, headers: HeaderMap) -> WebResult<Response> {
    file(caller, id, Variant::Original, &headers).await
}

async fn preview(caller: Caller, Id(id): Id, headers: HeaderMap) -> WebResult<Response> {
    file(caller, id, Variant::Preview, &headers).await
}

async fn thumbnail(caller: Caller, Id(id): Id, headers: HeaderMap) -> WebResult<Response> {
    file(caller, id, Variant::Thumbnail, &headers).await
}

async fn file(caller: Caller, id: i64, variant: Variant, headers: &HeaderMap) -> WebResult<Response> {
    let found = service::download(&caller.db, Storage::of(&caller.state), &caller.current, id, variant).await?;
    Ok(super::serve::file(found, variant, headers))
}

async fn delete(caller: Caller, Id(id): Id) -> WebResult<Response> {
    let found = service::get(&caller.db, &caller.current, id).await?;
    let back = format!("{}#documents", found.owner_kind.page(found.owner_id));
    match service::delete(&caller.db, &caller.cipher, &caller.current, &caller.actor, id).await {
        Ok(()) => {
            let message = Msg::new("document.deleted").arg("title", &found.title).render(i18n::current());
            Ok(redirect_with_flash(&back, "success", &message))
        }
        Err(err) => refusal_to_flash(&back, err),
    }
}

/// A document to renew, with what it belongs to.
struct ExpiringRow {
    card: DocumentCard,
    owner_kind: OwnerKind,
    owner_page: String,
    owner_label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "documents/expiring.html")]
struct ExpiringPage {
    page: PageCtx,
    rows: Vec<ExpiringRow>,
}

async fn expiring_page(caller: Caller, page: PageCtx) -> WebResult<ExpiringPage> {
    let kinds: Vec<OwnerKind> =
        OwnerKind::ALL.into_iter().filter(|k| service::may(&caller.current, *k, false)).collect();
    let today = crate::identity::organizations::service::today(&caller.db, caller.org).await?;
    let mut rows = Vec::new();
    for a in service::expiring(&caller.db, caller.org, &kinds, today).await? {
        let owner = Owner { kind: a.owner_kind, id: a.owner_id };
        let label = match service::owner_facts(&caller.db, &caller.cipher, caller.org, owner).await {
            Ok(facts) => facts.label,
            Err(_) => continue,
        };
        rows.push(ExpiringRow {
            card: card(&a, today, false),
            owner_kind: a.owner_kind,
            owner_page: owner.kind.page(owner.id),
            owner_label: label,
        });
    }
    Ok(ExpiringPage { page, rows })
}
