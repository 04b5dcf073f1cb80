//! Who the gate is, in the dialect of its host: keys as Basic auth (Unity's host) or a token
//! as Bearer auth (the operator's), and every secret they hold, to mask and redact.

use crate::secret::Secret;

/// Who the gate is, in the dialect of its host. Every part prints as `***`.
#[derive(Debug, Clone)]
pub(crate) enum Credentials {
    /// Unity's host (`api.multiplay.co.uk`): an access key and a secret key, as Basic auth.
    Basic { access_key: Secret, secret_key: Secret },
    /// The operator's host (`api.multiplay.dev`): a token, as `Authorization: Bearer`.
    Bearer(Secret),
}

impl Credentials {
    /// The request, authorized.
    pub(super) fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Self::Basic { access_key, secret_key } => {
                request.basic_auth(access_key.expose(), Some(secret_key.expose()))
            }
            Self::Bearer(token) => request.bearer_auth(token.expose()),
        }
    }

    /// The `Authorization` scheme they are sent with.
    pub(crate) fn scheme(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "Basic",
            Self::Bearer(_) => "Bearer",
        }
    }

    /// Every secret in them, to mask: for keys, the Basic header's value too, which a proxy
    /// or a debugging server may echo back.
    pub(crate) fn secrets(&self) -> Vec<Secret> {
        use base64::Engine as _;
        match self {
            Self::Basic { access_key, secret_key } => {
                let header = base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    access_key.expose(),
                    secret_key.expose()
                ));
                vec![access_key.clone(), secret_key.clone(), Secret::new(header)]
            }
            Self::Bearer(token) => vec![token.clone()],
        }
    }
}
