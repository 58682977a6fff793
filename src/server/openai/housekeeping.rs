//! A chat client's housekeeping sent to the battle model: Open WebUI asks the model of the
//! chat for a title, tags, follow-up suggestions, search queries, an emoji or an
//! autocompletion, each with a task prompt of its own (`### Task:` ...). Such a request is
//! no battle: the utility model answers it when there is one, else a short fixed answer in
//! the JSON shape the task asks for.
//!
//! A task is told by its instructions alone, never by the chat history it quotes (a tags
//! task whose history says "title" is still a tags task).

use axum::response::Response;

use super::proxy::{Asked, proxy};
use super::stream::text_reply;
use crate::server::AppState;

/// What a housekeeping task asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Task {
    Title,
    Tags,
    FollowUps,
    Queries,
    Emoji,
    Autocomplete,
    ImagePrompt,
    /// A task of a shape not known here.
    Other,
}

impl Task {
    /// The fixed answer, in the shape the task asks for: nothing to suggest, search or
    /// complete, a neutral title and tag.
    fn answer(self) -> &'static str {
        match self {
            Task::Title => r#"{"title": "Arena battle"}"#,
            Task::Tags => r#"{"tags": ["arena"]}"#,
            Task::FollowUps => r#"{"follow_ups": []}"#,
            Task::Queries => r#"{"queries": []}"#,
            Task::Emoji => "🙂",
            Task::Autocomplete => r#"{"text": ""}"#,
            Task::ImagePrompt => r#"{"prompt": ""}"#,
            Task::Other => "{}",
        }
    }
}

/// Whether the last user message is a client's task rather than a turn of a battle.
pub(super) fn is_housekeeping(last_user: &str) -> bool {
    let text = last_user.trim_start();
    text.starts_with("### Task:") || is_emoji_task(text)
}

/// Open WebUI's emoji task: "Your task is to reflect the speaker's likely facial expression
/// through a fitting emoji. ..."
fn is_emoji_task(text: &str) -> bool {
    let first = text.lines().next().unwrap_or_default().to_lowercase();
    first.starts_with("your task is to") && first.contains("emoji")
}

/// The instructions of a task: its text up to the chat history it quotes.
fn instructions(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    let end = ["<chat_history>", "### chat history", "message: ```"]
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(text.len());
    &text[..end]
}

/// What the task asks for, by the JSON keys its instructions name (`"follow_ups"`,
/// `"queries"`, ...), else by their words.
pub(super) fn classify(text: &str) -> Task {
    let text = text.trim_start();
    if is_emoji_task(text) {
        return Task::Emoji;
    }
    let task = instructions(text);
    let lower = task.to_lowercase();
    let key = |k: &str| task.contains(&format!("\"{k}\""));
    let keyed = [
        ("follow_ups", Task::FollowUps),
        ("queries", Task::Queries),
        ("tags", Task::Tags),
        ("title", Task::Title),
    ];
    if let Some((_, t)) = keyed.iter().find(|(k, _)| key(k)) {
        return *t;
    }
    if lower.contains("autocomplet") {
        return Task::Autocomplete;
    }
    if key("prompt") && lower.contains("image") {
        return Task::ImagePrompt;
    }
    let worded = [
        ("follow-up", Task::FollowUps),
        ("search quer", Task::Queries),
        ("tags", Task::Tags),
        ("title", Task::Title),
    ];
    worded
        .iter()
        .find(|(w, _)| lower.contains(w))
        .map_or(Task::Other, |(_, t)| *t)
}

