"""The closed word lists of order messages: polite fillers and greetings, in both scripts.

Words are written as retailers type them and keyed on use, so spelling variants that fold to
the same key ("pathaunu", "पठाउनु") need not be listed twice, but listing them does no harm.
A filler that is also part of a product name ("ko" in "makai ko pitho") is kept inside names
and dropped only where it is left over ("lux ko 2 darjan").
"""

from __future__ import annotations

from catalog.quantity import phrase_key

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

FILLERS: frozenset[str] = frozenset(phrase_key(w) for w in _FILLERS.split()) - {""}
GREETINGS: frozenset[str] = frozenset(phrase_key(w) for w in _GREETINGS.split()) - {""}
