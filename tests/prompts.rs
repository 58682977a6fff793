//! `arena prompts`: adding, listing, importing and removing prompts of the pool.

use serde_json::{Value, json};

use crate::support::Test;

fn pool(t: &Test) -> Value {
    t.arena()
        .args(["prompts", "list", "--format", "json"])
        .run()
        .success()
        .json()
}

#[test]
fn add_list_and_remove() {
    let t = Test::new();
    t.arena()
        .args([
            "prompts",
            "add",
            "Write a poem about rain",
            "--id",
            "poetry_rain",
        ])
        .run()
        .success()
        .stdout_contains("poetry_rain");
    assert_eq!(
        pool(&t),
        json!([{"id": "poetry_rain", "text": "Write a poem about rain", "theme": "poetry"}])
    );

    // The same text again is a conflict, and the pool is unchanged.
    t.arena()
        .args(["prompts", "add", "Write a poem about rain"])
        .run()
        .code(4);
    assert_eq!(pool(&t).as_array().map(Vec::len), Some(1));

    t.arena()
        .args(["prompts", "remove", "poetry_rain"])
        .run()
        .success();
    assert_eq!(pool(&t), json!([]));
    t.arena()
        .args(["prompts", "remove", "poetry_rain"])
        .run()
        .code(2)
        .stderr_contains("poetry_rain");
}

#[test]
fn an_empty_prompt_is_not_added() {
    let t = Test::new();
    t.arena()
        .args(["prompts", "add", "  "])
        .run()
        .code(2)
        .stderr_contains("empty");
    assert!(!t.db().exists(), "a refused prompt created the database");
}

#[test]
fn import_takes_themes_from_ids_and_is_idempotent() {
    let t = Test::new();
    t.write(
        "set.json",
        r#"{"prompts": {"poetry_spring": "Write a poem about spring", "misc": "Explain rainbows"}}"#,
    );
    t.arena()
        .args(["prompts", "import", "set.json"])
        .run()
        .success()
        .stdout_contains("imported 2");
    let mut listed: Vec<(String, String)> = pool(&t)
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or_default().to_owned(),
                p["theme"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("misc".to_owned(), "general".to_owned()),
            ("poetry_spring".to_owned(), "poetry".to_owned()),
        ]
    );

    t.arena()
        .args(["prompts", "import", "set.json"])
        .run()
        .success()
        .stdout_contains("imported 0");
    assert_eq!(pool(&t).as_array().map(Vec::len), Some(2));

    t.write("lines.jsonl", "{\"id\": \"code_sort\", \"text\": \"Sort a list in Rust\"}\n{\"text\": \"Name a colour\", \"theme\": \"easy\"}\n");
    t.arena()
        .args(["prompts", "import", "lines.jsonl"])
        .run()
        .success()
        .stdout_contains("imported 2");
    let themes: Vec<Value> = pool(&t)
        .as_array()
        .expect("a list")
        .iter()
        .map(|p| p["theme"].clone())
        .collect();
    assert!(themes.contains(&json!("code")), "{themes:?}");
    assert!(themes.contains(&json!("easy")), "{themes:?}");
}

#[test]
fn a_malformed_prompt_set_is_located_and_adds_nothing() {
    let t = Test::new();
    t.write(
        "broken.json",
        "[\n  {\"id\": \"a\", \"text\": \"One\"},\n  {\"id\": \"b\", \"txt\": \"Two\"}\n]\n",
    );
    t.arena()
        .args(["prompts", "import", "broken.json"])
        .run()
        .code(2)
        .stderr_contains("broken.json:3:");
    assert!(
        !t.db().exists(),
        "a refused prompt set created the database"
    );
    t.create_db();
    assert_eq!(pool(&t), json!([]));
}
