//! Reads a `LogEvent` out of JavaScript with raw N-API calls: no intermediate JSON, no
//! allocation for absent fields, and strings longer than any message are measured, not copied.

use napi::sys::{self, napi_env, napi_value, KeyCollectionMode, KeyFilter, Status, ValueType};
use sns_logger_core::message::MAX_MESSAGE_BYTES;
use sns_logger_core::plan::{ActionId, EventInput, PropertiesInput, Value};
use sns_logger_core::{ErrorCode, LoggerError};
use std::ffi::CStr;
use std::ptr;

/// Properties objects with more keys than this are refused before any is read.
const MAX_PROPERTY_KEYS: u32 = 64;

/// A failed N-API call: usually a getter or Proxy that threw. The exception is cleared and
/// reported as an invalid event instead.
struct Threw;

type Read<T> = Result<T, Threw>;

fn check(status: sys::napi_status) -> Read<()> {
  if status == Status::napi_ok {
    Ok(())
  } else {
    Err(Threw)
  }
}

/// The fields of a `LogEvent`, in the order `index.js` passes them to `logFields`.
pub const FIELDS: [&CStr; 7] = [
  c"agent",
  c"roomId",
  c"tabId",
  c"category",
  c"action",
  c"properties",
  c"timestamp",
];

/// How an event names its action: by its `category` and `action` values, or by the index
/// `index.js` found them at in this logger's plan (`ActionId::to_index`).
pub enum ActionRef {
  Names {
    category: napi_value,
    action: napi_value,
  },
  Index(u32),
}

/// The fields of an event but its category and action: agent, roomId, tabId, properties,
/// timestamp.
pub type OwnFields = [napi_value; 5];

/// Reads every field of the event object; the result still has to pass the plan.
///
/// # Safety
/// `env` and `value` must be the live handles of the current N-API call.
pub unsafe fn read_event(env: napi_env, value: napi_value) -> Result<EventInput, LoggerError> {
  let read = || -> Read<Result<[napi_value; 7], LoggerError>> {
    if type_of(env, value)? != ValueType::napi_object || is_array(env, value)? {
      let got = describe(env, value)?;
      return Ok(Err(LoggerError::new(
        ErrorCode::InvalidEvent,
        format!(
          "logEvent expects an event object {{ roomId, category, action, properties? }}, got {got}"
        ),
      )));
    }
    let mut fields = [ptr::null_mut(); 7];
    for (field, name) in fields.iter_mut().zip(FIELDS) {
      *field = get(env, value, name)?;
    }
    Ok(Ok(fields))
  };
  let [agent, room_id, tab_id, category, action, properties, timestamp] =
    read().unwrap_or_else(|Threw| Err(threw(env)))?;
  let action = ActionRef::Names { category, action };
  read_fields(
    env,
    action,
    [agent, room_id, tab_id, properties, timestamp],
    None,
  )
}

/// Reads the event's fields, already taken out of the object (by `index.js`, where V8 reads
/// properties far faster than N-API can). `property_keys`, when given, is
/// `Object.keys(properties)`: cheaper from JavaScript than enumerating here.
///
/// # Safety
/// `env` and every value must be the live handles of the current N-API call.
pub unsafe fn read_fields(
  env: napi_env,
  action: ActionRef,
  fields: OwnFields,
  property_keys: Option<napi_value>,
) -> Result<EventInput, LoggerError> {
  let [agent, room_id, tab_id, properties, timestamp] = fields;
  let read = || -> Read<EventInput> {
    let (category, action, action_id) = match action {
      ActionRef::Names { category, action } => (value(env, category)?, value(env, action)?, None),
      ActionRef::Index(index) => (None, None, Some(ActionId::from_index(index))),
    };
    Ok(EventInput {
      agent: value(env, agent)?,
      room_id: value(env, room_id)?,
      tab_id: value(env, tab_id)?,
      category,
      action,
      action_id,
      properties: self::properties(env, properties, property_keys)?,
      timestamp: value(env, timestamp)?,
    })
  };
  read().map_err(|Threw| threw(env))
}

