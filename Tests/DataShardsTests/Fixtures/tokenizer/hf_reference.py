#!/usr/bin/env python3
"""Reference side of the tokenizer equality tests: the Hugging Face `tokenizers` package.

  hf_reference.py encode TOKENIZER_JSON TEXTS_JSON OUT_JSON
      ids of every text (add_special_tokens=False) -> OUT_JSON as a list of lists
  hf_reference.py train CORPUS_JSON VOCAB_SIZE SPECIALS_JSON gpt2|llama3 OUT_TOKENIZER_JSON
      trains with BpeTrainer(initial_alphabet=ByteLevel.alphabet()) and saves tokenizer.json
  hf_reference.py resave IN_TOKENIZER_JSON OUT_TOKENIZER_JSON
      loads and saves a file: added tokens get the ids HF gives them (it renumbers ids that do not follow the
      model vocabulary, and takes the model's id for a content the vocabulary holds)
  hf_reference.py load OUT_JSON TOKENIZER_JSON...
      whether Tokenizer.from_file accepts each file -> OUT_JSON as a list of null (loaded) or the error text
"""
import json, sys
from tokenizers import Tokenizer, Regex, models, pre_tokenizers, decoders, trainers

GPT2 = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3 = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

def main():
    cmd = sys.argv[1]
    if cmd == "encode":
        tok = Tokenizer.from_file(sys.argv[2])
        texts = json.load(open(sys.argv[3], encoding="utf-8"))
        ids = [tok.encode(t, add_special_tokens=False).ids for t in texts]
        json.dump(ids, open(sys.argv[4], "w"))
    elif cmd == "train":
        corpus = json.load(open(sys.argv[2], encoding="utf-8"))
        vocab_size = int(sys.argv[3])
        specials = json.load(open(sys.argv[4], encoding="utf-8"))
        tok = Tokenizer(models.BPE())
        if sys.argv[5] == "gpt2":
            tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        else:
            tok.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Split(Regex(LLAMA3), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(corpus, trainer=trainer)
        tok.save(sys.argv[6])
    elif cmd == "resave":
        Tokenizer.from_file(sys.argv[2]).save(sys.argv[3])
    elif cmd == "load":
        verdicts = []
        for path in sys.argv[3:]:
            try:
                Tokenizer.from_file(path)
                verdicts.append(None)
            except Exception as e:
                verdicts.append(str(e))
        json.dump(verdicts, open(sys.argv[2], "w"))
    else:
        sys.exit("unknown command " + cmd)

if __name__ == "__main__":
    main()
