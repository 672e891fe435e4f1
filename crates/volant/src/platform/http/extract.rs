//! Request extractors whose every rejection is an [`AppError`], so that no
//! malformed input can produce anything but a clear problem document.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::platform::error::{AppError, FieldError};
use crate::platform::i18n::Msg;

/// Largest request body accepted, JSON or form.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Largest upload request (several files at once, `multipart/form-data`) on the
/// routes that take files; each file obeys `VOLANT_UPLOAD_MAX_MB`.
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// A JSON body: 415 without a JSON content type, 400 when malformed, 413 when too
/// large, 422 naming the field when a value has the wrong type or a field is unknown
/// ([`parse_json`]).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = read_body(req, state).await?;
        refuse_nul_in_json(&bytes)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// No person types a NUL character and PostgreSQL cannot store one in text, so a
/// request carrying one is refused here, once for every route and every field
/// (the same for forms below, and for paths and query strings in the router).
fn refuse_nul_in_json(bytes: &[u8]) -> Result<(), AppError> {
    let mut i = 0;
    let mut found = false;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes.get(i + 1) == Some(&b'u') && bytes.get(i + 2..i + 6) == Some(b"0000".as_slice()) {
                found = true;
                break;
            }
            i += 2;
        } else {
            i += 1;
        }
    }
    if !found {
        return Ok(());
    }
    // Only on this rare path: name the field that holds it.
    let field =
        serde_json::from_slice::<serde_json::Value>(bytes).ok().and_then(|v| path_to_nul(&v)).unwrap_or_default();
    Err(nul_refused(field))
}

fn path_to_nul(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then(String::new),
        serde_json::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            path_to_nul(item).map(|rest| {
                if rest.is_empty() || rest.starts_with('[') { format!("[{i}]{rest}") } else { format!("[{i}].{rest}") }
            })
        }),
        serde_json::Value::Object(fields) => fields.iter().find_map(|(key, item)| {
            path_to_nul(item).map(|rest| {
                if rest.starts_with('[') {
                    format!("{key}{rest}")
                } else if rest.is_empty() {
                    key.clone()
                } else {
                    format!("{key}.{rest}")
                }
            })
        }),
        _ => None,
    }
}

/// A filter's id parameter ([`crate::platform::http::openapi::IdFilter`]): empty
/// (a form's blank choice) is no filter; anything else must be an id.
pub fn id_filter(name: &str, raw: Option<&str>) -> Result<Option<i64>, AppError> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => raw
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::invalid_parameter(name, format!("{name} must be an integer"))),
    }
}

/// The refusal of a query string holding a NUL: a 422 naming the parameter.
pub fn nul_in_query(query: &str) -> AppError {
    let name = serde_urlencoded::from_str::<Vec<(String, String)>>(query)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(key, value)| key.contains('\0') || value.contains('\0')))
        .map(|(key, _)| key.replace('\0', ""))
        .unwrap_or_default();
    nul_refused(name)
}

fn nul_refused(field: String) -> AppError {
    AppError::Validation(vec![FieldError::new(field, Msg::new("field.control_chars"))])
}

/// Whether a URL-encoded text carries an encoded NUL (`%00`).
pub fn has_encoded_nul(text: &str) -> bool {
    text.contains("%00")
}

async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, AppError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(rejection.body_text())
        }
    })
}

/// A JSON body as `T`: 400 when it is not well-formed or not UTF-8; 422 naming
/// the field when a value has the wrong type, or when a field is not one `T`
/// knows (a misspelt field is refused, not silently dropped). A number written
/// with a zero fraction (`116180.0`) is taken where an integer is expected:
/// JSON does not tell them apart.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(AppError::BadRequest("the body is not valid UTF-8".to_owned()));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    match typed(&mut deserializer) {
        // Only on this rare path: read again, integral numbers as integers.
        Err(Refused::Type(field, detail)) if detail.starts_with("invalid type: floating point") => {
            let mut value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|e| AppError::BadRequest(e.to_string()))?;
            integral_floats_as_integers(&mut value);
            typed(value).map_err(|refused| refused.into_error(Some((field, detail))))
        }
        result => {
            let value = result.map_err(|refused| refused.into_error(None))?;
            deserializer.end().map_err(|e| AppError::BadRequest(e.to_string()))?;
            Ok(value)
        }
    }
}

/// Why a JSON body does not give a `T`.
enum Refused {
    Syntax(String),
    /// A value of the wrong type: the field's path and serde's words.
    Type(String, String),
    /// Fields `T` does not have.
    Unknown(Vec<String>),
}

