"""The closed word lists of order messages: polite fillers, greetings and chatter, in both
scripts.

Words are written as retailers type them and keyed on use, so spelling variants that fold to
the same key ("pathaunu", "पठाउनु") need not be listed twice, but listing them does no harm.
A filler that is also part of a product name ("ko" in "makai ko pitho") is kept inside names
and dropped only where it is left over ("lux ko 2 darjan").

Chatter is everything else people write around an order that never names a product: small
talk, negations, particles, pronouns, question words and common verbs. It is never named back
as a missing product and never spelling-corrected into one ("kati" is not "kafi", coffee). The
parser decides what to do with a chatter word that is also a product word ("pani" is "also"
and water; "tell" keys like "tel", oil): see `OrderParser`.
"""

from __future__ import annotations

from catalog.quantity import phrase_key
from catalog.text import normalise

_FILLERS = """
dai daju bhai didi bahini sathi sir madam hajur ji bro brother dear boss sahuji saahuji
please pls plz plij kripaya kindly thank thanks thanku dhanyabad dhanyawad
pathaunu pathaunus pathaunuhos pathaunuhola pathaidinu pathaidinus pathaidinuhos pathaidinuhola
pathaidinos pathaidinuhun pathaidiu pathaideu pathaidey pathau pathai pathaune pathaidine
dinu dinus dinuhos dinuhola dinos deu dey dinuhun din dinuparyo diye
hola hai la ta ni na ki ho re hi
chaiyo chahiyo chainchha chahincha chaincha chahinchha chainxa chaiye parchha parcha paryo
garnu garnus garnuhos gardinu gardinus gardinuhos gardeu garideu
need needed want wanted send sending give get order orders also urgent
of the a an some for to with from by
i we me my our us mero hamro malai hamilai lai
aaja aja bholi today tomorrow now ahile turuntai chado jaldi samma bhitra
ko ka ki wala wali vala
ok okay k yes thik
पठाउनु पठाइदिनु पठाइदिनुहोस् पठाउनुहोस् दिनु दिनुहोस् होला है ल
अर्डर चाहियो चाहिन्छ दाइ दाजु भाइ दिदी साथी हजुर जी कृपया धन्यवाद मलाई मेरो हाम्रो आज भोलि
"""

_GREETINGS = """
namaste namaskar namasté hello helo hellow hi hii hey hy hlo
good morning evening afternoon gm jay jai nepal ram
नमस्ते नमस्कार हेलो हाई जय नेपाल राम
"""

