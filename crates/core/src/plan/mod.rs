//! The tracking plan: every category, action, property and allowed value.
//!
//! The built-in plan is `plan/tracking-plan.json`, embedded at compile time; the TypeScript
//! constants, types and the README table are generated from the same file. A deployment can
//! add events or enum values at init with an extension file of the same shape.

mod json_input;
pub mod property;
mod validate;

pub use json_input::{describe_json, event_fields, json_value};

pub use property::{PropertyKind, PropertyType, PropertyValue};
pub use validate::{EventInput, PropertiesInput, ValidEvent, Value};

use crate::error::{one_of, quote, ErrorCode, LoggerError, Result};
use serde::Deserialize;

/// The plan shipped with the package.
pub const BUILT_IN_PLAN_JSON: &str = include_str!("../../../../plan/tracking-plan.json");

/// `eventType` of a message: what the visitor did, or anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum EventType {
  #[serde(rename = "customerAction")]
  CustomerAction,
  #[serde(rename = "session")]
  Session,
}

impl EventType {
  pub fn as_str(self) -> &'static str {
    match self {
      EventType::CustomerAction => "customerAction",
      EventType::Session => "session",
    }
  }

  /// The event type `name` names ([`EventType::as_str`]).
  pub fn named(name: &str) -> Option<EventType> {
    [EventType::CustomerAction, EventType::Session]
      .into_iter()
      .find(|t| t.as_str() == name)
  }
}

#[derive(Debug, Clone, Deserialize)]
pub struct TrackingPlan {
  /// Who sends events: `"SF.app"`, `"DF.app"`, `"Widget"`, `"RC core"`, with a description.
  #[serde(default)]
  pub sources: serde_json::Map<String, serde_json::Value>,
  pub categories: Vec<CategorySpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CategorySpec {
  pub category: String,
  pub actions: Vec<ActionSpec>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ActionSpec {
  pub action: String,
  #[serde(rename = "eventType")]
  pub event_type: EventType,
  #[serde(default)]
  pub properties: Vec<PropertySpec>,
  /// Who sends it (`"SF.app"`, `"Widget"`, ...); empty when an enum value decides.
  #[serde(default)]
  pub sources: Vec<String>,
}

/// How many categories a plan, and actions a category, may hold ([`ActionId::to_index`]).
const MAX_ENTRIES: usize = 0xffff;

/// An action's place in its plan: the index of its category, and its index there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionId {
  pub category: usize,
  pub action: usize,
}

impl ActionId {
  /// As one number, for a front door that looks actions up itself (`index.js`): the category
  /// in the high 16 bits, the action in the low 16.
  pub fn to_index(self) -> u32 {
    ((self.category as u32) << 16) | self.action as u32
  }

  pub fn from_index(index: u32) -> ActionId {
    ActionId {
      category: (index >> 16) as usize,
      action: (index & 0xffff) as usize,
    }
  }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PropertySpec {
  pub property: String,
  #[serde(flatten)]
  pub kind: PropertyKind,
}

impl TrackingPlan {
  /// The built-in plan. It is checked by the tests, so a failure here is a build defect.
  pub fn built_in() -> TrackingPlan {
    TrackingPlan::parse(BUILT_IN_PLAN_JSON, "built-in plan")
      .expect("built-in tracking plan is valid")
  }

  /// Parses and checks a plan document (`origin` names it in errors).
  pub fn parse(json: &str, origin: &str) -> Result<TrackingPlan> {
    let plan: TrackingPlan = serde_json::from_str(json).map_err(|e| {
      LoggerError::new(
        ErrorCode::InvalidPlan,
        format!("{origin} is not a valid tracking plan: {e}"),
      )
    })?;
    plan.verify(origin)?;
    Ok(plan)
  }

  /// Built-in plan plus an extension document: new categories, new actions and new enum
  /// values are added; anything that would change an existing event is refused.
  pub fn with_extension(mut self, json: &str, origin: &str) -> Result<TrackingPlan> {
    let extension = TrackingPlan::parse(json, origin)?;
    self.sources.extend(extension.sources);
    for new_category in extension.categories {
      let Some(category) = self
        .categories
        .iter_mut()
        .find(|c| c.category == new_category.category)
      else {
        self.categories.push(new_category);
        continue;
      };
      for new_action in new_category.actions {
        let Some(action) = category
          .actions
          .iter_mut()
          .find(|a| a.action == new_action.action)
        else {
          category.actions.push(new_action);
          continue;
        };
        merge_action(&category.category, action, new_action, origin)?;
      }
    }
    self.verify(origin)?;
    Ok(self)
  }

