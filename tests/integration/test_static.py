"""Bytes on the wire: static files precompressed and, at their versioned URL, cached for a year;
pages compressed; the unversioned URL (the service worker's precache) always revalidated."""

from __future__ import annotations

import re

from app.static_files import IMMUTABLE, STATIC_DIR


def versioned_links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="(/static/[^"#]+\?v=[0-9a-f]+)', html)


def test_the_files_a_page_links_are_versioned_compressed_and_immutable(client):
    links = versioned_links(client.get("/offline").text)
    assert {"css/app.css", "js/app.js", "vendor/htmx-2.0.11.min.js", "icons/icon-64.png"} <= {
        link.removeprefix("/static/").split("?")[0] for link in links
    }
    for link in links:
        path = STATIC_DIR / link.removeprefix("/static/").split("?")[0]
        response = client.get(link, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert response.status_code == 200 and response.headers["cache-control"] == IMMUTABLE, link
        assert response.content == path.read_bytes(), link  # decoded by the client: the same file
        if path.suffix in (".css", ".js"):
            assert response.headers["content-encoding"] == "br", link
            assert response.num_bytes_downloaded < path.stat().st_size / 2, link
    script = next(link for link in links if "/js/app.js" in link)
    gzip = client.get(script, headers={"Accept-Encoding": "gzip"})
    assert gzip.headers["content-encoding"] == "gzip" and gzip.content == (STATIC_DIR / "js/app.js").read_bytes()
    plain = client.get(script, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == (STATIC_DIR / "js/app.js").read_bytes()


def test_an_unversioned_or_outdated_url_is_revalidated_not_kept(client):
    for url in ("/static/css/app.css", "/static/css/app.css?v=0000000000"):
        first = client.get(url)
        assert first.status_code == 200 and first.headers["cache-control"] == "no-cache", url
        again = client.get(url, headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304 and again.content == b"", url
    worker = client.get("/sw.js")
    assert worker.headers["cache-control"] == "no-cache" and worker.headers["content-encoding"] == "br"
    assert client.get("/static/../settings.py").status_code == 404
    assert client.get("/static/css/no-such.css").status_code == 404


def test_pages_are_compressed(client, demo):
    page = client.get("/signin", headers={"Accept-Encoding": "br"})
    assert page.headers["content-encoding"] == "br" and "Accept-Encoding" in page.headers["vary"]
    assert "<form" in page.text and page.num_bytes_downloaded < len(page.content) / 2
    gzip = client.get("/signin", headers={"Accept-Encoding": "gzip"})
    assert gzip.headers["content-encoding"] == "gzip" and "<form" in gzip.text
