//! Style-controlled boards and boards by category, end to end: features and categories kept
//! at the vote and at import, `arena leaderboard --style-control` against `arena-rank`'s
//! reference, the same board over HTTP, filters by category and `arena rebuild` filling the
//! votes of older battles.

use serde_json::{Value, json};

use crate::support::server::{Server, json as body_json};
use crate::support::{Cmd, Test, kept_style, text, vote_style};

/// The `arena_rank_default_tight` run of the reference file beside the synthetic votes.
fn reference() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/style/synth_style_small_reference.json.gz"
    );
    let file = std::fs::File::open(path).expect("reference file");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(file), &mut text)
        .expect("gzip");
    let all: Value = serde_json::from_str(&text).expect("reference JSON");
    all["runs"]["arena_rank_default_tight"].clone()
}

fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The board rows by model name.
fn rows(board: &Value) -> std::collections::BTreeMap<String, Value> {
    board["leaderboard"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| (text(r, "model_name").to_owned(), r.clone()))
        .collect()
}

/// `arena leaderboard --style-control --bootstrap 0 --format json` with `extra` flags.
fn style_board(t: &Test, extra: &[&str]) -> Value {
    style_board_by(t.arena(), extra)
}

/// [`style_board`] by `arena`, a command on another database.
fn style_board_by(arena: Cmd<'_>, extra: &[&str]) -> Value {
    arena
        .args([
            "leaderboard",
            "--style-control",
            "--bootstrap",
            "0",
            "--format",
            "json",
        ])
        .args(extra)
        .run()
        .success()
        .json()
}

/// Checks a style-controlled board of the synthetic votes against `arena-rank`.
fn assert_matches_arena_rank(board: &Value) {
    let run = reference();
    let ours = rows(board);
    for r in run["table"].as_array().expect("table") {
        let row = &ours[text(r, "model")];
        for (mine, theirs) in [
            ("rating", "rating"),
            ("rating_lower", "lower"),
            ("rating_upper", "upper"),
        ] {
            let gap = (number(&row[mine]) - number(&r[theirs])).abs();
            assert!(gap < 0.01, "{mine} of {}: off by {gap}", text(r, "model"));
        }
    }
    // The reference's order: tokens, headers, bold, lists.
    let coefficients = &board["style"]["coefficients"];
    for (name, theirs) in ["tokens", "headers", "bold", "lists"]
        .iter()
        .zip(run["coeffs"].as_array().expect("coeffs"))
    {
        let gap = (number(&coefficients[*name]) - number(theirs)).abs();
        assert!(gap < 1e-4, "coefficient {name}: off by {gap}");
    }
    assert_eq!(board["style"]["variant"], "arena-rank");
    assert_eq!(board["style"]["votes_without_features"], 0);
    assert_eq!(board["params"]["style_control"], "arena-rank");
    for row in board["leaderboard"].as_array().expect("rows") {
        assert!(
            row["rank_plain"].is_u64() && row["rank_change"].is_i64(),
            "{row}"
        );
    }
}

#[test]
fn style_control_from_imported_counts_matches_arena_rank() {
    let t = Test::new();
    let csv = t.fixture("style/synth_style_small.csv");
    t.arena().arg("import").arg(&csv).run().success();
    let board = style_board(&t, &[]);
    assert_matches_arena_rank(&board);
    // The table shows the coefficients and the rank change.
    t.arena()
        .args(["leaderboard", "--style-control", "--bootstrap", "0"])
        .run()
        .success()
        .stdout_contains("rank change")
        .stderr_contains("coefficients");
    // Without style control the board has neither.
    let plain = t
        .arena()
        .args(["leaderboard", "--bootstrap", "0", "--format", "json"])
        .run()
        .success()
        .json();
    assert!(plain.get("style").is_none(), "{plain:#}");
    // Style control is Bradley-Terry's.
    t.arena()
        .args(["leaderboard", "--style-control", "--method", "elo"])
        .run()
        .code(2)
        .stderr_contains("--method bt");
}

