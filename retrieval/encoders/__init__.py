"""Dense (all-MiniLM-L6-v2: OpenVINO int8 fast path or sentence-transformers) and BM25 sparse encoders."""

from citewise.retrieval.encoders.dense import DenseEncoder, load_dense_encoder
from citewise.retrieval.encoders.model_files import load_tokenizer, resolve_model_dir
from citewise.retrieval.encoders.sparse import Bm25Encoder, SparseVector

__all__ = ["Bm25Encoder", "DenseEncoder", "SparseVector", "load_dense_encoder", "load_tokenizer", "resolve_model_dir"]
