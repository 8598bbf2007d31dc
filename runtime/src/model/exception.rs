//! Appwrite's error catalogue: every rejection the API sends names one of these.
//!
//! The SDKs switch on the `type` string and the HTTP status, so both must be
//! exactly Appwrite's (`app/config/errors.php`, 1.9). The default messages are
//! Appwrite's descriptions; `%s` marks where Appwrite puts an ID, and
//! [`Exception::with_id`] fills it in. Everything here is plain data.

use std::fmt;

/// The version string every error body carries.
pub const API_VERSION: &str = "1.9.6";

macro_rules! error_types {
    ($($variant:ident = ($name:literal, $code:literal, $desc:literal),)*) => {
        /// One entry of Appwrite's error catalogue.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorType { $($variant,)* }

        impl ErrorType {
            /// The `type` string of the error body.
            pub fn name(self) -> &'static str { match self { $(Self::$variant => $name,)* } }
            /// The `code` of the error body: the HTTP status, or a WebSocket close code for realtime errors.
            pub fn code(self) -> u16 { match self { $(Self::$variant => $code,)* } }
            /// Appwrite's default message.
            pub fn description(self) -> &'static str { match self { $(Self::$variant => $desc,)* } }
        }
    };
}

error_types! {
    GeneralUnknown = ("general_unknown", 500, "An unknown error has occurred. Please check the logs for more information."),
    GeneralAccessForbidden = ("general_access_forbidden", 401, "Access to this API is forbidden."),
    GeneralUnknownOrigin = ("general_unknown_origin", 403, "The request originated from an unknown origin. If you trust this domain, please list it as a trusted platform in the Appwrite console."),
    GeneralUnauthorizedScope = ("general_unauthorized_scope", 401, "The current user or API key does not have the required scopes to access the requested resource."),
    GeneralRateLimitExceeded = ("general_rate_limit_exceeded", 429, "Rate limit for the current endpoint has been exceeded. Please try again after some time."),
    GeneralArgumentInvalid = ("general_argument_invalid", 400, "The request contains one or more invalid arguments. Please refer to the endpoint documentation."),
    GeneralColumnQueryLimitExceeded = ("general_column_query_limit_exceeded", 400, "Query limit exceeded for the current column."),
    GeneralQueryInvalid = ("general_query_invalid", 400, "The query's syntax is invalid. Please check the query and try again."),
    GeneralRouteNotFound = ("general_route_not_found", 404, "Route not found. Please ensure the endpoint is configured correctly and that the API route is valid for this SDK version. Refer to the API docs for more details."),
    GeneralCursorNotFound = ("general_cursor_not_found", 400, "The cursor is invalid. This can happen if the item represented by the cursor has been deleted."),
    GeneralServerError = ("general_server_error", 500, "An internal server error occurred."),
    GeneralNotImplemented = ("general_not_implemented", 405, "This method was not fully implemented yet. If you believe this is a mistake, please upgrade your Appwrite server version."),
    GeneralBadRequest = ("general_bad_request", 400, "There was an error processing your request. Please check the inputs and try again."),
    GeneralFeatureUnsupported = ("general_feature_unsupported", 400, "This feature is not supported with your current configuration."),
    GeneralInvalidEmail = ("general_invalid_email", 400, "Value must be a valid email address."),
    UserJwtInvalid = ("user_jwt_invalid", 401, "The JWT token is invalid. Please check the value of the X-Appwrite-JWT header to ensure the correct token is being used."),
    UserAlreadyExists = ("user_already_exists", 409, "A user with the same id, email, or phone already exists in this project."),
    UserBlocked = ("user_blocked", 403, "The current user has been blocked."),
    UserInvalidToken = ("user_invalid_token", 401, "Invalid token passed in the request."),
    UserInvalidCredentials = ("user_invalid_credentials", 401, "Invalid credentials. Please check the email and password."),
    UserSessionAlreadyExists = ("user_session_already_exists", 401, "Creation of a session is prohibited when a session is active."),
    UserNotFound = ("user_not_found", 404, "User with the requested ID could not be found."),
    UserEmailAlreadyExists = ("user_email_already_exists", 409, "A user with the same email already exists in the current project."),
    UserSessionNotFound = ("user_session_not_found", 404, "The current user session could not be found."),
    UserUnauthorized = ("user_unauthorized", 401, "The current user is not authorized to perform the requested action."),
    UserApiKeyAndSessionSet = ("user_api_key_and_session_set", 403, "API key and session used in the same request. Use either `setSession` or `setKey`. Learn about which authentication method to use in the SSR docs: https://appwrite.io/docs/products/auth/server-side-rendering"),
    UserJwtAndCookieSet = ("user_jwt_and_cookie_set", 403, "JWT and cookie used in the same request. Use either `setJWT` or `setCookie`. Learn about which authentication method to use in the SSR docs: https://appwrite.io/docs/products/auth/server-side-rendering"),
    UserJwtCreationDenied = ("user_jwt_creation_denied", 403, "A JWT cannot be created from a request authorized with a JWT. Authenticate with a session cookie or session header instead."),
    UserPasswordMismatch = ("user_password_mismatch", 400, "Passwords do not match. Please check the password and confirm password."),
    TeamNotFound = ("team_not_found", 404, "Team with the requested ID could not be found."),
    TeamInviteNotFound = ("team_invite_not_found", 404, "The requested team invitation could not be found."),
    TeamMembershipMismatch = ("team_membership_mismatch", 404, "The membership ID does not belong to the team ID."),
    TeamAlreadyExists = ("team_already_exists", 409, "Team with requested ID already exists. Please choose a different ID and try again."),
    MembershipNotFound = ("membership_not_found", 404, "Membership with the requested ID could not be found."),
    MembershipAlreadyConfirmed = ("membership_already_confirmed", 409, "Membership is already confirmed."),
    FunctionNotFound = ("function_not_found", 404, "Function with the requested ID could not be found."),
    FunctionAlreadyExists = ("function_already_exists", 409, "Function with the requested ID already exists. Try again with a different ID or use ID.unique() to generate a unique ID."),
    FunctionSynchronousTimeout = ("function_synchronous_timeout", 408, "Synchronous function execution timed out. Use asynchronous execution instead, or ensure the execution duration doesn't exceed 30 seconds."),
    DeploymentNotFound = ("deployment_not_found", 404, "Deployment with the requested ID could not be found."),
    ExecutionNotFound = ("execution_not_found", 404, "Execution with the requested ID could not be found."),
    ExecutionInProgress = ("execution_in_progress", 400, "Can't delete ongoing execution. Please wait for execution to finish before deleting it."),
    DatabaseNotFound = ("database_not_found", 404, "Database with the requested ID '%s' could not be found."),
    DatabaseAlreadyExists = ("database_already_exists", 409, "Database with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() to generate a unique ID."),
    TableNotFound = ("table_not_found", 404, "Table with the requested ID '%s' could not be found."),
    TableAlreadyExists = ("table_already_exists", 409, "A table with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() to generate a unique ID."),
    CollectionNotFound = ("collection_not_found", 404, "Collection with the requested ID '%s' could not be found."),
    CollectionAlreadyExists = ("collection_already_exists", 409, "A collection with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() to generate a unique ID."),
    RowNotFound = ("row_not_found", 404, "Row with the requested ID '%s' could not be found."),
    RowInvalidStructure = ("row_invalid_structure", 400, "The row structure is invalid. Please ensure the columns match the table definition."),
    RowMissingData = ("row_missing_data", 400, "The row data is missing. Try again with row data populated."),
    RowMissingPayload = ("row_missing_payload", 400, "The row data and permissions are missing. You must provide either row data or permissions to be updated."),
    RowAlreadyExists = ("row_already_exists", 409, "Row with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() to generate a unique ID."),
    RowUniqueConstraintViolation = ("row_unique_constraint_violation", 409, "Row violates a unique column constraint. Try again with different value(s)."),
    DocumentNotFound = ("document_not_found", 404, "Document with the requested ID '%s' could not be found."),
    DocumentInvalidStructure = ("document_invalid_structure", 400, "The document structure is invalid. Please ensure the attributes match the collection definition."),
    DocumentMissingData = ("document_missing_data", 400, "The document data is missing. Try again with document data populated"),
    DocumentMissingPayload = ("document_missing_payload", 400, "The document data and permissions are missing. You must provide either document data or permissions to be updated."),
    DocumentAlreadyExists = ("document_already_exists", 409, "Document with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() to generate a unique ID."),
    DocumentUniqueConstraintViolation = ("document_unique_constraint_violation", 409, "Document violates a unique attribute constraint. Try again with different value(s)."),
    AttributeNotFound = ("attribute_not_found", 404, "Attribute with the requested key '%s' could not be found."),
    AttributeUnknown = ("attribute_unknown", 400, "The attribute '%s' required for the index could not be found. Please confirm all your attributes are in the available state."),
    AttributeDefaultUnsupported = ("attribute_default_unsupported", 400, "Default values cannot be set for array or required attributes."),
    AttributeAlreadyExists = ("attribute_already_exists", 409, "Attribute with the requested key '%s' already exists. Attribute keys must be unique, try again with a different key."),
    AttributeLimitExceeded = ("attribute_limit_exceeded", 400, "The maximum number or size of attributes for collection '%s' has been reached."),
    AttributeValueInvalid = ("attribute_value_invalid", 400, "The attribute value is invalid. Please check the type, range and value of the attribute."),
    AttributeTypeInvalid = ("attribute_type_invalid", 400, "The attribute '%s' type is invalid."),
    ColumnNotFound = ("column_not_found", 404, "Column with the requested key '%s' could not be found."),
    ColumnUnknown = ("column_unknown", 400, "The column '%s' required for the index could not be found. Please confirm all your columns are in the available state."),
    ColumnDefaultUnsupported = ("column_default_unsupported", 400, "Default values cannot be set for array or required columns."),
    ColumnAlreadyExists = ("column_already_exists", 409, "Column with the requested key '%s' already exists. Column keys must be unique, try again with a different key."),
    ColumnLimitExceeded = ("column_limit_exceeded", 400, "The maximum number or size of columns for table '%s' has been reached."),
    ColumnValueInvalid = ("column_value_invalid", 400, "The column value is invalid. Please check the type, range and value of the column."),
    ColumnTypeInvalid = ("column_type_invalid", 400, "The column '%s' type is invalid."),
    IndexNotFound = ("index_not_found", 404, "Index with the requested key '%s' could not be found."),
    IndexAlreadyExists = ("index_already_exists", 409, "Index with the requested key '%s' already exists. Try again with a different key."),
    IndexInvalid = ("index_invalid", 400, "Index invalid."),
    IndexDependency = ("index_dependency", 409, "Attribute '%s' cannot be renamed or deleted. Please remove the associated index first."),
    ColumnIndexNotFound = ("column_index_not_found", 404, "Index with the requested key '%s' could not be found."),
    ColumnIndexAlreadyExists = ("column_index_already_exists", 409, "Index with the requested key '%s' already exists. Try again with a different key."),
    ColumnIndexInvalid = ("column_index_invalid", 400, "Index invalid."),
    ColumnIndexDependency = ("column_index_dependency", 409, "Column '%s' cannot be renamed or deleted. Please remove the associated index first."),
    TransactionNotFound = ("transaction_not_found", 404, "Transaction with the requested ID '%s' could not be found."),
    TransactionAlreadyExists = ("transaction_already_exists", 409, "Transaction with the requested ID '%s' already exists. Try again with a different ID or use ID.unique() to generate a unique ID."),
    TransactionInvalid = ("transaction_invalid", 400, "The transaction is invalid. Please check the transaction state and try again."),
    TransactionFailed = ("transaction_failed", 400, "The transaction has errored. Please check the transaction data and try again."),
    TransactionExpired = ("transaction_expired", 410, "The transaction has expired. Please create a new transaction and try again."),
    TransactionConflict = ("transaction_conflict", 409, "The transaction has a conflict. Please resolve the conflict and try again."),
    TransactionLimitExceeded = ("transaction_limit_exceeded", 400, "The maximum number of operations per transaction has been exceeded."),
    ProjectNotFound = ("project_not_found", 404, "Project with the requested ID could not be found. Please check the value of the X-Appwrite-Project header to ensure the correct project ID is being used."),
    ProjectKeyExpired = ("project_key_expired", 401, "The project key has expired. Please generate a new key using the Appwrite console."),
    KeyNotFound = ("key_not_found", 404, "Key with the requested ID could not be found."),
    KeyAlreadyExists = ("key_already_exists", 409, "Key with the same ID already exists. Try again with a different ID."),
    RealtimeMessageFormatInvalid = ("realtime_message_format_invalid", 1003, "Message format is not valid."),
    RealtimePolicyViolation = ("realtime_policy_violation", 1008, "Policy violation."),
    RealtimeTooManyMessages = ("realtime_too_many_messages", 1013, "Too many messages."),
}