/// A getter or Proxy trap threw: clear the exception and report an invalid event.
unsafe fn threw(env: napi_env) -> LoggerError {
  let mut exception = ptr::null_mut();
  sys::napi_get_and_clear_last_exception(env, &mut exception);
  LoggerError::new(
    ErrorCode::InvalidEvent,
    "reading the event threw: events must be plain data objects",
  )
}

unsafe fn get(env: napi_env, object: napi_value, key: &CStr) -> Read<napi_value> {
  let mut result = ptr::null_mut();
  check(sys::napi_get_named_property(
    env,
    object,
    key.as_ptr(),
    &mut result,
  ))?;
  Ok(result)
}

unsafe fn type_of(env: napi_env, value: napi_value) -> Read<i32> {
  let mut kind = 0;
  check(sys::napi_typeof(env, value, &mut kind))?;
  Ok(kind)
}

unsafe fn is_array(env: napi_env, value: napi_value) -> Read<bool> {
  let mut result = false;
  check(sys::napi_is_array(env, value, &mut result))?;
  Ok(result)
}

unsafe fn is_date(env: napi_env, value: napi_value) -> Read<bool> {
  let mut result = false;
  check(sys::napi_is_date(env, value, &mut result))?;
  Ok(result)
}

/// `None` for `undefined`.
unsafe fn value(env: napi_env, value: napi_value) -> Read<Option<Value>> {
  // Most fields are strings: asking for one first spares a napi_typeof.
  if let Some(string) = string(env, value)? {
    return Ok(Some(string));
  }
  Ok(Some(match type_of(env, value)? {
    ValueType::napi_undefined => return Ok(None),
    ValueType::napi_number => {
      let mut number = 0.0;
      check(sys::napi_get_value_double(env, value, &mut number))?;
      Value::Number(number)
    }
    ValueType::napi_object if is_date(env, value)? => {
      let mut ms = 0.0;
      check(sys::napi_get_date_value(env, value, &mut ms))?;
      // A Date becomes a plain timestamp here: the core knows no JavaScript types.
      Value::EpochMillis(ms)
    }
    _ => Value::Other(describe(env, value)?),
  }))
}

/// The string, or `None` when `value` is not one.
unsafe fn string(env: napi_env, value: napi_value) -> Read<Option<Value>> {
  // Most strings fit on the stack: one N-API call instead of measuring, then copying.
  const STACK: usize = 256;
  let mut stack = [0u8; STACK];
  let mut written = 0;
  let status =
    sys::napi_get_value_string_utf8(env, value, stack.as_mut_ptr().cast(), STACK, &mut written);
  if status == Status::napi_string_expected {
    return Ok(None);
  }
  check(status)?;
  // A cut can only happen within a character's width (4 bytes) of the end.
  if written + 4 < STACK - 1 {
    return checked_string(env, value, stack[..written].to_vec()).map(Some);
  }
  let mut len = 0;
  check(sys::napi_get_value_string_utf8(
    env,
    value,
    ptr::null_mut(),
    0,
    &mut len,
  ))?;
  if len > MAX_MESSAGE_BYTES {
    return Ok(Some(Value::TooLong(len)));
  }
  let mut buf = vec![0u8; len + 1];
  check(sys::napi_get_value_string_utf8(
    env,
    value,
    buf.as_mut_ptr().cast(),
    len + 1,
    &mut written,
  ))?;
  buf.truncate(written);
  checked_string(env, value, buf).map(Some)
}