/// The synthetic votes as JSON Lines records in the shape of LMArena's 140k release, with
/// the counts nested in `conv_metadata` (all of a kind under its first key).
fn conv_metadata_jsonl(csv: &str) -> String {
    let mut out = String::new();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    for line in lines {
        let cells: std::collections::HashMap<&str, &str> =
            header.iter().copied().zip(line.split(',')).collect();
        let n = |k: &str| cells[k].parse::<u64>().expect("a count");
        let meta = json!({
            "sum_user_tokens": 12,
            "sum_assistant_a_tokens": n("sum_assistant_a_tokens"),
            "sum_assistant_b_tokens": n("sum_assistant_b_tokens"),
            "header_count_a": {"h1": n("header_count_a"), "h2": 0, "h3": 0, "h4": 0, "h5": 0, "h6": 0},
            "header_count_b": {"h1": 0, "h2": n("header_count_b"), "h3": 0, "h4": 0, "h5": 0, "h6": 0},
            "list_count_a": {"ordered": n("list_count_a"), "unordered": 0},
            "list_count_b": {"ordered": 0, "unordered": n("list_count_b")},
            "bold_count_a": {"**": n("bold_count_a"), "__": 0},
            "bold_count_b": {"**": 0, "__": n("bold_count_b")},
        });
        let record = json!({
            "model_a": cells["model_a"], "model_b": cells["model_b"], "winner": cells["winner"],
            "conv_metadata": meta, "language": "English",
        });
        out.push_str(&record.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn conv_metadata_brings_the_features_of_imported_votes() {
    let t = Test::new();
    let csv = std::fs::read_to_string(t.fixture("style/synth_style_small.csv")).expect("csv");
    t.write("battles.jsonl", &conv_metadata_jsonl(&csv));
    t.arena()
        .arg("import")
        .arg(t.path("battles.jsonl"))
        .run()
        .success();
    let board = style_board(&t, &[]);
    assert_matches_arena_rank(&board);
    // The imported language is kept as it is, as a category of every vote.
    let lines = t
        .arena()
        .args(["leaderboard", "--categories", "--format", "json"])
        .run()
        .success()
        .json();
    assert_eq!(lines[0]["category"], "language:English", "{lines:#}");
    assert_eq!(lines[0]["votes"], 1500);
    assert_eq!(lines[0]["rank_change"], 0);
}

#[test]
fn category_filters_take_the_votes_of_their_categories() {
    let t = Test::new();
    let log = t.fixture("categories/battles.jsonl");
    t.arena().arg("import").arg(&log).run().success();
    let board = |args: &[&str]| {
        t.arena()
            .args(["leaderboard", "--bootstrap", "0", "--format", "json"])
            .args(args)
            .run()
            .success()
            .json()
    };
    // Coding: the Python question, alpha wins 6 of 8.
    let coding = board(&["--category", "coding"]);
    assert_eq!(coding["votes"], 8);
    assert_eq!(coding["leaderboard"][0]["model_name"], "alpha");
    // Everything else: beta wins the poems and the French battles.
    let rest = board(&["--exclude-category", "coding"]);
    assert_eq!(rest["votes"], 12);
    assert_eq!(rest["leaderboard"][0]["model_name"], "beta");
    // Both named: votes in every one.
    let both = board(&[
        "--category",
        "creative_writing",
        "--category",
        "language:French",
    ]);
    assert_eq!(both["votes"], 4);
    let none = board(&["--category", "coding", "--category", "language:French"]);
    assert_eq!(none["votes"], 0);
    // Style control within a category.
    let styled = board(&["--category", "coding", "--style-control"]);
    assert_eq!(styled["votes"], 8);
    assert!(styled["style"]["coefficients"]["tokens"].is_f64());
    // stats matrix takes the same filters.
    let matrix = t
        .arena()
        .args([
            "stats",
            "matrix",
            "--category",
            "coding",
            "--format",
            "json",
        ])
        .run()
        .success()
        .json();
    assert_eq!(
        matrix["match_count_matrix"]["alpha"]["beta"], 8,
        "{matrix:#}"
    );
    // One line per category.
    let lines = t
        .arena()
        .args(["leaderboard", "--categories", "--format", "json"])
        .run()
        .success()
        .json();
    let line = |name: &str| {
        lines
            .as_array()
            .expect("lines")
            .iter()
            .find(|l| l["category"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name}: {lines:#}"))
    };
    assert_eq!(line("coding")["votes"], 8);
    assert_eq!(line("coding")["top_model"], "alpha");
    // Overall, beta is first and alpha second: alpha gains one place in coding.
    assert_eq!(line("coding")["top_model_overall_rank"], 2);
    assert_eq!(line("coding")["rank_change"], 1);
    assert_eq!(line("creative_writing")["votes"], 4);
    assert_eq!(line("language:French")["top_model"], "beta");
    // An unknown category is an input error naming the known ones.
    t.arena()
        .args(["leaderboard", "--category", "codign"])
        .run()
        .code(2)
        .stderr_contains("unknown category `codign` (did you mean `coding`?)");
}

#[test]
fn stats_prompts_takes_the_category_filters() {
    let t = Test::new();
    let log = t.fixture("categories/battles.jsonl");
    t.arena().arg("import").arg(&log).run().success();
    let prompts = |args: &[&str]| {
        let s = t
            .arena()
            .args(["stats", "prompts", "--format", "json"])
            .args(args)
            .run()
            .success()
            .json();
        s["prompt_statistics"]
            .as_array()
            .expect("prompts")
            .iter()
            .map(|p| {
                (
                    p["prompt"].as_str().unwrap_or("").to_owned(),
                    p["total_battles"].clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(prompts(&[]).len(), 3, "{:?}", prompts(&[]));
    // Coding: the Python question alone, with its 8 battles.
    let coding = prompts(&["--category", "coding"]);
    assert_eq!(coding.len(), 1, "{coding:?}");
    assert!(coding[0].0.contains("python"), "{coding:?}");
    assert_eq!(coding[0].1, 8);
    // Without coding: the poem and the French prompt.
    let rest = prompts(&["--exclude-category", "coding"]);
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert!(rest.iter().all(|(p, _)| !p.contains("python")), "{rest:?}");
    let french = prompts(&["--category", "language:French"]);
    assert_eq!(french.len(), 1, "{french:?}");
    assert_eq!(french[0].1, 4);
    t.arena()
        .args(["stats", "prompts", "--category", "codign"])
        .run()
        .code(2)
        .stderr_contains("unknown category `codign`");
}

#[test]
fn style_control_over_http_is_the_board_of_the_command_line() {
    let s = Server::start(&json!({}), &json!(["m-1", "m-2"]));
    let t = Test::new();
    let csv = t.fixture("style/synth_style_small.csv");
    t.arena().db(s.db()).arg("import").arg(&csv).run().success();
    let cli = style_board_by(t.arena().db(s.db()), &[]);
    let (status, body) = s.get("/leaderboard?style_control=true&bootstrap=0");
    assert_eq!(status, 200, "{body}");
    let http = body_json(&body);
    assert_eq!(http["leaderboard"], cli["leaderboard"]);
    assert_eq!(http["style"], cli["style"]);
    assert_matches_arena_rank(&http);
    // The page's board answers the same.
    let (_, page) = s.get("/api/leaderboard?style_control=arena-rank&bootstrap=0");
    assert_eq!(body_json(&page)["style"], cli["style"]);
    // FastChat's variant is another board.
    let (status, body) = s.get("/leaderboard?style_control=fastchat&bootstrap=0");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body_json(&body)["style"]["variant"], "fastchat");
    // Without the new parameters, the reference shape is kept.
    let (_, plain) = s.get("/leaderboard");
    assert!(
        body_json(&plain)["leaderboard"][0]["tier"].is_string(),
        "{plain}"
    );
    // Bad parameters are 400s that say what is wrong.
    for (query, words) in [
        ("style_control=maybe", "style_control"),
        ("style_control=true&method=elo", "method=bt"),
        ("category=nope", "unknown category `nope`"),
    ] {
        let (status, body) = s.get(&format!("/leaderboard?{query}"));
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(words), "{query}: {body}");
    }
}

#[test]
fn a_vote_keeps_its_features_and_rebuild_fills_older_ones() {
    let t = Test::new();
    let battle = t.battle(&["Write a short poem about the sea and its waves, please."]);
    t.vote(text(&battle, "battle_id"), "a");
    let styled = |t: &Test| style_board(t, &[]);
    // Kept when the vote completed the battle.
    assert_eq!(styled(&t)["style"]["votes_without_features"], 0);
    assert_eq!(styled(&t)["votes"], 1);
    // As a vote recorded before features were kept.
    {
        let conn = rusqlite::Connection::open(t.db()).expect("open");
        conn.execute_batch("UPDATE votes SET style = NULL; DELETE FROM vote_categories;")
            .expect("forget");
    }
    let before = styled(&t);
    assert_eq!(before["style"]["votes_without_features"], 1);
    assert_eq!(before["votes"], 0);
    t.arena()
        .arg("rebuild")
        .run()
        .success()
        .stderr_contains("computed the style features and categories of 1 earlier vote(s)");
    let after = styled(&t);
    assert_eq!(after["style"]["votes_without_features"], 0);
    assert_eq!(after["votes"], 1);
    t.arena()
        .args(["leaderboard", "--categories", "--format", "json"])
        .run()
        .success()
        .stdout_contains("language:");
    // Nothing left to fill the second time.
    t.arena()
        .arg("rebuild")
        .run()
        .success()
        .stderr_contains("every vote on a battle has its style features");
}

#[test]
fn a_battles_style_is_counted_when_its_answers_come_in_and_its_vote_keeps_it() {
    let t = Test::new();
    let battle = t.battle(&["Write a short poem about the sea and its waves, please."]);
    // Counted by the process that generated the answers, before any vote.
    let (turn, features) = kept_style(&t.db()).expect("a style kept on the battle");
    assert_eq!(turn, 0);
    assert_eq!(features.len(), 8);
    assert!(features[0] > 0 && features[4] > 0, "{features:?}");
    // The vote, another process, keeps the same.
    t.vote(text(&battle, "battle_id"), "b");
    assert_eq!(vote_style(&t.db()), features);
}

/// A style-controlled board reads whole blocks of votes from their packs: the same board,
/// to the last digit, as from the votes row by row, with votes left out, votes without
/// features and votes after the last whole block; and packs are made where votes are
/// written (an import, `arena rebuild`, a vote).
#[test]
fn packed_votes_give_the_board_of_the_votes_row_by_row() {
    let t = Test::new();
    // The 1,500 synthetic votes twelve times over: two whole blocks of 8,192 ids and a tail.
    let fixture = std::fs::read_to_string(t.fixture("style/synth_style_small.csv")).expect("csv");
    let (head, body) = fixture.split_once('\n').expect("header");
    let csv = format!("{head}\n{}", body.repeat(12));
    t.write("votes.csv", &csv);
    t.arena()
        .arg("import")
        .arg(t.path("votes.csv"))
        .run()
        .success();
    let sql = |statements: &str| {
        let conn = rusqlite::Connection::open(t.db()).expect("open");
        conn.execute_batch(statements).expect("sql");
    };
    let packs_in = |db: &std::path::Path| -> i64 {
        let conn = rusqlite::Connection::open(db).expect("open");
        conn.query_row("SELECT count(*) FROM style_packs", [], |r| r.get(0))
            .expect("packs")
    };
    let packs = || packs_in(&t.db());
    assert_eq!(packs(), 2, "an import packs its whole blocks");
    // Some votes left out (an answer named a model), some without features, none in the
    // first block (packed without room for them): packed again by `arena rebuild`, which
    // packs what has no pack.
    sql("UPDATE votes SET flags = 1 WHERE id % 7 = 0;
         UPDATE votes SET style = NULL WHERE id % 5 = 0 OR id <= 8192;
         DELETE FROM style_packs;");
    t.arena().arg("rebuild").run().success();
    assert_eq!(packs(), 2, "rebuild packs the blocks without a pack");
    let board = |extra: &[&str]| {
        let mut board = style_board(&t, extra);
        board.as_object_mut().expect("board").remove("generated_at");
        board
    };
    let counted = board(&[]);
    let admitted = board(&["--include-identity-leaks"]);
    let styled_counted: i64 = rusqlite::Connection::open(t.db())
        .expect("open")
        .query_row(
            "SELECT count(*) FROM votes WHERE flags = 0 AND style IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(counted["votes"], styled_counted);
    assert!(styled_counted < 18_000 - 8_192);
    assert_ne!(counted, admitted);
    assert!(number(&counted["style"]["votes_without_features"]) > 0.0);
    sql("DELETE FROM style_packs;");
    assert_eq!(board(&[]), counted);
    assert_eq!(board(&["--include-identity-leaks"]), admitted);
    // A copy to another file (its votes inserted with their ids) is packed as it ends.
    let copy = t.path("copy.sqlite3");
    t.arena()
        .without_db_flag()
        .args(["migrate", "--from"])
        .arg(t.db())
        .arg("--to")
        .arg(&copy)
        .run()
        .success();
    assert_eq!(packs_in(&copy), 2, "a copy packs its whole blocks");
    let mut copied = style_board_by(t.arena().db(&copy), &[]);
    copied
        .as_object_mut()
        .expect("board")
        .remove("generated_at");
    assert_eq!(copied, counted);
    // The packs are what is read: outcomes changed behind their back (which nothing but
    // this test does) show only once they are gone.
    t.arena().arg("rebuild").run().success();
    sql("UPDATE votes SET outcome = 0 WHERE id > 8192 AND id <= 11192;");
    assert_eq!(board(&[]), counted);
    sql("DELETE FROM style_packs;");
    assert_ne!(board(&[]), counted);

    // A vote packs the next block without a pack, one a vote.
    let battle = t.battle(&["Write a short poem about the sea and its waves, please."]);
    t.vote(text(&battle, "battle_id"), "a");
    assert_eq!(packs(), 1);
}
