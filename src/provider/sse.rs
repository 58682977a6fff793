//! Server-sent events as an upstream sends them, read in one pass: every byte is looked at a
//! constant number of times, however the network cuts the stream and however long a line is
//! (an 8 MB `data:` line costs what eight thousand 1 kB lines cost).
//!
//! The grammar is the WHATWG one: lines end in CRLF, LF or CR (a CRLF cut between two reads
//! is one ending); a line starting with `:` is a comment; `field: value` loses one space after
//! the colon; `data` lines of one event are joined by LF; an empty line dispatches the event
//! (none when it has no data); a UTF-8 byte order mark at the very start is dropped; an event
//! the stream ends in the middle of is never dispatched. `id` and `retry` are read past: a
//! POST is never replayed, so there is nothing to resume. Bytes that are not UTF-8 become
//! U+FFFD, as a browser decodes them.

use std::borrow::Cow;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The `event` field; `message` when the event named none.
    pub event: String,
    /// The `data` lines, joined by LF.
    pub data: String,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The parser: feed it the stream's bytes as they come ([`Parser::push`]); it hands out the
/// events each piece completes.
#[derive(Debug, Default)]
pub struct Parser {
    /// The line begun and not yet ended: only its bytes since the last line end.
    line: Vec<u8>,
    /// The event being built.
    event: String,
    data: String,
    /// How many bytes of a byte order mark have been seen at the start.
    bom: usize,
    /// The start of the stream is past (a mark there has been dropped, or there was none).
    started: bool,
    /// The last piece ended in CR: an LF at the start of the next one ends no other line.
    after_cr: bool,
    /// Bytes examined so far: each byte is counted once, when it is searched for a line end.
    scanned: u64,
}

impl Parser {
    #[must_use]
    pub fn new() -> Self {
        Parser::default()
    }