/// A client's housekeeping request (`last_user` its task): the utility model answers it, or
/// a fixed answer of the task's shape.
pub(super) async fn housekeeping(state: &AppState, mut asked: Asked, last_user: &str) -> Response {
    let utility = state.arena.config().utility_model.clone();
    // The operator chose the utility model: it answers whether or not clients may call it.
    if let Some(spec) = state.arena.models().get(&utility).cloned() {
        asked.model.clone_from(&utility);
        asked.body.set("model", &serde_json::json!(utility));
        return proxy(state, asked, &spec, "chat/completions").await;
    }
    let model = state.arena.config().battle_model.clone();
    text_reply(
        state,
        &model,
        classify(last_user).answer(),
        asked.stream,
        asked.include_usage,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Open WebUI's default task prompts (their instructions; the history is the test's).
    const TITLE: &str = "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n### Guidelines:\n- The title should clearly represent the main theme or subject of the conversation.\n### Output:\nJSON format: { \"title\": \"your concise title here\" }\n### Chat History:\n<chat_history>\n{H}\n</chat_history>";
    const TAGS: &str = "### Task:\nGenerate 1-3 broad tags categorizing the main themes of the chat history, along with 1-3 more specific subtopic tags.\n\n### Output:\nJSON format: { \"tags\": [\"tag1\", \"tag2\", \"tag3\"] }\n\n### Chat History:\n<chat_history>\n{H}\n</chat_history>";
    const FOLLOW_UPS: &str = "### Task:\nSuggest 3-5 relevant follow-up questions or prompts that the user might naturally ask next in this conversation as a **user**, based on the chat history, to help continue or deepen the discussion.\n### Guidelines:\n- Response must be a JSON object with a \"follow_ups\" key containing an array of strings, no extra text or formatting.\n### Output:\nJSON format: { \"follow_ups\": [\"Question 1?\", \"Question 2?\", \"Question 3?\"] }\n### Chat History:\n<chat_history>\n{H}\n</chat_history>";
    const QUERIES: &str = "### Task:\nAnalyze the chat history to determine the necessity of generating search queries, in the given language.\n\n### Guidelines:\n- When generating search queries, respond in the format: { \"queries\": [\"query1\", \"query2\"] }\n\n### Output:\nStrictly return in JSON format: \n{\n  \"queries\": [\"query1\", \"query2\"]\n}\n\n### Chat History:\n<chat_history>\n{H}\n</chat_history>\n";
    const AUTOCOMPLETE: &str = "### Task:\nYou are an autocompletion system. Continue the text in `<text>` based on the **completion type** in `<type>` and the given language.\n\n### **Output Rules**:\n- Respond only in JSON format: `{ \"text\": \"<your_completion>\" }`.\n\n---\n### Context:\n<chat_history>\n{H}\n</chat_history>\n<type>General</type>\n<text>The title</text>\n#### Output:\n";
    const EMOJI: &str = "Your task is to reflect the speaker's likely facial expression through a fitting emoji. Interpret emotions from the message and reflect their facial expression using fitting, diverse emojis (e.g., 😊, 😢, 😡, 😱).\n\nMessage: ```{H}```";

    #[test]
    fn each_task_is_told_by_its_instructions_not_by_its_history() {
        let history = "USER: Give my essay a title and some tags\nASSISTANT: \"title\": \"tags\" \"follow_ups\" \"queries\"";
        for (template, task) in [
            (TITLE, Task::Title),
            (TAGS, Task::Tags),
            (FOLLOW_UPS, Task::FollowUps),
            (QUERIES, Task::Queries),
            (AUTOCOMPLETE, Task::Autocomplete),
            (EMOJI, Task::Emoji),
        ] {
            let text = template.replace("{H}", history);
            assert!(is_housekeeping(&text), "{task:?}");
            assert_eq!(classify(&text), task, "{text}");
        }
        assert_eq!(classify("### Task:\nDo something new."), Task::Other);
        assert!(!is_housekeeping(
            "$sA1 Your task is to write about an emoji"
        ));
        assert!(!is_housekeeping("Write a title for my essay"));
    }

    #[test]
    fn every_fixed_answer_is_the_shape_asked_for() {
        for (task, key) in [
            (Task::Title, "title"),
            (Task::Tags, "tags"),
            (Task::FollowUps, "follow_ups"),
            (Task::Queries, "queries"),
            (Task::Autocomplete, "text"),
            (Task::ImagePrompt, "prompt"),
        ] {
            let v: serde_json::Value = serde_json::from_str(task.answer()).unwrap();
            assert!(v.get(key).is_some(), "{task:?}: {v}");
        }
    }
}
