//! Introspection within bounds. The standard introspection query (graphql-js
//! `getIntrospectionQuery()`, which GraphiQL's explorer and every code
//! generator send) nests `ofType` seven to nine levels deep, past the
//! depth limit that bounds data queries. An operation that reads only the
//! schema runs under a deeper limit instead, provided its shape stays
//! bounded by the schema's size: no data field, no list-valued
//! introspection field (`types`, `fields`, `args`, …) repeated on a path
//! (which is what lets `fields { type { fields { … } } }` multiply), at
//! most three such lists on any path (`types → fields → args` is the
//! standard query's deepest), few root fields and few selections.

use std::collections::HashMap;

use async_graphql::parser::{
    parse_query,
    types::{ExecutableDocument, FragmentDefinition, Selection, SelectionSet},
    Positioned,
};
use async_graphql::Name;

/// Depth limit for schema-only operations.
pub const MAX_INTROSPECTION_DEPTH: usize = 20;
/// Most list-valued introspection fields on one path.
const MAX_LISTS_ON_A_PATH: usize = 3;
/// Most root fields (aliases included) in a schema-only operation.
const MAX_ROOT_FIELDS: usize = 4;
/// Most selections visited, fragments expanded.
const MAX_SELECTIONS: usize = 2_000;

/// Introspection fields that return lists.
const LISTS: [&str; 8] = [
    "types",
    "directives",
    "fields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "inputFields",
    "args",
];

/// Whether `query` reads only the schema, in a shape bounded by the
/// schema's size (see the module documentation).
#[must_use]
pub fn is_bounded_introspection(query: &str) -> bool {
    // Every query passes through here: parse only those that can read the
    // schema (`__typename`, which clients add everywhere, cannot).
    let may_read_schema = query.contains("__schema")
        || query
            .match_indices("__type")
            .any(|(at, _)| !query[at + "__type".len()..].starts_with("name"));
    if !may_read_schema {
        return false;
    }
    let Ok(document) = parse_query(query) else {
        return false;
    };
    let mut walk = Walk {
        fragments: &document.fragments,
        visited: 0,
    };
    operations_are_bounded(&document, &mut walk)
}

fn operations_are_bounded(document: &ExecutableDocument, walk: &mut Walk<'_>) -> bool {
    document.operations.iter().all(|(_, operation)| {
        let roots = &operation.node.selection_set.node.items;
        let schema_only = roots.len() <= MAX_ROOT_FIELDS
            && roots.iter().all(|root| match &root.node {
                Selection::Field(field) => {
                    matches!(
                        field.node.name.node.as_str(),
                        "__schema" | "__type" | "__typename"
                    )
                }
                _ => false,
            });
        schema_only && walk.bounded(&operation.node.selection_set, &mut Vec::new(), 0)
    })
}

struct Walk<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    visited: usize,
}

impl Walk<'_> {
    /// Whether every path below `set` stays bounded, with `lists` the
    /// list-valued fields already on the path and `depth` the nesting.
    fn bounded(
        &mut self,
        set: &Positioned<SelectionSet>,
        lists: &mut Vec<String>,
        depth: usize,
    ) -> bool {
        if depth > MAX_INTROSPECTION_DEPTH * 2 {
            return false;
        }
        for selection in &set.node.items {
            self.visited += 1;
            if self.visited > MAX_SELECTIONS {
                return false;
            }
            let ok = match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    let is_list = LISTS.contains(&name);
                    if is_list
                        && (lists.len() >= MAX_LISTS_ON_A_PATH || lists.iter().any(|l| l == name))
                    {
                        return false;
                    }
                    if is_list {
                        lists.push(name.to_owned());
                    }
                    let ok = self.bounded(&field.node.selection_set, lists, depth + 1);
                    if is_list {
                        lists.pop();
                    }
                    ok
                }
                Selection::InlineFragment(fragment) => {
                    self.bounded(&fragment.node.selection_set, lists, depth + 1)
                }
                Selection::FragmentSpread(spread) => {
                    match self.fragments.get(&spread.node.fragment_name.node) {
                        Some(fragment) => {
                            let fragment = &fragment.node.selection_set;
                            self.bounded(fragment, lists, depth + 1)
                        }
                        None => false,
                    }
                }
            };
            if !ok {
                return false;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_only_shapes_bounded_by_the_schema_are_recognised() {
        assert!(is_bounded_introspection("{ __schema { types { name fields { name args { name type { name ofType { name } } } } } } }"));
        assert!(is_bounded_introspection(
            "query Q { __type(name: \"Job\") { fields { name } } __typename }"
        ));
        assert!(is_bounded_introspection(
            "{ __schema { ...S } } fragment S on __Schema { types { name } }"
        ));
    }

    #[test]
    fn data_cycles_and_fan_out_are_not() {
        for query in [
            "{ jobs { nodes { id } } }",
            "{ __schema { types { name } } jobs { nodes { id } } }",
            // A list repeated on one path multiplies with every level.
            "{ __schema { types { fields { type { fields { name } } } } } }",
            // Four lists on one path.
            "{ __schema { types { fields { args { type { enumValues { name } } } } } } }",
            "{ a: __schema { types { name } } b: __schema { types { name } } c: __typename d: __typename e: __typename }",
            "{ __schema { ...Missing } }",
            "{ __typename jobs { nodes { __typename id } } }",
            // A fragment cycle (validation refuses it later; the walk must end).
            "{ __schema { ...A } } fragment A on __Schema { ...A }",
            "not graphql",
        ] {
            assert!(!is_bounded_introspection(query), "{query}");
        }
    }
}
