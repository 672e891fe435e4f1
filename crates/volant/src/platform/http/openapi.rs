//! The OpenAPI 3.1 document, generated from the handlers, and its docs page.

use axum::response::Html;
use serde_json::{Value, json};
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
        (name = "imports", description = "Clients and vehicles imported from CSV or XLSX files: columns mapped, every row checked without writing, imported in the background, the last import undone"),
        (name = "webhooks", description = "Events sent to other software, signed (Standard Webhooks), with their delivery log (administrators)"),
    ),
    components(schemas(crate::platform::error::Problem, crate::platform::error::ProblemField, IdFilter))
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
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A token from `POST /auth/login` (it acts with the user's roles), or a personal API token \
                         (`vlt_…`, `POST /auth/tokens`: the user's roles narrowed to the token's scopes, such as \
                         `fleet:read`). The scopes an operation lists are permissions of the role matrix; a token's \
                         scopes are areas of the API (see `TokenScope`).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The schema of a query parameter naming a record to filter by: its id, or
/// empty for no filter (what a form's blank choice sends).
pub struct IdFilter;

impl utoipa::PartialSchema for IdFilter {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, SchemaFormat, Type};
        AnyOfBuilder::new()
            .item(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(utoipa::openapi::schema::KnownFormat::Int64))),
            )
            .item(ObjectBuilder::new().schema_type(Type::String).max_length(Some(0)))
            .description(Some("An id, or empty for no filter."))
            .into()
    }
}

impl utoipa::ToSchema for IdFilter {}

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

/// The media type of every error body (RFC 9457).
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The answers every operation of a kind shares, declared once under
/// `components/responses` and referred to by [`complete`]: (status, name, description).
const COMMON_ERRORS: [(&str, &str, &str); 9] = [
    (
        "400",
        "BadRequest",
        "The request is malformed (`bad_request`): a body that is not well-formed JSON or not UTF-8, a NUL character in the address.",
    ),
    ("401", "Unauthorized", "No valid bearer token (`unauthorized`)."),
    (
        "403",
        "Forbidden",
        "The caller's roles do not grant the operation's permission (`forbidden`); or the personal token used \
            lacks the scope it needs (`insufficient_scope`, the scope named in `WWW-Authenticate`) or is used \
            from an address outside its allowed ranges (`token_ip_not_allowed`).",
    ),
    ("404", "NotFound", "Nothing with this id in the caller's organization (`not_found`)."),
    ("413", "PayloadTooLarge", "The body is larger than the limit (`payload_too_large`)."),
    ("415", "UnsupportedMediaType", "The body's `Content-Type` is not the one documented (`unsupported_media_type`)."),
    (
        "422",
        "ValidationFailed",
        "A field or parameter is invalid (`validation_failed`): `errors` names each one and says why.",
    ),
    (
        "429",
        "TooManyRequests",
        "Too many requests from this user (`too_many_requests`): `Retry-After` says when to try again.",
    ),
    (
        "503",
        "Unavailable",
        "A service Volant needs (the database, the file store) cannot be reached (`unavailable`): \
            send the request again later (after a write, read the record first: a commit cut short may have been kept).",
    ),
];

/// The statuses of [`COMMON_ERRORS`] an operation may answer, by what it declares.
fn common_errors(operation: &Value) -> Vec<&'static str> {
    let requirement = operation.get("security").and_then(Value::as_array).and_then(|r| r.first());
    let scopes = requirement.and_then(|r| r.get("bearer")).and_then(Value::as_array);
    let parameters = operation.get("parameters").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    // 413/415 are the JSON reader's; a multipart form or a raw upload says its own.
    let json_body = operation.pointer("/requestBody/content/application~1json").is_some();
    let mut statuses = Vec::new();
    if scopes.is_some() {
        // A personal token may be refused anywhere (its scopes, its address ranges).
        statuses.extend(["401", "403", "429"]);
    }
    if parameters.iter().any(|p| p["in"] == "path") {
        statuses.push("404");
    }
    // Any address may hold a NUL character (refused before routing).
    statuses.push("400");
    if json_body {
        statuses.extend(["413", "415"]);
    }
    // Input is validated; and any query parameter, even one the operation does
    // not take, is refused when it holds a NUL.
    statuses.extend(["422", "503"]);
    statuses
}

/// The reason phrase of a status, the description of a response that has none.
fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Response")
}