impl Refused {
    /// The error, or `first` (the refusal that led to a second reading) when it is a type's again.
    fn into_error(self, first: Option<(String, String)>) -> AppError {
        match (self, first) {
            // The same place refused again: the first words (the float) say it better.
            (Self::Type(again, _), Some((field, detail))) if again == field => {
                AppError::Validation(vec![FieldError::new(field, Msg::new("field.invalid_type").arg("detail", detail))])
            }
            (Self::Type(field, detail), _) => {
                AppError::Validation(vec![FieldError::new(field, Msg::new("field.invalid_type").arg("detail", detail))])
            }
            (Self::Syntax(message), _) => AppError::BadRequest(message),
            (Self::Unknown(fields), _) => AppError::Validation(
                fields.into_iter().map(|field| FieldError::new(field, Msg::new("field.unknown"))).collect(),
            ),
        }
    }
}

/// A body's top level, read so that a struct comes only from an object: serde
/// would also fill one from an array of its fields in order (`[null, null]`),
/// which no client means and the document does not allow.
struct ObjectsOnly<D>(D);

macro_rules! forward_to_inner {
    ($($method:ident)*) => {$(
        fn $method<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method(visitor)
        }
    )*};
}

impl<'de, D: serde::Deserializer<'de>> serde::Deserializer<'de> for ObjectsOnly<D> {
    type Error = D::Error;

    forward_to_inner! {
        deserialize_any deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string deserialize_bytes
        deserialize_byte_buf deserialize_option deserialize_unit deserialize_seq deserialize_map
        deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: serde::de::Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(visitor)
    }

    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_enum(name, variants, visitor)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// Fields a representation carries that no input takes: tolerated in a body, so
/// that a client may PUT back what it read.
const READ_ONLY: [&str; 3] = ["id", "created_at", "updated_at"];

fn typed<'de, T, D>(deserializer: D) -> Result<T, Refused>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de, Error = serde_json::Error>,
{
    let mut unknown = Vec::new();
    let mut note = |path: serde_ignored::Path<'_>| unknown.push(field_path(&path));
    let result =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(ObjectsOnly(deserializer), &mut note));
    // What GET answered may be sent back as it is: its server-set fields are let through.
    unknown.retain(|path| !READ_ONLY.contains(&path.rsplit(['.', ']']).next().unwrap_or_default()));
    match result {
        Ok(value) if unknown.is_empty() => Ok(value),
        Ok(_) => Err(Refused::Unknown(unknown)),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let detail = strip_position(&inner.to_string());
                    // serde names a missing (or refused) field in its message, not in the path.
                    let missing = detail
                        .strip_prefix("missing field `")
                        .or_else(|| detail.strip_prefix("unknown field `"))
                        .and_then(|rest| rest.split('`').next());
                    let field = match (missing, path.as_str()) {
                        (Some(name), ".") => name.to_owned(),
                        (Some(name), parent) => format!("{parent}.{name}"),
                        (None, ".") => String::new(),
                        (None, _) => path,
                    };
                    Err(Refused::Type(field, detail))
                }
                _ => Err(Refused::Syntax(inner.to_string())),
            }
        }
    }
}

/// A field's path as the other errors name it: `lines[2].description`.
fn field_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", field_path(parent)),
        Path::Map { parent, key } => match field_path(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent } | Path::NewtypeStruct { parent } | Path::NewtypeVariant { parent } => field_path(parent),
    }
}

/// `116180.0` as `116180`, wherever it is (within the integers a double holds exactly).
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    const EXACT: f64 = 9_007_199_254_740_992.0;
    match value {
        Value::Number(number) if !number.is_i64() && !number.is_u64() => {
            if let Some(float) = number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT) {
                #[allow(clippy::cast_possible_truncation)]
                let integer = float as i64;
                *value = Value::from(integer);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// serde's messages end with " at line 1 column 12", noise for a field-level message.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_owned(),
        None => message.to_owned(),
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(content_type) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A numeric id in the path; anything else names no resource, so it is a 404.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| AppError::NotFound)?;
        raw.parse::<i64>().ok().filter(|id| *id > 0).map(Id).ok_or(AppError::NotFound)
    }
}

/// Two numeric ids in the path (`/clients/{id}/vehicles/{vehicle_id}`); 404 otherwise.
pub struct IdPair(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for IdPair {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((a, b)) = axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let parse = |raw: &str| raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or(AppError::NotFound);
        Ok(Self(parse(&a)?, parse(&b)?))
    }
}

