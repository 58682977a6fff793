"""Open WebUI in headless Chromium against `arena serve`: the run of scripts/open-webui-e2e.sh.

    python drive.py OWUI_URL WORK_DIR

WORK_DIR holds arena.sqlite3 (arena's database), upstream.jsonl (what the recording fake
upstream received), serve.log (arena's log), owui-data/webui.db (Open WebUI's database) and
receives shots/ (screenshots) and findings.json. Needs Playwright (PyPI) and Debian's
chromium at /usr/bin/chromium; never downloads a browser.

Two users, Alice and Bob, each battle in the chat with their own battle 1; Alice goes on
with a follow-up turn, tries the thumbs, Regenerate (and its menu), Stop and Continue
Response buttons; Bob
tries to vote on a battle of Alice's. What each step showed, what arena and each upstream
received, and the checks are printed and written to findings.json.
"""

import asyncio
import json
import re
import sqlite3
import sys
from pathlib import Path

from playwright.async_api import async_playwright

OWUI, WORK = sys.argv[1].rstrip("/"), Path(sys.argv[2])
SHOTS = WORK / "shots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
USERS = {"Alice": ("alice@example.org", "alice-pass-1"), "Bob": ("bob@example.org", "bob-pass-1")}

findings = {"steps": [], "checks": []}


def upstream_records():
    path = WORK / "upstream.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def arena_requests():
    """arena's logged requests to /v1/chat/completions so far."""
    return sum(1 for line in (WORK / "serve.log").read_text().splitlines()
               if "path=/v1/chat/completions" in line)


def check(name, ok, detail=""):
    findings["checks"].append({"check": name, "ok": bool(ok), "detail": detail})
    print(f"  [{'ok' if ok else 'FAILED'}] {name}{': ' + detail if detail else ''}")


class Step:
    """Counts what arena and the upstreams received during one step."""

    def __init__(self, who, what):
        self.who, self.what = who, what
        self.arena0, self.up0 = arena_requests(), len(upstream_records())

    def done(self, shown, note=""):
        ups = upstream_records()[self.up0:]
        entry = {
            "who": self.who, "did": self.what, "shown": shown,
            "arena_chat_requests": arena_requests() - self.arena0,
            "upstream_requests": [
                {"model": r["body"]["model"],
                 "messages": [(m["role"], m["content"]) for m in r["body"]["messages"]]}
                for r in ups if "body" in r],
            "note": note,
        }
        findings["steps"].append(entry)
        print(f"\n{self.who}: {self.what}")
        print(f"  shown: {shown!r}")
        print(f"  requests to arena's /v1/chat/completions: {entry['arena_chat_requests']}")
        for u in entry["upstream_requests"]:
            print(f"  upstream {u['model']} got: {u['messages']}")
        if note:
            print(f"  note: {note}")
        return entry


