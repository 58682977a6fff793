//! The readers on small files of each format.

use super::*;
use crate::battle::VoteFlags;

fn rows(name: &str, text: &str) -> (Vec<ImportRow>, Vec<String>, Skips) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let mut all = Vec::new();
    let mut names = Vec::new();
    let skips = read(&path, InputFormat::Auto, &Mapping::default(), |c| {
        all.extend(c.rows);
        names = c.names;
        Ok(())
    })
    .unwrap();
    (all, names, skips)
}

#[test]
fn the_reasons_a_vote_is_left_out_are_read_from_json_and_csv() {
    let (r, _, skips) = rows(
        "a.jsonl",
        "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": [\"identity_leak\"]}\n\
         {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": \"identity_leak,unequal_chat\"}\n\
         {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": []}\n\
         {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n\
         {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": [\"bribed\"]}\n\
         {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"left_out\": 3}\n",
    );
    let flags: Vec<VoteFlags> = r.iter().map(|r| r.left_out).collect();
    assert_eq!(
        flags,
        [
            VoteFlags::IDENTITY_LEAK,
            VoteFlags::IDENTITY_LEAK.union(VoteFlags::UNEQUAL_CHAT),
            VoteFlags::NONE,
            VoteFlags::NONE,
        ]
    );
    assert_eq!(skips.total(), 2, "{skips:?}");
    let (r, _, skips) = rows(
        "a.csv",
        "model_a,model_b,winner,left_out\nx,y,tie,\nx,y,tie,\"identity_leak,named\"\nx,y,tie,oops\n",
    );
    let flags: Vec<VoteFlags> = r.iter().map(|r| r.left_out).collect();
    assert_eq!(
        flags,
        [
            VoteFlags::NONE,
            VoteFlags::IDENTITY_LEAK.union(VoteFlags::NAMED)
        ]
    );
    assert_eq!(skips.total(), 1, "{skips:?}");
}

#[test]
fn jsonl_with_skips_and_duplicates() {
    let text = r#"{"model_a": "x", "model_b": "y", "winner": "model_a"}
{"model_a": "x", "model_b": "y", "winner": "model_a"}
{"model_a": "x", "model_b": "x", "winner": "tie"}
{"model_a": "x", "model_b": "y", "winner": "nobody"}
not json
{"model_a": "y", "model_b": "z", "winner": "tie (bothbad)", "tstamp": 1700000000.5}
"#;
    let (rows, names, skips) = rows("log.jsonl", text);
    assert_eq!(rows.len(), 3);
    assert_ne!(
        rows[0].key, rows[1].key,
        "identical records are distinct votes"
    );
    assert_eq!(names, vec!["x", "y", "z"]);
    assert_eq!(rows[2].winner, Winner::BothBad);
    assert_eq!(rows[2].tstamp_ms, Some(1_700_000_000_500));
    assert_eq!(skips.total(), 3);
    assert_eq!(skips.reasons["not a JSON object"], (1, 5));
}

#[test]
fn keys_are_stable_across_reads() {
    let text = "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n";
    assert_eq!(
        rows("a.jsonl", text).0[0].key,
        rows("b.jsonl", text).0[0].key
    );
}

#[test]
fn json_array_keeps_conversations() {
    let text = r#"[{"model_a": "x", "model_b": "y", "winner": "model_b", "judge": "u1",
      "conversation_a": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A1"}],
      "conversation_b": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "B1"}]}]"#;
    let (rows, _, _) = rows("log.json", text);
    assert_eq!(rows[0].prompt.as_deref(), Some("Q"));
    assert_eq!(rows[0].response_b.as_deref(), Some("B1"));
    assert_eq!(rows[0].judge.as_deref(), Some("u1"));
}

#[test]
fn csv_needs_its_columns() {
    let (rows, _, _) = rows(
        "log.csv",
        "model_a,model_b,winner,extra\nx,y,tie,1\ny,x,both_bad,2\n",
    );
    assert_eq!(rows.len(), 2);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(&path, "left,right,winner\nx,y,left\n").unwrap();
    let err = read(&path, InputFormat::Auto, &Mapping::default(), |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("needs the columns model_a, model_b and winner"),
        "{err}"
    );
}

#[test]
fn keys_follow_identity_not_content() {
    // Records with an id field: the same vote whatever the layout.
    let jsonl = "{\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie (bothbad)\", \"tstamp\": 1700000000.25}\n";
    let pretty = "[\n  {\n    \"winner\": \"both_bad\",\n    \"tstamp\": 1700000000.25,\n    \"model_a\": \"x\",\n    \"model_b\": \"y\"\n  }\n]";
    let csv = "model_a,model_b,winner,tstamp\nx,y,both_bad,1700000000.25\n";
    let k = rows("a.jsonl", jsonl).0[0].key;
    assert_eq!(rows("b.json", pretty).0[0].key, k);
    assert_eq!(rows("c.csv", csv).0[0].key, k);
    // Fields that only differ in where one ends and the next begins are different votes.
    let one = rows("d.csv", "model_a,model_b,winner,judge\nab,c,model_a,j\n").0[0].key;
    let two = rows("e.csv", "model_a,model_b,winner,judge\na,bc,model_a,j\n").0[0].key;
    assert_ne!(one, two);
    // Without an id, a record is its file and place: the same file gives the same keys,
    // another file with the same row another vote.
    let plain = "model_a,model_b,winner\nx,y,model_a\n";
    let (first, _, skips) = rows("f.csv", plain);
    assert_eq!(first[0].key, rows("g.csv", plain).0[0].key);
    assert_ne!(
        first[0].key,
        rows("h.csv", "model_a,model_b,winner\nx,y,model_a\ny,x,tie\n").0[0].key
    );
    assert_eq!(skips.identities[&Identity::FilePosition], 1);
    // An exported vote_id is the key itself.
    let exported = "{\"vote_id\": \"00000000000000ff\", \"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n";
    assert_eq!(rows("i.jsonl", exported).0[0].key, 255);
}