/// An error as Appwrite reports it: a catalogue entry plus a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    pub kind: ErrorType,
    pub message: String,
}

impl Exception {
    /// The catalogue entry with its default message (the `'%s'` placeholder dropped).
    pub fn new(kind: ErrorType) -> Self {
        Self { kind, message: kind.description().replace(" '%s'", "") }
    }

    /// The catalogue entry with its default message and `id` where Appwrite puts one.
    pub fn with_id(kind: ErrorType, id: &str) -> Self {
        Self { kind, message: kind.description().replace("%s", id) }
    }

    /// The catalogue entry with a message of our own.
    pub fn msg(kind: ErrorType, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// `general_argument_invalid` naming the parameter, as Appwrite's validators do.
    pub fn invalid_param(param: &str, why: impl fmt::Display) -> Self {
        Self::msg(ErrorType::GeneralArgumentInvalid, format!("Invalid `{param}` param: {why}"))
    }

    /// A 500 that keeps the detail out of the body but puts it in the log.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(ErrorType::GeneralServerError)
    }

    pub fn code(&self) -> u16 {
        self.kind.code()
    }

    /// The JSON body Appwrite sends: `{"message","code","type","version"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "message": self.message,
            "code": self.kind.code(),
            "type": self.kind.name(),
            "version": API_VERSION,
        })
    }
}

impl fmt::Display for Exception {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.kind.name(), self.kind.code(), self.message)
    }
}

impl std::error::Error for Exception {}

impl From<ErrorType> for Exception {
    fn from(kind: ErrorType) -> Self {
        Self::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_appwrite_shape() {
        let e = Exception::with_id(ErrorType::RowNotFound, "r1");
        let v = e.to_json();
        assert_eq!(v["type"], "row_not_found");
        assert_eq!(v["code"], 404);
        assert_eq!(v["message"], "Row with the requested ID 'r1' could not be found.");
        assert_eq!(v["version"], API_VERSION);
    }

    #[test]
    fn placeholder_dropped_without_id() {
        let e = Exception::new(ErrorType::TableNotFound);
        assert_eq!(e.message, "Table with the requested ID could not be found.");
    }
}
