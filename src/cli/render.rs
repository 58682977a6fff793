//! Rendering for people and scripts: answers side by side, the reveal, tables, JSON, CSV and
//! Markdown.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use console::{Alignment, Style, pad_str};
use serde::Serialize;

use super::Format;
use crate::battle::{BattleView, Reveal};

pub use crate::util::terminal_safe;

/// Columns below which answers are shown one after the other.
const SIDE_BY_SIDE_MIN: usize = 100;

/// The terminal's width, or 80 when stdout is not a terminal.
pub fn terminal_width() -> usize {
    let term = console::Term::stdout();
    if term.is_term() {
        usize::from(term.size().1)
    } else {
        80
    }
}

/// Prints a value as JSON (`json`: pretty; `jsonl`: one line).
pub fn print_json<T: Serialize>(value: &T, format: Format) -> anyhow::Result<()> {
    let text = if format == Format::Jsonl {
        serde_json::to_string(value)?
    } else {
        serde_json::to_string_pretty(value)?
    };
    super::emit(None, &(text + "\n"))
}

/// A list of records in the chosen format: a JSON array (`json`), one JSON record a line
/// (`jsonl`), CSV with one record a line under the records' JSON field names (`csv`, see
/// [`csv_records`]), or `header` and the `human` rows for people (`table`, `markdown`).
/// Machine formats carry whole values; the human rows are built only when asked for.
pub fn data<T: Serialize>(
    format: Format,
    records: &[T],
    fields: &[&str],
    header: &[&str],
    human: impl FnOnce() -> Vec<Vec<String>>,
) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&records, format),
        Format::Jsonl => json_lines(records),
        Format::Csv => super::emit(None, &csv_records(fields, records)?),
        f => super::emit(None, &table(f, header, &human())),
    }
}

/// Each record as one line of JSON.
pub fn json_lines<T: Serialize>(records: &[T]) -> anyhow::Result<()> {
    let mut text = String::new();
    for record in records {
        text.push_str(&serde_json::to_string(record)?);
        text.push('\n');
    }
    super::emit(None, &text)
}

