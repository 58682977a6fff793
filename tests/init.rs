//! `arena init`: the templates it writes load cleanly, and it never overwrites silently.

use crate::support::Test;

#[test]
fn init_writes_templates_that_load() {
    let t = Test::new();
    let out = t.arena().args(["init", "--dir", "conf"]).run().success();
    let config = t.path("conf/config.jsonc");
    let models = t.path("conf/models.json");
    // The database is made too; the key that hashes user ids is its own, not in the file.
    out.stdout_contains("config.jsonc")
        .stdout_contains("models.json")
        .stdout_contains("arena.sqlite3");
    assert!(t.db().is_file());
    let written = std::fs::read_to_string(&config).expect("config.jsonc written");
    assert!(
        written.contains("\"user_id_salt\": \"\""),
        "init writes a salt into the config:\n{written}"
    );

    // The written pair is accepted as it is.
    t.arena()
        .config_file("conf/config.jsonc")
        .models_file("conf/models.json")
        .args(["models"])
        .run()
        .success();
    assert!(models.is_file());
}

#[test]
fn init_refuses_to_overwrite_without_force() {
    let t = Test::new();
    t.arena().args(["init", "--dir", "conf"]).run().success();
    t.write("conf/config.jsonc", "// mine\n{}\n");
    t.arena()
        .args(["init", "--dir", "conf"])
        .run()
        .code(4)
        .stderr_contains("--force");
    let kept = std::fs::read_to_string(t.path("conf/config.jsonc")).expect("config");
    assert_eq!(kept, "// mine\n{}\n");
    t.arena()
        .args(["init", "--dir", "conf", "--force"])
        .run()
        .success();
    let replaced = std::fs::read_to_string(t.path("conf/config.jsonc")).expect("config");
    assert_ne!(replaced, "// mine\n{}\n");
}

#[test]
fn init_defaults_to_the_config_directory() {
    let t = Test::new();
    t.arena().args(["init"]).run().success();
    // The harness points XDG_CONFIG_HOME into the temporary directory.
    assert!(t.path("home/config/arena/config.jsonc").is_file());
    assert!(t.path("home/config/arena/models.json").is_file());
}
