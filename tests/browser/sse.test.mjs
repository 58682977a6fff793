// The page's server-sent-event parser (web/api.js), alone: no browser needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SseParser } from "../../web/api.js";

const feed = (pieces) => {
  const p = new SseParser();
  return pieces.flatMap((piece) => p.push(piece));
};

test("events split anywhere, with LF, CRLF or CR line ends, come out whole", () => {
  const text = 'event: delta\r\ndata: {"side":"a","text":"he"}\r\n\r\n: keep-alive\n\nevent: done\rdata: {"votable":true}\r\r';
  const whole = feed([text]);
  assert.deepEqual(whole, [
    { event: "delta", data: '{"side":"a","text":"he"}' },
    { event: "done", data: '{"votable":true}' },
  ]);
  for (let cut = 1; cut < text.length; cut++) {
    assert.deepEqual(feed([text.slice(0, cut), text.slice(cut)]), whole, `cut at ${cut}`);
  }
  assert.deepEqual(feed([...text]), whole, "one character at a time");
});

test("several data lines join with newlines; an event without data and an unfinished one are not dispatched", () => {
  assert.deepEqual(feed(["data: a\ndata:b\n\nevent: x\n\ndata: never ends"]), [{ event: "message", data: "a\nb" }]);
});
