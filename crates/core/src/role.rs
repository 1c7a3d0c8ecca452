//! What a signed-in user is, and what each role may see and do. Both sides of sync need it:
//! the client to show who is signed in, the server to decide who receives what (see
//! `docs/design/sync.md` for the table of who sees what).

/// What a signed-in user is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Admin,
    Secretariat,
    /// A member country's focal point (ISO code).
    FocalPoint(String),
    /// A development partner: reads public records, writes nothing.
    Partner,
}

impl Role {
    /// `admin`, `secretariat`, `focal-point:TH` (any country name or code), `partner`.
    pub fn parse(s: &str) -> Result<Role, String> {
        let s = s.trim();
        match s.to_ascii_lowercase().as_str() {
            "admin" => return Ok(Role::Admin),
            "secretariat" => return Ok(Role::Secretariat),
            "partner" => return Ok(Role::Partner),
            _ => {}
        }
        if let Some(c) = s
            .strip_prefix("focal-point:")
            .or_else(|| s.strip_prefix("focal_point:"))
        {
            return crate::schema::country(c)
                .map(|c| Role::FocalPoint(c.code.to_string()))
                .ok_or_else(|| format!("unknown country '{c}' in the role"));
        }
        Err(format!(
            "unknown role '{s}' (admin, secretariat, focal-point:COUNTRY, partner)"
        ))
    }

    pub fn as_string(&self) -> String {
        match self {
            Role::Admin => "admin".into(),
            Role::Secretariat => "secretariat".into(),
            Role::FocalPoint(c) => format!("focal-point:{c}"),
            Role::Partner => "partner".into(),
        }
    }

    /// Whether this role sees a record of this classification and scope.
    pub fn sees(&self, classification: &str, scope: &[String]) -> bool {
        match self {
            Role::Admin | Role::Secretariat => true,
            Role::FocalPoint(c) => classification != "restricted" || scope.iter().any(|s| s == c),
            Role::Partner => classification == "public",
        }
    }

    /// Whether this role may change who sees an existing record (its classification or scope).
    pub fn may_reclassify(&self) -> bool {
        matches!(self, Role::Admin | Role::Secretariat)
    }

    pub fn may_write(&self) -> bool {
        !matches!(self, Role::Partner)
    }
}