/// U+FFFD, as N-API writes it in place of a lone surrogate.
const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// The string N-API wrote, unless it stands for a lone surrogate (half of a UTF-16 pair),
/// which UTF-8 cannot carry: N-API writes U+FFFD instead, and the message would silently say
/// something else. Only strings holding U+FFFD are read again, as UTF-16, to tell.
unsafe fn checked_string(env: napi_env, value: napi_value, bytes: Vec<u8>) -> Read<Value> {
  // `contains` on bytes is a memchr: this runs for every string of every event.
  if bytes.contains(&REPLACEMENT[0])
    && bytes.windows(3).any(|w| w == REPLACEMENT)
    && has_lone_surrogate(env, value)?
  {
    return Ok(Value::Other(
      "a string with a lone surrogate (half of a UTF-16 pair)",
    ));
  }
  Ok(Value::String(utf8(bytes)))
}

unsafe fn has_lone_surrogate(env: napi_env, value: napi_value) -> Read<bool> {
  let mut len = 0;
  check(sys::napi_get_value_string_utf16(
    env,
    value,
    ptr::null_mut(),
    0,
    &mut len,
  ))?;
  let mut units = vec![0u16; len + 1];
  let mut written = 0;
  check(sys::napi_get_value_string_utf16(
    env,
    value,
    units.as_mut_ptr(),
    len + 1,
    &mut written,
  ))?;
  units.truncate(written);
  Ok(char::decode_utf16(units).any(|c| c.is_err()))
}

/// N-API hands out valid UTF-8 (lone surrogates become U+FFFD); stay safe regardless.
fn utf8(bytes: Vec<u8>) -> String {
  String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

unsafe fn describe(env: napi_env, value: napi_value) -> Read<&'static str> {
  Ok(match type_of(env, value)? {
    ValueType::napi_undefined => "undefined",
    ValueType::napi_null => "null",
    ValueType::napi_boolean => "a boolean",
    ValueType::napi_number => "a number",
    ValueType::napi_string => "a string",
    ValueType::napi_symbol => "a symbol",
    ValueType::napi_function => "a function",
    ValueType::napi_bigint => "a bigint",
    ValueType::napi_object if is_array(env, value)? => "an array",
    ValueType::napi_object if is_date(env, value)? => "a Date",
    ValueType::napi_object => "an object",
    _ => "an unsupported value",
  })
}

unsafe fn properties(
  env: napi_env,
  object: napi_value,
  keys: Option<napi_value>,
) -> Read<Option<PropertiesInput>> {
  let kind = type_of(env, object)?;
  if kind == ValueType::napi_undefined {
    return Ok(None);
  }
  if kind != ValueType::napi_object || is_array(env, object)? || is_date(env, object)? {
    return Ok(Some(PropertiesInput::Other(describe(env, object)?)));
  }
  // Own enumerable string keys, as Object.keys gives them.
  let keys = match keys {
    Some(keys) if is_array(env, keys)? => keys,
    _ => {
      let mut keys = ptr::null_mut();
      check(sys::napi_get_all_property_names(
        env,
        object,
        KeyCollectionMode::own_only,
        KeyFilter::enumerable | KeyFilter::skip_symbols,
        sys::KeyConversion::numbers_to_strings,
        &mut keys,
      ))?;
      keys
    }
  };
  let mut count = 0;
  check(sys::napi_get_array_length(env, keys, &mut count))?;
  if count > MAX_PROPERTY_KEYS {
    return Ok(Some(PropertiesInput::Other("an object with too many keys")));
  }
  let mut entries = Vec::with_capacity(count as usize);
  for i in 0..count {
    let mut key = ptr::null_mut();
    check(sys::napi_get_element(env, keys, i, &mut key))?;
    let Some(Value::String(name)) = string(env, key)? else {
      return Ok(Some(PropertiesInput::Other(
        "an object with an unreadable key (over-long, or with a lone surrogate)",
      )));
    };
    let mut item = ptr::null_mut();
    check(sys::napi_get_property(env, object, key, &mut item))?;
    if let Some(item) = value(env, item)? {
      entries.push((name, item));
    }
  }
  Ok(Some(PropertiesInput::Object(entries)))
}
