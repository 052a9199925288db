#!/usr/bin/env python3
"""How gpt2-style.tokenizer.json was made (run once; the JSON is committed). The 256 byte tokens are
generated (GPT-2 order); the merges are hand-picked, including a duplicate ("o u", "Ġ Ġ"), merges whose
parts are missing (skipped here), and a vocab token ("Hell") that is also reachable only via merges.
Merges are written in the legacy "left right" string form, as older GPT-2 files have them."""
import json
bs = list(range(ord("!"), ord("~")+1)) + list(range(ord("¡"), ord("¬")+1)) + list(range(ord("®"), ord("ÿ")+1))
cs = bs[:]; n = 0
for b in range(256):
    if b not in bs: bs.append(b); cs.append(256+n); n += 1
m = {b: chr(c) for b, c in zip(bs, cs)}
order = sorted(range(256), key=lambda b: ord(m[b]))
vocab = {m[b]: i for i, b in enumerate(order)}
merges = ["Ġ t", "h e", "i n", "Ġt he", "e r", "o n", "Ġ a", "r e", "a t", "o u", "e n", "Ġ s", "Ġ w", "i s", "Ġ o",
          "Ġ c", "in g", "e s", "Ġ b", "Ġ f", "Ġ p", "Ġ m", "l l", "o r", "a n", "t h", "Ġ th", "th e", "Ġ d",
          "Ġ Ġ", "ĠĠ ĠĠ", "Ċ Ċ", "1 2", "12 3", "' s", "' t", "Ġw or", "l d", "Ġwor ld", "ä ¸", "Ã ©", "ðŁ ĺ",
          "Ð ¾", "Ø §", "Ġ (", "( )", ") :", "= =", "d e", "de f", "Ġ def", "Ġ in", "o u", "Ġ to", "Ġ Ġ", "H e", "He ll", "l o", "Hell o"]
seen = []
for mm in merges:
    a, b = mm.split(" ")
    if a not in vocab or b not in vocab:
        continue
    if a + b not in vocab: vocab[a + b] = len(vocab)
    seen.append(mm)
vocab["<|endoftext|>"] = len(vocab)
tj = {"version": "1.0", "truncation": None, "padding": None,
      "added_tokens": [{"id": vocab["<|endoftext|>"], "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                        "rstrip": False, "normalized": True, "special": True}],
      "normalizer": None,
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
      "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
      "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
      "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "", "end_of_word_suffix": "",
                "fuse_unk": False, "byte_fallback": False, "vocab": vocab, "merges": seen}}
json.dump(tj, open("gpt2-style.tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False, indent=1)
