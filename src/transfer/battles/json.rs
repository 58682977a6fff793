//! The JSON array reader and its streaming scanner: the array is split into its elements
//! byte by byte (strings and nesting tracked), so no more than one record is held, and
//! each element is parsed on its own.
//!
//! Depends on [`super::record`] (a JSON record) and [`super::rows`]; not on the other readers.

use std::io::BufRead;
use std::path::Path;

use super::rows::{Builder, too_long};
use super::{BOM, CHUNK, Chunk, MAX_RECORD_BYTES};
use crate::error::{Error, Result};

/// Reads a JSON array element by element, never holding more than one record: each element
/// is delimited by scanning (strings and nesting tracked), then parsed on its own.
pub(super) fn read_json(
    path: &Path,
    mut reader: impl BufRead,
    b: &mut Builder,
    sink: &mut impl FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let mut scan = ArrayScan::default();
    let mut record = Vec::new();
    let mut number = 0u64;
    let mut bytes = 0u64;
    let mut line = 1usize;
    let mut column = 0usize;
    let mut bom = true;
    let bad = |line: usize, column: usize, what: &str| Error::File {
        path: path.to_owned(),
        line,
        column,
        message: format!("expected a JSON array of battle records: {what}"),
    };
    loop {
        let buf = reader.fill_buf().map_err(|e| Error::io(path, e))?;
        if buf.is_empty() {
            break;
        }
        let mut buf = buf;
        let len = buf.len();
        if bom {
            buf = buf.strip_prefix(BOM).unwrap_or(buf);
            bom = false;
        }
        for &c in buf {
            if c == b'\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
            match scan.step(c) {
                Step::Outside => {}
                Step::Byte => {
                    if record.len() < MAX_RECORD_BYTES {
                        record.push(c);
                    } else {
                        scan.cut = true;
                    }
                }
                Step::End => {
                    number += 1;
                    if record.len() < MAX_RECORD_BYTES {
                        record.push(c);
                    }
                    if std::mem::take(&mut scan.cut) {
                        too_long(b, number);
                    } else {
                        b.push_json(number, &record);
                    }
                    record.clear();
                    if b.rows.len() >= CHUNK {
                        sink(b.take(bytes))?;
                    }
                }
                Step::Error(what) => return Err(bad(line, column, what)),
            }
        }
        bytes += len as u64;
        reader.consume(len);
    }
    if !scan.closed {
        let what = if scan.opened {
            "the array is not closed: the file ends early"
        } else {
            "the file does not start with `[`"
        };
        return Err(bad(line, column.max(1), what));
    }
    sink(b.take(bytes))
}

/// Where a byte of a JSON array falls.
enum Step {
    /// Between elements: whitespace, `[`, `,` or `]`.
    Outside,
    /// Part of an element.
    Byte,
    /// The last byte of an element.
    End,
    Error(&'static str),
}

/// The state of [`read_json`]'s scan.
#[derive(Default)]
struct ArrayScan {
    opened: bool,
    closed: bool,
    /// Inside an element: the depth of its brackets, and whether it is a bare scalar.
    depth: usize,
    in_element: bool,
    scalar: bool,
    in_string: bool,
    escaped: bool,
    /// A comma is needed before the next element.
    after_element: bool,
    /// The element being read is over the size limit.
    cut: bool,
}

impl ArrayScan {
    fn step(&mut self, c: u8) -> Step {
        if self.closed {
            return if c.is_ascii_whitespace() {
                Step::Outside
            } else {
                Step::Error("text after the closing `]`")
            };
        }
        if !self.opened {
            return match c {
                b'[' => {
                    self.opened = true;
                    Step::Outside
                }
                c if c.is_ascii_whitespace() => Step::Outside,
                _ => Step::Error("the file does not start with `[`"),
            };
        }
        if self.in_element {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if c == b'\\' {
                    self.escaped = true;
                } else if c == b'"' {
                    self.in_string = false;
                    if self.scalar && self.depth == 0 {
                        return self.end();
                    }
                }
                return Step::Byte;
            }
            if self.scalar {
                // A bare number, true, false or null ends at a delimiter.
                if c == b',' || c == b']' || c.is_ascii_whitespace() {
                    self.in_element = false;
                    self.after_element = true;
                    return match c {
                        b']' => {
                            self.closed = true;
                            Step::End
                        }
                        b',' => {
                            self.after_element = false;
                            Step::End
                        }
                        _ => Step::End,
                    };
                }
                return Step::Byte;
            }
            match c {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        return self.end();
                    }
                }
                _ => {}
            }
            return Step::Byte;
        }
        match c {
            c if c.is_ascii_whitespace() => Step::Outside,
            b']' => {
                self.closed = true;
                Step::Outside
            }
            b',' if self.after_element => {
                self.after_element = false;
                Step::Outside
            }
            b',' => Step::Error("a comma where a record should be"),
            _ if self.after_element => Step::Error("a missing comma between records"),
            b'{' | b'[' => {
                self.in_element = true;
                self.scalar = false;
                self.depth = 1;
                Step::Byte
            }
            b'"' => {
                self.in_element = true;
                self.scalar = true;
                self.in_string = true;
                self.depth = 0;
                Step::Byte
            }
            _ => {
                self.in_element = true;
                self.scalar = true;
                self.depth = 0;
                Step::Byte
            }
        }
    }

    fn end(&mut self) -> Step {
        self.in_element = false;
        self.after_element = true;
        Step::End
    }
}