/// Completes the document generated from the routes: every response described,
/// every error body `application/problem+json`, and on every operation the
/// errors common to its kind ([`common_errors`]): 401 and 429 where a token is
/// needed, 403 where a permission is, 404 where the path names a record,
/// 413/415 where a JSON body is taken, and 400, 422 and 503 everywhere.
pub fn complete(doc: &mut Value) {
    let problem = json!({ "schema": { "$ref": "#/components/schemas/Problem" } });
    let mut shared = serde_json::Map::new();
    for (status, name, description) in COMMON_ERRORS {
        let mut response = json!({ "description": description, "content": { PROBLEM_JSON: problem } });
        if status == "429" {
            let mut headers = rate_limit_headers();
            headers["Retry-After"] = json!({
                "description": "Seconds to wait before trying again.",
                "required": true,
                "schema": { "type": "integer", "minimum": 1 }
            });
            response["headers"] = headers;
        }
        shared.insert(name.to_owned(), response);
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        components.insert("responses".to_owned(), Value::Object(shared));
        components.insert(
            "headers".to_owned(),
            json!({
                "RateLimit-Limit": {
                    "description": "Requests this user may make per minute.",
                    "required": true,
                    "schema": { "type": "integer", "minimum": 1 }
                },
                "RateLimit-Remaining": {
                    "description": "Requests still allowed now.",
                    "required": true,
                    "schema": { "type": "integer", "minimum": 0 }
                },
                "RateLimit-Reset": {
                    "description": "Seconds until the full allowance is back.",
                    "required": true,
                    "schema": { "type": "integer", "minimum": 0 }
                }
            }),
        );
    }
    if let Some(code) = doc.pointer_mut("/components/schemas/Problem/properties/code") {
        let codes: Vec<&str> = crate::platform::error::CODES.iter().map(|(code, _)| *code).collect();
        // Open: a code added later must not break a client that validates answers.
        code["anyOf"] = json!([
            { "enum": codes, "description": "A code of this version of the API." },
            { "type": "string", "description": "A code added since: handle it by the status." }
        ]);
    }
    close_request_bodies(doc);
    describe_binary_bodies(doc);
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    link_created_records(paths);
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let added = common_errors(operation);
            let signed_in = operation.pointer("/security/0/bearer").is_some();
            let paged = operation
                .get("parameters")
                .and_then(Value::as_array)
                .is_some_and(|parameters| parameters.iter().any(|p| p["in"] == "query" && p["name"] == "cursor"));
            let responses = operation
                .as_object_mut()
                .map(|o| o.entry("responses").or_insert_with(|| Value::Object(Default::default())));
            let Some(responses) = responses.and_then(Value::as_object_mut) else { continue };
            for (status, response) in responses.iter_mut() {
                let Some(response) = response.as_object_mut() else { continue };
                // A 416 (a range beyond the file) is answered without a body.
                if (status.starts_with('4') || status.starts_with('5')) && status != "416" {
                    let content = response.entry("content").or_insert_with(|| Value::Object(Default::default()));
                    if let Some(content) = content.as_object_mut() {
                        let body = content.remove("application/json").unwrap_or_else(|| problem.clone());
                        content.insert(PROBLEM_JSON.to_owned(), body);
                    }
                }
                // A page of a list says where the next one is.
                if paged && status == "200" {
                    let headers = response.entry("headers").or_insert_with(|| json!({}));
                    if let Some(headers) = headers.as_object_mut() {
                        headers.insert("Link".to_owned(), json!({
                            "description": "`<…>; rel=\"next\"` (RFC 8288) while more rows remain: the next page's address.",
                            "schema": { "type": "string" }
                        }));
                    }
                }
                // What a signed-in caller gets back says where it stands against its limit.
                if signed_in && status.starts_with('2') {
                    let headers = response.entry("headers").or_insert_with(|| json!({}));
                    if let (Some(headers), Value::Object(limits)) = (headers.as_object_mut(), rate_limit_headers()) {
                        headers.extend(limits);
                    }
                }
                let described = response.get("description").and_then(Value::as_str).is_some_and(|d| !d.is_empty());
                if !described {
                    response.insert("description".to_owned(), Value::String(reason(status).to_owned()));
                }
            }
            // What the route says of a status is kept (its own description, a 404's reason).
            for status in added {
                let Some((_, name, _)) = COMMON_ERRORS.iter().find(|(s, _, _)| *s == status) else { continue };
                responses.entry(status).or_insert_with(|| json!({ "$ref": format!("#/components/responses/{name}") }));
            }
        }
    }
}

/// A file sent or answered as it is (a logo, a PDF, a spreadsheet) is bytes of
/// its media type, not the array of integers its Rust type (`Vec<u8>`) reads as.
fn describe_binary_bodies(doc: &mut Value) {
    fn fix(content: &mut Value) {
        let Some(content) = content.as_object_mut() else { return };
        for (media, body) in content.iter_mut() {
            let bytes = body.pointer("/schema/type") == Some(&json!("array"))
                && body.pointer("/schema/items/type") == Some(&json!("integer"));
            if bytes && !media.contains("json") {
                body["schema"] = json!({ "type": "string", "contentMediaType": media });
            }
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
        if let Some(content) = operation.pointer_mut("/requestBody/content") {
            fix(content);
        }
        if let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
            for response in responses.values_mut() {
                if let Some(content) = response.get_mut("content") {
                    fix(content);
                }
            }
        }
    }
}