/// Records as CSV, one a line: the columns are their JSON fields, `fields` first in that
/// order (the header of an empty list), then any other field in the order first met. A cell
/// holds the whole value: text as it is (see [`csv_cell`]), numbers as JSON writes them,
/// `true`/`false`, nothing for null, and lists or objects as their JSON text.
pub fn csv_records<T: Serialize>(fields: &[&str], records: &[T]) -> anyhow::Result<String> {
    let objects: Vec<serde_json::Map<String, serde_json::Value>> = records
        .iter()
        .map(|r| match serde_json::to_value(r)? {
            serde_json::Value::Object(o) => Ok(o),
            other => Err(anyhow::anyhow!("a CSV record is not an object: {other}")),
        })
        .collect::<anyhow::Result<_>>()?;
    let mut columns: Vec<String> = fields.iter().map(|&f| f.to_owned()).collect();
    for o in &objects {
        for key in o.keys() {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let header: Vec<&str> = columns.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = objects
        .iter()
        .map(|o| {
            columns
                .iter()
                .map(|c| match o.get(c) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                })
                .collect()
        })
        .collect();
    Ok(table(Format::Csv, &header, &rows))
}

/// Both answers: side by side when `width` allows, else one after the other, wrapped.
pub fn answers(view: &BattleView, width: usize) -> String {
    // Answers come from outside: they never reach the terminal as they are.
    let a = terminal_safe(view.response_a.as_deref().unwrap_or("(no answer)"));
    let b = terminal_safe(view.response_b.as_deref().unwrap_or("(no answer)"));
    let (a, b) = (a.as_str(), b.as_str());
    let head = Style::new().bold();
    let mut out = String::new();
    let question = textwrap::fill(&terminal_safe(&view.prompt), width.clamp(20, 200));
    out.push_str(&format!("{}\n{question}\n\n", head.apply_to("Question")));
    if width >= SIDE_BY_SIDE_MIN {
        let col = (width - 3) / 2;
        let left = textwrap::wrap(a, col);
        let right = textwrap::wrap(b, col);
        out.push_str(&format!(
            "{} │ {}\n",
            pad_str(
                &head.apply_to("Assistant A").to_string(),
                col,
                Alignment::Left,
                None
            ),
            head.apply_to("Assistant B")
        ));
        out.push_str(&format!("{}─┼─{}\n", "─".repeat(col), "─".repeat(col)));
        for i in 0..left.len().max(right.len()) {
            let l = left.get(i).map_or("", |s| s.as_ref());
            let r = right.get(i).map_or("", |s| s.as_ref());
            out.push_str(&format!(
                "{} │ {}\n",
                pad_str(l, col, Alignment::Left, None),
                r
            ));
        }
    } else {
        let w = width.max(20);
        for (label, text) in [("Assistant A", a), ("Assistant B", b)] {
            out.push_str(&format!(
                "{}\n{}\n\n",
                head.apply_to(label),
                textwrap::fill(text, w)
            ));
        }
    }
    out
}

/// The reveal: both models with their rating change, then the outcome.
pub fn reveal(r: &Reveal) -> String {
    let (label_a, label_b) = (terminal_safe(&r.label_a), terminal_safe(&r.label_b));
    let name_width = label_a.chars().count().max(label_b.chars().count());
    let line = |side: &str, label: &str, before: f64, after: f64| {
        let delta = after - before;
        let style = if delta > 0.0 {
            Style::new().green()
        } else if delta < 0.0 {
            Style::new().red()
        } else {
            Style::new().dim()
        };
        format!(
            "{side}: {}  Elo {before:7.1} → {after:7.1}  ({})\n",
            pad_str(label, name_width, Alignment::Left, None),
            style.apply_to(format!("{delta:+.1}"))
        )
    };
    let mut out = String::new();
    out.push_str(&line(
        "Assistant A",
        &label_a,
        r.elo.model_a.rating_before,
        r.elo.model_a.rating_after,
    ));
    out.push_str(&line(
        "Assistant B",
        &label_b,
        r.elo.model_b.rating_before,
        r.elo.model_b.rating_after,
    ));
    out.push_str(&format!(
        "Result: {} (battle {})\n",
        Style::new()
            .bold()
            .apply_to(terminal_safe(&r.outcome_text())),
        r.battle_id
    ));
    if let Some(text) = r.left_out_text() {
        out.push_str(&format!("{}\n", terminal_safe(&text)));
    }
    out
}

/// The CSV columns of a battle, under its JSON field names (`battles` and `export battles`).
pub const BATTLE_CSV_HEADER: [&str; 12] = [
    "battle_id",
    "created_at",
    "status",
    "prompt",
    "prompt_theme",
    "response_a",
    "response_b",
    "model_a",
    "model_b",
    "winner",
    "error",
    "left_out",
];

/// One battle as a CSV row of [`BATTLE_CSV_HEADER`], each cell as [`csv_cell`] makes it.
pub fn battle_csv_row(b: &BattleView) -> Vec<String> {
    let row = vec![
        b.battle_id.clone(),
        b.created_at.clone(),
        b.status.to_string(),
        b.prompt.clone(),
        b.prompt_theme.clone(),
        b.response_a.clone().unwrap_or_default(),
        b.response_b.clone().unwrap_or_default(),
        b.model_a.clone().unwrap_or_default(),
        b.model_b.clone().unwrap_or_default(),
        b.winner.map(|w| w.as_str().to_owned()).unwrap_or_default(),
        b.error.clone().unwrap_or_default(),
        b.left_out.names().join(","),
    ];
    row.iter().map(|c| csv_cell(c)).collect()
}

/// A table of `header` and `rows` in the chosen text format (`table`, `csv` or `markdown`).
pub fn table(format: Format, header: &[&str], rows: &[Vec<String>]) -> String {
    match format {
        Format::Csv => {
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .flexible(true)
                .from_writer(Vec::new());
            // Writing to memory fails on no record of cells, and every cell is UTF-8 text.
            let lines = std::iter::once(header.iter().map(|c| csv_cell(c)).collect::<Vec<_>>())
                .chain(rows.iter().map(|r| r.iter().map(|c| csv_cell(c)).collect()));
            for line in lines {
                let _ = w.write_record(&line);
            }
            String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
        }
        Format::Markdown => {
            let escape = |s: &str| terminal_safe(s).replace('|', "\\|").replace('\n', " ");
            let mut out = format!("| {} |\n", header.join(" | "));
            out.push_str(&format!(
                "|{}\n",
                header.iter().map(|_| " --- |").collect::<String>()
            ));
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
                out.push_str(&format!("| {} |\n", cells.join(" | ")));
            }
            out
        }
        Format::Table | Format::Json | Format::Jsonl => {
            let mut t = Table::new();
            t.load_style(UTF8_FULL_CONDENSED)
                .set_header(header.to_vec());
            // Fit a terminal; when piped, never wrap cells.
            if console::Term::stdout().is_term() {
                let width = u16::try_from(terminal_width().max(40)).unwrap_or(u16::MAX);
                t.set_content_arrangement(ContentArrangement::Dynamic)
                    .set_width(width);
            }
            for row in rows {
                t.add_row(
                    row.iter()
                        .map(|cell| terminal_safe(cell))
                        .collect::<Vec<_>>(),
                );
            }
            format!("{t}\n")
        }
    }
}

/// A cell as CSV output carries it: text from outside loses escape sequences and control
/// characters (newlines stay), and a cell a spreadsheet would run as a formula (`=`, `+`,
/// `-`, `@` first, and not a number) is prefixed with `'`, so opening the file runs nothing.
#[must_use]
pub fn csv_cell(cell: &str) -> String {
    let clean: String = cell
        .split('\n')
        .map(|line| terminal_safe(line.trim_end_matches('\r')))
        .collect::<Vec<_>>()
        .join("\n");
    let formula = clean.starts_with(['=', '+', '-', '@']) && clean.parse::<f64>().is_err();
    if formula { format!("'{clean}") } else { clean }
}
