//! The standard introspection query, as graphql-js `getIntrospectionQuery()`
//! writes it with every option on (what GraphiQL's schema explorer and
//! code generators send), is answered within the limits; an introspection
//! shape that multiplies with the schema is still refused.

mod common;

use common::api;

/// graphql-js's introspection query with descriptions, `specifiedByURL`,
/// repeatable directives, the schema description, deprecated input values
/// and `ofType` nested nine levels deep.
const STANDARD: &str = r"
query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}
fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}
fragment TypeRef on __Type {
  kind name
  ofType { kind name
    ofType { kind name
      ofType { kind name
        ofType { kind name
          ofType { kind name
            ofType { kind name
              ofType { kind name
                ofType { kind name
                  ofType { kind name }
                }
              }
            }
          }
        }
      }
    }
  }
}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_standard_introspection_query_loads_the_schema() {
    let api = api().await;
    let answer = api.query(STANDARD).await;
    assert!(answer["errors"].is_null(), "{answer}");
    let types = answer["data"]["__schema"]["types"]
        .as_array()
        .expect("types");
    let job = types
        .iter()
        .find(|t| t["name"] == "Job")
        .unwrap_or_else(|| panic!("no Job type in {answer}"));
    assert!(job["fields"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f["name"] == "moduleUri")));
    assert_eq!(answer["data"]["__schema"]["queryType"]["name"], "QueryRoot");

    // A shape that multiplies with every level is not given the deeper
    // limit: past the data depth limit it is refused.
    let cycle = "{ __schema { types { fields { type { fields { type { fields { type { fields { type { name } } } } } } } } } } }";
    let refused = api.query(cycle).await;
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("nested too deep")),
        "{refused}"
    );
    // And data queries keep their limit.
    let deep = "{ jobs { edges { node { deal { job { deal { job { deal { job { deal { job { id } } } } } } } } } } } }";
    assert!(api.query(deep).await["errors"].is_array());
    let _ = api.stop.send(true);
}
