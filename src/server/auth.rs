//! Who is calling (SPEC §4 "Auth and callers"), decided in one place for every route.
//!
//! [`authenticate`] runs before every handler but `/health`'s. It reads the key of
//! `Authorization: Bearer KEY` (the scheme in any case) and finds what it is: the config's
//! `api_key` (a service key, compared in constant time), a key of `arena keys` (looked up by
//! its hash in the database on every request, so a key revoked by another process is refused
//! at the next one), or nothing at all on a server without keys. A server with keys refuses
//! a request without a valid one (401). What it found goes into the request's extensions as
//! [`Who`]; handlers ask it for the [`Caller`] of the user their request names, and for the
//! user a battle or vote is recorded under.
//!
//! The rules:
//! - a **user key** is its user (`key:NAME`): a REST body that names a user is refused (403),
//!   and on `/v1` the `user`, `safety_identifier` and forwarded headers are ignored;
//! - a **service key** acts for the user a request names (`discord_id`, `user_id`, `user`,
//!   `safety_identifier`), and for Open WebUI's `X-OpenWebUI-User-Id` when it trusts that
//!   header (`trust_forwarded_user`); Open WebUI's name and e-mail headers are never read;
//! - a server **without keys** takes the named user as it is, the forwarded header included;
//! - callers that name **no user** share one bucket, [`ANONYMOUS`], for limits and
//!   ownership: on one person's server (no keys, loopback) that is the person; elsewhere they
//!   may start REST battles (limited together, and voted only by a caller naming no user who
//!   holds the battle's id, which only its creator was given) but no chat battle, whose
//!   short RPIDs and "latest battle" would let any of them vote on another's;
//! - `require_user` refuses callers that name no user any battle or vote.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;
use super::error::ApiError;
use super::i18n::{self, Msg};
use crate::config::Setup;
use crate::store::{KeyKind, Store, StoredKey};

/// The one user of every caller that names none: their shared limits and battles.
pub const ANONYMOUS: &str = "anonymous:";

/// Open WebUI's forwarded user id (with `ENABLE_FORWARD_USER_INFO_HEADERS`).
pub const FORWARDED_USER: &str = "x-openwebui-user-id";

/// The longest user id a header may carry.
const MAX_USER_CHARS: usize = 128;

/// Equal without telling, by its time, how much of a guess was right.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// The token of `Authorization: Bearer TOKEN` (the scheme in any case, as RFC 9110 has it),
/// trimmed; `None` without one.
#[must_use]
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once([' ', '\t'])?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// What a request's key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The server has no keys: whoever asks.
    Open,
    /// A user key: its user, whatever the request names.
    User { name: String },
    /// A service key (the config's `api_key`, or `arena keys add NAME --service`): acts for
    /// the users its requests name.
    Service {
        name: String,
        trust_forwarded_user: bool,
    },
}

/// Who a request comes from, as `authenticate` found it.
#[derive(Debug, Clone)]
pub struct Who {
    pub principal: Principal,
    pub setup: Setup,
    /// The forwarded user header's user, when this request's key may name its user so.
    forwarded_user: Option<String>,
    require_user: bool,
}

/// Whose request it is, once the user it names is weighed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A user, by the id that is hashed: `key:alice`, `discord:42`, `web:7`,
    /// `openai-user:x`, `openwebui:…`.
    User(String),
    /// A caller that names no user.
    Unidentified,
}

/// Where the user a request names comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// A REST body's `discord_id` or `user_id`: fields a client sets on purpose.
    Rest,
    /// `/v1`'s `user` or `safety_identifier`: fields clients and gateways add on their own.
    Chat,
}

/// Why a caller may not do what it asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }

    /// As the REST API answers.
    #[must_use]
    pub fn rest(self) -> ApiError {
        ApiError::new(self.status, self.message)
    }

    /// As `/v1` answers.
    #[must_use]
    pub fn openai(self) -> super::openai::OpenAiError {
        super::openai::OpenAiError::new(self.status, self.message)
    }
}

impl Who {
    /// The caller of a request whose body names `named` (`None`: names no user).
    pub fn caller(&self, named: Option<String>, from: Named) -> Result<Caller, Refusal> {
        match &self.principal {
            Principal::User { name } => {
                if from == Named::Rest && named.is_some() {
                    return Err(Refusal::new(
                        StatusCode::FORBIDDEN,
                        format!(
                            "this request's key is the user key `{name}`, which acts only as \
                             its own user: leave out discord_id and user_id, or act for others \
                             with a service key (`arena keys add NAME --service`)"
                        ),
                    ));
                }
                Ok(Caller::User(crate::api_keys::user_of(name)))
            }
            Principal::Open | Principal::Service { .. } => Ok(named
                .or_else(|| self.forwarded_user.clone())
                .map_or(Caller::Unidentified, Caller::User)),
        }
    }

