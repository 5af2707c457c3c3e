"""What a message that is not an order asks for, from key phrases in both languages and scripts.

Two kinds of intent: a topic ("baki kati cha?" asks about dues) is found anywhere in the
message; a short answer ("ho", "hoina, cancel", "namaste", "kasto cha?") only when the message
says nothing else, since "ho" inside a sentence is just "is". Whether a message is an order or a
question about prices is decided by the parser from the products it finds, with the cues here:
a price word ("rate", "bhau", "मूल्य", "how much") asks about the products named anywhere in the
message; a request ("pathaidinu", "chaiyo", "send") with a stated quantity makes it an order.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.model import Intent
from catalog.quantity import phrase_key
from catalog.words import CHATTER, FILLERS, GREETINGS

# Checked in this order: a more specific topic first ("purano order" is history, not status).
_TOPICS: tuple[tuple[Intent, str], ...] = (
    (
        "repeat",
        """repeat | same as last | last time | same order | same again | pahile jastai |
        pahila jastai | pahilai jastai | pahile jasto | pahilako jastai | tei order | usai order |
        feri tei | feri pathau | ghari | पहिले जस्तै | पहिला जस्तै | उही अर्डर | फेरि उही""",
    ),
    (
        "history",
        """history | past orders | previous orders | old orders | my orders | order list |
        purano order | purana order | pahilako order | agillo order | order haru | itihas |
        पुरानो अर्डर | अघिल्लो अर्डर | इतिहास | अर्डरहरु""",
    ),
    (
        "status",
        """status | where is my order | track | tracking | delivery | delivered | pugyo |
        pugena | aayena | ayena | kaha pugyo | kata pugyo | kahile aauchha | kahile aucha |
        kahile aaunchha | kaha cha | kaha chha | स्थिति | कहाँ पुग्यो | पुग्यो | आएन | कहिले आउँछ""",
    ),
    (
        "dues",
        """dues | due | owe | balance | outstanding | credit | udharo | udhaaro | baki | baaki |
        bakaya | bakyaula | tirnu | kati tirnu | hisab | hisaab | kati bhayo | बाँकी | बाकी |
        उधारो | बक्यौता | हिसाब | तिर्नु""",
    ),
    (
        "language",
        """language | english | angrezi | angreji | nepali | bhasa | bhasha |
        भाषा | नेपाली | अंग्रेजी | इङ्लिस""",
    ),
    (
        "help",
        """help | madat | maddat | sahayog | sahayata | k garne | ke garne | how to | how do |
        guide | menu | what can you | kasari | मद्दत | सहयोग | सहायता | के गर्ने | कसरी""",
    ),
)
_ANSWERS: tuple[tuple[Intent, str], ...] = (
    (
        "cancel",
        """cancel | cancle | radda | rad | hoina | haina | no | nope | nai | chaidaina |
        chahidaina | pardaina | stop | band | nagarnu | रद्द | होइन | हैन | चाहिँदैन | पर्दैन""",
    ),
    (
        "confirm",
        """ho | yes | yess | yeah | yep | ok | okay | k | confirm | confirmed | thik | thik cha |
        thikcha | huncha | hunchha | hus | hajur | sahi | pakka | done | sure | हो | हुन्छ | ठीक |
        ठिक छ | हजुर | पक्का""",
    ),
)

# Small talk: a message of these (and fillers) is answered like a greeting.
_SMALL_TALK = """kasto cha | k cha | ke cha | k xa | ke xa | kasto xa | sanchai | sancho |
    sanchai hunuhuncha | k khabar | ke khabar | halkhabar | khana khanu bhayo | how are you |
    how r you | how are u | hope you are well | how is business |
    कस्तो छ | के छ | सन्चै | सञ्चै | के खबर"""

# A price or availability question, wherever it stands ("chini ko rate kati ho?").
_PRICE_CUES = """rate | rates | price | prices | pricing | cost | costs | mrp | bhau | bhaau |
    bhav | mol | mulya | mullya | dar | daam | charge | how much | kati ho | kati ma | katima |
    kati parcha | kati parchha | kati pardachha | kati lagcha | kati ko | katiko |
    kati rupaiya | kati paisa | available | availability | in stock | do you have |
    have you got | you have | is there | are there | any stock | stock | stok | paincha |
    painchha | paaincha | paainchha | paucha | pauchha | paunchha | milcha | milchha | milxa |
    upalabdha | मूल्य | मुल्य | भाउ | दर | रेट | मोल | कति हो | कतिमा | कति मा | कति पर्छ |
    कतिको | पाइन्छ | पाईन्छ | मिल्छ | उपलब्ध | स्टक"""
# Weaker cues, that ask only about the products of their own phrase. "kati" always does
# ("chini 2 bora kati?"); "k cha" only when no quantity is given ("k cha chini?" asks, but
# "k cha dai, 2 bora chini" is small talk, then an order); "cha" only with a question mark
# ("chini 2 bora cha?"). A product with a question mark and no quantity asks too ("chini?").
_PHRASE_CUES = """kati | cha ki chaina | chha ki chhaina | cha ki chhaina | chha ki chaina | कति |
    छ कि छैन"""
_UNSTATED_CUES = """k cha | ke cha | k xa | ke xa | के छ"""
_MARKED_CUES = """cha | chha | xa | chan | chhan | hola | छ | छन् | होला"""
# Words that ask for goods to be sent; with a stated quantity they make an order even when the
# message also asks the price ("chini 2 bora pathaidinu, rate kati ho?": the draft shows it).
_REQUESTS = """chaiyo | chahiyo | chaahiyo | chainchha | chaincha | chahincha | chahinchha |
    chainxa | chaiye | send | need | want | order | चाहियो | चाहिन्छ | अर्डर"""
_REQUEST_STEM = "patha"  # pathau, pathaunu, pathaidinu, pathaideu, पठाउनु…

_MAX_PHRASE_WORDS = 4
# Nepali glues postpositions to words ("नेपालीमा" is "nepali ma", in Nepali).
_POSTPOSITIONS = ("haru", "bata", "lai", "ma", "ko", "le")
_MIN_STEM = 3


def _phrases(text: str) -> frozenset[tuple[str, ...]]:
    keyed = (tuple(phrase_key(p).split()) for p in text.split("|"))
    return frozenset(words for words in keyed if words)


_TOPIC_PHRASES = tuple((intent, _phrases(text)) for intent, text in _TOPICS)
_ANSWER_PHRASES = tuple((intent, _phrases(text)) for intent, text in _ANSWERS)
_KEYWORDS = frozenset(
    word for _, phrases in _TOPIC_PHRASES + _ANSWER_PHRASES for p in phrases for word in p
)
_SMALL_TALK_PHRASES = _phrases(_SMALL_TALK)
_PRICE_PHRASES = _phrases(_PRICE_CUES)
_PHRASE_CUE_PHRASES = _phrases(_PHRASE_CUES)
_UNSTATED_CUE_PHRASES = _phrases(_UNSTATED_CUES)
_MARKED_CUE_PHRASES = _phrases(_MARKED_CUES)
_REQUEST_WORDS = frozenset(p[0] for p in _phrases(_REQUESTS))


def keyword_intent(words: Sequence[str]) -> Intent | None:
    """The intent named by a message's keyed words, or None when they name none."""
    words = [_without_postposition(w) for w in words]
    grams = _ngrams(words)
    topic = _topic(grams)
    if topic is not None:
        return topic
    found: list[Intent] = []
    covered: set[str] = set()
    for intent, phrases in _ANSWER_PHRASES:
        hits = grams & phrases
        if hits:
            found.append(intent)
            covered.update(word for phrase in hits for word in phrase)
    if found and all(w in covered or w in FILLERS or w in GREETINGS for w in words):
        return found[0]
    if (
        words
        and all(w in GREETINGS or w in FILLERS or w in CHATTER for w in words)
        and (any(w in GREETINGS for w in words) or bool(grams & _SMALL_TALK_PHRASES))
    ):
        return "greeting"
    return None


