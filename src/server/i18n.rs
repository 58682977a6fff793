//! The server's messages, in English or, with `"language": "zh-CN"`, in the writing arena's
//! Chinese (the same keys and statuses either way).

use crate::error::RateLimit;

/// A message language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    ZhCn,
}

impl Lang {
    #[must_use]
    pub fn from_config(language: &str) -> Lang {
        if language == "zh-CN" {
            Lang::ZhCn
        } else {
            Lang::En
        }
    }
}

/// What a message says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    BattleNotFound,
    AlreadyVoted,
    NotPending,
    Expired,
    StillGenerating,
    NotOwner,
    VoteSubmitted,
    Generating,
    NoBattles,
    UnstuckNone,
    Unauthorized,
    Internal,
    Overloaded,
    TimedOut,
    NoRoute,
    /// A web battle failed: said without the side.
    BattleFailed,
    /// A web battle's answers were not both read before the vote.
    NotShown,
    /// A web battle still answers its latest message.
    StillAnswering,
}

/// The text of `msg` in `lang`.
#[must_use]
pub fn text(lang: Lang, msg: Msg) -> &'static str {
    use Msg::*;
    match (lang, msg) {
        (Lang::En, BattleNotFound) => "The battle ID does not exist.",
        (Lang::ZhCn, BattleNotFound) => "对战ID不存在。",
        (Lang::En, AlreadyVoted) => "You have already voted on this battle.",
        (Lang::ZhCn, AlreadyVoted) => "您已经为这场对战投过票了。",
        (Lang::En, NotPending) => "This battle is not waiting for a vote.",
        (Lang::ZhCn, NotPending) => "该对战不在等待投票状态。",
        (Lang::En, Expired) => "This battle waited too long for its vote and is closed.",
        (Lang::ZhCn, Expired) => "该对战等待投票超时，已关闭。",
        (Lang::En, StillGenerating) => {
            "This battle is still being generated; vote once both answers are in."
        }
        (Lang::ZhCn, StillGenerating) => "该对战仍在生成中，请在两个回答都完成后再投票。",
        (Lang::En, NotOwner) => "This battle belongs to another user.",
        (Lang::ZhCn, NotOwner) => "这场对战属于其他用户。",
        (Lang::En, VoteSubmitted) => "Vote submitted.",
        (Lang::ZhCn, VoteSubmitted) => "投票成功提交。",
        (Lang::En, Generating) => {
            "Creating the battle: this usually takes a while; you will be told once it is ready."
        }
        (Lang::ZhCn, Generating) => "创建对战中： 这通常需要一些时间，机器人会在创建成功后通知你。",
        (Lang::En, NoBattles) => "No battle of yours was found.",
        (Lang::ZhCn, NoBattles) => "未找到您的对战记录。",
        (Lang::En, UnstuckNone) => "No stuck battle was found.",
        (Lang::ZhCn, UnstuckNone) => "没有找到需要清除的对战。",
        (Lang::En, Unauthorized) => "A valid API key is needed: Authorization: Bearer KEY.",
        (Lang::ZhCn, Unauthorized) => "需要有效的 API 密钥：Authorization: Bearer KEY。",
        (Lang::En, Internal) => "Internal error; the server's log has the details.",
        (Lang::ZhCn, Internal) => "服务器内部错误，详情见服务器日志。",
        (Lang::En, Overloaded) => "The server is busy; try again shortly.",
        (Lang::ZhCn, Overloaded) => "服务器繁忙，请稍后再试。",
        (Lang::En, TimedOut) => "The request took too long.",
        (Lang::ZhCn, TimedOut) => "请求超时。",
        (Lang::En, NoRoute) => "Not Found",
        (Lang::ZhCn, NoRoute) => "未找到",
        (Lang::En, BattleFailed) => {
            "The battle failed: a model could not answer, so the two can no longer be \
             compared. Start a new battle."
        }
        (Lang::ZhCn, BattleFailed) => {
            "对战失败：有模型未能回答，两个回答已无法比较。请开始新的对战。"
        }
        (Lang::En, NotShown) => {
            "Read both answers to the latest message to their end before voting."
        }
        (Lang::ZhCn, NotShown) => "请先完整阅读两个模型对最新消息的回答，再投票。",
        (Lang::En, StillAnswering) => {
            "This battle is still answering the latest message: read the answers, then go on."
        }
        (Lang::ZhCn, StillAnswering) => "该对战仍在回答最新消息：请先阅读回答，再继续。",
    }
}

/// How many stuck battles were cleared.
#[must_use]
pub fn unstuck(lang: Lang, n: usize) -> String {
    match (lang, n) {
        (_, 0) => text(lang, Msg::UnstuckNone).to_owned(),
        (Lang::En, 1) => "Your 1 stuck battle was cleared; you can start again.".to_owned(),
        (Lang::En, n) => format!("Your {n} stuck battles were all cleared; you can start again."),
        (Lang::ZhCn, 1) => "您卡住的1场对战已被清除，现在可以重新开始了。".to_owned(),
        (Lang::ZhCn, n) => format!("您卡住的 {n} 场对战已被全部清除，现在可以重新开始了。"),
    }
}

/// Why a new battle must wait.
#[must_use]
pub fn rate_limit(lang: Lang, limit: RateLimit) -> String {
    match (lang, limit) {
        (Lang::En, limit) => {
            let mut s = limit.to_string();
            if let Some(first) = s.get(..1) {
                let upper = first.to_uppercase();
                s.replace_range(..1, &upper);
            }
            s + "."
        }
        (Lang::ZhCn, RateLimit::Concurrent { max }) => {
            format!("您同时进行的对战已达上限 ({max}场)，请先完成投票。")
        }
        (Lang::ZhCn, RateLimit::Hourly { max }) => {
            format!("您在一小时内创建的对战已达上限 ({max}场)，请稍后再试。")
        }
        (Lang::ZhCn, RateLimit::Interval { seconds }) => {
            format!("两次对战创建之间至少需要间隔{seconds}秒，请稍后再试。")
        }
    }
}
