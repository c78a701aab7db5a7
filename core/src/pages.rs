//! The HTML the product serves (the docs, the pages emailed links open, the simulated
//! checkout), and the headers every such page carries: a Content-Security-Policy that
//! allows only the page's own inline script and style (by hash), no framing (no
//! clickjacking of a checkout or a security page), no referrer (tokens in the URL never
//! leak) and no caching.
//!
//! The emailed-link pages change nothing on GET (mail scanners open links): activation is
//! a button and the password reset a form, both posting to the API. With JavaScript they
//! post JSON and show the answer in place; without it the browser posts the form and the
//! API answers a small result page ([`outcome`]).

use crate::http::problem::Problem;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// The CSP hash sources of every inline `<tag>…</tag>` block of a page.
fn inline_hashes(html: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(&open) {
        let body = &rest[start + open.len()..];
        let Some(end) = body.find(&close) else { break };
        let digest = Sha256::digest(&body.as_bytes()[..end]);
        hashes.push(format!("'sha256-{}'", STANDARD.encode(digest)));
        rest = &body[end + close.len()..];
    }
    hashes
}

/// The policy of one page: its own inline blocks, requests and form posts to this origin
/// (and to `form_targets`, where a form's answer redirects elsewhere), nothing else.
pub fn content_security_policy(html: &str, form_targets: &[&str]) -> String {
    let sources = |hashes: Vec<String>| {
        if hashes.is_empty() {
            "'none'".to_string()
        } else {
            hashes.join(" ")
        }
    };
    let mut form_action = vec!["'self'"];
    form_action.extend_from_slice(form_targets);
    format!(
        "default-src 'none'; script-src {}; style-src {}; img-src 'self' data:; connect-src 'self'; form-action {}; base-uri 'none'; frame-ancestors 'none'",
        sources(inline_hashes(html, "script")),
        sources(inline_hashes(html, "style")),
        form_action.join(" "),
    )
}

/// An HTML answer with the headers every page carries.
pub fn html(status: StatusCode, body: String, form_targets: &[&str]) -> Response {
    let policy = content_security_policy(&body, form_targets);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, "text/html; charset=utf-8");
    set(header::CONTENT_SECURITY_POLICY, &policy);
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::CACHE_CONTROL, "no-store");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    response
}

/// The origin (`scheme://host[:port]`) of a URL, for a policy source.
pub fn origin_of(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    Some(&url[..end])
}

fn render(template: &str, context: minijinja::Value) -> Result<String, Problem> {
    let mut env = minijinja::Environment::new();
    env.add_template("layout.html", LAYOUT)
        .and_then(|()| env.add_template("page.html", template))
        .and_then(|()| env.get_template("page.html")?.render(context))
        .map_err(|e| {
            tracing::error!(error = %e, "rendering a page failed");
            Problem::internal()
        })
}

fn page(template: &str, context: minijinja::Value) -> Response {
    match render(template, context) {
        Ok(body) => html(StatusCode::OK, body, &[]),
        Err(problem) => problem.into_response(),
    }
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    pub token: Option<String>,
    /// Set on activation links sent on request: the page asks for the account's password.
    #[serde(default)]
    pub choose_password: Option<String>,
}

/// page-activate: a button that posts the emailed token to auth-activate (with the new
/// password, on a link that asks for one).
pub async fn activate(axum::extract::Query(query): axum::extract::Query<TokenQuery>) -> Response {
    page(
        ACTIVATE,
        minijinja::context! {
            token => query.token.filter(|t| !t.is_empty()),
            choose_password => query.choose_password.is_some(),
        },
    )
}

/// page-reset-password: with a token, a form for the new password that posts to
/// auth-password-reset; without one, a form that asks auth-password-forgot for a link.
pub async fn reset_password(
    axum::extract::Query(query): axum::extract::Query<TokenQuery>,
) -> Response {
    page(
        RESET,
        minijinja::context! { token => query.token.filter(|t| !t.is_empty()) },
    )
}

/// A body from the API's own pages: JSON from scripts, or a form the browser posted
/// without JavaScript (its answer is then a page, see [`outcome`]).
pub enum Submitted<J, F> {
    Json(J),
    Form(F),
}