async def login(browser, name):
    context = await browser.new_context(viewport={"width": 1100, "height": 760})
    page = await context.new_page()
    await page.goto(f"{OWUI}/auth")
    email, password = USERS[name]
    await page.fill("input[type=email]", email)
    await page.fill("input[type=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_selector("#chat-input")
    return page


async def new_chat(page):
    await page.goto(f"{OWUI}/")
    await page.wait_for_selector("#chat-input")


async def answers(page):
    return page.locator("#response-content-container")


async def wait_idle(page, old_text, timeout_s=60, changed=True):
    """Until the client's request is answered: the Stop button shows while an answer comes
    (it may come and go too fast to be seen), then goes, and the last answer differs from
    `old_text` (unless `changed` is false) and holds still."""
    try:
        await page.wait_for_selector("button[aria-label=Stop]", state="attached", timeout=5000)
    except Exception:
        pass
    seen = None
    for _ in range(timeout_s * 4):
        await page.wait_for_timeout(250)
        if await page.locator("button[aria-label=Stop]").count():
            continue
        text = await last_text(page)
        if (text != old_text or not changed) and text and text == seen:
            await page.wait_for_timeout(1500)  # the client's own tasks (title, tags) follow
            return
        seen = text
    await page.screenshot(path=str(SHOTS / "timeout.png"))
    raise TimeoutError("no answer came")


async def last_text(page):
    loc = await answers(page)
    if not await loc.count():
        return ""
    return (await loc.last.inner_text()).strip()


async def send(page, text, wait=True):
    old_text = await last_text(page)
    await page.click("#chat-input")
    await page.keyboard.type(text)
    await page.keyboard.press("Enter")
    if wait:
        await wait_idle(page, old_text)
        return await last_text(page)
    return old_text


async def say(page, who, text, shot=None):
    step = Step(who, f"types {text!r}")
    shown = await send(page, text)
    if shot:
        await page.screenshot(path=str(SHOTS / shot))
    return step.done(shown)


def arena_db():
    db = sqlite3.connect(f"file:{WORK / 'arena.sqlite3'}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    return db


async def main():
    SHOTS.mkdir(exist_ok=True)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        alice = await login(browser, "Alice")
        bob = await login(browser, "Bob")

        # Both users start their own battle 1; Bob finishes his first.
        a_start = await say(alice, "Alice", "$sA1 Write a haiku", "01-alice-start.png")
        await say(bob, "Bob", "$sA1 Write a haiku")
        await say(bob, "Bob", "$B1")
        # Continue Response (the ▷ button): the history again, ending with the answer shown.
        step = Step("Bob", "clicks Continue Response on the `$B1` answer")
        old_text = await last_text(bob)
        await bob.locator("button[aria-label='Continue Response']").last.click()
        await wait_idle(bob, old_text, changed=False)
        cont = step.done(await last_text(bob))
        check("Continue Response on a whole answer repeats nothing and asks no model",
              cont["shown"] == old_text and not cont["upstream_requests"], cont["shown"])
        bob_vote = await say(bob, "Bob", "$wB1", "02-bob-result.png")
        with arena_db() as db:
            rows = db.execute("SELECT id, user_id, rpid, status FROM battles WHERE rpid = '1' "
                              "ORDER BY id").fetchall()
        check("each user's `$sA1` made a battle of their own",
              len(rows) == 2 and rows[0]["user_id"] != rows[1]["user_id"],
              f"{[dict(r) for r in rows]}")
        check("Bob's `$wB1` ended his battle 1 only",
              [r["status"] for r in rows] == ["pending_vote", "completed"]
              and "Battle 1:" in bob_vote["shown"], bob_vote["shown"].replace("\n", " | "))

        # Alice: both answers, a follow-up turn, both answers to it.
        await say(alice, "Alice", "$B1")
        await say(alice, "Alice", "$A tell me more")
        await say(alice, "Alice", "$B", "03-alice-follow-up.png")

        # The thumbs: Open WebUI's own feedback.
        with arena_db() as db:
            votes0 = db.execute("SELECT count(*) FROM votes").fetchone()[0]
        step = Step("Alice", "clicks thumbs up (Good Response) on the last answer")
        await alice.locator("button[aria-label='Good Response']").last.click()
        await alice.wait_for_timeout(2000)
        await alice.screenshot(path=str(SHOTS / "04-thumbs-up.png"))
        owui = sqlite3.connect(f"file:{WORK / 'owui-data' / 'webui.db'}?mode=ro", uri=True)
        feedback = owui.execute("SELECT count(*) FROM feedback").fetchone()[0]
        owui.close()
        with arena_db() as db:
            votes1 = db.execute("SELECT count(*) FROM votes").fetchone()[0]
        thumbs = step.done("(a rating form opens under the answer)",
                           f"Open WebUI's feedback table now has {feedback} row(s); the "
                           "requests to arena are its tags task for the rating form")
        check("thumbs up records no vote in arena and reaches no model",
              votes1 == votes0 and not thumbs["upstream_requests"],
              f"votes {votes0} -> {votes1}, {thumbs['arena_chat_requests']} housekeeping "
              "request(s)")
        check("thumbs up is stored by Open WebUI", feedback >= 1, f"{feedback} feedback row(s)")
        close = alice.locator("button[aria-label=Close]")
        if await close.count():
            await close.last.click()

        # Regenerate: its button opens a menu (Try Again, Add Details, More Concise); each
        # resends the conversation (the last two with an instruction of their own).
        for label in ("Try Again", "Add Details"):
            step = Step("Alice", f"clicks Regenerate on the last answer, then {label!r}")
            old_text = await last_text(alice)
            await alice.locator("button[aria-label=Regenerate]").last.click()
            await alice.wait_for_timeout(800)
            if label == "Try Again":
                await alice.screenshot(path=str(SHOTS / "05-regenerate-menu.png"))
            await alice.locator("[role=menu]").get_by_text(label, exact=True).first.click()
            await wait_idle(alice, old_text, changed=False)
            shown = await last_text(alice)
            step.done(shown, "the same text as before" if shown == old_text else "")
        await alice.screenshot(path=str(SHOTS / "06-regenerated.png"))

        # "Add Details" was a new turn of both sides, of which only B's answer was shown.
        early = await say(alice, "Alice", "$wA1")
        check("no result before both answers to the latest turn were shown",
              "not been shown" in early["shown"], early["shown"])
        await say(alice, "Alice", "$A1")
        a_result = await say(alice, "Alice", "$wA1", "07-alice-result.png")
        check("Alice's `$wA1` ended her own battle 1",
              "Battle 1:" in a_result["shown"], a_result["shown"].replace("\n", " | "))

        # Stop: a slow battle, stopped in the client after two seconds.
        await new_chat(alice)
        step = Step("Alice", "types '$sA7 Tell me a long story' and clicks Stop after 2 s")
        old_text = await send(alice, "$sA7 Tell me a long story", wait=False)
        await alice.wait_for_selector("button[aria-label=Stop]")
        await alice.wait_for_timeout(2000)
        await alice.locator("button[aria-label=Stop]").click()
        await wait_idle(alice, old_text)
        await alice.screenshot(path=str(SHOTS / "08-stopped.png"))
        stopped = step.done(await last_text(alice))
        # Continue Response on the stopped answer: the rest of it, nothing generated anew.
        step = Step("Alice", "clicks Continue Response on the stopped answer")
        await alice.locator("button[aria-label='Continue Response']").last.click()
        await wait_idle(alice, stopped["shown"])
        continued = step.done(await last_text(alice))

        await new_chat(bob)
        other = await say(bob, "Bob", "$wA7")
        check("Bob cannot give the result of Alice's battle 7",
              "Battle 7:" not in other["shown"], other["shown"])

        await say(alice, "Alice", "$wA7")
        await say(alice, "Alice", "$B7")
        whole_a = await say(alice, "Alice", "$A7")
        check("Continue Response after Stop gave the rest of the same answer, asking no model",
              continued["shown"] == whole_a["shown"]
              and continued["shown"].startswith(stopped["shown"])
              and len(continued["shown"]) > len(stopped["shown"])
              and not continued["upstream_requests"],
              f"stopped at {len(stopped['shown'])} characters, continued to "
              f"{len(continued['shown'])}, whole {len(whole_a['shown'])}")
        stop_result = await say(alice, "Alice", "$wB7", "09-after-stop-result.png")
        check("the stopped battle still ends with a result",
              "Battle 7:" in stop_result["shown"], stop_result["shown"].replace("\n", " | "))
        await browser.close()

    # What each upstream received over the whole run.
    ups = [r for r in upstream_records() if "body" in r]
    leaks, commands, names = [], [], []
    for r in ups:
        model = r["body"]["model"]
        other_word = {"fake-a": "bravo", "fake-b": "alpha"}[model]
        for m in r["body"]["messages"]:
            text = m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
            if m["role"] == "assistant" and other_word in text:
                leaks.append((model, text))
            if m["role"] == "user" and text.lstrip().startswith("$"):
                commands.append((model, text))
        for h in ("x-openwebui-user-name", "x-openwebui-user-email"):
            if h in (r.get("headers") or {}):
                names.append((model, h))
    check("no upstream ever received the other side's answer", not leaks, str(leaks[:3]))
    check("no upstream ever received command text", not commands, str(commands[:3]))
    check("no Open WebUI user header reached an upstream", not names, str(names[:3]))
    pairs = {}
    for r in ups:
        users = tuple(m["content"] for m in r["body"]["messages"] if m["role"] == "user")
        pairs.setdefault(users, set()).add(r["body"]["model"])
    check("every user-turn sequence went to both sides",
          all(v == {"fake-a", "fake-b"} for v in pairs.values()),
          f"{ {' / '.join(k): sorted(v) for k, v in pairs.items()} }")
    follow = [r for r in ups if len(r["body"]["messages"]) > 1]
    check("the follow-up turn sent each side its own earlier answer",
          len(follow) >= 2 and all(
              [m["role"] for m in r["body"]["messages"]]
              == ["user", "assistant"] * (len(r["body"]["messages"]) // 2) + ["user"]
              for r in follow), f"{len(follow)} follow-up requests")

    with arena_db() as db:
        votes = db.execute("SELECT b.rpid, v.outcome, v.flags, v.elo_a_before, v.elo_a_after "
                           "FROM votes v JOIN battles b ON b.id = v.battle_id "
                           "ORDER BY v.id").fetchall()
        battles = db.execute("SELECT rpid, user_id, status, response_a IS NOT NULL AS a, "
                             "response_b IS NOT NULL AS b FROM battles ORDER BY id").fetchall()
        users = db.execute("SELECT count(*) FROM users").fetchone()[0]
    check("three votes counted, none left out",
          len(votes) == 3 and all(v["flags"] == 0 and v["elo_a_after"] != v["elo_a_before"]
                                  for v in votes), f"{[dict(v) for v in votes]}")
    check("every battle has both responses stored",
          all(b["a"] and b["b"] for b in battles), f"{[dict(b) for b in battles]}")
    check("two users stored (hashes only)", users == 2, f"{users} users")
    raw = b"".join(p.read_bytes() for p in WORK.glob("arena.sqlite3*"))
    check("no name or e-mail of an Open WebUI user in arena's database",
          not any(s in raw for s in (b"alice@example.org", b"bob@example.org", b"Alice", b"Bob")))
    (WORK / "findings.json").write_text(json.dumps(findings, indent=1))
    failed = [c for c in findings["checks"] if not c["ok"]]
    print(f"\n{len(findings['checks']) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


asyncio.run(main())
