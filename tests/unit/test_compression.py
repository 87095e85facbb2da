"""Pages are brotli-compressed by a facade that lets go of its encoder once the response is done."""

from __future__ import annotations

import io

import brotli

from app.main import COMPRESSION


def test_a_finished_response_keeps_no_encoder_and_its_bytes_decompress_to_the_page():
    page = ("<li>紫薇网格 · 张大爷 · 反诈宣传</li>\n" * 2000).encode()
    out = io.BytesIO()
    facade = COMPRESSION.compression_facade(buffer=out, compression_encoding="br", config=COMPRESSION)
    facade.write(page[:30_000])
    facade.write(page[30_000:])
    facade.close()
    # The encoder's native state (megabytes) goes with it, not when a late gc finds the facade.
    assert not hasattr(facade, "compressor")
    assert brotli.decompress(out.getvalue()) == page
