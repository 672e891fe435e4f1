//! The OpenAPI 3.1 document, generated from the handlers, and its docs page.

use axum::response::Html;
use utoipa::OpenApi;

use crate::platform::http::assets;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Volant API",
        description = "Garages, vehicles and the daily operations of vehicle businesses. \
            Errors are `application/problem+json` (RFC 9457). Lists are bare JSON arrays; \
            when more rows remain, a `Link: <…>; rel=\"next\"` header gives the next page.",
        license(name = "AGPL-3.0-or-later")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-in: exchange an e-mail and password for a bearer token"),
        (name = "garages", description = "Garages of the network"),
        (name = "vehicles", description = "Vehicles, unique by normalized plate"),
        (name = "organization", description = "Your organization's settings"),
        (name = "users", description = "The organization's users and their roles (administrators)"),
        (name = "audit", description = "Who changed what, when and from where (administrators)"),
    ),
    components(schemas(crate::platform::error::Problem, crate::platform::error::ProblemField))
)]
pub struct ApiDoc;

/// Declares the `Authorization: Bearer <token>` scheme that protected routes use.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
    }
}

/// Swagger UI, served from the binary's own assets.
pub async fn docs_page() -> Html<String> {
    let v = assets::version();
    Html(format!(
        r#"<!doctype html>
<html lang="fr">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Volant — API</title>
  <link rel="stylesheet" href="/assets/vendor/swagger-ui/swagger-ui.css?v={v}">
  <link rel="icon" href="/assets/favicon.svg?v={v}" type="image/svg+xml">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/assets/vendor/swagger-ui/swagger-ui-bundle.js?v={v}"></script>
  <script src="/assets/swagger-init.js?v={v}"></script>
</body>
</html>"#
    ))
}
