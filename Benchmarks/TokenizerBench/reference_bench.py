#!/usr/bin/env python3
"""Reference side of TokenizerBench (run by it): tiktoken and HF tokenizers on the same corpus and vocabulary.

  reference_bench.py encode TOKENIZER_JSON DOCS_JSON   -> JSON with tiktoken/HF encode timings
  reference_bench.py train DOCS_JSON VOCAB_SIZE         -> JSON with the HF trainer timing
Timings exclude interpreter start-up and file loading.
"""
import json, os, sys, time

LLAMA3 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

def byte_decoder():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b); cs.append(256 + n); n += 1
    return {chr(c): b for b, c in zip(bs, cs)}

def encode_bench(tokenizer_json, docs_json):
    import tiktoken
    tj = json.load(open(tokenizer_json, encoding="utf-8"))
    dec = byte_decoder()
    specials = {t["content"]: t["id"] for t in tj["added_tokens"]}
    ranks = {}
    for tok, i in tj["model"]["vocab"].items():
        if tok in specials:
            continue
        ranks[bytes(dec[c] for c in tok)] = i
    enc = tiktoken.Encoding("ours-32k", pat_str=LLAMA3, mergeable_ranks=ranks, special_tokens=specials)
    docs = json.load(open(docs_json, encoding="utf-8"))
    nbytes = sum(len(d.encode("utf-8")) for d in docs)
    out = {"bytes": nbytes}
    enc.encode_ordinary(docs[0])  # warm-up
    best, best_cpu = float("inf"), float("inf")
    for _ in range(3):
        t, c = time.perf_counter(), time.thread_time()
        n = 0
        for d in docs:
            n += len(enc.encode_ordinary(d))
        best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.thread_time() - c)
    out["tiktoken_1core_s"] = best
    out["tiktoken_1core_cpu_s"] = best_cpu
    out["tiktoken_tokens"] = n
    t = time.perf_counter()
    enc.encode_ordinary_batch(docs, num_threads=2)
    out["tiktoken_2threads_s"] = time.perf_counter() - t
    # HF tokenizers, one thread (RAYON_NUM_THREADS=1 is set by the caller) on the same tokenizer.json.
    from tokenizers import Tokenizer
    hf = Tokenizer.from_file(tokenizer_json)
    t = time.perf_counter()
    m = sum(len(e.ids) for e in hf.encode_batch(docs, add_special_tokens=False))
    out["hf_1thread_s"] = time.perf_counter() - t
    out["hf_tokens"] = m
    print(json.dumps(out))

def train_bench(docs_json, vocab_size):
    from tokenizers import Tokenizer, Regex, models, pre_tokenizers, trainers
    docs = json.load(open(docs_json, encoding="utf-8"))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>", "<|pad|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    t = time.perf_counter()
    tok.train_from_iterator(docs, trainer=trainer)
    out = {"hf_train_s": time.perf_counter() - t, "threads": os.environ.get("RAYON_NUM_THREADS", "all")}
    tok.save(docs_json + ".hf-tokenizer.json")
    print(json.dumps(out))

if __name__ == "__main__":
    if sys.argv[1] == "encode":
        encode_bench(sys.argv[2], sys.argv[3])
    else:
        train_bench(sys.argv[2], int(sys.argv[3]))
