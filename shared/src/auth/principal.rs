//! The authenticated caller, and the checks that produce it.

use super::error::AuthError;
use super::jwt::{Claims, JwtVerifier};
use crate::model::TenantId;
use http::HeaderMap;

/// The roles allowed to export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    SystemAdmin,
    TenantAdmin,
    PartnerAdmin,
    TenantStaff,
    PartnerStaff,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "SYSTEM_ADMIN" => Role::SystemAdmin,
            "TENANT_ADMIN" => Role::TenantAdmin,
            "PARTNER_ADMIN" => Role::PartnerAdmin,
            "TENANT_STAFF" => Role::TenantStaff,
            "PARTNER_STAFF" => Role::PartnerStaff,
            _ => return None,
        })
    }

    /// Admin roles may act on other users' resources within their tenant.
    pub fn is_admin(self) -> bool {
        matches!(
            self,
            Role::SystemAdmin | Role::TenantAdmin | Role::PartnerAdmin
        )
    }
}

/// The `x-user-type` values of the conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserType {
    TenantStaff,
    PartnerStaff,
    Contact,
}

impl UserType {
    pub fn parse(s: &str) -> Option<UserType> {
        Some(match s {
            "TENANT_STAFF" => UserType::TenantStaff,
            "PARTNER_STAFF" => UserType::PartnerStaff,
            "CONTACT" => UserType::Contact,
            _ => return None,
        })
    }
}

/// A verified caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant: TenantId,
    pub user_id: String,
    pub email: String,
    pub user_type: UserType,
    pub roles: Vec<Role>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.roles.iter().any(|r| r.is_admin())
    }
}

const TENANT: &str = "x-tenant-uuid";
const EMAIL: &str = "x-user-email";
const USER_ID: &str = "x-user-id";
const USER_TYPE: &str = "x-user-type";

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, AuthError> {
    let value = headers.get(name).ok_or(AuthError::MissingHeader(name))?;
    let value = value
        .to_str()
        .map_err(|_| AuthError::InvalidHeader(name, "not visible ASCII"))?
        .trim();
    if value.is_empty() {
        return Err(AuthError::MissingHeader(name));
    }
    Ok(value)
}

fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthError::MissingToken)?
        .to_str()
        .map_err(|_| AuthError::InvalidToken)?;
    let (scheme, token) = value
        .trim()
        .split_once(' ')
        .ok_or(AuthError::InvalidToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AuthError::InvalidToken);
    }
    Ok(token.trim())
}