#[test]
fn columns_and_winner_values_map() {
    let mut m = Mapping::default();
    m.column("model_a=left").unwrap();
    m.column("model_b=right").unwrap();
    m.winner("left=model_a").unwrap();
    m.winner("right=model_b").unwrap();
    assert!(
        m.column("modle_a=x")
            .unwrap_err()
            .to_string()
            .contains("model_a")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e.csv");
    std::fs::write(&path, "left,right,winner\nP,S,left\nB,P,right\nS,B,tie\n").unwrap();
    let mut all = Vec::new();
    read(&path, InputFormat::Auto, &m, |c| {
        all.extend(c.rows);
        Ok(())
    })
    .unwrap();
    let winners: Vec<Winner> = all.iter().map(|r| r.winner).collect();
    assert_eq!(winners, [Winner::ModelA, Winner::ModelB, Winner::Tie]);
    let json = dir.path().join("e.jsonl");
    std::fs::write(
        &json,
        "{\"left\": \"P\", \"right\": \"S\", \"winner\": \"right\"}\n",
    )
    .unwrap();
    let mut all = Vec::new();
    read(&json, InputFormat::Auto, &m, |c| {
        all.extend(c.rows);
        Ok(())
    })
    .unwrap();
    assert_eq!(all[0].winner, Winner::ModelB);
}

#[test]
fn json_arrays_stream_record_by_record() {
    let text = "\u{feff}[ {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"s\": \"a ] } \\\" [\"},\n 5, \"str\", {\"model_a\": \"y\", \"model_b\": \"z\", \"winner\": \"model_a\", \"n\": [1, {\"k\": []}]} ]\n";
    let (rows, _, skips) = rows("s.json", text);
    assert_eq!(rows.len(), 2, "{skips:?}");
    assert_eq!(skips.total(), 2);
    let dir = tempfile::tempdir().unwrap();
    for (text, want) in [
        ("[{\"model_a\": \"x\"}", "not closed"),
        ("{}", "does not start"),
        ("[{} {}]", "missing comma"),
        ("[] x", "after the closing"),
    ] {
        let path = dir.path().join("bad.json");
        std::fs::write(&path, text).unwrap();
        let err = read(&path, InputFormat::Json, &Mapping::default(), |_| Ok(()))
            .unwrap_err()
            .to_string();
        assert!(err.contains(want), "{text}: {err}");
    }
}

#[test]
fn skip_reasons_name_the_problem() {
    let text = "\u{feff}{\"model_a\": \"x\", \"model_b\": 5, \"winner\": \"tie\"}\n\
                {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\", \"tstamp\": 1700000000000}\n\
                {\"model_a\": \"x\", \"model_b\": \"y\", \"winner\": \"tie\"}\n";
    let (rows, _, skips) = rows("bom.log", text);
    assert_eq!(rows.len(), 1);
    assert_eq!(skips.unit, "line");
    assert!(
        skips
            .reasons
            .keys()
            .any(|r| r.starts_with("a field has the wrong type")),
        "{skips:?}"
    );
    assert!(
        skips
            .reasons
            .keys()
            .any(|r| r.starts_with("tstamp is not a Unix time")),
        "{skips:?}"
    );
    assert_eq!(
        detect(Path::new("x"), b"\xEF\xBB\xBF[{}]"),
        InputFormat::Json
    );
}

#[test]
fn csv_rows_keep_their_categories_and_skip_bad_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.csv");
    let mut text = b"model_a,model_b,winner,tstamp,judge,language,category_tag,is_code\n\
                     x,y,tie,,j1,French,math,1\n\
                     x,y,tie,soon,j2,,,\n\
                     x,y,tie,,"
        .to_vec();
    text.extend_from_slice(b"\xff\xfe,,,\n");
    std::fs::write(&path, text).unwrap();
    let mut all = Vec::new();
    let skips = read(&path, InputFormat::Auto, &Mapping::default(), |c| {
        all.extend(c.rows);
        Ok(())
    })
    .unwrap();
    assert_eq!(all.len(), 1, "{skips:?}");
    assert_eq!(all[0].judge.as_deref(), Some("j1"));
    assert_eq!(
        all[0].style.categories,
        ["coding", "language:French", "math"]
    );
    assert_eq!(skips.reasons["tstamp is not a number"], (1, 3));
    assert_eq!(skips.reasons["a field is not valid UTF-8"], (1, 4));
}