    /// The user a battle or vote of `caller` is recorded under: its own, or [`ANONYMOUS`]
    /// for a caller that names none (refused with `require_user`).
    pub fn battle_user(&self, caller: Caller) -> Result<String, Refusal> {
        match caller {
            Caller::User(user) => Ok(user),
            Caller::Unidentified if self.require_user => Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "this server needs to know who is asking (require_user): name the user \
                 (discord_id or user_id; on /v1 user or safety_identifier), or use a key of \
                 your own",
            )),
            Caller::Unidentified => Ok(ANONYMOUS.to_owned()),
        }
    }

    /// The user a chat battle of `caller` is kept under. Chat battles are found by short
    /// RPIDs and by "the latest", so callers that name no user can share them only on one
    /// person's server.
    pub fn chat_user(&self, caller: Caller) -> Result<String, Refusal> {
        if caller == Caller::Unidentified && self.setup == Setup::Shared && !self.require_user {
            return Err(Refusal::new(
                StatusCode::BAD_REQUEST,
                "battles in chat need to know who you are on this server (it has keys, or \
                 listens beyond this machine), so that no one else can vote on yours: send \
                 `user` or `safety_identifier`, use a key of your own (`arena keys add NAME`), \
                 or from Open WebUI turn on its user forwarding \
                 (ENABLE_FORWARD_USER_INFO_HEADERS) with a service key that trusts it",
            ));
        }
        self.battle_user(caller)
    }

    /// The user of a request that must name one (`/battleback`, `/battleunstuck`).
    pub fn required_user(&self, caller: Caller) -> Option<String> {
        match caller {
            Caller::User(user) => Some(user),
            Caller::Unidentified => None,
        }
    }
}

/// Finds who a request comes from and puts it in its extensions; refuses a request without
/// a valid key on a server that has keys.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let v1 = req.uri().path().starts_with("/v1/");
    let refuse = |refusal: Refusal| {
        if v1 {
            refusal.openai().into_response()
        } else {
            refusal.rest().into_response()
        }
    };
    let token = bearer(req.headers());
    let (principal, keyed) = match principal(&state, token).await {
        Ok(Some(found)) => found,
        Ok(None) => {
            let message = i18n::text(state.lang, Msg::Unauthorized);
            let mut response = refuse(Refusal::new(StatusCode::UNAUTHORIZED, message));
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return response;
        }
        Err(e) => return refuse(Refusal::new(e.status, e.message)),
    };
    let setup = if !keyed && state.loopback {
        Setup::Personal
    } else {
        Setup::Shared
    };
    state.arena.set_setup(setup);
    let trusts_header = matches!(
        principal,
        Principal::Open
            | Principal::Service {
                trust_forwarded_user: true,
                ..
            }
    );
    let forwarded_user = if trusts_header {
        match forwarded(req.headers()) {
            Ok(user) => user,
            Err(refusal) => return refuse(refusal),
        }
    } else {
        None
    };
    req.extensions_mut().insert(Who {
        principal,
        setup,
        forwarded_user,
        require_user: state.arena.config().require_user,
    });
    next.run(req).await
}

/// The principal of `token`, and whether the server has keys; `None`: a server with keys
/// and no valid one.
async fn principal(
    state: &AppState,
    token: Option<&str>,
) -> Result<Option<(Principal, bool)>, Refusal> {
    if let (Some(key), Some(token)) = (state.api_key.as_deref(), token)
        && constant_time_eq(token.as_bytes(), key.expose().as_bytes())
    {
        let principal = Principal::Service {
            name: "api_key".into(),
            trust_forwarded_user: state.arena.config().trust_forwarded_user,
        };
        return Ok(Some((principal, true)));
    }
    // Found by its hash: what an index lookup's time could tell is about the hash, and a
    // hash tells nothing of a key of 256 random bits.
    let lookup = state
        .arena
        .store
        .key_by_hash(token.map(crate::api_keys::hash))
        .await
        .map_err(|e| {
            tracing::error!("looking up an API key failed: {e}");
            Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                i18n::text(state.lang, Msg::Internal),
            )
        })?;
    if let Some(key) = lookup.key {
        state.note_use(&key);
        let principal = match key.kind {
            KeyKind::User => Principal::User { name: key.name },
            KeyKind::Service => Principal::Service {
                name: key.name,
                trust_forwarded_user: key.trust_forwarded_user,
            },
        };
        return Ok(Some((principal, true)));
    }
    if state.api_key.is_some() || lookup.any {
        return Ok(None);
    }
    Ok(Some((Principal::Open, false)))
}

