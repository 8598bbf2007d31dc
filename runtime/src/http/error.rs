//! Errors to responses, in one place: every rejection leaves as Appwrite's
//! error JSON with the status from the catalogue.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::model::catalog::Flavor;
use crate::model::exception::{ErrorType, Exception};

/// An error on its way to the client, in the naming of the API it came through.
#[derive(Debug)]
pub struct ApiError {
    pub exception: Exception,
    pub flavor: Flavor,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<Exception> for ApiError {
    fn from(exception: Exception) -> Self {
        ApiError { exception, flavor: Flavor::Tables }
    }
}

impl From<ErrorType> for ApiError {
    fn from(kind: ErrorType) -> Self {
        Exception::new(kind).into()
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Exception::from(e).into()
    }
}

/// Mark an error as coming from the legacy (collections/documents) API.
pub trait InFlavor<T> {
    fn in_flavor(self, flavor: Flavor) -> ApiResult<T>;
}

impl<T, E: Into<ApiError>> InFlavor<T> for Result<T, E> {
    fn in_flavor(self, flavor: Flavor) -> ApiResult<T> {
        self.map_err(|e| {
            let mut e = e.into();
            e.flavor = flavor;
            e
        })
    }
}

/// The legacy API's name for a TablesDB error type.
fn legacy_kind(kind: ErrorType) -> ErrorType {
    use ErrorType::*;
    match kind {
        TableNotFound => CollectionNotFound,
        TableAlreadyExists => CollectionAlreadyExists,
        RowNotFound => DocumentNotFound,
        RowInvalidStructure => DocumentInvalidStructure,
        RowMissingData => DocumentMissingData,
        RowMissingPayload => DocumentMissingPayload,
        RowAlreadyExists => DocumentAlreadyExists,
        RowUniqueConstraintViolation => DocumentUniqueConstraintViolation,
        ColumnNotFound => AttributeNotFound,
        ColumnUnknown => AttributeUnknown,
        ColumnDefaultUnsupported => AttributeDefaultUnsupported,
        ColumnAlreadyExists => AttributeAlreadyExists,
        ColumnLimitExceeded => AttributeLimitExceeded,
        ColumnValueInvalid => AttributeValueInvalid,
        ColumnTypeInvalid => AttributeTypeInvalid,
        ColumnIndexNotFound => IndexNotFound,
        ColumnIndexAlreadyExists => IndexAlreadyExists,
        ColumnIndexInvalid => IndexInvalid,
        ColumnIndexDependency => IndexDependency,
        other => other,
    }
}

fn legacy_message(msg: &str) -> String {
    msg.replace("Row ", "Document ")
        .replace(" row", " document")
        .replace("Table ", "Collection ")
        .replace(" table", " collection")
        .replace("Column ", "Attribute ")
        .replace(" column", " attribute")
        .replace("tablesDB ", "databases ")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut e = self.exception;
        if self.flavor == Flavor::Collections {
            let legacy = legacy_kind(e.kind);
            if legacy != e.kind {
                e = Exception::msg(legacy, legacy_message(&e.message));
            }
        }
        let status = StatusCode::from_u16(e.code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&e.to_json()).unwrap_or_default();
        let mut resp = (status, body).into_response();
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp
    }
}

/// The answer for paths no route matches.
pub async fn not_found() -> ApiError {
    Exception::new(ErrorType::GeneralRouteNotFound).into()
}