/// References to the `RateLimit-*` headers of `components/headers`.
fn rate_limit_headers() -> Value {
    let mut headers = serde_json::Map::new();
    for name in ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"] {
        headers.insert(name.to_owned(), json!({ "$ref": format!("#/components/headers/{name}") }));
    }
    Value::Object(headers)
}

/// The HTTP methods of a path item (its other keys are parameters, a summary…).
const METHODS: [&str; 7] = ["get", "put", "post", "delete", "patch", "head", "options"];

/// OpenAPI links from each creation (`POST /x` answering 201) to what can then be
/// done with the record (`/x/{id}` and the paths under it that name nothing else),
/// the id taken from the created body: clients and stateful fuzzers can chain
/// create → read → update → delete without guessing ids.
fn link_created_records(paths: &mut serde_json::Map<String, Value>) {
    let mut links = Vec::new();
    for (collection, item) in paths.iter() {
        if item.pointer("/post/responses/201").is_none() {
            continue;
        }
        let record = format!("{collection}/{{id}}");
        let mut targets = serde_json::Map::new();
        for (path, target) in paths.iter() {
            let tail = path.strip_prefix(record.as_str());
            if !tail.is_some_and(|tail| tail.is_empty() || (tail.starts_with('/') && !tail.contains('{'))) {
                continue;
            }
            for method in METHODS {
                let Some(id) = target.get(method).and_then(|op| op.get("operationId")).and_then(Value::as_str) else {
                    continue;
                };
                targets.insert(
                    id.to_owned(),
                    json!({
                        "operationId": id,
                        "parameters": { "id": "$response.body#/id" },
                        "description": format!("`{} {path}` on the record just created.", method.to_uppercase()),
                    }),
                );
            }
        }
        if !targets.is_empty() {
            links.push((collection.clone(), targets));
        }
    }
    for (collection, targets) in links {
        if let Some(created) = paths.get_mut(&collection).and_then(|item| item.pointer_mut("/post/responses/201")) {
            created["links"] = Value::Object(targets);
        }
    }
}

/// Bodies are read strictly (a field an operation does not take is a 422 naming
/// it): every object schema a JSON request body uses, directly or nested, says
/// so with `additionalProperties: false`.
fn close_request_bodies(doc: &mut Value) {
    let (mut pending, mut forms) = (Vec::new(), Vec::new());
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values().filter_map(Value::as_object) {
            for operation in item.values() {
                if let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema") {
                    collect_refs(schema, &mut pending);
                }
                if let Some(schema) = operation.pointer("/requestBody/content/multipart~1form-data/schema") {
                    collect_refs(schema, &mut forms);
                }
            }
        }
    }
    // A form's other parts are ignored (a page's `_csrf`…), but a part's name is a
    // MIME header parameter: no control character can be in it.
    for name in forms {
        if let Some(Value::Object(schema)) = doc.pointer_mut(&format!("/components/schemas/{name}")) {
            schema.insert("propertyNames".to_owned(), json!({ "pattern": "^[^\\x00-\\x1f\\x7f]*$" }));
        }
    }
    // A schema another extends (`allOf`, a flattened struct) cannot be closed: the
    // extension's own fields would be "additional" to it.
    let mut extended = Vec::new();
    extended_schemas(doc, &mut extended);
    let mut closed: std::collections::HashSet<String> = extended.into_iter().collect();
    while let Some(name) = pending.pop() {
        if !closed.insert(name.clone()) {
            continue;
        }
        let Some(schema) = doc.pointer_mut(&format!("/components/schemas/{name}")) else { continue };
        let mut nested = Vec::new();
        collect_refs(schema, &mut nested);
        close_objects(schema);
        pending.extend(nested);
    }
}

/// The component names referred to from an `allOf` anywhere in `value`.
fn extended_schemas(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(parts) = map.get("allOf") {
                collect_refs(parts, out);
            }
            map.values().for_each(|v| extended_schemas(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| extended_schemas(v, out)),
        _ => {}
    }
}

/// The component names `value` refers to (`#/components/schemas/<name>`).
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(name) =
                map.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// `additionalProperties: false` on `schema` and the inline objects within it
/// (a tagged enum's variants, an array's items) that list their properties.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".to_owned(), Value::Bool(false));
            }
            for (key, value) in map.iter_mut() {
                // A property's own schema is closed only if it is an object schema
                // (handled by recursion); `properties` itself is a name → schema map.
                if key == "properties" {
                    if let Some(properties) = value.as_object_mut() {
                        properties.values_mut().for_each(close_objects);
                    }
                } else if !matches!(
                    key.as_str(),
                    "additionalProperties" | "allOf" | "example" | "examples" | "default" | "enum"
                ) {
                    close_objects(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}
