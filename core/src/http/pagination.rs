//! Lists: `{items, next_cursor}`, `limit` (default 20, at most 100) and an opaque `cursor`.

use super::problem::{FieldError, Problem};
use serde::Serialize;

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 100;

/// One page of a list; `next_cursor` is `null` on the last page.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T: serde::de::DeserializeOwned> Page<T> {
    /// A page of stored entities of one kind, as the table handed it back.
    pub fn of_entities(
        entity: &str,
        page: crate::store::Page,
    ) -> Result<Self, crate::store::StoreError> {
        Ok(Self {
            items: page
                .items
                .into_iter()
                .map(|item| crate::store::from_entity_item(entity, item))
                .collect::<Result<_, _>>()?,
            next_cursor: page.next_cursor,
        })
    }
}

/// The paging parameters of a plain list.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// One page of the entities of a partition (`of`: of the table or of an index), newest
/// (highest key) first.
pub async fn newest_first<T: serde::de::DeserializeOwned>(
    table: &dyn crate::store::Table,
    entity: &str,
    of: crate::store::Query,
    query: PageQuery,
) -> Result<Page<T>, Problem> {
    let limit = page_limit(query.limit)?;
    let page = table
        .query(&of.descending().limit(limit).after(query.cursor))
        .await?;
    Ok(Page::of_entities(entity, page)?)
}

/// The page size a list asked for, or 422.
pub fn page_limit(limit: Option<u32>) -> Result<u32, Problem> {
    match limit.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n),
        _ => Err(Problem::invalid_query(vec![FieldError {
            field: "limit".into(),
            message: format!("must be 1 to {MAX_LIMIT}"),
        }])),
    }
}

// By hand, because a derived schema of a generic type has one name for every item type:
// each page is its own schema, `<Item>Page`.
impl<T: utoipa::ToSchema> utoipa::PartialSchema for Page<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
        use utoipa::openapi::{Ref, schema::SchemaType};
        ObjectBuilder::new()
            .property(
                "items",
                ArrayBuilder::new().items(Ref::from_schema_name(T::name())),
            )
            .required("items")
            .property(
                "next_cursor",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .description(Some("The cursor of the next page; null on the last page")),
            )
            .required("next_cursor")
            .into()
    }
}

impl<T: utoipa::ToSchema> utoipa::ToSchema for Page<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        format!("{}Page", T::name()).into()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        schemas.push((T::name().into(), T::schema()));
        T::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[test]
    fn limits_are_bounded() {
        assert_eq!(page_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(page_limit(Some(100)).unwrap(), 100);
        let refused = page_limit(Some(0)).unwrap_err();
        assert_eq!(
            (refused.status, refused.code),
            (StatusCode::BAD_REQUEST, "invalid_query")
        );
        assert!(page_limit(Some(101)).is_err());
    }
}