    /// Reads the next piece of the stream; the events it completes go into `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<Event>) {
        if !self.started {
            while let Some((&b, rest)) = bytes.split_first() {
                if b != BOM[self.bom] {
                    // Not a mark after all: what looked like its start is data.
                    self.started = true;
                    let seen = self.bom;
                    self.scanned -= seen as u64;
                    self.scan(&BOM[..seen], out);
                    break;
                }
                self.bom += 1;
                self.scanned += 1;
                bytes = rest;
                if self.bom == BOM.len() {
                    self.started = true;
                    break;
                }
            }
            if !self.started {
                return;
            }
        }
        self.scan(bytes, out);
    }

    /// How many bytes the parser has examined: never more than it was given, which is what
    /// makes it linear.
    #[must_use]
    pub fn scanned(&self) -> u64 {
        self.scanned
    }

    fn scan(&mut self, mut bytes: &[u8], out: &mut Vec<Event>) {
        if self.after_cr && !bytes.is_empty() {
            self.after_cr = false;
            if bytes[0] == b'\n' {
                self.scanned += 1;
                bytes = &bytes[1..];
            }
        }
        while let Some(i) = memchr::memchr2(b'\n', b'\r', bytes) {
            self.scanned += i as u64 + 1;
            if self.line.is_empty() {
                self.end_line(&bytes[..i], out);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&bytes[..i]);
                self.end_line(&line, out);
                // The buffer keeps its room for the next long line.
                line.clear();
                self.line = line;
            }
            let cr = bytes[i] == b'\r';
            bytes = &bytes[i + 1..];
            if cr {
                match bytes.first() {
                    Some(b'\n') => {
                        self.scanned += 1;
                        bytes = &bytes[1..];
                    }
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.scanned += bytes.len() as u64;
        self.line.extend_from_slice(bytes);
    }

    fn end_line(&mut self, line: &[u8], out: &mut Vec<Event>) {
        if line.is_empty() {
            if let Some(event) = self.dispatch() {
                out.push(event);
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                self.data.push_str(&text(value));
                self.data.push('\n');
            }
            b"event" => self.event = text(value).into_owned(),
            _ => {}
        }
    }

    fn dispatch(&mut self) -> Option<Event> {
        let event = std::mem::take(&mut self.event);
        if self.data.is_empty() {
            return None;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        Some(Event {
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data,
        })
    }
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn parse(pieces: &[&[u8]]) -> Vec<Event> {
        let mut p = Parser::new();
        let mut out = Vec::new();
        for piece in pieces {
            p.push(piece, &mut out);
        }
        out
    }

    fn data(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn every_line_ending_ends_a_line() {
        for ending in ["\n", "\r\n", "\r"] {
            let text = format!("data: one{ending}{ending}data: two{ending}{ending}").into_bytes();
            assert_eq!(data(&parse(&[&text])), ["one", "two"], "{ending:?}");
        }
        // Mixed in one stream.
        assert_eq!(
            data(&parse(&[b"data: a\r\n\ndata: b\r\rdata: c\n\r\n"])),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn a_crlf_cut_between_reads_is_one_ending() {
        // Were the LF a second ending, the two data lines would be two events.
        let events = parse(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(data(&events), ["a\nb"]);
    }

    #[test]
    fn comments_fields_and_multi_line_data() {
        let events = parse(&[concat!(
            ": keep-alive\n\n:\n",
            "event: note\ndata:first\ndata:  second\nid: 7\nretry: 10\nunknown: x\ndata\n\n",
            "data: {\"a\": 1}\n\n",
        )
        .as_bytes()]);
        assert_eq!(
            events,
            [
                Event {
                    event: "note".into(),
                    data: "first\n second\n".into(),
                },
                Event {
                    event: "message".into(),
                    data: "{\"a\": 1}".into(),
                },
            ]
        );
        // An event with no data dispatches nothing, and its name does not carry over.
        assert_eq!(
            parse(&[b"event: lonely\n\ndata: x\n\n"])[0].event,
            "message"
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_dropped_however_it_is_cut() {
        let text = b"\xEF\xBB\xBFdata: x\n\n";
        for cut in 0..text.len() {
            let events = parse(&[&text[..cut], &text[cut..]]);
            assert_eq!(data(&events), ["x"], "cut {cut}");
        }
        // Only at the start; and a start that only looks like one is kept.
        assert_eq!(data(&parse(&[b"data: \xEF\xBB\xBFx\n\n"])), ["\u{FEFF}x"]);
        assert_eq!(data(&parse(&[b"\xEF", b"\xBBdata: x\n\n"])).len(), 0);
        assert_eq!(data(&parse(&[b"\xEFdata: x\n\n"])).len(), 0);
    }

    #[test]
    fn an_unfinished_event_at_the_end_is_not_dispatched() {
        assert_eq!(data(&parse(&[b"data: a\n\ndata: half"])), ["a"]);
        assert_eq!(data(&parse(&[b"data: a\n\ndata: whole line\n"])), ["a"]);
    }

    #[test]
    fn bytes_that_are_not_utf8_become_replacement_characters() {
        let events = parse(&[b"data: caf\xC3", b"\xA9 \xFF\n\n"]);
        assert_eq!(data(&events), ["café \u{FFFD}"]);
    }

    #[test]
    fn an_eight_megabyte_line_is_scanned_once() {
        // The work counted is the bytes examined; a parser that searched its whole buffer
        // again with each piece would examine about 8 MB × 2,000 pieces / 2.
        let line = format!("data: {}\n\n", "x".repeat(8 << 20)).into_bytes();
        let mut p = Parser::new();
        let mut out = Vec::new();
        for piece in line.chunks(4096) {
            p.push(piece, &mut out);
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data.len(), 8 << 20);
        assert_eq!(p.scanned(), line.len() as u64);
        // And one byte at a time.
        let mut p = Parser::new();
        let mut out = Vec::new();
        let small = format!("data: {}\r\n\r\n", "y".repeat(100_000)).into_bytes();
        for b in &small {
            p.push(std::slice::from_ref(b), &mut out);
        }
        assert_eq!((out.len(), p.scanned()), (1, small.len() as u64));
    }

    /// Streams made of the pieces the grammar has, with every kind of line ending.
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
        let line = prop_oneof![
            "[a-z{}\":, 家\u{FEFF}]{0,12}".prop_map(|v| format!("data: {v}")),
            "[a-z]{0,6}".prop_map(|v| format!("data:{v}")),
            Just("data".to_owned()),
            "[a-z]{0,6}".prop_map(|v| format!("event: {v}")),
            "[ a-z]{0,8}".prop_map(|v| format!(":{v}")),
            Just("id: 1".to_owned()),
            Just(String::new()),
        ];
        (
            any::<bool>(),
            proptest::collection::vec((line, ending), 0..24),
        )
            .prop_map(|(bom, lines)| {
                let mut out = if bom { BOM.to_vec() } else { Vec::new() };
                for (l, e) in lines {
                    out.extend_from_slice(l.as_bytes());
                    out.extend_from_slice(e.as_bytes());
                }
                out
            })
    }

    proptest! {
        #[test]
        fn cutting_the_stream_anywhere_gives_the_same_events(
            text in stream(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let whole = parse(&[&text]);
            let mut at: Vec<usize> = cuts.iter().map(|c| c.index(text.len() + 1)).collect();
            at.sort_unstable();
            let mut pieces = Vec::new();
            let mut from = 0;
            for cut in at {
                pieces.push(&text[from..cut]);
                from = cut;
            }
            pieces.push(&text[from..]);
            prop_assert_eq!(parse(&pieces), whole.clone());
            // Byte by byte, too.
            let bytes: Vec<&[u8]> = text.chunks(1).collect();
            prop_assert_eq!(parse(&bytes), whole);
        }
    }
}
