//! `arena models`: the pool, `check` and `sync` against the fake upstream, and the blinding of
//! what the pool listing says about battles that have no vote yet.

use serde_json::{Value, json};

use crate::support::{Test, Upstream, text};

fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|m| text(m, "name"))
        .collect()
}

#[test]
fn the_pool_lists_every_model_and_labels_mocks() {
    let up = Upstream::start();
    let t = Test::new().with_models(&json!({"models": [
        up.model("saturn", "stream-one"),
        {"name": "echo", "provider": "mock", "tier": "low", "weight": 0},
    ]}));
    let list = t
        .arena()
        .args(["models", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(names(&list), ["saturn", "echo"]);
    let endpoints = list[0]["endpoints"].to_string();
    assert!(endpoints.contains("stream-one"), "{list:#}");
    assert!(endpoints.contains(&up.base_url()), "{list:#}");
    assert!(
        text(&list[1], "provider").contains("not a model"),
        "{list:#}"
    );
    assert_eq!(list[1]["tier"], json!("low"));
    assert_eq!(list[1]["weight"], json!(0.0));

    t.arena()
        .args(["models"])
        .run()
        .success()
        .stdout_contains("saturn")
        .stdout_contains("not a model");
}

#[test]
fn check_calls_each_model_once() {
    let up = Upstream::start();
    let t = Test::new()
        .with_upstream_models(&up, &[("saturn", "stream-one"), ("jupiter", "json-three")]);
    t.arena()
        .args(["models", "check"])
        .run()
        .success()
        .stdout_contains("saturn")
        .stdout_contains("jupiter")
        .stdout_contains("ok");
    assert_eq!(up.hits("stream-one"), 1);
    assert_eq!(up.hits("json-three"), 1);
}

#[test]
fn check_reports_a_failing_model_and_exits_3() {
    let up = Upstream::start();
    let t =
        Test::new().with_upstream_models(&up, &[("saturn", "stream-one"), ("mars", "fail-500")]);
    let lines = t
        .arena()
        .args(["models", "check", "--format", "json"])
        .run()
        .code(3)
        .stderr_contains("1 of 2 models failed")
        .json();
    let by_name = |name: &str| {
        lines
            .as_array()
            .expect("a list")
            .iter()
            .find(|l| l["name"] == json!(name))
            .unwrap_or_else(|| panic!("no {name} in {lines:#}"))
            .clone()
    };
    assert_eq!(by_name("saturn")["ok"], json!(true));
    assert_eq!(by_name("mars")["ok"], json!(false));
    assert!(
        text(&by_name("mars"), "error").contains("(500)"),
        "{lines:#}"
    );
}

#[test]
fn check_of_an_unknown_model_is_an_input_error() {
    let up = Upstream::start();
    let t = Test::new()
        .with_upstream_models(&up, &[("saturn", "stream-one"), ("jupiter", "json-three")]);
    t.arena()
        .args(["models", "check", "satrun"])
        .run()
        .code(2)
        .stderr_contains("unknown model `satrun`")
        .stderr_contains("did you mean `saturn`");
    assert!(up.requests().is_empty());
}

#[test]
fn sync_writes_the_upstream_model_lists_into_the_data_directory() {
    let up = Upstream::start();
    let t = Test::new()
        .with_upstream_models(&up, &[("saturn", "stream-one"), ("jupiter", "json-three")]);
    let out = t.arena().args(["models", "sync"]).run().success();
    // The harness points XDG_DATA_HOME into the temporary directory.
    let path = t.path("home/data/arena/available_models.json");
    assert_eq!(out.stdout_trimmed(), path.display().to_string());
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("available_models.json"))
            .expect("JSON");
    let mut expected = serde_json::Map::new();
    expected.insert(
        up.base_url(),
        json!(["stream-north", "stream-south", "json-east"]),
    );
    assert_eq!(written, Value::Object(expected));
}

#[test]
fn the_pool_listing_does_not_reveal_who_is_in_an_unvoted_battle() {
    let up = Upstream::start();
    let t = Test::new().with_upstream_models(
        &up,
        &[
            ("saturn", "stream-one"),
            ("neptune", "stream-two"),
            ("jupiter", "json-three"),
        ],
    );
    let battle = t.battle(&["Name three colours"]);
    let id = text(&battle, "battle_id");

    // Before the vote, counts by model would say which two of the three are fighting.
    let counts = |t: &Test| -> Vec<(String, Value)> {
        let list = t
            .arena()
            .args(["models", "--format", "json"])
            .run()
            .success()
            .json();
        list.as_array()
            .expect("a list")
            .iter()
            .map(|m| (text(m, "name").to_owned(), m["battles"].clone()))
            .collect()
    };
    let before_vote = counts(&t);
    assert!(
        before_vote.iter().all(|(_, n)| *n == json!(0)),
        "the pool listing counts an unvoted battle by model: {before_vote:?}"
    );
    for name in ["saturn", "neptune", "jupiter"] {
        let found = t
            .arena()
            .args(["battles", "--model", name, "--format", "json"])
            .run()
            .success()
            .json();
        assert_eq!(
            found,
            json!([]),
            "`battles --model {name}` finds an unvoted battle"
        );
    }

    let reveal = t.vote(id, "tie");
    let fought = [text(&reveal, "model_a"), text(&reveal, "model_b")];
    for (name, n) in counts(&t) {
        let expected = json!(u8::from(fought.contains(&name.as_str())));
        assert_eq!(n, expected, "battles of {name} after the vote");
    }
    let found = t
        .arena()
        .args(["battles", "--model", fought[0], "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found:#}");
}