  pub fn category(&self, name: &str) -> Option<&CategorySpec> {
    self.categories.iter().find(|c| c.category == name)
  }

  /// The category named `name` and its index.
  pub fn category_at(&self, name: &str) -> Option<(usize, &CategorySpec)> {
    self
      .categories
      .iter()
      .enumerate()
      .find(|(_, c)| c.category == name)
  }

  /// Every action of the plan with its place: what a front door needs to name events by
  /// [`ActionId`] instead of by their two strings.
  pub fn action_ids(&self) -> impl Iterator<Item = (&str, &str, ActionId)> {
    self
      .categories
      .iter()
      .enumerate()
      .flat_map(|(c, category)| {
        category.actions.iter().enumerate().map(move |(a, action)| {
          let id = ActionId {
            category: c,
            action: a,
          };
          (category.category.as_str(), action.action.as_str(), id)
        })
      })
  }

  /// The category and action at `id`, when this plan has one there.
  pub fn action_by_id(&self, id: ActionId) -> Option<(&CategorySpec, &ActionSpec)> {
    let category = self.categories.get(id.category)?;
    Some((category, category.actions.get(id.action)?))
  }

  pub fn category_names(&self) -> impl Iterator<Item = &str> {
    self.categories.iter().map(|c| c.category.as_str())
  }

  /// The sources that send `event`: its action's, or else those of the enum value it carries
  /// that names some (`close_method` decides who closed a chat).
  pub fn sources_of(&self, event: &ValidEvent) -> &[String] {
    let Some(action) = self
      .category(event.category)
      .and_then(|c| c.action(event.action))
    else {
      return &[];
    };
    if !action.sources.is_empty() {
      return &action.sources;
    }
    for spec in &action.properties {
      let PropertyKind::Enum(values) = &spec.kind else {
        continue;
      };
      let given = event
        .properties
        .iter()
        .find(|(name, _)| *name == spec.property);
      if let Some((_, PropertyValue::String(value))) = given {
        if let Some(v) = values.values.iter().find(|v| &v.value == value) {
          if !v.sources.is_empty() {
            return &v.sources;
          }
        }
      }
    }
    &[]
  }

  /// Every event `source` sends, for messages: `"Survey" / "link_clicked"`, or with the enum
  /// value that makes it one of `source`'s (`"Chat Session" / "closed" with close_method
  /// "chat window"`).
  pub fn events_of_source(&self, source: &str) -> Vec<String> {
    let mut events = Vec::new();
    for category in &self.categories {
      for action in &category.actions {
        let name = format!("{} / {}", quote(&category.category), quote(&action.action));
        if action.sources.iter().any(|s| s == source) {
          events.push(name);
          continue;
        }
        for spec in &action.properties {
          if let PropertyKind::Enum(values) = &spec.kind {
            for value in values
              .values
              .iter()
              .filter(|v| v.sources.iter().any(|s| s == source))
            {
              events.push(format!(
                "{name} with {} {}",
                spec.property,
                quote(&value.value)
              ));
            }
          }
        }
      }
    }
    events
  }

