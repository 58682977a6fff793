//! The turns of chat battles being generated now, and the reader that hands one side's
//! answer out piece by piece: from the running generation while it comes, from the store once
//! it is kept, cut by one rule whatever pieces the upstream sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use super::{AnswerEnd, PIECE_BYTES, Piece, failed};
use crate::Arena;
use crate::battle::{BattleId, Side, Status};
use crate::error::Result;
use crate::provider::wire::estimate_tokens;
use crate::store::Store;

/// The turns being generated now, by battle and turn: a side's answer is read from here
/// while it comes, from the store once it is kept.
#[derive(Debug, Default)]
pub(crate) struct LiveTurns {
    pub(super) turns: Mutex<HashMap<(BattleId, i64), Arc<LiveTurn>>>,
}

impl LiveTurns {
    pub(super) fn get(&self, id: BattleId, turn: i64) -> Option<Arc<LiveTurn>> {
        let turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        turns.get(&(id, turn)).cloned()
    }

    pub(super) fn insert(&self, id: BattleId, turn: i64, live: Arc<LiveTurn>) {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        turns.insert((id, turn), live);
    }

    pub(super) fn remove(&self, id: BattleId, turn: i64) {
        let mut turns = self.turns.lock().unwrap_or_else(PoisonError::into_inner);
        turns.remove(&(id, turn));
    }
}

#[derive(Debug, Default)]
pub(super) struct LiveTurn {
    pub(super) a: LiveSide,
    pub(super) b: LiveSide,
}

impl LiveTurn {
    pub(super) fn side(&self, side: Side) -> &LiveSide {
        match side {
            Side::A => &self.a,
            Side::B => &self.b,
        }
    }
}

/// One side's answer as it comes: its text so far, its end once it is kept, and a counter
/// that readers wait on.
#[derive(Debug)]
pub(super) struct LiveSide {
    pub(super) text: Mutex<String>,
    pub(super) end: Mutex<Option<SideEnd>>,
    pub(super) version: watch::Sender<u64>,
}