impl<J, F, S> FromRequest<S> for Submitted<J, F>
where
    J: DeserializeOwned,
    F: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !is_form {
            let crate::http::Json(body) = crate::http::Json::<J>::from_request(req, state).await?;
            return Ok(Self::Json(body));
        }
        axum::Form::<F>::from_request(req, state)
            .await
            .map(|axum::Form(form)| Self::Form(form))
            .map_err(|e| {
                tracing::debug!(error = %e.body_text(), "a form that does not parse");
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation_failed",
                    "The form has invalid fields",
                )
                .detail("A field of the form is missing or not text; open the page from the email again")
            })
    }
}

/// The page a form post without JavaScript lands on: what happened, or what was wrong.
pub fn outcome(title: &str, result: Result<String, Problem>, back: &str) -> Response {
    let (status, context) = match result {
        Ok(message) => (
            StatusCode::OK,
            minijinja::context! { title => title, ok => true, message => message, back => back },
        ),
        Err(problem) => (
            problem.status,
            minijinja::context! {
                title => title,
                ok => false,
                headline => problem.title,
                message => problem.detail.clone().unwrap_or_default(),
                errors => problem.errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>(),
                back => back,
            },
        ),
    };
    match render(OUTCOME, context) {
        Ok(body) => html(status, body, &[]),
        Err(problem) => problem.into_response(),
    }
}

const LAYOUT: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · Marquee</title>
<style>body{font:16px/1.5 system-ui,sans-serif;color:#1d1b16;background:#faf8f3;margin:0}
main{max-width:30rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:8px}
.brand{font-weight:bold;letter-spacing:.08em}label{display:block;margin:1rem 0 .3rem}
input{width:100%;box-sizing:border-box;padding:.6rem;border:1px solid #ccc;border-radius:4px;font-size:1rem}
button{margin-top:1.2rem;font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:4px;background:#1d1b16;color:#fff;cursor:pointer}
.ok{background:#e6f4ea;padding:.6rem .8rem;border-radius:4px}.bad{background:#fdecea;padding:.6rem .8rem;border-radius:4px}
.hidden{display:none}</style></head>
<body><main><p class="brand">MARQUEE</p>{% block content %}{% endblock %}</main></body></html>"#;

const ACTIVATE: &str = r#"{% extends "layout.html" %}{% block title %}Activate your account{% endblock %}
{% block content %}<h1>Activate your account</h1>
{% if token %}<form id="form" method="post" action="/auth/activate">
<input type="hidden" name="token" value="{{ token }}">
{% if choose_password %}<p>Choose the password of your Marquee account, then activate it.</p>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="10">
<label for="password_confirm">The same again</label>
<input id="password_confirm" name="password_confirm" type="password" autocomplete="new-password" required minlength="10">
{% else %}<p>Press the button to activate your Marquee account.</p>{% endif %}
<button type="submit">Activate my account</button></form>
<div id="result" class="hidden" role="status"></div>
<script>
const form = document.getElementById('form'), result = document.getElementById('result');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = Object.fromEntries(new FormData(form));
  result.replaceChildren();
  const line = (text) => { const p = document.createElement('p'); p.textContent = text; result.append(p); };
  if ('password_confirm' in fields) {
    if (fields.password !== fields.password_confirm) {
      result.className = 'bad'; line('The two passwords differ.'); return;
    }
    delete fields.password_confirm;
  }
  const answer = await fetch(form.action, {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify(fields)});
  const body = await answer.json().catch(() => ({}));
  result.className = answer.ok ? 'ok' : 'bad';
  if (answer.ok) {
    line('Your account is active. You can sign in now.');
    const signIn = document.createElement('a');
    signIn.href = '/#/signin';
    signIn.textContent = 'Sign in';
    result.append(signIn);
    form.className = 'hidden';
  } else {
    line(body.detail || body.title || 'Something went wrong');
    for (const error of body.errors || []) line(error.message);
  }
});
</script>
{% else %}<p class="bad">This link has no activation token. Open the link from your email again, or ask for a new one.</p>{% endif %}
{% endblock %}"#;

const RESET: &str = r#"{% extends "layout.html" %}{% block title %}Reset your password{% endblock %}
{% block content %}{% if token %}<h1>Choose a new password</h1>
<form id="form" method="post" action="/auth/password/reset">
<input type="hidden" name="token" value="{{ token }}">
<label for="new_password">New password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required minlength="10">
<label for="new_password_confirm">The same again</label>
<input id="new_password_confirm" name="new_password_confirm" type="password" autocomplete="new-password" required minlength="10">
<button type="submit">Set my new password</button></form>
{% else %}<h1>Forgot your password?</h1>
<form id="form" method="post" action="/auth/password/forgot">
<label for="email">Your account's email</label>
<input id="email" name="email" type="email" autocomplete="email" required>
<button type="submit">Email me a reset link</button></form>
{% endif %}<div id="result" class="hidden" role="status"></div>
<script>
const form = document.getElementById('form'), result = document.getElementById('result');
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = Object.fromEntries(new FormData(form));
  if ('new_password_confirm' in fields) {
    if (fields.new_password !== fields.new_password_confirm) {
      result.className = 'bad'; result.textContent = 'The two passwords differ.'; return;
    }
    delete fields.new_password_confirm;
  }
  const answer = await fetch(form.action, {method: 'POST', headers: {'content-type': 'application/json'},
    body: JSON.stringify(fields)});
  const body = await answer.json().catch(() => ({}));
  result.className = answer.ok ? 'ok' : 'bad';
  result.replaceChildren();
  const line = (text) => { const p = document.createElement('p'); p.textContent = text; result.append(p); };
  if (answer.ok) {
    line('token' in fields ? 'Your password was changed. Every device was signed out: sign in with the new one.'
                           : 'If an account uses this email, a reset link is on its way.');
    if ('token' in fields) {
      const signIn = document.createElement('a');
      signIn.href = '/#/signin';
      signIn.textContent = 'Sign in';
      result.append(signIn);
    }
    form.className = 'hidden';
  } else {
    line(body.detail || body.title || 'Something went wrong');
    for (const error of body.errors || []) line(error.message);
  }
});
</script>
{% endblock %}"#;

