//! Route table <-> function binaries <-> SAM functions and their HttpApi events <-> sample
//! events <-> `cargo lambda watch` router: one to one, and each sample event answered by
//! its own function.

use marquee::routes::{self, ROUTES};
use marquee_infra::generate;
use std::collections::BTreeSet;
use std::path::Path;
use yaml_rust2::YamlLoader;

type Endpoints = BTreeSet<(String, String, String)>;

fn route_table() -> Endpoints {
    ROUTES
        .iter()
        .map(|r| {
            (
                r.name.to_string(),
                r.method.as_str().to_string(),
                r.path.to_string(),
            )
        })
        .collect()
}

fn root() -> std::path::PathBuf {
    generate::workspace_root()
}

#[test]
fn generated_files_are_up_to_date() {
    let diffs = generate::differences(&root());
    assert!(
        diffs.is_empty(),
        "{}\nrun `cargo run -p marquee-infra --bin marquee-gen`",
        diffs.join("\n")
    );
}

#[test]
fn every_route_has_exactly_one_sam_function_with_its_http_api_event() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("template.yaml is YAML");
    let resources = docs[0]["Resources"].as_hash().expect("Resources");
    let mut functions = Endpoints::new();
    for (_, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("each function names its binary");
        let events = resource["Properties"]["Events"].as_hash().expect("events");
        assert_eq!(events.len(), 1, "{binary} has one event");
        let api = &resource["Properties"]["Events"]["Api"];
        assert_eq!(api["Type"].as_str(), Some("HttpApi"));
        let added = functions.insert((
            binary.to_string(),
            api["Properties"]["Method"].as_str().unwrap().to_string(),
            api["Properties"]["Path"].as_str().unwrap().to_string(),
        ));
        assert!(added, "{binary} declared twice");
    }
    assert_eq!(functions, route_table());
}

#[test]
fn every_route_has_exactly_one_thin_binary() {
    let dir = root().join("functions/src/bin");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let source = std::fs::read_to_string(&path).unwrap();
        assert!(
            source.contains(&format!("marquee::lambda::serve_route(\"{name}\")")),
            "{} must serve its own route",
            path.display()
        );
        names.insert(name);
    }
    let routes: BTreeSet<String> = ROUTES.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(names, routes);
}

#[test]
fn the_watch_router_in_cargo_metadata_maps_real_paths_to_functions() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let router = meta["metadata"]["lambda"]["watch"]["router"]
        .as_object()
        .expect("workspace.metadata.lambda.watch.router");
    let mut mapped = Endpoints::new();
    for (path, functions) in router {
        for f in functions.as_array().unwrap() {
            mapped.insert((
                f["function"].as_str().unwrap().to_string(),
                f["method"].as_str().unwrap().to_string(),
                path.clone(),
            ));
        }
    }
    assert_eq!(mapped, route_table());
}

async fn answer(event: &str, route: &'static routes::Route, data_dir: &Path) -> u16 {
    use tower::ServiceExt;
    let request = lambda_http::request::from_str(event).expect("a valid API Gateway event");
    let dir = data_dir.to_str().unwrap().to_string();
    let config =
        marquee::Config::from_lookup(|name| (name == "MARQUEE_DATA_DIR").then(|| dir.clone()))
            .unwrap();
    let app = marquee::App::start(config).await.unwrap();
    let function = routes::router(app, |r| r.name == route.name);
    function.oneshot(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_sample_event_is_answered_by_its_own_function() {
    let dir = root().join("events");
    let data = tempfile::tempdir().unwrap();
    let mut seen = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let route =
            routes::find(&name).unwrap_or_else(|| panic!("{} matches no route", path.display()));
        let event = std::fs::read_to_string(&path).unwrap();
        let json: serde_json::Value = serde_json::from_str(&event).unwrap();
        assert_eq!(
            json["routeKey"],
            format!("{} {}", route.method.as_str(), route.path)
        );
        assert_eq!(
            answer(&event, route, data.path()).await,
            route.status,
            "{name}'s sample event"
        );
        seen.insert(name);
    }
    let routes: BTreeSet<String> = ROUTES.iter().map(|r| r.name.to_string()).collect();
    assert_eq!(seen, routes, "one sample event per function");
}
