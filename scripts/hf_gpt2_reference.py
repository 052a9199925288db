"""Writes a GPT-2 the way a transformers user does (`GPT2LMHeadModel.save_pretrained(OUT)`, every parameter seeded
random, biases and LayerNorm too) and prints its logits at every position of each id list read from stdin (a JSON
list of lists), so HuggingFaceExportTests can check that the engine imports such a directory
(`initFrom: {huggingFace: OUT}`) and computes the same logits.

    echo '[[1, 2, 3]]' | python3 scripts/hf_gpt2_reference.py OUT --vocab 300 --context 16 --width 16 --layers 2 --heads 2
"""
import argparse
import json
import sys

import torch
from transformers import GPT2Config, GPT2LMHeadModel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    for name in ["vocab", "context", "width", "layers", "heads"]:
        parser.add_argument("--" + name, type=int, required=True)
    args = parser.parse_args()
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=args.vocab, n_positions=args.context, n_embd=args.width, n_layer=args.layers,
                        n_head=args.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.eval()
    model.save_pretrained(args.out)
    with torch.no_grad():
        logits = [model(torch.tensor([ids], dtype=torch.long)).logits[0].tolist() for ids in json.load(sys.stdin)]
    json.dump({"logits": logits}, sys.stdout)


if __name__ == "__main__":
    main()
