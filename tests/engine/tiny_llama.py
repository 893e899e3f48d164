"""Builds a tiny, functional Llama for the engine tests with mlx-lm's own model classes.

Usage: python tiny_llama.py OUT_DIR [--quantize] [--hidden N] [--layers N] [--shards N]

Random weights (seeded), 2 layers, hidden size 64, a 96-word WordLevel tokenizer with a
chat template, saved as mlx-lm saves a model (config.json, model.safetensors, tokenizer
files). With --quantize it is quantized to 4 bits (group size 32) by mlx-lm. --hidden and
--layers make a bigger one for the benchmark (heads of 16 dimensions, an MLP twice as wide).
--shards N saves the weights as N shards with their index, as mlx-lm saves a large model.
"""

import argparse
import json
from pathlib import Path

import mlx.core as mx
from mlx.utils import tree_flatten
from mlx_lm.models import llama
from tokenizers import Tokenizer, models, pre_tokenizers, decoders

WORDS = (
    "the a an of to and in is it that was for on are as with his they at be this from "
    "have or by one had not but what all were when we there can your which their said if "
    "do will each about how up out them then she many some so these would other into has "
    "more her two like him see time could no make than first been its who now people my "
    "made over did down only way find use may water long little very after words called "
    "just where most know hello world tiny model"
).split()


def main(out: Path, quantize: bool, hidden: int = 64, layers: int = 2, shards: int = 1) -> None:
    out.mkdir(parents=True, exist_ok=True)
    special = ["<unk>", "<s>", "</s>"]
    vocab = {t: i for i, t in enumerate(special + WORDS)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": "<s>",
        "eos_token": "</s>",
        "unk_token": "<unk>",
        "model_max_length": 256,
        "chat_template": "{% for m in messages %}{{ m['role'] }} : {{ m['content'] }} {% endfor %}{% if add_generation_prompt %}assistant : {% endif %}",
    }))
    (out / "special_tokens_map.json").write_text(json.dumps(
        {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))

    config = {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "intermediate_size": 2 * hidden,
        "num_attention_heads": hidden // 16,
        "num_key_value_heads": max(1, hidden // 32),
        "rms_norm_eps": 1e-5,
        "vocab_size": len(vocab),
        "max_position_embeddings": 256,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float16",
    }
    mx.random.seed(7)
    model = llama.Model(llama.ModelArgs.from_dict(config))
    model.set_dtype(mx.float16)
    if quantize:
        import mlx.nn as nn

        nn.quantize(model, group_size=32, bits=4)
        config["quantization"] = {"group_size": 32, "bits": 4}
        config["quantization_config"] = {"group_size": 32, "bits": 4, "mode": "affine"}
    mx.eval(model.parameters())
    weights = dict(tree_flatten(model.parameters()))
    if shards <= 1:
        mx.save_safetensors(str(out / "model.safetensors"), weights, metadata={"format": "mlx"})
    else:
        names = sorted(weights)
        weight_map = {}
        for i in range(shards):
            shard = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            part = {k: weights[k] for k in names[i::shards]}
            mx.save_safetensors(str(out / shard), part, metadata={"format": "mlx"})
            weight_map.update({k: shard for k in part})
        total = sum(v.nbytes for v in weights.values())
        index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
        (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=4))
    (out / "config.json").write_text(json.dumps(config, indent=2))


if __name__ == "__main__":
    cli = argparse.ArgumentParser()
    cli.add_argument("out", type=Path)
    cli.add_argument("--quantize", action="store_true")
    cli.add_argument("--hidden", type=int, default=64)
    cli.add_argument("--layers", type=int, default=2)
    cli.add_argument("--shards", type=int, default=1)
    a = cli.parse_args()
    main(a.out, a.quantize, a.hidden, a.layers, a.shards)
