"""Profile links from social handles (node/web/social.py): built only from clean handles."""

from __future__ import annotations

import pytest

from node.web.labels import country_name, label, language_name
from node.web.social import profile_url


@pytest.mark.parametrize(
    ("platform", "handle", "url"),
    [
        ("x", "@MayoClinic", "https://x.com/MayoClinic"),
        ("x", "MayoClinic", "https://x.com/MayoClinic"),
        ("instagram", "@radboudumc", "https://www.instagram.com/radboudumc/"),
        ("facebook", "MayoClinic", "https://www.facebook.com/MayoClinic"),
        ("youtube", "@mayoclinic", "https://www.youtube.com/@mayoclinic"),
        ("linkedin", "mayo-clinic", "https://www.linkedin.com/company/mayo-clinic/"),
        ("mastodon", "@radboudumc@mastodon.social", "https://mastodon.social/@radboudumc"),
    ],
)
def test_a_clean_handle_becomes_its_profile_link(platform: str, handle: str, url: str) -> None:
    assert profile_url(platform, handle) == url


@pytest.mark.parametrize(
    ("platform", "handle"),
    [
        ("x", None),
        ("x", ""),
        ("x", "@Mayo Clinic"),  # a space: not an X handle
        ("x", "@a_handle_far_too_long_for_x"),
        ("x", "evil/../path"),
        ("x", 'x" onclick="alert(1)'),
        ("mastodon", "@radboudumc"),  # no server: no link
        ("mastodon", "@a@b"),  # a host needs a dot
        ("blog", "@whatever"),  # no handle pattern for a blog
        ("other", "@someone"),
    ],
)
def test_anything_else_gets_no_link(platform: str, handle: str | None) -> None:
    assert profile_url(platform, handle) is None


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("academic-medical-centre", "Academic medical centre"),
        ("webinar", "Webinar"),
        ("charter-member", "Charter member"),
        ("youtube", "YouTube"),
        ("no-such-code", "no-such-code"),
    ],
)
def test_codes_read_as_words(code: str, words: str) -> None:
    assert label(code) == words


@pytest.mark.parametrize(
    ("code", "name"),
    [("NL", "Netherlands"), ("US", "United States"), ("TW", "Taiwan"), ("XX", "XX")],
)
def test_country_names(code: str, name: str) -> None:
    assert country_name(code) == name


@pytest.mark.parametrize(
    ("tag", "name"),
    [
        ("nl", "Dutch"),
        ("en", "English"),
        ("pt-BR", "Portuguese (Brazil)"),
        ("zh-Hant-TW", "Chinese (Taiwan)"),
        ("fil", "Filipino"),
        ("qq", "qq"),
    ],
)
def test_language_names(tag: str, name: str) -> None:
    assert language_name(tag) == name
