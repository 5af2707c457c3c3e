"""Every template read once as a reply, in both languages: English readers get "Rs", plurals
that agree with their counts and no Devanagari; Nepali readers get "रु" with Devanagari digits
and the phrasings a Nepali shopkeeper reads without stumbling."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from locales.render import LOCALES_DIR, Messages, counted, translations, unit_name
from tests.locales.samples import SAMPLES

MESSAGES = Messages()
# The one Nepali sentence English replies carry on purpose: how to switch to Nepali.
LANGUAGE_HINT = 'नेपालीमा कुरा गर्न "नेपाली" थिच्नुहोस्।'
_DEVANAGARI = re.compile("[\u0900-\u097f]")
_QUOTED = re.compile(r'"[^"]*"')  # what people may type ("nun 10 packet"), not what we count
UNITS = ("kg", "g", "l", "ml", "piece", "packet", "bora", "bag", "carton", "dozen", "tray",
         "crate", "jar", "tin", "bottle", "pouch", "box", "strip", "bundle")


def _templates() -> set[str]:
    return {p.stem for p in (LOCALES_DIR / "en" / "messages").glob("*.j2")
            if not p.stem.startswith("_")}


def _rendered(lang: str) -> Iterator[tuple[str, str]]:
    for template, contexts in SAMPLES.items():
        for context in contexts:
            yield template, MESSAGES.render(lang, template, **context)  # type: ignore[arg-type]


def test_every_template_has_sample_contexts_to_be_read_with():
    assert set(SAMPLES) == _templates(), "add samples for new templates to tests/locales/samples.py"


def test_english_replies_write_rs_and_no_devanagari():
    for template, text in _rendered("en"):
        assert "रु" not in text, (template, text)
        assert not _DEVANAGARI.search(text.replace(LANGUAGE_HINT, "")), (template, text)


def test_nepali_replies_write_rupees_and_amounts_in_devanagari():
    for template, text in _rendered("ne"):
        assert "Rs" not in text, (template, text)
        assert not re.search(r"रु -?[0-9]", text), (template, text)


def test_units_take_the_plural_after_a_count_in_english_only():
    en, ne = translations("en"), translations("ne")
    assert counted(en, 10, "packet", lang="en") == "10 packets"
    assert counted(en, 1, "packet", lang="en") == "1 packet"
    assert counted(en, "1.5", "l", lang="en") == "1.5 litres"
    assert counted(en, 60, "piece", lang="en") == "60 pieces"
    assert counted(en, 2, "bora", lang="en") == "2 bora"  # a Nepali word, as shopkeepers write it
    assert counted(en, 100, "kg", lang="en") == "100 kg"
    assert counted(ne, 10, "packet", lang="ne") == "१० प्याकेट"
    assert unit_name(en, "box", 2) == "boxes" and unit_name(ne, "box", 2) == "बक्सा"
    # The plain entries still name one unit, for "Rs 25/packet" and "प्रति प्याकेट".
    assert en.gettext("packet") == "packet" and ne.gettext("packet") == "प्याकेट"
    assert unit_name(en, "dabba", 3) == "dabba"  # a word the catalog does not know stays as typed


def test_every_count_of_a_unit_in_an_english_reply_agrees_with_its_number():
    en = translations("en")
    forms = {u: (unit_name(en, u, 1), unit_name(en, u, 2)) for u in UNITS}
    words = sorted({w for pair in forms.values() for w in pair}, key=len, reverse=True)
    counts = re.compile(r"(?<![\w.,])(\d[\d,]*(?:\.\d+)?) (" + "|".join(words) + r")\b")
    checked = 0
    for template, text in _rendered("en"):
        for number, word in counts.findall(_QUOTED.sub("", text)):
            one = number == "1"
            assert any(word == (single if one else plural) for single, plural in forms.values()), (
                template, number, word, text)
            checked += 1
    assert checked > 20  # the samples do count things


def test_nepali_phrases_a_shopkeeper_reads_naturally():
    def ne(template: str, index: int = 0) -> str:
        return MESSAGES.render("ne", template, **SAMPLES[template][index])

    owed = ne("payment_recorded")
    assert "उहाँले तपाईंलाई तिर्न बाँकी" in owed and "उहाँको तपाईंलाई" not in owed
    for index in range(len(SAMPLES["vendor_offer_set"])):
        stock = ne("vendor_offer_set", index)
        assert "उपलब्ध" in stock and "खाली" not in stock, stock
    # "रद्द" here would read as "reject it"; the way out says "no" and that the order stays.
    why = ne("vendor_ask_reason")
    assert "रद्द" not in why and '"होइन"' in why and "अर्डर तपाईंकै रहन्छ" in why
    for role_index in (1, 2):  # a retailer's and a vendor's help
        heading = ne("help", role_index).splitlines()[1]
        assert heading == "तपाईं यी काम गर्न सक्नुहुन्छ:", heading
    # Postpositions join the word they follow ("प्रशासकको", not "प्रशासक को").
    conflict = {"phone": "+9779800000001", "blocked": False, "role": "ADMIN"}
    assert "प्रशासकको रूपमा" in MESSAGES.render("ne", "error", key="user.role_conflict",
                                                params=conflict)
    assert "खुद्रा पसलका रूपमा" in ne("user_added")
    # A refused step is named as a step ("cannot be dispatched"), not as a status.
    step = {"order": "KH-000123", "from_status": "VENDOR_ASSIGNED", "to_status": "DISPATCHED"}
    refused = {lang: MESSAGES.render(lang, "error", key="order.illegal_transition", params=step)
               for lang in ("en", "ne")}
    assert refused["ne"].endswith("अब पठाइयो भन्न मिल्दैन।"), refused
    assert refused["en"].endswith("it cannot be dispatched now."), refused


@pytest.mark.parametrize("lang", ["en", "ne"])
def test_every_sample_renders_without_leftover_markup(lang):
    for template, text in _rendered(lang):
        assert "{{" not in text and "{%" not in text and "None" not in text, (template, text)
        assert "  " not in text.replace("\n  –", ""), (template, text)