  fn verify(&self, origin: &str) -> Result<()> {
    let invalid = |what: String| {
      Err(LoggerError::new(
        ErrorCode::InvalidPlan,
        format!("{origin}: {what}"),
      ))
    };
    // An ActionId crosses to JavaScript as one number of two 16-bit halves.
    if self.categories.len() > MAX_ENTRIES
      || self
        .categories
        .iter()
        .any(|c| c.actions.len() > MAX_ENTRIES)
    {
      return invalid(format!(
        "a plan holds at most {MAX_ENTRIES} categories, and a category at most {MAX_ENTRIES} actions"
      ));
    }
    for (i, category) in self.categories.iter().enumerate() {
      if category.category.is_empty() {
        return invalid("a category name is empty".into());
      }
      if self.categories[..i]
        .iter()
        .any(|c| c.category == category.category)
      {
        return invalid(format!(
          "category {} appears twice",
          quote(&category.category)
        ));
      }
      for (j, action) in category.actions.iter().enumerate() {
        let at = format!("{} / {}", quote(&category.category), quote(&action.action));
        if action.action.is_empty() {
          return invalid(format!(
            "an action of {} has an empty name",
            quote(&category.category)
          ));
        }
        if category.actions[..j]
          .iter()
          .any(|a| a.action == action.action)
        {
          return invalid(format!("action {at} appears twice"));
        }
        for (k, property) in action.properties.iter().enumerate() {
          if property.property.is_empty()
            || action.properties[..k]
              .iter()
              .any(|p| p.property == property.property)
          {
            return invalid(format!(
              "{at} has an empty or repeated property {}",
              quote(&property.property)
            ));
          }
          if let Err(what) = property.kind.as_type().verify_declaration() {
            return invalid(format!(
              "{at} property {} {what}",
              quote(&property.property)
            ));
          }
        }
      }
    }
    Ok(())
  }
}

impl CategorySpec {
  pub fn action(&self, name: &str) -> Option<&ActionSpec> {
    self.actions.iter().find(|a| a.action == name)
  }

  /// The action named `name` and its index.
  pub fn action_at(&self, name: &str) -> Option<(usize, &ActionSpec)> {
    self
      .actions
      .iter()
      .enumerate()
      .find(|(_, a)| a.action == name)
  }

  pub fn action_names(&self) -> impl Iterator<Item = &str> {
    self.actions.iter().map(|a| a.action.as_str())
  }
}

fn merge_action(
  category: &str,
  action: &mut ActionSpec,
  new_action: ActionSpec,
  origin: &str,
) -> Result<()> {
  let at = format!("{} / {}", quote(category), quote(&action.action));
  let refuse = |what: String| {
    Err(LoggerError::new(
      ErrorCode::InvalidPlan,
      format!(
        "{origin}: {at} already exists; an extension may only add enum values to it, but {what}"
      ),
    ))
  };
  if new_action.event_type != action.event_type {
    return refuse("it changes eventType".into());
  }
  let names = |a: &ActionSpec| {
    a.properties
      .iter()
      .map(|p| p.property.clone())
      .collect::<Vec<_>>()
  };
  if names(action) != names(&new_action) {
    return refuse(format!(
      "it lists properties {} instead of {}",
      one_of(new_action.properties.iter().map(|p| p.property.as_str())),
      one_of(action.properties.iter().map(|p| p.property.as_str()))
    ));
  }
  for (property, new_property) in action.properties.iter_mut().zip(new_action.properties) {
    if let Err(what) = property.kind.merge(new_property.kind, &property.property) {
      return refuse(what);
    }
  }
  Ok(())
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn an_events_sources_are_its_actions_or_those_of_its_deciding_enum_value() {
    let plan = TrackingPlan::built_in();
    let event = |category: &str, action: &str, properties: Vec<(&str, &str)>| EventInput {
      room_id: Some(Value::String("r".into())),
      category: Some(Value::String(category.into())),
      action: Some(Value::String(action.into())),
      properties: Some(PropertiesInput::Object(
        properties
          .into_iter()
          .map(|(k, v)| (k.to_string(), Value::String(v.into())))
          .collect(),
      )),
      ..Default::default()
    };
    let sources = |input| plan.sources_of(&plan.validate(input).unwrap()).to_vec();
    assert_eq!(sources(event("Survey", "link_clicked", vec![])), ["Widget"]);
    assert_eq!(
      sources(event(
        "Chat Session",
        "closed",
        vec![("close_method", "chat window")]
      )),
      ["Widget"]
    );
    assert_eq!(
      sources(event(
        "Chat Session",
        "closed",
        vec![("close_method", "agent")]
      )),
      ["SF.app"]
    );
    assert!(sources(event(
      "Chat Session",
      "closed",
      vec![("close_method", "escalation_failure")]
    ))
    .is_empty());
    assert_eq!(
      plan.events_of_source("Widget"),
      [
        "\"Chat Session\" / \"closed\" with close_method \"chat window\"",
        "\"Transcript Download\" / \"selected\"",
        "\"Survey\" / \"link_clicked\"",
        "\"Window\" / \"opened\"",
        "\"Window\" / \"closed\"",
      ]
    );
    assert_eq!(
      plan.sources.keys().collect::<Vec<_>>(),
      ["SF.app", "DF.app", "Widget", "RC core"]
    );
  }

  #[test]
  fn built_in_plan_has_every_event_of_the_spec() {
    let plan = TrackingPlan::built_in();
    let events: Vec<(String, String)> = plan
      .categories
      .iter()
      .flat_map(|c| {
        c.actions
          .iter()
          .map(move |a| (c.category.clone(), a.action.clone()))
      })
      .collect();
    assert_eq!(events.len(), 11);
    let failed = plan
      .category("Escalation")
      .unwrap()
      .action("failed")
      .unwrap();
    let PropertyKind::Enum(property::EnumType { values }) = &failed.properties[0].kind else {
      panic!("failure_reason is an enum")
    };
    assert_eq!(values.len(), 14);
    assert!(values
      .iter()
      .any(|v| v.value == "salesforce chat API not found"));
    let closed = plan
      .category("Chat Session")
      .unwrap()
      .action("closed")
      .unwrap();
    let PropertyKind::Enum(property::EnumType { values }) = &closed.properties[0].kind else {
      panic!("close_method is an enum")
    };
    assert_eq!(values.len(), 8);
  }

  #[test]
  fn extension_adds_events_and_values() {
    let extension = r#"{"categories": [
      {"category": "Escalation", "actions": [
        {"action": "failed", "eventType": "session", "properties": [
          {"property": "failure_reason", "type": "enum", "values": [{"value": "queue full"}]}]},
        {"action": "cancelled", "eventType": "customerAction"}]},
      {"category": "Bot", "actions": [{"action": "handover", "eventType": "session"}]}]}"#;
    let plan = TrackingPlan::built_in()
      .with_extension(extension, "extension")
      .unwrap();
    let escalation = plan.category("Escalation").unwrap();
    assert!(escalation.action("cancelled").is_some());
    let PropertyKind::Enum(property::EnumType { values }) =
      &escalation.action("failed").unwrap().properties[0].kind
    else {
      panic!()
    };
    assert_eq!(values.len(), 15);
    assert!(plan.category("Bot").is_some());
  }