impl Default for LiveSide {
    fn default() -> Self {
        LiveSide {
            text: Mutex::default(),
            end: Mutex::default(),
            version: watch::channel(0).0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SideEnd {
    Done {
        finish_reason: String,
    },
    /// The side failed, or the battle did because the other one failed.
    Failed,
}

impl LiveSide {
    pub(super) fn push(&self, text: &str) {
        self.text
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_str(text);
        self.version.send_modify(|v| *v += 1);
    }

    pub(super) fn finish(&self, end: SideEnd) {
        *self.end.lock().unwrap_or_else(PoisonError::into_inner) = Some(end);
        self.version.send_modify(|v| *v += 1);
    }

    /// The end (read first: the text is whole once it is set) and the text from `offset`.
    pub(super) fn read(&self, offset: usize) -> (Option<SideEnd>, String) {
        let end = self
            .end
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let text = self.text.lock().unwrap_or_else(PoisonError::into_inner);
        (end, text.get(offset..).unwrap_or_default().to_owned())
    }
}

/// The length of the next piece of `text` as battle mode hands it out: a word and the white
/// space after it, or [`PIECE_BYTES`] of a longer run. `None` when the piece may still grow
/// (`done` false and the text ends inside it).
pub(super) fn next_piece(text: &str, done: bool) -> Option<usize> {
    if text.is_empty() {
        return None;
    }
    let word = text.find(char::is_whitespace).unwrap_or(text.len());
    let space = text[word..]
        .find(|c: char| !c.is_whitespace())
        .unwrap_or(text.len() - word);
    let end = word + space;
    let mut cap = PIECE_BYTES.min(text.len());
    while !text.is_char_boundary(cap) {
        cap -= 1;
    }
    if end > cap {
        return Some(cap.max(text.chars().next().map_or(1, char::len_utf8)));
    }
    (end < text.len() || done).then_some(end)
}

/// Where a reader takes an answer from.
pub(super) enum Source {
    /// The running generation.
    Live {
        live: Arc<LiveTurn>,
        rx: watch::Receiver<u64>,
        offset: usize,
    },
    /// The store, where another process keeps it when it is done.
    Store { deadline: tokio::time::Instant },
    /// All of it is known: the rest of the text, and the end.
    Ended { text: Option<String>, end: SideEnd },
}

/// Hands out one side's answer, piece by piece.
pub(super) struct Reader {
    pub(super) arena: Arena,
    pub(super) id: BattleId,
    pub(super) turn: i64,
    pub(super) side: Side,
    pub(super) rpid: String,
    pub(super) source: Source,
    /// Text read but not handed out yet.
    pub(super) buffer: String,
    pub(super) prompt_tokens: u64,
    /// The text handed out so far, counted at the end by arena's one rule.
    pub(super) handed: String,
    pub(super) over: bool,
}

impl Reader {
    pub(super) async fn next(mut self) -> Option<(Result<Piece>, Reader)> {
        if self.over {
            return None;
        }
        loop {
            let done = matches!(&self.source, Source::Ended { text: None, .. });
            if let Some(n) = next_piece(&self.buffer, done) {
                let piece: String = self.buffer.drain(..n).collect();
                self.handed.push_str(&piece);
                return Some((Ok(Piece::Text(piece)), self));
            }
            match &mut self.source {
                Source::Ended { text, end } => {
                    if let Some(text) = text.take() {
                        self.buffer.push_str(&text);
                        continue;
                    }
                    self.over = true;
                    let item = match end.clone() {
                        SideEnd::Done { finish_reason } => {
                            // Noted before the end goes out: a client that has the end may
                            // give the result at once.
                            if let Err(e) = self
                                .arena
                                .store
                                .mark_shown(self.id, self.turn, self.side)
                                .await
                            {
                                tracing::warn!("a shown answer could not be noted: {e}");
                            }
                            Ok(Piece::End(AnswerEnd {
                                finish_reason,
                                prompt_tokens: self.prompt_tokens,
                                completion_tokens: estimate_tokens(&self.handed),
                            }))
                        }
                        SideEnd::Failed => Err(failed(&self.rpid)),
                    };
                    return Some((item, self));
                }
                Source::Live { live, rx, offset } => {
                    rx.borrow_and_update();
                    let (end, more) = live.side(self.side).read(*offset);
                    *offset += more.len();
                    self.buffer.push_str(&more);
                    if let Some(end) = end {
                        self.source = Source::Ended { text: None, end };
                    } else if more.is_empty() && rx.changed().await.is_err() {
                        // The generation ended without its end: it cannot have finished.
                        self.source = Source::Ended {
                            text: None,
                            end: SideEnd::Failed,
                        };
                    }
                }
                Source::Store { deadline } => {
                    let deadline = *deadline;
                    let state = match self.arena.store.chat_state(self.id).await {
                        Ok(s) => s,
                        Err(e) => {
                            self.over = true;
                            return Some((Err(e), self));
                        }
                    };
                    let answer = state
                        .turns
                        .iter()
                        .find(|t| t.turn == self.turn)
                        .and_then(|t| {
                            let finish = t.finish(self.side).unwrap_or("stop").to_owned();
                            t.response(self.side).map(|r| (r.to_owned(), finish))
                        });
                    if let Some((text, finish_reason)) = answer {
                        self.source = Source::Ended {
                            text: Some(text),
                            end: SideEnd::Done { finish_reason },
                        };
                    } else if state.record.status == Status::Failed
                        || tokio::time::Instant::now() >= deadline
                    {
                        self.source = Source::Ended {
                            text: None,
                            end: SideEnd::Failed,
                        };
                    } else {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(super) fn cut(text: &str) -> Vec<String> {
        let mut rest = text.to_owned();
        let mut out = Vec::new();
        while let Some(n) = next_piece(&rest, true) {
            out.push(rest.drain(..n).collect());
        }
        out
    }

    #[test]
    pub(super) fn answers_are_cut_into_words_and_runs_of_at_most_the_piece_size() {
        assert_eq!(
            cut("Hello, big  world.\n"),
            ["Hello, ", "big  ", "world.\n"]
        );
        let long = "長".repeat(20);
        let pieces = cut(&long);
        assert!(pieces.iter().all(|p| p.len() <= PIECE_BYTES), "{pieces:?}");
        assert_eq!(pieces.concat(), long);
        // A piece that may still grow waits.
        assert_eq!(next_piece("Hello wor", false), Some(6));
        assert_eq!(next_piece("wor", false), None);
        assert_eq!(next_piece("wor", true), Some(3));
    }

    proptest! {
        /// However an upstream cuts its stream, the pieces handed out are the same.
        #[test]
        fn pieces_do_not_depend_on_how_the_text_arrived(
            text in "[a-z 長\\n]{0,120}",
            cuts in proptest::collection::vec(0usize..120, 0..8),
        ) {
            let mut bounds: Vec<usize> = cuts
                .into_iter()
                .map(|c| c.min(text.len()))
                .filter(|&c| text.is_char_boundary(c))
                .collect();
            bounds.sort_unstable();
            let mut buffer = String::new();
            let mut out = Vec::new();
            let mut last = 0;
            for b in bounds.into_iter().chain([text.len()]) {
                buffer.push_str(&text[last..b]);
                last = b;
                let done = b == text.len();
                while let Some(n) = next_piece(&buffer, done) {
                    out.push(buffer.drain(..n).collect::<String>());
                }
            }
            prop_assert_eq!(out, cut(&text));
        }
    }
}
