"""Where a redirect may go (app/domain/redirects.safe_next): a path on this site, else "/"."""

import pytest

from app.domain.redirects import safe_next

NASTY = [
    None,
    "",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/%09/evil".replace("%09", "\t"),
    "\t",
    "\n",
    "\t/evil",
    "/me\x00",
    "/me\x7f",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,x",
    "http://evil.example/",
    "https://evil.example/me",
    "evil.example",
    "me",
    " /me",
    "/me ",
    "/a b",
    "/\u00a0/evil",
    "/\u3000/evil",
    "/\u2028/evil",
    "/\u2029",
    "/\u200b/evil",
    "/\ufeff/evil",
    "/\u202e/evil",
    "/a\\b",
]
FINE = ["/", "/me", "/people/3?reveal=true", "/calls?q=黄河&page=2", "/field#logs", "/%2F%2Fevil", "/..//x"]


@pytest.mark.parametrize("target", NASTY)
def test_anything_but_a_plain_path_becomes_the_home_page(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize("target", FINE)
def test_a_path_on_this_site_is_kept(target):
    assert safe_next(target) == target
