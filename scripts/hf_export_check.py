"""Loads an `opsctl export --format hf` directory with Hugging Face transformers, as a user would, and prints what it
computes for each prompt: the token ids of `AutoTokenizer.from_pretrained(OUT)` and of
`PreTrainedTokenizerFast(tokenizer_file=OUT/tokenizer.json)`, and `GPT2LMHeadModel.from_pretrained(OUT)`'s logits at
every position (fp32, CPU). HuggingFaceExportTests compares them with the engine's; a user can run it to check an
export by eye.

    echo '["Hello world", "the cat "]' | python3 scripts/hf_export_check.py OUT > logits.json
"""
import json
import sys

import torch
from transformers import AutoTokenizer, GPT2LMHeadModel, PreTrainedTokenizerFast


def main():
    out = sys.argv[1]
    prompts = json.load(sys.stdin)
    model = GPT2LMHeadModel.from_pretrained(out, torch_dtype=torch.float32)
    model.eval()
    auto = AutoTokenizer.from_pretrained(out)
    fast = PreTrainedTokenizerFast(tokenizer_file=out + "/tokenizer.json")
    results = []
    with torch.no_grad():
        for prompt in prompts:
            ids = fast(prompt)["input_ids"]
            logits = model(torch.tensor([ids], dtype=torch.long)).logits[0]
            results.append({"ids": ids, "autoIds": auto(prompt)["input_ids"], "logits": logits.tolist()})
    tied = model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    json.dump({"results": results, "tiedHead": tied, "autoTokenizer": type(auto).__name__}, sys.stdout)


if __name__ == "__main__":
    main()
