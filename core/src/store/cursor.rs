//! Opaque page cursors: the key of the last item returned, as base64url JSON.
//! A cursor only continues the partition it came from.

use super::{Index, Item, Query, StoreError, schema};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

/// Where a page stopped: key attribute to value.
pub type Position = std::collections::BTreeMap<&'static str, String>;

/// The attributes that position an item in the table or in `index`.
pub(super) fn position_attrs(index: Option<Index>) -> Vec<&'static str> {
    let mut attrs = vec![schema::PK, schema::SK];
    if let Some(index) = index {
        attrs.push(index.pk());
        attrs.push(index.sk());
    }
    attrs
}

/// The cursor that continues after `last`.
pub fn encode(index: Option<Index>, last: &Item) -> String {
    let key: Map<String, Value> = position_attrs(index)
        .into_iter()
        .filter_map(|a| Some((a.to_string(), last.get(a)?.clone())))
        .collect();
    URL_SAFE_NO_PAD.encode(Value::Object(key).to_string())
}

/// The position a query's cursor points at, checked to belong to the query's partition.
pub fn decode(query: &Query) -> Result<Option<Position>, StoreError> {
    let Some(cursor) = &query.cursor else {
        return Ok(None);
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| StoreError::InvalidCursor)?;
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(StoreError::InvalidCursor);
    };
    let mut key = Position::new();
    for attr in position_attrs(query.index) {
        let value = map
            .get(attr)
            .and_then(Value::as_str)
            .ok_or(StoreError::InvalidCursor)?;
        key.insert(attr, value.to_string());
    }
    if map.len() != key.len() {
        return Err(StoreError::InvalidCursor);
    }
    let partition_attr = query.index.map_or(schema::PK, Index::pk);
    if key.get(partition_attr) != Some(&query.pk) {
        return Err(StoreError::InvalidCursor);
    }
    Ok(Some(key))
}
