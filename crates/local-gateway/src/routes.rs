//! The HTTP API's routes (`"GET /friday": "friday-api"`), as `scripts/provision.py` extracts
//! them from `infra/template.yaml`, and API Gateway's matching rules: an exact route wins over
//! one with path variables, a greedy `{proxy+}` comes last, `ANY` matches every method and
//! `$default` catches what nothing else does.

use std::collections::BTreeMap;

/// One route: its key as the template writes it and the function (binary) it integrates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub key: String,
    pub function: String,
    method: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Variable(String),
    Greedy(String),
}

/// The route a request matched, with its path parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched<'a> {
    pub route: &'a Route,
    pub path_parameters: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct Routes {
    routes: Vec<Route>,
    default: Option<Route>,
}

impl Routes {
    /// Reads `{"<METHOD> <path>": "<function>", "$default": "<function>"}`.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let parsed: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text).map_err(|e| format!("the routes file is not a JSON object: {e}"))?;
        let mut routes = Routes::default();
        for (key, function) in parsed {
            let function =
                function.as_str().ok_or_else(|| format!("route '{key}': the function must be a string"))?.to_owned();
            if key == "$default" {
                routes.default = Some(Route { key, function, method: "ANY".into(), segments: Vec::new() });
                continue;
            }
            let (method, path) =
                key.split_once(' ').ok_or_else(|| format!("route '{key}': expected '<METHOD> /<path>'"))?;
            if !path.starts_with('/') {
                return Err(format!("route '{key}': the path must start with '/'"));
            }
            let segments = split(path).map(parse_segment).collect();
            routes.routes.push(Route { method: method.to_ascii_uppercase(), segments, function, key });
        }
        // Most specific first: more literal segments, then no greedy variable.
        routes.routes.sort_by_key(|route| {
            let literals = route.segments.iter().filter(|s| matches!(s, Segment::Literal(_))).count();
            let greedy = route.segments.iter().any(|s| matches!(s, Segment::Greedy(_)));
            (greedy, std::cmp::Reverse(literals), route.method == "ANY")
        });
        Ok(routes)
    }

    /// The route for `method` and the request's decoded path, if any.
    pub fn find(&self, method: &str, path: &str) -> Option<Matched<'_>> {
        let parts: Vec<&str> = split(path).collect();
        self.routes
            .iter()
            .filter(|route| route.method == "ANY" || route.method.eq_ignore_ascii_case(method))
            .find_map(|route| {
                match_segments(&route.segments, &parts).map(|path_parameters| Matched { route, path_parameters })
            })
            .or_else(|| self.default.as_ref().map(|route| Matched { route, path_parameters: BTreeMap::new() }))
    }

    pub fn len(&self) -> usize {
        self.routes.len() + usize::from(self.default.is_some())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn split(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|part| !part.is_empty())
}

fn parse_segment(part: &str) -> Segment {
    match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
        Some(name) => match name.strip_suffix('+') {
            Some(greedy) => Segment::Greedy(greedy.to_owned()),
            None => Segment::Variable(name.to_owned()),
        },
        None => Segment::Literal(part.to_owned()),
    }
}

fn match_segments(segments: &[Segment], parts: &[&str]) -> Option<BTreeMap<String, String>> {
    let mut parameters = BTreeMap::new();
    for (index, segment) in segments.iter().enumerate() {
        match segment {
            Segment::Greedy(name) => {
                let rest = parts.get(index..).filter(|rest| !rest.is_empty())?;
                parameters.insert(name.clone(), rest.join("/"));
                return Some(parameters);
            }
            Segment::Literal(literal) => {
                if parts.get(index) != Some(&literal.as_str()) {
                    return None;
                }
            }
            Segment::Variable(name) => {
                parameters.insert(name.clone(), (*parts.get(index)?).to_owned());
            }
        }
    }
    (segments.len() == parts.len()).then_some(parameters)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> Routes {
        Routes::from_json(
            r#"{"GET /friday": "friday-api", "POST /register": "signup-register", "GET /items/{id}": "item",
                "GET /items/special": "special", "ANY /files/{path+}": "files"}"#,
        )
        .expect("routes")
    }

    #[test]
    fn a_route_matches_its_method_and_path_only() {
        let routes = routes();
        assert_eq!(routes.find("GET", "/friday").map(|m| m.route.function.as_str()), Some("friday-api"));
        assert_eq!(routes.find("GET", "/friday/").map(|m| m.route.key.as_str()), Some("GET /friday"));
        assert!(routes.find("POST", "/friday").is_none());
        assert!(routes.find("GET", "/register").is_none());
        assert!(routes.find("GET", "/nowhere").is_none());
    }

    #[test]
    fn the_most_specific_route_wins_as_api_gateway_chooses() {
        let routes = routes();
        assert_eq!(routes.find("GET", "/items/special").map(|m| m.route.function.as_str()), Some("special"));
        let matched = routes.find("GET", "/items/42").expect("variable route");
        assert_eq!(matched.path_parameters.get("id").map(String::as_str), Some("42"));
        let greedy = routes.find("DELETE", "/files/a/b.csv").expect("greedy route");
        assert_eq!(greedy.path_parameters.get("path").map(String::as_str), Some("a/b.csv"));
        assert!(routes.find("GET", "/files").is_none(), "a greedy variable needs at least one segment");
    }

    #[test]
    fn default_route_catches_the_rest() {
        let routes = Routes::from_json(r#"{"GET /a": "a", "$default": "catch-all"}"#).expect("routes");
        assert_eq!(routes.find("PUT", "/zzz").map(|m| m.route.function.as_str()), Some("catch-all"));
        assert_eq!(routes.len(), 2);
    }

    #[test]
    fn malformed_routes_files_are_refused_with_the_route_named() {
        assert!(Routes::from_json("[]").is_err());
        let error = Routes::from_json(r#"{"GET friday": "f"}"#).expect_err("path without /");
        assert!(error.contains("GET friday"), "{error}");
        assert!(Routes::from_json(r#"{"GET /f": 3}"#).is_err());
    }
}
