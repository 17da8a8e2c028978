//! A small Server-Sent Events parser: bytes in as they arrive, the `data` of each event out.
//! Enough of the format for chat-completion streams: `data:` lines (several joined by a line
//! break), comments and other fields ignored, events ended by a blank line, `\n`, `\r\n` or `\r`
//! line ends, and a last event without its blank line.

/// Feeds on chunks of a response body.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of a line not yet ended.
    line: Vec<u8>,
    /// The data lines of the event being read.
    data: Vec<String>,
    /// The last byte was `\r`: a following `\n` belongs to the same line end.
    after_cr: bool,
}

impl SseParser {
    /// Take `bytes`; return the data of every event they completed.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.end_line(&line, &mut events);
                }
                _ => self.line.push(b),
            }
        }
        events
    }

    /// The end of the body: an event still open counts.
    pub fn finish(&mut self) -> Vec<String> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.end_line(&line, &mut events);
        }
        self.end_line(b"", &mut events);
        events
    }

    fn end_line(&mut self, line: &[u8], events: &mut Vec<String>) {
        if line.is_empty() {
            if !self.data.is_empty() {
                events.push(self.data.join("\n"));
                self.data.clear();
            }
            return;
        }
        let line = String::from_utf8_lossy(line);
        if let Some(value) = line.strip_prefix("data") {
            match value.strip_prefix(':') {
                Some(value) => self
                    .data
                    .push(value.strip_prefix(' ').unwrap_or(value).to_string()),
                None if value.is_empty() => self.data.push(String::new()),
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_and_any_line_end() {
        let body =
            b": keep-alive\r\ndata: {\"a\":1}\r\n\r\ndata:x\ndata: y\n\nevent: e\rdata: [DONE]";
        for split in 0..body.len() {
            let mut p = SseParser::default();
            let mut got = p.feed(&body[..split]);
            got.extend(p.feed(&body[split..]));
            got.extend(p.finish());
            assert_eq!(got, ["{\"a\":1}", "x\ny", "[DONE]"], "split at {split}");
        }
    }
}
