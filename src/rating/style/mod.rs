//! Style control: the style features of answers and the contextual Bradley–Terry model that
//! rates models net of them.
//!
//! LMArena's default text leaderboard is style-controlled: a model that wins by writing
//! longer or more heavily formatted answers should not be ranked above one that wins on
//! substance. Each vote carries four features per side ([`Features`]: answer tokens,
//! Markdown headers, list items, bold spans), and the preference model gets a term for
//! their differences besides the models' strengths.
//!
//! - [`text`]: the features of an answer text, as LMArena's public scripts count them.

pub mod text;

pub use super::bt::contextual::{
    StyleFit, StyleOptions, StyleVote, StyleVotes, Variant, fit_contextual,
    fit_contextual_resampled, fit_contextual_votes,
};
pub use text::{Features, MarkdownCounts, count_tokens};