/// A query string; an invalid parameter is a 422 whose `errors` name it, like a
/// body's fields. Parameters the route does not take are ignored.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(deserializer).map(ApiQuery).map_err(|err| {
            let path = err.path().to_string();
            let detail = err.into_inner().to_string();
            // serde names a missing parameter in its message, not in the path.
            let missing = detail.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
            let field = match missing {
                Some(name) => name.to_owned(),
                None if path == "." => String::new(),
                None => path,
            };
            AppError::Validation(vec![FieldError::new(field, Msg::new("field.invalid_type").arg("detail", detail))])
        })
    }
}

/// An HTML form body (`application/x-www-form-urlencoded`).
pub struct FormBody<T>(pub T);

impl<S, T> FromRequest<S> for FormBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state).await?;
        // Encoded (`%00`) or raw: serde_urlencoded passes a raw NUL byte through.
        if bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00") {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
            let field = pairs.into_iter().find(|(_, v)| v.contains('\0')).map(|(k, _)| k).unwrap_or_default();
            return Err(nul_refused(field));
        }
        serde_urlencoded::from_bytes(&bytes).map(FormBody).map_err(|e| AppError::BadRequest(format!("form: {e}")))
    }
}

/// A form that may carry files (`multipart/form-data`, for a file field), or a
/// plain one: its text fields read as [`FormBody`] reads them, and the files
/// chosen (field name, bytes; a field left empty sends none).
pub struct FormWithFiles<T> {
    pub form: T,
    pub files: Vec<FormFile>,
}

/// A file sent in a form: its field, the name the sender gave it, its bytes.
pub struct FormFile {
    pub field: String,
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

impl<T> FormWithFiles<T> {
    /// The bytes of the file chosen in `field`, if any.
    pub fn take_file(&mut self, field: &str) -> Option<Vec<u8>> {
        let at = self.files.iter().position(|file| file.field == field && !file.bytes.is_empty())?;
        Some(self.files.swap_remove(at).bytes)
    }

    /// Every file chosen in `field`, in the order sent (empty ones left out).
    pub fn take_files(&mut self, field: &str) -> Vec<FormFile> {
        let (taken, kept) = std::mem::take(&mut self.files).into_iter().partition(|file| file.field == field);
        self.files = kept;
        taken.into_iter().filter(|file: &FormFile| !file.bytes.is_empty()).collect()
    }
}

/// The boundary of a `multipart/form-data` body (a form sending a file).
pub fn multipart_boundary(headers: &HeaderMap) -> Option<String> {
    let content_type = headers.get(CONTENT_TYPE)?.to_str().ok()?;
    multer::parse_boundary(content_type).ok()
}

impl<S, T> FromRequest<S> for FormWithFiles<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let Some(boundary) = multipart_boundary(req.headers()) else {
            let FormBody(form) = FormBody::from_request(req, state).await?;
            return Ok(Self { form, files: Vec::new() });
        };
        let bytes = read_body(req, state).await?;
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let malformed = |e: multer::Error| AppError::BadRequest(format!("form: {e}"));
        let (mut pairs, mut files) = (Vec::new(), Vec::new());
        while let Some(field) = multipart.next_field().await.map_err(malformed)? {
            let name = field.name().unwrap_or_default().to_owned();
            if let Some(file_name) = field.file_name() {
                let file_name = Some(file_name.to_owned()).filter(|n| !n.is_empty());
                files.push(FormFile {
                    field: name,
                    name: file_name,
                    bytes: field.bytes().await.map_err(malformed)?.to_vec(),
                });
            } else {
                let text = field.text().await.map_err(malformed)?;
                if text.contains('\0') {
                    return Err(nul_refused(name));
                }
                pairs.push((name, text));
            }
        }
        // The text fields, read exactly as a plain form's.
        let encoded = serde_urlencoded::to_string(&pairs).map_err(|e| AppError::BadRequest(format!("form: {e}")))?;
        let form = serde_urlencoded::from_str(&encoded).map_err(|e| AppError::BadRequest(format!("form: {e}")))?;
        Ok(Self { form, files })
    }
}

/// Reads `null` as `Some(None)` and absence (with `#[serde(default)]`) as `None`:
/// PATCH tells "clear this field" from "leave it alone".
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: serde::Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    serde::Deserialize::deserialize(deserializer).map(Some)
}