def topic_intent(words: Sequence[str]) -> Intent | None:
    """The topic a message's keyed words name anywhere (dues, status, …), or None."""
    return _topic(_ngrams([_without_postposition(w) for w in words]))


def asks_price(words: Sequence[str]) -> bool:
    """Whether the keyed words ask a price or availability anywhere ("rate", "how much")."""
    return bool(_ngrams(words) & _PRICE_PHRASES)


def asks_in_phrase(words: Sequence[str], *, question: bool, stated: bool) -> bool:
    """Whether a phrase that names products asks about them, from its keyed words, whether it
    ends with a question mark, and whether it states a quantity (digits or a unit)."""
    grams = _ngrams(words)
    if grams & _PHRASE_CUE_PHRASES:
        return True
    if not stated and (question or bool(grams & _UNSTATED_CUE_PHRASES)):
        return True
    return question and bool(grams & _MARKED_CUE_PHRASES)


def requests_goods(words: Sequence[str]) -> bool:
    """Whether the keyed words ask for goods to be sent ("pathaidinu", "chaiyo", "send")."""
    return any(w in _REQUEST_WORDS or w.startswith(_REQUEST_STEM) for w in words)


def _topic(grams: set[tuple[str, ...]]) -> Intent | None:
    for intent, phrases in _TOPIC_PHRASES:
        if grams & phrases:
            return intent
    return None


def _without_postposition(word: str) -> str:
    if word in _KEYWORDS:
        return word
    for suffix in _POSTPOSITIONS:
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= _MIN_STEM and stem in _KEYWORDS:
            return stem
    return word


def _ngrams(words: Sequence[str]) -> set[tuple[str, ...]]:
    return {
        tuple(words[i : i + n])
        for n in range(1, _MAX_PHRASE_WORDS + 1)
        for i in range(len(words) - n + 1)
    }
