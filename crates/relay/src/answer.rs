//! Every answer the relay gives that is not a 200: its status, stable code and message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Codes of the relay's error answers (the `code` of the JSON body), part of the public API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayErrorCode {
  /// 400: the body is not JSON.
  BadJson,
  /// 400: the body is JSON but not `{"batch": [...]}`.
  BadBatch,
  /// 401: no `Authorization: Bearer` token, or one the tokens file does not hold.
  Unauthorized,
  /// 403: the `Origin` is not on the widget allow-list.
  OriginNotAllowed,
  /// 404: no such route.
  NotFound,
  /// 405: the route takes another method.
  MethodNotAllowed,
  /// 408: the body did not arrive in time.
  RequestTimeout,
  /// 413: the body, the event count or one event is over its limit.
  TooLarge,
  /// 415: a content type the route does not take.
  UnsupportedMediaType,
  /// 429: this client sends too fast.
  RateLimited,
  /// 503: draining, or the queue is full and no spool can take more.
  Unavailable,
}

impl RelayErrorCode {
  pub fn as_str(self) -> &'static str {
    match self {
      RelayErrorCode::BadJson => "ERR_BAD_JSON",
      RelayErrorCode::BadBatch => "ERR_BAD_BATCH",
      RelayErrorCode::Unauthorized => "ERR_UNAUTHORIZED",
      RelayErrorCode::OriginNotAllowed => "ERR_ORIGIN_NOT_ALLOWED",
      RelayErrorCode::NotFound => "ERR_NOT_FOUND",
      RelayErrorCode::MethodNotAllowed => "ERR_METHOD_NOT_ALLOWED",
      RelayErrorCode::RequestTimeout => "ERR_REQUEST_TIMEOUT",
      RelayErrorCode::TooLarge => "ERR_TOO_LARGE",
      RelayErrorCode::UnsupportedMediaType => "ERR_UNSUPPORTED_MEDIA_TYPE",
      RelayErrorCode::RateLimited => "ERR_RATE_LIMITED",
      RelayErrorCode::Unavailable => "ERR_UNAVAILABLE",
    }
  }

  pub fn status(self) -> StatusCode {
    match self {
      RelayErrorCode::BadJson | RelayErrorCode::BadBatch => StatusCode::BAD_REQUEST,
      RelayErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
      RelayErrorCode::OriginNotAllowed => StatusCode::FORBIDDEN,
      RelayErrorCode::NotFound => StatusCode::NOT_FOUND,
      RelayErrorCode::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
      RelayErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
      RelayErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
      RelayErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
      RelayErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
      RelayErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
  }
}

/// An error answer. Its message never holds a token, a secret or request text beyond what
/// `quote` cuts short.
#[derive(Debug)]
pub struct Refusal {
  pub code: RelayErrorCode,
  pub message: String,
  /// Seconds, for 429 and 503.
  pub retry_after: Option<u64>,
}

impl Refusal {
  pub fn new(code: RelayErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
      code,
      message: message.into(),
      retry_after: None,
    }
  }

  pub fn retry_after(mut self, seconds: u64) -> Refusal {
    self.retry_after = Some(seconds.max(1));
    self
  }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
  code: &'a str,
  message: &'a str,
}

impl IntoResponse for Refusal {
  fn into_response(self) -> Response {
    let body = ErrorBody {
      code: self.code.as_str(),
      message: &self.message,
    };
    let mut response = (self.code.status(), axum::Json(body)).into_response();
    let headers = response.headers_mut();
    if let Some(seconds) = self.retry_after {
      headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    if self.code == RelayErrorCode::Unauthorized {
      headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
  }
}

/// One event the relay did not take, by its index in the batch.
#[derive(Debug, Serialize, PartialEq)]
pub struct Rejected {
  pub index: usize,
  pub code: &'static str,
  pub message: String,
}

/// The 200 answer: how many events were taken, and why each other one was not.
#[derive(Debug, Serialize)]
pub struct Accepted {
  pub accepted: usize,
  pub rejected: Vec<Rejected>,
}
