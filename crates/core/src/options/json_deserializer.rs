//! A serde deserializer over a borrowed JSON value whose error type is the caller's: serde_json's
//! own (`&Value` as a deserializer) can only fail with `serde_json::Error`, which keeps what
//! went wrong as text. This one makes the same visitor calls and reports the same `Unexpected`
//! for each value as serde_json's, so the options accept and refuse exactly what they did; map
//! keys are read as strings only (no options type has keys of another type).

use serde::de::value::{BorrowedStrDeserializer, StrDeserializer};
use serde::de::{
  self, Deserialize, DeserializeSeed, Deserializer, EnumAccess, Expected, IntoDeserializer,
  MapAccess, SeqAccess, Unexpected, VariantAccess, Visitor,
};
use serde_json::{Map, Number, Value as Json};
use std::marker::PhantomData;

/// Deserializes from `value`, failing with `E`.
pub struct JsonDeserializer<'de, E> {
  value: &'de Json,
  error: PhantomData<E>,
}

impl<'de, E: de::Error> JsonDeserializer<'de, E> {
  pub fn new(value: &'de Json) -> Self {
    JsonDeserializer {
      value,
      error: PhantomData,
    }
  }

  fn invalid_type(&self, expected: &dyn Expected) -> E {
    E::invalid_type(unexpected(self.value), expected)
  }
}

/// What a value is, for a message about a value of the wrong type.
fn unexpected(value: &Json) -> Unexpected<'_> {
  match value {
    Json::Null => Unexpected::Unit,
    Json::Bool(b) => Unexpected::Bool(*b),
    Json::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
      (Some(u), _, _) => Unexpected::Unsigned(u),
      (None, Some(i), _) => Unexpected::Signed(i),
      (None, None, f) => Unexpected::Float(f.unwrap_or(f64::NAN)),
    },
    Json::String(s) => Unexpected::Str(s),
    Json::Array(_) => Unexpected::Seq,
    Json::Object(_) => Unexpected::Map,
  }
}

/// A JSON number is a `u64`, else an `i64`, else an `f64`.
fn visit_number<'de, V: Visitor<'de>, E: de::Error>(
  number: &Number,
  visitor: V,
) -> Result<V::Value, E> {
  match (number.as_u64(), number.as_i64(), number.as_f64()) {
    (Some(u), _, _) => visitor.visit_u64(u),
    (None, Some(i), _) => visitor.visit_i64(i),
    (None, None, f) => visitor.visit_f64(f.unwrap_or(f64::NAN)),
  }
}

/// Hands the array to `visitor`, which must take every element.
fn visit_array<'de, V: Visitor<'de>, E: de::Error>(
  items: &'de [Json],
  visitor: V,
) -> Result<V::Value, E> {
  let mut elements = Elements {
    items: items.iter(),
    error: PhantomData,
  };
  let value = visitor.visit_seq(&mut elements)?;
  match elements.items.len() {
    0 => Ok(value),
    _ => Err(E::invalid_length(items.len(), &"fewer elements in array")),
  }
}

/// Hands the object to `visitor`, which must take every entry.
fn visit_object<'de, V: Visitor<'de>, E: de::Error>(
  object: &'de Map<String, Json>,
  visitor: V,
) -> Result<V::Value, E> {
  let mut entries = Entries {
    entries: object.iter(),
    value: None,
    error: PhantomData,
  };
  let value = visitor.visit_map(&mut entries)?;
  match entries.entries.len() {
    0 => Ok(value),
    _ => Err(E::invalid_length(object.len(), &"fewer elements in map")),
  }
}

/// The number methods: a number is visited as one, any other value refused.
macro_rules! deserialize_number {
  ($($method:ident)*) => {$(
    fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
      match self.value {
        Json::Number(n) => visit_number(n, visitor),
        _ => Err(self.invalid_type(&visitor)),
      }
    }
  )*};
}

