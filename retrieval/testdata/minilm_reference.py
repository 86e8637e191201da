"""Reference all-MiniLM-L6-v2 sentence vectors, computed independently of the Rust code:
a plain numpy BERT forward pass over the same model.safetensors, tokenized with the
tokenizers library (no padding, truncation to 256 word pieces), mean pooled, L2 normalized.

Usage: python minilm_reference.py MODEL_DIR > minilm_reference.json
Needs numpy, safetensors, tokenizers (any throwaway venv).
"""
import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

SENTENCES = [
    "This is an example sentence",
    "The database connection pool is exhausted",
    "java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, "
    "request timed out after 30000ms.\nat com.zaxxer.hikari.pool.HikariPool.getConnection\n"
    "service: orders",
    "Un café, s'il vous plaît — naïve façade 🚀",
    # Longer than 128 word pieces (the shipped tokenizer.json's limit), shorter than 256.
    " ".join(
        ["Traceback (most recent call last): File \"/app/worker.py\", line 42, in handle"]
        + [f"frame{i} calls module_{i}.function_{i} with argument value {i * 7}" for i in range(14)]
    ),
]

model_dir = sys.argv[1]
w = load_file(f"{model_dir}/model.safetensors")
prefix = "bert." if "bert.embeddings.word_embeddings.weight" in w else ""


def p(name):
    key = prefix + name
    if key not in w:  # old checkpoints name LayerNorm parameters gamma/beta
        key = key.replace(".weight", ".gamma").replace(".bias", ".beta")
    return w[key].astype(np.float64)


def layer_norm(x, name, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * p(name + ".weight") + p(name + ".bias")


def linear(x, name):
    return x @ p(name + ".weight").T + p(name + ".bias")


erf = np.vectorize(math.erf)


def embed(ids):
    n = len(ids)
    x = p("embeddings.word_embeddings.weight")[ids] + p("embeddings.position_embeddings.weight")[:n] \
        + p("embeddings.token_type_embeddings.weight")[0]
    x = layer_norm(x, "embeddings.LayerNorm")
    heads, hidden = 12, x.shape[1]
    dh = hidden // heads
    for i in range(6):
        l = f"encoder.layer.{i}."
        q = linear(x, l + "attention.self.query").reshape(n, heads, dh).transpose(1, 0, 2)
        k = linear(x, l + "attention.self.key").reshape(n, heads, dh).transpose(1, 0, 2)
        v = linear(x, l + "attention.self.value").reshape(n, heads, dh).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(dh)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        ctx = (scores @ v).transpose(1, 0, 2).reshape(n, hidden)
        x = layer_norm(x + linear(ctx, l + "attention.output.dense"), l + "attention.output.LayerNorm")
        h = linear(x, l + "intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))
        x = layer_norm(x + linear(h, l + "output.dense"), l + "output.LayerNorm")
    v = x.mean(0)
    return v / np.linalg.norm(v)


tokenizer = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
tokenizer.no_padding()
tokenizer.enable_truncation(256)
out = []
for s in SENTENCES:
    ids = tokenizer.encode(s).ids
    out.append({"text": s, "word_pieces": len(ids), "vector": [round(float(x), 7) for x in embed(ids)]})
json.dump(out, sys.stdout, indent=None)
print()
