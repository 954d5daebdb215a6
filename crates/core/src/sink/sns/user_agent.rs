//! The user agent, formatted once per client instead of once per request.
//!
//! aws-sdk-sns's `UserAgentInterceptor` rebuilds both headers (`user-agent` and
//! `x-amz-user-agent`) on every request: it reads the environment, collects the client's
//! feature metrics from the config bag into hash sets and formats two strings, about 3% of the
//! CPU of a PublishBatch in `benchmark/sdk-path`. For one client everything they are made of
//! (the build, the environment at start, the client's configuration and credential source) is
//! the same on every request, so the first request of a client sends what the SDK writes, this
//! interceptor keeps those two values, and later requests carry the same bytes with the SDK's
//! interceptor switched off through the SDK's own `DisableInterceptor` mechanism.

use aws_runtime::user_agent::UserAgentInterceptor;
use aws_sdk_sns::config::interceptors::{
  BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
  BeforeTransmitInterceptorContextRef,
};
use aws_sdk_sns::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::{
  disable_interceptor, dyn_dispatch_hint, DisableInterceptor,
};
use std::sync::OnceLock;

const USER_AGENT: &str = "user-agent";
const X_AMZ_USER_AGENT: &str = "x-amz-user-agent";

#[derive(Debug, Default)]
pub(super) struct ReuseUserAgent {
  /// `user-agent` and `x-amz-user-agent` as the SDK wrote them on this client's first request.
  headers: OnceLock<(String, String)>,
}

impl ReuseUserAgent {
  /// Permanent, and with its three hooks declared, so that the orchestrator neither looks for
  /// a `DisableInterceptor` of it nor calls its other hooks on each request.
  pub(super) fn shared() -> SharedInterceptor {
    SharedInterceptor::permanent(ReuseUserAgent::default())
  }
}

#[dyn_dispatch_hint]
impl Intercept for ReuseUserAgent {
  fn name(&self) -> &'static str {
    "ReuseUserAgent"
  }

  fn read_before_execution(
    &self,
    _context: &BeforeSerializationInterceptorContextRef<'_>,
    cfg: &mut ConfigBag,
  ) -> Result<(), BoxError> {
    if self.headers.get().is_some() {
      cfg
        .interceptor_state()
        .store_put(disable_interceptor::<UserAgentInterceptor>(
          "sns-logger reuses the user agent of the client's first request",
        ));
    }
    Ok(())
  }

  /// Where the SDK's interceptor writes them: before signing.
  fn modify_before_signing(
    &self,
    context: &mut BeforeTransmitInterceptorContextMut<'_>,
    _runtime_components: &RuntimeComponents,
    cfg: &mut ConfigBag,
  ) -> Result<(), BoxError> {
    // Only when this request started with the values kept (and so without the SDK's own).
    if cfg
      .load::<DisableInterceptor<UserAgentInterceptor>>()
      .is_some()
    {
      if let Some((user_agent, x_amz_user_agent)) = self.headers.get() {
        let headers = context.request_mut().headers_mut();
        headers.insert(USER_AGENT, user_agent.clone());
        headers.insert(X_AMZ_USER_AGENT, x_amz_user_agent.clone());
      }
    }
    Ok(())
  }

  fn read_before_transmit(
    &self,
    context: &BeforeTransmitInterceptorContextRef<'_>,
    _runtime_components: &RuntimeComponents,
    _cfg: &mut ConfigBag,
  ) -> Result<(), BoxError> {
    if self.headers.get().is_none() {
      let headers = context.request().headers();
      if let (Some(user_agent), Some(x_amz_user_agent)) =
        (headers.get(USER_AGENT), headers.get(X_AMZ_USER_AGENT))
      {
        let _ = self
          .headers
          .set((user_agent.to_owned(), x_amz_user_agent.to_owned()));
      }
    }
    Ok(())
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use aws_sdk_sns::config::{BehaviorVersion, Credentials, Region};
  use aws_sdk_sns::Client;
  use std::io::{BufRead, BufReader, Read, Write};
  use std::net::TcpListener;
  use std::sync::mpsc;

  /// A loopback HTTP/1.1 server that answers every request with a PublishBatch success and
  /// reports each request's user-agent headers (every value of both, in order).
  fn header_recorder() -> (String, mpsc::Receiver<Vec<(String, String)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
      for stream in listener.incoming() {
        let Ok(stream) = stream else { return };
        let sender = sender.clone();
        std::thread::spawn(move || {
          let mut reader = BufReader::new(stream.try_clone().unwrap());
          let mut writer = stream;
          loop {
            let mut seen = Vec::new();
            let mut length = 0;
            loop {
              let mut line = String::new();
              if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
              }
              let line = line.trim_end();
              if line.is_empty() {
                break;
              }
              // The request line has no ':'.
              let Some((name, value)) = line.split_once(':') else {
                continue;
              };
              let (name, value) = (name.to_ascii_lowercase(), value.trim().to_owned());
              if name == "content-length" {
                length = value.parse().unwrap();
              }
              if name == USER_AGENT || name == X_AMZ_USER_AGENT {
                seen.push((name, value));
              }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let reply = "<PublishBatchResponse><PublishBatchResult><Successful><member><Id>0</Id>\
              <MessageId>m</MessageId></member></Successful><Failed/></PublishBatchResult>\
              </PublishBatchResponse>";
            write!(
              writer,
              "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{reply}",
              reply.len()
            )
            .unwrap();
            if sender.send(seen).is_err() {
              return;
            }
          }
        });
      }
    });
    (url, receiver)
  }

  fn client(url: &str, reuse: bool) -> Client {
    let mut config = aws_sdk_sns::Config::builder()
      .behavior_version(BehaviorVersion::latest())
      .region(Region::new("us-east-1"))
      .endpoint_url(url)
      .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"));
    if reuse {
      config.push_interceptor(ReuseUserAgent::shared());
    }
    Client::from_conf(config.build())
  }

  async fn publish(client: &Client) {
    let entry = aws_sdk_sns::types::PublishBatchRequestEntry::builder()
      .id("0")
      .message("{}")
      .build()
      .unwrap();
    client
      .publish_batch()
      .topic_arn("arn:aws:sns:us-east-1:123456789012:t")
      .publish_batch_request_entries(entry)
      .send()
      .await
      .unwrap();
  }

  #[tokio::test]
  async fn later_requests_carry_the_user_agent_the_sdk_wrote_on_the_first() {
    let (url, requests) = header_recorder();
    let plain = client(&url, false);
    publish(&plain).await;
    let sdk = requests.recv().unwrap();
    assert_eq!(
      sdk
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>(),
      [USER_AGENT, X_AMZ_USER_AGENT]
    );
    // What this relies on: the SDK writes the same values on every request of a client.
    for _ in 0..2 {
      publish(&plain).await;
      assert_eq!(requests.recv().unwrap(), sdk);
    }
    let reusing = client(&url, true);
    for _ in 0..3 {
      publish(&reusing).await;
      assert_eq!(requests.recv().unwrap(), sdk);
    }
  }
}