_CHATTER = """
hoina haina hoena hoeina hoin nai nahi nahin natra navaye nabhaye
chaina chhaina chhaina xaina chaidaina chahidaina pardaina hudaina hunna mildaina paidaina
matra matrai matrei pani ni ta nai ra re la hai kya yo tyo yei tei tyahi yahi yaha yahaa
tyaha tyahaa uta yata aba abo ahile ahle feri pheri arko aru ali alikati dherai thorai sabai
sab jati yati uti testo yesto tesari yesari kasto kasari kaso kina kaha kahaa kata kahile kun
kunai kati kei kehi ekdam ekdum sidhai sanchai sanchai sancho sanchoi thik thikai ramro naramro
ramrai sano thulo tara tar bhane pachi pahila agadi sanga sangai lagi bata dekhi samma ma tira
cha chha xa chan chhan thiyo thiye thyo hun hunuhuncha hunuhunchha hunuhunxa huncha hunchha
hunxa hos bhayo bhaye bhayena bhaneko bhannu bhanchu bhannus bhana bhanda gara gareko garchu
garera garne gardai khanu khana khayo khanubhayo jaanu jane janu jadai aaunu aaune aauchu aayo
aaudai gayo basnu basne sodhnu sodheko sodhchu herne hera hernu hernus dekhau dekhaunu bujhe
bujhnu bujhyo bujhen thaha chahanchu sakinchha sakincha sakcha payo paaye laagyo lagyo lagchha
lagcha lagxa pardachha pardaicha parxa rakhnu rakhnus khabar halkhabar khusi dhanda byapar
bepar vyapar pasal dokan ghar pariwar parivar bhet bihana beluka rati mausam kura
rate rates price prices pricing cost costs mrp bhau bhaau bhav mol mulya mullya dar daam
available availability stock stok paincha painchha paaincha paainchha paucha pauchha
paunchha milcha milchha milxa upalabdha rupaiya rupaiyan rupees rs npr paisa
is are am was were be been being the a an of or but if so too very much many how what whats
which who whom when where why this that these those it its there theres here do does did
done have has had can could would will shall should may might must tell me you your yours
we our i my mine he she they them him her his just only also still again more less any
thing things stuff item items s m ll ve d t dont not no yes good nice fine well sure great
hey bro sir today make made making get got take took know let lets business shop store
family health weather hope doing fine list charge charges ur u r in on at sorry maaf
ekchin ekchhin haha hehe lol hmm hm okk okey asap soon quickly fast wait
होइन हैन नाइँ छैन चाहिँदैन पर्दैन हुँदैन मिल्दैन मात्र मात्रै पनि नि त नै यो त्यो यहाँ त्यहाँ अब अहिले
फेरि अर्को अरु अलि धेरै थोरै सबै जति कस्तो कसरी किन कहाँ कहिले कुन कति केही के छ छन् थियो हो
हुनुहुन्छ हुन्छ भयो सन्चै सञ्चै ठिक राम्रो सानो ठूलो तर भने पछि म हामी तपाईं तपाई तिमी उहाँ अनि
मूल्य मुल्य भाउ दर रेट मोल पाइन्छ पाईन्छ मिल्छ उपलब्ध स्टक रुपैयाँ पैसा खबर पसल व्यापार
"""

# Verbs of small talk: a phrase with one that names no product and no quantity is a sentence
# about something else ("aaja pasal ma bheed cha"), not an order line.
_VERBS = """
cha chha xa chan chhan chaina chhaina thiyo thiye thyo ho hoina hun hunuhuncha hunuhunchha
huncha hunchha hunna hudaina bhayo bhaye bhayena gayo aayo lagyo laagyo payo garchu garnuhuncha
bhanchu bujhe bujhyo thaha is are am was were be been do does did have has had
छ छन् छैन थियो हो होइन हुनुहुन्छ हुन्छ भयो गयो आयो लाग्यो थाहा
"""

FILLERS: frozenset[str] = frozenset(phrase_key(w) for w in _FILLERS.split()) - {""}
GREETINGS: frozenset[str] = frozenset(phrase_key(w) for w in _GREETINGS.split()) - {""}
CHATTER: frozenset[str] = frozenset(phrase_key(w) for w in _CHATTER.split()) - {""}
# Honorific verb endings ("dinuhuncha", "garnuhos", "pathaunus", दिनुहुन्छ): a word ending so is
# a verb, whatever its stem, when it is no product word.
VERB_ENDINGS = tuple(
    phrase_key(w)
    for w in ("nuhuncha", "nuhunxa", "nuhos", "nuhola", "nubhayo", "nuparyo", "nuparcha", "nus")
)
VERBS: frozenset[str] = frozenset(phrase_key(w) for w in _VERBS.split()) - {""}


def is_verb_form(key: str) -> bool:
    """Whether a keyed word has an honorific verb ending ("dinuhuncha")."""
    return len(key) > 4 and key.endswith(VERB_ENDINGS)


# Every word that never names a product by itself, keyed; and as typed (normalised, or in
# Devanagari as written), to tell "pani" (also; water) from "पनि" (only ever "also").
FUNCTION_WORDS: frozenset[str] = FILLERS | GREETINGS | CHATTER
FUNCTION_WORDS_TYPED: frozenset[str] = frozenset(
    typed
    for word in (_FILLERS + _GREETINGS + _CHATTER).split()
    for typed in (word, *normalise(word).split())
)