  #[test]
  fn extension_cannot_change_existing_events() {
    let changes_type = r#"{"categories": [{"category": "Escalation", "actions": [
      {"action": "successful", "eventType": "session", "properties": [
        {"property": "queue_time", "type": "string"}, {"property": "sf_chat_key", "type": "string"}]}]}]}"#;
    let err = TrackingPlan::built_in()
      .with_extension(changes_type, "ext.json")
      .unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidPlan);
    assert!(err.message.contains("queue_time"), "{}", err.message);

    let changes_event_type = r#"{"categories": [{"category": "Survey", "actions": [
      {"action": "link_clicked", "eventType": "session"}]}]}"#;
    let err = TrackingPlan::built_in()
      .with_extension(changes_event_type, "ext.json")
      .unwrap_err();
    assert!(err.message.contains("eventType"), "{}", err.message);

    let adds_property = r#"{"categories": [{"category": "Survey", "actions": [
      {"action": "link_clicked", "eventType": "customerAction", "properties": [{"property": "url", "type": "string"}]}]}]}"#;
    assert!(TrackingPlan::built_in()
      .with_extension(adds_property, "ext.json")
      .is_err());
  }

  #[test]
  fn malformed_plans_are_refused_with_a_reason() {
    for bad in [
      "[]",
      r#"{"categories": [{"category": "A", "actions": [{"action": "x", "eventType": "other"}]}]}"#,
      r#"{"categories": [{"category": "A", "actions": []}, {"category": "A", "actions": []}]}"#,
      r#"{"categories": [{"category": "A", "actions": [{"action": "x", "eventType": "session",
          "properties": [{"property": "p", "type": "enum", "values": []}]}]}]}"#,
    ] {
      let err = TrackingPlan::parse(bad, "ext.json").unwrap_err();
      assert_eq!(err.code, ErrorCode::InvalidPlan, "{bad}");
      assert!(err.message.starts_with("ext.json"), "{}", err.message);
    }
  }
}
