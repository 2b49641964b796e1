#!/usr/bin/env python3
"""A tiny model to train on the exports offline: a byte-level BPE tokenizer trained on their texts, with a
chat template whose assistant turn is marked `{% generation %}` (what TRL's `assistant_only_loss=True`
needs), and a one-layer random Llama, saved as a hub model is, so the trainers take its path as a model id.

    python3 apps/cli/test/tiny_model.py tiny-model train-messages.jsonl    # then MODEL=tiny-model

Any export in a conversational format gives texts (`messages`, `prompt-completion`, `preference`). Used
by `loaders.py` and the training snippet of docs/formats.md (run by `Loaders.test.ts`); it learns nothing: it shows
that the files load, tokenize and train, in seconds on a CPU, without reaching a model hub.
"""

import json
import os
import sys

# The assistant's turn between {% generation %} and {% endgeneration %}: the tokens the loss is kept on.
TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}{{ '\n' }}"
    "{% else %}{{ message['content'] + '<|im_end|>\n' }}{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def texts_of(row):
    """Every turn's text in one exported line, whatever its conversational format."""
    for key in ("messages", "prompt", "completion", "chosen", "rejected"):
        for turn in row.get(key) or []:
            yield turn["content"]


def build(texts, path):
    """Trains the tokenizer on `texts`, saves it and a one-layer Llama to `path`: (tokenizer, config)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    tk.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=1000,
            special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
            show_progress=False,
        ),
    )
    tok = PreTrainedTokenizerFast(tokenizer_object=tk, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    tok.chat_template = TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=4096,
        pad_token_id=tok.pad_token_id,
        eos_token_id=tok.eos_token_id,
        bos_token_id=None,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    tok.save_pretrained(path)
    return tok, config


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit("usage: tiny_model.py OUT_DIR EXPORT.jsonl...")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    texts = []
    for name in sys.argv[2:]:
        with open(name, encoding="utf8") as f:
            texts.extend(t for line in f if line.strip() for t in texts_of(json.loads(line)))
    tok, _ = build(texts, sys.argv[1])
    print(f"{sys.argv[1]}: a one-layer Llama and a tokenizer of {len(tok)} tokens, from {len(texts)} texts")
