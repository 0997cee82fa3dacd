"""Developer tools, not shipped in the wheel: the generators of spec-derived code and data.

``python -m tools.distil_spec OPENAPI_JSON`` writes ``tripletex_async/_spec/models.json``;
``python -m tools.gen_models`` writes ``tripletex_async/models/_generated.py`` from it.
Tests check that both committed files are what the tools make.
"""
