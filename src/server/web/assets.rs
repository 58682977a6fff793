//! The page's files, embedded in the binary from `web/` at the repository root: `GET /`
//! answers `index.html`, `GET /assets/{file}` the rest. Nothing is read from disk or fetched
//! at run time.
//!
//! Each file has an `ETag` (its content's SHA-256, as rust-embed computed it) and is
//! answered with `304 Not Modified` when the client has it already. `index.html` is
//! `no-cache` (always revalidated) and names the other files with their hash
//! (`/assets/app.js?v=3f2a…`): a file asked for by the hash of its current content is cached
//! for a year, any other request for it is revalidated. Text files are compressed with gzip
//! once, at their first request, and served compressed to clients that take it. Answers
//! carry a content security policy that lets the page run its own scripts only.

use std::collections::HashMap;
use std::io::Write;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

use crate::server::error::ApiError;

#[derive(Embed)]
#[folder = "web/"]
struct Page;

/// The policy of the page: its own scripts, styles (inline ones too, for the styles its
/// scripts set) and images (data URLs too, for pasted images), calls to this server only,
/// never framed.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// How long a file asked for by its content hash is kept.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One embedded file, ready to answer.
struct Asset {
    bytes: Vec<u8>,
    /// The gzip of `bytes`, when it is text and compression gains.
    gzip: Option<Vec<u8>>,
    /// The first 16 hex digits of the content's SHA-256.
    hash: String,
    content_type: &'static str,
}

impl Asset {
    fn new(bytes: Vec<u8>, hash: String, name: &str) -> Asset {
        let content_type = content_type(name);
        let text = content_type.starts_with("text/")
            || content_type.starts_with("application/javascript")
            || content_type.starts_with("application/json")
            || content_type.starts_with("image/svg");
        let gzip = text.then(|| gzip(&bytes)).flatten();
        Asset {
            gzip: gzip.filter(|g| g.len() < bytes.len()),
            bytes,
            hash,
            content_type,
        }
    }

    fn etag(&self, gzip: bool) -> String {
        if gzip {
            format!("\"{}-gz\"", self.hash)
        } else {
            format!("\"{}\"", self.hash)
        }
    }
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "application/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Every file of the page by its name under `web/`, `index.html` with the other files named
/// by their hash.
fn assets() -> &'static HashMap<String, Asset> {
    static ASSETS: OnceLock<HashMap<String, Asset>> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let mut out: HashMap<String, Asset> = Page::iter()
            .filter_map(|name| {
                let file = Page::get(&name)?;
                let hash = hex::encode(file.metadata.sha256_hash());
                let asset = Asset::new(file.data.into_owned(), hash[..16].to_owned(), &name);
                Some((name.into_owned(), asset))
            })
            .collect();
        if let Some(index) = out.get("index.html") {
            let files: Vec<(&str, &str)> = out
                .iter()
                .filter(|(name, _)| *name != "index.html")
                .map(|(name, asset)| (name.as_str(), asset.hash.as_str()))
                .collect();
            let html = by_hash(&String::from_utf8_lossy(&index.bytes), &files);
            let hash = {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(html.as_bytes()))
            };
            let index = Asset::new(html.into_bytes(), hash[..16].to_owned(), "index.html");
            out.insert("index.html".to_owned(), index);
        }
        out
    })
}

/// `html` with each quoted `/assets/NAME` of `files` (name, hash) made
/// `/assets/NAME?v=HASH`, so that a browser may keep what it fetched by that name for good.
fn by_hash(html: &str, files: &[(&str, &str)]) -> String {
    let mut html = html.to_owned();
    for (name, hash) in files {
        for quote in ['"', '\''] {
            html = html.replace(
                &format!("{quote}/assets/{name}{quote}"),
                &format!("{quote}/assets/{name}?v={hash}{quote}"),
            );
        }
    }
    html
}

/// Whether `If-None-Match` names one of `etags` (or is `*`), weak tags included.
fn fresh(headers: &HeaderMap, etags: &[String]) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || etags.iter().any(|e| e == t))
}

/// Whether the client takes gzip (`Accept-Encoding`, with a quality above 0).
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            (name.eq_ignore_ascii_case("gzip") || name == "*") && q > 0.0
        })
}

fn answer(asset: &Asset, headers: &HeaderMap, cache: &'static str) -> Response {
    let gzip = asset.gzip.as_ref().filter(|_| takes_gzip(headers));
    let etag = asset.etag(gzip.is_some());
    let mut response = if fresh(headers, &[asset.etag(false), asset.etag(true)]) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = gzip.unwrap_or(&asset.bytes).clone();
        let mut r = Body::from(body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(asset.content_type),
        );
        if gzip.is_some() {
            r.headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        r
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

fn missing(name: &str) -> Response {
    let shown = crate::util::terminal_safe(&name.chars().take(100).collect::<String>());
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("the page has no file `{shown}`"),
    )
    .into_response()
}

/// `GET /`: the page.
pub async fn index(headers: HeaderMap) -> Response {
    match assets().get("index.html") {
        Some(asset) => answer(asset, &headers, "no-cache"),
        None => missing("index.html"),
    }
}

/// `GET /assets/{file}`: a file of the page; cached for a year when asked for by the hash
/// of its content (`?v=`), else revalidated.
pub async fn file(
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = assets().get(&name) else {
        return missing(&name);
    };
    let cache = if query.get("v") == Some(&asset.hash) {
        IMMUTABLE
    } else {
        "no-cache"
    };
    answer(asset, &headers, cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        for (value, takes) in [
            ("gzip, deflate, br", true),
            ("br;q=1.0, gzip;q=0.5", true),
            ("gzip;q=0", false),
            ("*", true),
            ("identity", false),
        ] {
            assert_eq!(
                takes_gzip(&headers(&[(header::ACCEPT_ENCODING, value)])),
                takes,
                "{value}"
            );
        }
        assert!(!takes_gzip(&HeaderMap::new()));
    }

    #[test]
    fn etags_match_in_lists_and_weakly() {
        let tags = ["\"ab\"".to_owned(), "\"ab-gz\"".to_owned()];
        for (value, matches) in [
            ("\"ab\"", true),
            ("W/\"ab-gz\"", true),
            ("\"x\", \"ab\"", true),
            ("*", true),
            ("\"abc\"", false),
        ] {
            assert_eq!(
                fresh(&headers(&[(header::IF_NONE_MATCH, value)]), &tags),
                matches,
                "{value}"
            );
        }
    }

    #[test]
    fn the_page_names_its_files_by_hash() {
        let html = r#"<script src="/assets/app.js"></script><link href='/assets/style.css'>
            <script src="/assets/app.js.map"></script> /assets/app.js"#;
        assert_eq!(
            by_hash(html, &[("app.js", "h1"), ("style.css", "h2")]),
            r#"<script src="/assets/app.js?v=h1"></script><link href='/assets/style.css?v=h2'>
            <script src="/assets/app.js.map"></script> /assets/app.js"#
        );
        let all = assets();
        let index = all.get("index.html").expect("web/index.html is embedded");
        assert!(String::from_utf8_lossy(&index.bytes).starts_with("<!doctype html>"));
    }
}
