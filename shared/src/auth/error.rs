//! The error of the JWT-protected APIs' authentication, shared by token
//! verification (`jwt`) and the header checks (`principal`), so neither
//! module has to import the other for it.

/// Why a request is not authenticated or not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    MissingToken,
    #[error("invalid bearer token")]
    InvalidToken,
    #[error("expired bearer token")]
    ExpiredToken,
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    #[error("invalid header {0}: {1}")]
    InvalidHeader(&'static str, &'static str),
    #[error("header {0} does not match the token")]
    HeaderMismatch(&'static str),
    #[error("the token does not grant access to this tenant")]
    TenantNotGranted,
    #[error("the user has none of the roles allowed here")]
    RoleNotAllowed,
    #[error("contact users are not allowed here")]
    UserTypeNotAllowed,
}

impl AuthError {
    /// 401, 400 or 403, as the design's auth conventions say.
    pub fn status(&self) -> u16 {
        match self {
            AuthError::MissingToken | AuthError::InvalidToken | AuthError::ExpiredToken => 401,
            AuthError::MissingHeader(_) | AuthError::InvalidHeader(..) => 400,
            AuthError::HeaderMismatch(_)
            | AuthError::TenantNotGranted
            | AuthError::RoleNotAllowed
            | AuthError::UserTypeNotAllowed => 403,
        }
    }
}