impl<'de, E: de::Error> Deserializer<'de> for JsonDeserializer<'de, E> {
  type Error = E;

  fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::Null => visitor.visit_unit(),
      Json::Bool(b) => visitor.visit_bool(*b),
      Json::Number(n) => visit_number(n, visitor),
      Json::String(s) => visitor.visit_borrowed_str(s),
      Json::Array(items) => visit_array(items, visitor),
      Json::Object(object) => visit_object(object, visitor),
    }
  }

  deserialize_number! {
    deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
    deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
    deserialize_f32 deserialize_f64
  }

  fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::Null => visitor.visit_none(),
      _ => visitor.visit_some(self),
    }
  }

  /// A unit variant as its name, any variant as an object with a single key.
  fn deserialize_enum<V: Visitor<'de>>(
    self,
    _name: &'static str,
    _variants: &'static [&'static str],
    visitor: V,
  ) -> Result<V::Value, E> {
    match self.value {
      Json::String(variant) => visitor.visit_enum(Variant::<E> {
        name: variant,
        value: None,
        error: PhantomData,
      }),
      Json::Object(object) => {
        let mut entries = object.iter();
        match (entries.next(), entries.next()) {
          (Some((variant, value)), None) => visitor.visit_enum(Variant::<E> {
            name: variant,
            value: Some(value),
            error: PhantomData,
          }),
          _ => Err(E::invalid_value(Unexpected::Map, &"map with a single key")),
        }
      }
      other => Err(E::invalid_type(unexpected(other), &"string or map")),
    }
  }

  fn deserialize_newtype_struct<V: Visitor<'de>>(
    self,
    _name: &'static str,
    visitor: V,
  ) -> Result<V::Value, E> {
    visitor.visit_newtype_struct(self)
  }

  fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::Bool(b) => visitor.visit_bool(*b),
      _ => Err(self.invalid_type(&visitor)),
    }
  }

  fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    self.deserialize_str(visitor)
  }

  fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::String(s) => visitor.visit_borrowed_str(s),
      _ => Err(self.invalid_type(&visitor)),
    }
  }

  fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    self.deserialize_str(visitor)
  }

  fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::String(s) => visitor.visit_borrowed_str(s),
      Json::Array(items) => visit_array(items, visitor),
      _ => Err(self.invalid_type(&visitor)),
    }
  }

  fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    self.deserialize_bytes(visitor)
  }

  fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::Null => visitor.visit_unit(),
      _ => Err(self.invalid_type(&visitor)),
    }
  }

  fn deserialize_unit_struct<V: Visitor<'de>>(
    self,
    _name: &'static str,
    visitor: V,
  ) -> Result<V::Value, E> {
    self.deserialize_unit(visitor)
  }

  fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::Array(items) => visit_array(items, visitor),
      _ => Err(self.invalid_type(&visitor)),
    }
  }

  fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, E> {
    self.deserialize_seq(visitor)
  }

  fn deserialize_tuple_struct<V: Visitor<'de>>(
    self,
    _name: &'static str,
    _len: usize,
    visitor: V,
  ) -> Result<V::Value, E> {
    self.deserialize_seq(visitor)
  }

  fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Json::Object(object) => visit_object(object, visitor),
      _ => Err(self.invalid_type(&visitor)),
    }
  }

  /// An object, or an array of the fields in order.
  fn deserialize_struct<V: Visitor<'de>>(
    self,
    _name: &'static str,
    _fields: &'static [&'static str],
    visitor: V,
  ) -> Result<V::Value, E> {
    match self.value {
      Json::Array(items) => visit_array(items, visitor),
      Json::Object(object) => visit_object(object, visitor),
      _ => Err(self.invalid_type(&visitor)),
    }
  }

  fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    self.deserialize_str(visitor)
  }

  fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
    visitor.visit_unit()
  }
}

/// An array's elements, one at a time.
struct Elements<'de, E> {
  items: std::slice::Iter<'de, Json>,
  error: PhantomData<E>,
}

impl<'de, E: de::Error> SeqAccess<'de> for Elements<'de, E> {
  type Error = E;

  fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, E> {
    match self.items.next() {
      Some(value) => seed.deserialize(JsonDeserializer::new(value)).map(Some),
      None => Ok(None),
    }
  }

  fn size_hint(&self) -> Option<usize> {
    Some(self.items.len())
  }
}

/// An object's entries, one at a time: a key, then its value.
struct Entries<'de, E> {
  entries: serde_json::map::Iter<'de>,
  value: Option<&'de Json>,
  error: PhantomData<E>,
}

impl<'de, E: de::Error> MapAccess<'de> for Entries<'de, E> {
  type Error = E;

  fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, E> {
    match self.entries.next() {
      Some((key, value)) => {
        self.value = Some(value);
        seed
          .deserialize(BorrowedStrDeserializer::new(key))
          .map(Some)
      }
      None => Ok(None),
    }
  }

  fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, E> {
    match self.value.take() {
      Some(value) => seed.deserialize(JsonDeserializer::new(value)),
      None => Err(E::custom("value is missing")),
    }
  }

  fn size_hint(&self) -> Option<usize> {
    Some(self.entries.len())
  }
}

/// An enum's variant: its name, and its content when given as `{ name: content }`.
struct Variant<'de, E> {
  name: &'de str,
  value: Option<&'de Json>,
  error: PhantomData<E>,
}

impl<'de, E: de::Error> EnumAccess<'de> for Variant<'de, E> {
  type Error = E;
  type Variant = Self;

  fn variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<(T::Value, Self), E> {
    let name: StrDeserializer<'de, E> = self.name.into_deserializer();
    seed.deserialize(name).map(|variant| (variant, self))
  }
}

impl<'de, E: de::Error> VariantAccess<'de> for Variant<'de, E> {
  type Error = E;

  fn unit_variant(self) -> Result<(), E> {
    match self.value {
      Some(value) => <()>::deserialize(JsonDeserializer::new(value)),
      None => Ok(()),
    }
  }

  fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, E> {
    match self.value {
      Some(value) => seed.deserialize(JsonDeserializer::new(value)),
      None => Err(E::invalid_type(Unexpected::UnitVariant, &"newtype variant")),
    }
  }

  fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, E> {
    match self.value {
      Some(Json::Array(items)) if items.is_empty() => visitor.visit_unit(),
      Some(Json::Array(items)) => visit_array(items, visitor),
      Some(other) => Err(E::invalid_type(unexpected(other), &"tuple variant")),
      None => Err(E::invalid_type(Unexpected::UnitVariant, &"tuple variant")),
    }
  }

  fn struct_variant<V: Visitor<'de>>(
    self,
    _fields: &'static [&'static str],
    visitor: V,
  ) -> Result<V::Value, E> {
    match self.value {
      Some(Json::Object(object)) => visit_object(object, visitor),
      Some(other) => Err(E::invalid_type(unexpected(other), &"struct variant")),
      None => Err(E::invalid_type(Unexpected::UnitVariant, &"struct variant")),
    }
  }
}