/// Authenticates a request: the token first (401), then the context headers
/// (400 when missing or malformed), then their agreement with the claims, the
/// user type and the roles (403). A `CONTACT` user is refused whatever roles
/// its token holds; the other user types need one of the export roles.
///
/// # Errors
/// The first [`AuthError`] found, in that order.
pub fn authenticate(verifier: &JwtVerifier, headers: &HeaderMap) -> Result<Principal, AuthError> {
    let claims: Claims = verifier.verify(bearer(headers)?)?;

    let tenant = header(headers, TENANT)?;
    if tenant.len() > 64
        || !tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(AuthError::InvalidHeader(TENANT, "not a tenant uuid"));
    }
    let email = header(headers, EMAIL)?;
    if !email.contains('@') || email.len() > 320 {
        return Err(AuthError::InvalidHeader(EMAIL, "not an email address"));
    }
    let user_id = header(headers, USER_ID)?;
    if user_id.len() > 128 {
        return Err(AuthError::InvalidHeader(USER_ID, "too long"));
    }
    let user_type = UserType::parse(header(headers, USER_TYPE)?).ok_or(
        AuthError::InvalidHeader(USER_TYPE, "must be TENANT_STAFF, PARTNER_STAFF or CONTACT"),
    )?;

    if !claims
        .tenant_uuids
        .iter()
        .any(|t| t.eq_ignore_ascii_case(tenant))
    {
        return Err(AuthError::TenantNotGranted);
    }
    if !claims.email.eq_ignore_ascii_case(email) {
        return Err(AuthError::HeaderMismatch(EMAIL));
    }
    if claims.sub != user_id {
        return Err(AuthError::HeaderMismatch(USER_ID));
    }
    if UserType::parse(&claims.user_type) != Some(user_type) {
        return Err(AuthError::HeaderMismatch(USER_TYPE));
    }
    // The user type rules over the roles: a contact is the tenant's customer,
    // never its staff, so no role in its token opens the tenant's data.
    if user_type == UserType::Contact {
        return Err(AuthError::UserTypeNotAllowed);
    }
    let roles: Vec<Role> = claims.roles.iter().filter_map(|r| Role::parse(r)).collect();
    if roles.is_empty() {
        return Err(AuthError::RoleNotAllowed);
    }
    Ok(Principal {
        // The tenant is the claim's own spelling, found by the header.
        tenant: TenantId::new(tenant),
        user_id: claims.sub,
        email: claims.email,
        user_type,
        roles,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{mint_hs256, JwtConfig};

    const SECRET: &[u8] = b"test-secret";

    fn verifier() -> JwtVerifier {
        JwtVerifier::new(JwtConfig::hs256(SECRET, "iss", "aud"))
    }

    fn claims() -> Claims {
        Claims {
            sub: "user-1".into(),
            email: "ana@example.com".into(),
            user_type: "TENANT_STAFF".into(),
            tenant_uuids: vec!["tenant-a".into()],
            roles: vec!["TENANT_STAFF".into()],
            iss: "iss".into(),
            aud: "aud".into(),
            exp: chrono::Utc::now().timestamp() + 600,
            iat: 0,
        }
    }

    fn headers(c: &Claims) -> HeaderMap {
        let mut h = HeaderMap::new();
        let token = mint_hs256(c, SECRET).unwrap();
        h.insert("authorization", format!("Bearer {token}").parse().unwrap());
        h.insert(TENANT, "tenant-a".parse().unwrap());
        h.insert(EMAIL, "ana@example.com".parse().unwrap());
        h.insert(USER_ID, "user-1".parse().unwrap());
        h.insert(USER_TYPE, c.user_type.parse().unwrap());
        h
    }

    /// The export roles of seed 000, as the token spells them.
    const ROLES: [(&str, Role); 5] = [
        ("SYSTEM_ADMIN", Role::SystemAdmin),
        ("TENANT_ADMIN", Role::TenantAdmin),
        ("PARTNER_ADMIN", Role::PartnerAdmin),
        ("TENANT_STAFF", Role::TenantStaff),
        ("PARTNER_STAFF", Role::PartnerStaff),
    ];

    /// Role sets that hold no export role.
    fn no_export_role() -> [Vec<String>; 3] {
        [vec![], vec!["CONTACT".into()], vec!["tenant_staff".into()]]
    }

    fn with(user_type: &str, roles: Vec<String>) -> Claims {
        Claims {
            user_type: user_type.into(),
            roles,
            ..claims()
        }
    }

    #[test]
    fn staff_user_types_are_allowed_with_each_export_role() {
        for (type_name, user_type) in [
            ("TENANT_STAFF", UserType::TenantStaff),
            ("PARTNER_STAFF", UserType::PartnerStaff),
        ] {
            for (role_name, role) in ROLES {
                // GIVEN a staff user holding one export role, headers agreeing
                let c = with(type_name, vec![role_name.into()]);
                // WHEN authenticated
                let p = authenticate(&verifier(), &headers(&c));
                // THEN the principal has that user type and role
                assert_eq!(
                    p.map(|p| (p.user_type, p.roles)),
                    Ok((user_type, vec![role])),
                    "{type_name} x {role_name}"
                );
            }
            // AND without an export role the user is refused with 403
            for roles in no_export_role() {
                let c = with(type_name, roles.clone());
                assert_eq!(
                    authenticate(&verifier(), &headers(&c)),
                    Err(AuthError::RoleNotAllowed),
                    "{type_name} x {roles:?}"
                );
            }
        }
    }

    #[test]
    fn a_contact_user_is_refused_whatever_roles_it_holds() {
        let every_role: Vec<String> = ROLES.iter().map(|(name, _)| name.to_string()).collect();
        let role_sets = ROLES
            .iter()
            .map(|(name, _)| vec![name.to_string()])
            .chain([every_role])
            .chain(no_export_role());
        for roles in role_sets {
            // GIVEN a CONTACT user (token and x-user-type agree) holding these roles
            let c = with("CONTACT", roles.clone());
            // WHEN authenticated
            let result = authenticate(&verifier(), &headers(&c));
            // THEN it is refused with 403, for its user type
            assert_eq!(
                result,
                Err(AuthError::UserTypeNotAllowed),
                "CONTACT x {roles:?}"
            );
            assert_eq!(AuthError::UserTypeNotAllowed.status(), 403);
        }
    }

    #[test]
    fn matching_headers_yield_the_principal_with_the_claimed_tenant() {
        let p = authenticate(&verifier(), &headers(&claims())).unwrap();
        assert_eq!(p.tenant.as_str(), "tenant-a");
        assert_eq!(p.roles, vec![Role::TenantStaff]);
    }

    #[test]
    fn each_failure_has_its_status() {
        // GIVEN a valid request, WHEN one thing is wrong, THEN the status says which kind.
        let mut h = headers(&claims());
        h.remove("authorization");
        assert_eq!(authenticate(&verifier(), &h).unwrap_err().status(), 401);

        let mut h = headers(&claims());
        h.insert("authorization", "Basic abc".parse().unwrap());
        assert_eq!(
            authenticate(&verifier(), &h).unwrap_err(),
            AuthError::InvalidToken
        );

        for name in [TENANT, EMAIL, USER_ID, USER_TYPE] {
            let mut h = headers(&claims());
            h.remove(name);
            assert_eq!(
                authenticate(&verifier(), &h).unwrap_err(),
                AuthError::MissingHeader(name)
            );
        }
        let mut h = headers(&claims());
        h.insert(USER_TYPE, "ROBOT".parse().unwrap());
        assert_eq!(authenticate(&verifier(), &h).unwrap_err().status(), 400);

        let mut h = headers(&claims());
        h.insert(TENANT, "tenant-b".parse().unwrap());
        assert_eq!(
            authenticate(&verifier(), &h).unwrap_err(),
            AuthError::TenantNotGranted
        );

        let mut h = headers(&claims());
        h.insert(EMAIL, "eve@example.com".parse().unwrap());
        assert_eq!(
            authenticate(&verifier(), &h).unwrap_err(),
            AuthError::HeaderMismatch(EMAIL)
        );

        let mut h = headers(&claims());
        h.insert(USER_ID, "user-2".parse().unwrap());
        assert_eq!(authenticate(&verifier(), &h).unwrap_err().status(), 403);

        let mut h = headers(&claims());
        h.insert(USER_TYPE, "PARTNER_STAFF".parse().unwrap());
        assert_eq!(
            authenticate(&verifier(), &h).unwrap_err(),
            AuthError::HeaderMismatch(USER_TYPE)
        );

        let mut c = claims();
        c.roles = vec!["CONTACT".into()];
        assert_eq!(
            authenticate(&verifier(), &headers(&c)).unwrap_err(),
            AuthError::RoleNotAllowed
        );
    }
}