const OUTCOME: &str = r#"{% extends "layout.html" %}{% block title %}{{ title }}{% endblock %}
{% block content %}<h1>{{ title }}</h1>
<div class="{{ 'ok' if ok else 'bad' }}" role="status">{% if headline %}<p><strong>{{ headline }}</strong></p>{% endif %}{% if message %}<p>{{ message }}</p>{% endif %}
{% for error in errors %}<p>{{ error }}</p>{% endfor %}</div>
{% if not ok %}<p><a href="{{ back }}">Try again</a></p>{% endif %}
{% endblock %}"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_page_s_own_inline_blocks() {
        let page = "<style>a{}</style><p>x</p><script>go()</script><script>more()</script>";
        let policy = content_security_policy(page, &["https://shop.example"]);
        let hash = |s: &str| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(s.as_bytes())));
        assert!(policy.contains(&format!("script-src {} {};", hash("go()"), hash("more()"))));
        assert!(policy.contains(&format!("style-src {};", hash("a{}"))));
        assert!(policy.contains("frame-ancestors 'none'"));
        assert!(policy.contains("form-action 'self' https://shop.example;"));
        assert!(content_security_policy("<p>plain</p>", &[]).contains("script-src 'none'"));
    }

    #[test]
    fn origins_drop_the_path() {
        assert_eq!(
            origin_of("https://a.example:8443/x/y?z"),
            Some("https://a.example:8443")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:3000"),
            Some("http://127.0.0.1:3000")
        );
        assert_eq!(origin_of("nope"), None);
    }

    #[test]
    fn pages_render_and_escape_the_token() {
        let body = render(ACTIVATE, minijinja::context! { token => "a\"><script>" }).unwrap();
        assert!(
            body.contains("value=\"a&quot;&gt;&lt;script&gt;\""),
            "{body}"
        );
        let body = render(RESET, minijinja::context! { token => None::<String> }).unwrap();
        assert!(body.contains("action=\"/auth/password/forgot\""));
    }
}
