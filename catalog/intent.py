"""What a message that is not an order asks for, from key phrases in both languages and scripts.

Two kinds of intent: a topic ("baki kati cha?" asks about dues) is found anywhere in the
message; a short answer ("ho", "hoina, cancel", "namaste") only when the message says nothing
else, since "ho" inside a sentence is just "is". Whether a message is an order is decided by the
parser from the items it finds, before any of this.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalog.model import Intent
from catalog.quantity import phrase_key
from catalog.words import FILLERS, GREETINGS

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


def keyword_intent(words: Sequence[str]) -> Intent | None:
    """The intent named by a message's keyed words, or None when they name none."""
    words = [_without_postposition(w) for w in words]
    grams = _ngrams(words)
    for intent, phrases in _TOPIC_PHRASES:
        if grams & phrases:
            return intent
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
        and all(w in GREETINGS or w in FILLERS for w in words)
        and any(w in GREETINGS for w in words)
    ):
        return "greeting"
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
