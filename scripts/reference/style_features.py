#!/usr/bin/env python3
"""Regenerate tests/fixtures/style/features_reference.json: style features of a set of
tricky answer texts as LMArena's public code computes them.

  * Markdown counts: `count_markdown_elements` and `remove_pattern` from FastChat's
    fastchat/serve/monitor/add_markdown_info.py (commit 0e6d3e4b), copied below line for
    line (the file imports pandas and tqdm only for its command line).
  * Tokens: `tiktoken` cl100k_base, `encode(text, allowed_special="all")` per turn, as
    fastchat/serve/monitor/clean_battle_data.py counts them. PyPI's tiktoken downloads its
    ranks at run time; this script builds the same encoding from a local copy of
    `cl100k_base.tiktoken` instead (the file embedded in the tiktoken-rs crate, sha256
    223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7, the hash tiktoken
    itself checks).

Run by hand, never by CI:
  pip install tiktoken
  python scripts/reference/style_features.py \
      ~/.cargo/registry/src/*/tiktoken-rs-0.12.1/assets/cl100k_base.tiktoken
"""
import json
import os
import re
import sys

import tiktoken
from tiktoken.load import load_tiktoken_bpe


# --- copied from add_markdown_info.py -------------------------------------------------
def count_markdown_elements(markdown_text, suffix):
    counters = {
        f"header_count{suffix}": {
            "h1": len(re.findall(r"^#{1}\s", markdown_text, re.MULTILINE)),
            "h2": len(re.findall(r"^#{2}\s", markdown_text, re.MULTILINE)),
            "h3": len(re.findall(r"^#{3}\s", markdown_text, re.MULTILINE)),
            "h4": len(re.findall(r"^#{4}\s", markdown_text, re.MULTILINE)),
            "h5": len(re.findall(r"^#{5}\s", markdown_text, re.MULTILINE)),
            "h6": len(re.findall(r"^#{6}\s", markdown_text, re.MULTILINE)),
        },
        f"list_count{suffix}": {
            "ordered": len(re.findall(r"^\s*\d+\.\s", markdown_text, re.MULTILINE)),
            "unordered": len(re.findall(r"^\s*[-*+]\s", markdown_text, re.MULTILINE)),
        },
        f"bold_count{suffix}": {
            "**": len(re.findall(r"\*\*[^*\n]+\*\*", markdown_text)),
            "__": len(re.findall(r"__[^_\n]+__", markdown_text)),
        },
    }
    return counters


def remove_pattern(answer, pattern):
    blocks = pattern.findall(answer)
    for block in blocks:
        answer = answer.replace(block, "")
    return answer
# ---------------------------------------------------------------------------------------

CL100K_PAT = r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}

# Each case is one side's assistant turns.
CASES = [
    ["# Title\n## Part\n#NoSpace\n####### seven\n1. one\n  2. two\n10.ten\n- a\n* b\n+ c\n-no\n---\n**bold** and __also__ and **not\nclosed** and ****\n"],
    ["#\ntext\n\n\n   1. item\n"],
    ["-\x1fx\n\x1c* y"],
    ["```\n# not a header\n- nor an item\n```\n# Header\n"],
    ["```\n**x**\n```\n\n**x**\n**y**"],
    ["```\n# h\n"],
    ["```python\ndef f():\n    return 1\n```\nThen:\n\n```python\ndef f():\n    return 1\n```\n1. done"],
    ["Here is `inline` code and ``double`` ticks.\n\n```js\nconst a = `template`;\n```\n- after"],
    ["## Résumé\n\n- **Naïve** approach\n- __Ünïcödé__\n\n1. 第一\n2. 第二\n\n### 見出し\n**太字**と__下線__"],
    ["Windows\r\n# header\r\n- item\r\n1. one\r\n**bold**\r\n"],
    ["\t- tabbed item\n\u3000- ideographic space item\n\u00a0# nbsp header\n#\u00a0nbsp after hash"],
    ["<|endoftext|> special <|fim_prefix|>x<|endofprompt|>"],
    ["emoji 👩‍👩‍👧‍👦 and 🎉🎉 and numbers 1234567890 3.14159"],
    ["first turn with **bold**", "# second turn\n- item", "```\ncode\n```"],
    ["1) not ordered\n1.not either\n 1.  yes\n٣. arabic-indic digit"],
    ["***triple*** and **a**b**c** and __a__b__c__"],
    [""],
    ["   \n\n\t\t\n   trailing spaces    "],
    ["It's they're we'll I'VE DON'T"],
]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    ranks = load_tiktoken_bpe(
        sys.argv[1],
        expected_hash="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    )
    enc = tiktoken.Encoding(
        name="cl100k_base", pat_str=CL100K_PAT, mergeable_ranks=ranks, special_tokens=CL100K_SPECIAL
    )
    pattern = re.compile("```([^`]*)```")
    out = []
    for turns in CASES:
        answer = "\n".join(turns)
        md = count_markdown_elements(remove_pattern(answer, pattern), suffix="_a")
        tokens = sum(len(enc.encode(t, allowed_special="all")) for t in turns)
        out.append({"turns": turns, "tokens": tokens, **md})
    path = os.path.join(
        os.path.dirname(__file__), "..", "..", "tests", "fixtures", "style", "features_reference.json"
    )
    with open(path, "w", encoding="utf-8") as f:
        json.dump(
            {"tiktoken": tiktoken.__version__, "python": sys.version.split()[0], "cases": out},
            f,
            ensure_ascii=False,
            indent=1,
        )
        f.write("\n")


if __name__ == "__main__":
    main()
