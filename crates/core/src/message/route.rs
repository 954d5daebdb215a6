//! What the messages of one logger share, written once: per agent its [`Route`] (topic,
//! message group, the message's first key), per action of the plan its [`ActionPart`].

use super::utf8;
use crate::plan::{TrackingPlan, ValidEvent};
use crate::wire::push_json_str;
use std::sync::Arc;

/// What every message of one agent shares, once per agent and logger: the topic, the site's
/// message group, the message's first key, the logger's prefix of dedup ids, the parts its
/// plan's actions share and whether its messages carry attributes.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
  pub topic_arn: Arc<str>,
  pub group_id: Arc<str>,
  /// `{"dialogflowAgentId":"<agent_id>"`; empty for a message read back whole.
  pub(super) head: Box<str>,
  pub(super) dedup_prefix: Box<str>,
  pub(super) actions: Arc<ActionParts>,
  /// Its messages carry [`MessageAttributes`] (`messageAttributes`; a message read back whole
  /// carries those it was stored with, if any).
  pub(super) attributes: bool,
}

impl Route {
  /// `dedup_prefix`: the logger's ([`DedupIds::prefix`]); `actions`: those of the plan that
  /// validates the events; `attributes`: its messages carry message attributes.
  pub fn new(
    topic_arn: Arc<str>,
    group_id: Arc<str>,
    agent_id: &str,
    dedup_prefix: &str,
    actions: Arc<ActionParts>,
    attributes: bool,
  ) -> Route {
    let mut head = b"{\"dialogflowAgentId\":".to_vec();
    push_json_str(&mut head, agent_id);
    Route {
      topic_arn,
      group_id,
      head: utf8(head).into(),
      dedup_prefix: dedup_prefix.into(),
      actions,
      attributes,
    }
  }

  /// The route of a message read back whole: it carries the attributes it was stored with,
  /// if any (its kind, known only then).
  pub(super) fn whole(topic_arn: &str, group_id: &str) -> Route {
    Route {
      topic_arn: topic_arn.into(),
      group_id: group_id.into(),
      head: "".into(),
      dedup_prefix: "".into(),
      actions: Default::default(),
      attributes: true,
    }
  }
}

/// What the events of one action share, so that a waiting event holds no copy of it: its part
/// of the message and, for message attributes, its category and action.
#[derive(Debug, PartialEq, Eq)]
pub struct ActionPart {
  /// `,"category":"…","action":"…","properties":{`, between the tab id and the properties;
  /// empty for a message read back whole.
  pub(super) middle: Box<str>,
  pub(super) category: Box<str>,
  pub(super) action: Box<str>,
}

/// The [`ActionPart`] of each action of a plan, written once per logger.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ActionParts(pub(super) Vec<Vec<Arc<ActionPart>>>);

impl ActionParts {
  pub fn for_plan(plan: &TrackingPlan) -> ActionParts {
    let parts = plan.categories.iter().map(|category| {
      let actions = category.actions.iter();
      actions
        .map(|action| action_part(&category.category, &action.action))
        .collect()
    });
    ActionParts(parts.collect())
  }

  /// `event`'s part; written anew for an action not in the table (an empty table's).
  pub(super) fn of(&self, event: &ValidEvent) -> Arc<ActionPart> {
    let id = event.action_id;
    let cached = self
      .0
      .get(id.category)
      .and_then(|actions| actions.get(id.action));
    cached
      .cloned()
      .unwrap_or_else(|| action_part(event.category, event.action))
  }
}

pub(super) fn action_part(category: &str, action: &str) -> Arc<ActionPart> {
  let mut json = b",\"category\":".to_vec();
  push_json_str(&mut json, category);
  json.extend_from_slice(b",\"action\":");
  push_json_str(&mut json, action);
  json.extend_from_slice(b",\"properties\":{");
  Arc::new(ActionPart {
    middle: utf8(json).into(),
    category: category.into(),
    action: action.into(),
  })
}