/// The user of Open WebUI's forwarded header, checked: `openwebui:ID`.
fn forwarded(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let Some(value) = headers.get(FORWARDED_USER) else {
        return Ok(None);
    };
    let id = value.to_str().map(str::trim).unwrap_or_default();
    if id.is_empty() || id.chars().count() > MAX_USER_CHARS || id.chars().any(char::is_control) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "the X-OpenWebUI-User-Id header must be a user id of 1 to {MAX_USER_CHARS} \
                 visible ASCII characters"
            ),
        ));
    }
    Ok(Some(format!("openwebui:{id}")))
}

impl AppState {
    /// Notes that a stored key was used, in the database at most once a minute per key
    /// (a write per request would put every request in the writer's queue).
    fn note_use(&self, key: &StoredKey) {
        const EVERY_MS: i64 = 60_000;
        let now = crate::store::now_ms();
        if key.last_used_at.is_some_and(|t| now - t < EVERY_MS) {
            return;
        }
        {
            let mut written = self
                .keys_touched
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if written.get(&key.id).is_some_and(|t| now - t < EVERY_MS) {
                return;
            }
            written.insert(key.id, now);
        }
        let store = self.arena.store.clone();
        let id = key.id;
        self.arena.spawn(async move {
            if let Err(e) = store.touch_key(id, now).await {
                tracing::debug!("the last use of a key was not noted: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }

    #[test]
    fn the_bearer_scheme_is_any_case() {
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            bearer(&h).map(str::to_owned)
        };
        for v in ["Bearer k1", "bearer k1", "BEARER  k1 ", "bEaReR\tk1"] {
            assert_eq!(with(v).as_deref(), Some("k1"), "{v}");
        }
        for v in ["Basic k1", "Bearer", "Bearer ", "Bearerk1", "k1"] {
            assert_eq!(with(v), None, "{v}");
        }
    }

    fn who(principal: Principal, setup: Setup, forwarded: Option<&str>) -> Who {
        Who {
            principal,
            setup,
            forwarded_user: forwarded.map(str::to_owned),
            require_user: false,
        }
    }

    #[test]
    fn a_user_key_is_its_user() {
        let w = who(
            Principal::User {
                name: "alice".into(),
            },
            Setup::Shared,
            None,
        );
        assert_eq!(
            w.caller(Some("discord:1".into()), Named::Chat),
            Ok(Caller::User("key:alice".into()))
        );
        assert_eq!(
            w.caller(None, Named::Rest),
            Ok(Caller::User("key:alice".into()))
        );
        let refused = w.caller(Some("discord:1".into()), Named::Rest).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
    }

    #[test]
    fn a_service_key_acts_for_the_named_user_then_the_forwarded_one() {
        let service = Principal::Service {
            name: "bot".into(),
            trust_forwarded_user: true,
        };
        let w = who(service, Setup::Shared, Some("openwebui:u1"));
        assert_eq!(
            w.caller(Some("openai-user:x".into()), Named::Chat),
            Ok(Caller::User("openai-user:x".into()))
        );
        assert_eq!(
            w.caller(None, Named::Chat),
            Ok(Caller::User("openwebui:u1".into()))
        );
    }

    #[test]
    fn callers_naming_no_user_share_a_bucket_and_chat_only_on_a_personal_server() {
        let shared = who(Principal::Open, Setup::Shared, None);
        assert_eq!(
            shared.battle_user(Caller::Unidentified),
            Ok(ANONYMOUS.into())
        );
        assert!(shared.chat_user(Caller::Unidentified).is_err());
        let personal = who(Principal::Open, Setup::Personal, None);
        assert_eq!(
            personal.chat_user(Caller::Unidentified),
            Ok(ANONYMOUS.into())
        );
        let strict = Who {
            require_user: true,
            ..personal
        };
        assert!(strict.battle_user(Caller::Unidentified).is_err());
        assert!(strict.chat_user(Caller::Unidentified).is_err());
    }
}
