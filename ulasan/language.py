"""Tell Malay, Indonesian, code-mixed and other texts apart from colloquial cue words.

Malay and Indonesian share most of their vocabulary, so a general-purpose
language identifier confuses them on short reviews. The words that do differ
are few and very frequent ("tak" / "gak", "nak" / "mau", "je" / "aja"), and
those decide; a text with no cue of either is taken as Indonesian. A text where English carries a large part is ``mixed``; a text
mostly not in Latin script is ``other``.
"""

from __future__ import annotations

import re

from ulasan.schema import INDONESIAN, MALAY, MIXED, OTHER_LANGUAGE

MALAY_CUES = frozenset("""
tak x nak je jer sgt kedai kereta percuma pastu lepastu mcm macam camne cmne camana macamana kat bagi boleh bole blh
sikit hantar penghantaran bukak awak korang kena kene faham sahaja kerana pulak laju ringgit rm tengok tgk cuba elok
bungkus berbaloi jugak teruk hampeh lepas selepas takde xde tiada takpe okey kecik mmg pekerja kakitangan tu ni dah
lembap bodo betul syok sebab sbb tau ye nk rosak wang mahu mesti ckp cakap kot kut gi pegi bagitau beritahu pelanggan
perkhidmatan kaunter baiki tukar sedap best padu xleh xboleh tkde punye tq tqvm
""".split())
INDONESIAN_CUES = frozenset("""
gak ga nggak ngga enggak engga gk ngak banget bgt bngt udah udh aja aj doang sih dong nih kok deh mau mobil gratis toko
kamu gue gw lo loh gan agan mantul kirim dikirim pengiriman barangnya rusak jelek emang beneran bener bisa kalo gimana
soalnya makasih trims rb ribu rp jt sampe nyampe dateng dapet cuma cuman uang dikit lumayan kayak gitu gini tuh bikin
belom yah ongkir paket kurir cepet saja karena harus bagaimana oke pesen pelayanan layanan nunggu terimakasih parah
pokoknya enak
""".split())
ENGLISH_WORDS = frozenset("""
the is are was were and very good bad not but it this that i my you your for with of to so too really love will buy
again order ordered received thank thanks please price cheap expensive no have has had never ever poor excellent highly
well shipping money time just only all after before still broken working work worth quality fast slow product great
nice recommended recommend definitely happy disappointed item items delivery customer service seller packaging size
colour color fit small big arrived came use using used can could would should be been from on in at by an a
""".split())
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_LATIN = re.compile(r"[a-zA-Z]")
MIXED_ENGLISH_SHARE = 0.4
"""A text is ``mixed`` when at least this share of its words is English."""


def detect_language(text: str) -> str:
    """The language label of one text: ``ms``, ``id``, ``mixed`` or ``other``."""
    words = [word.lower() for word in _WORD.findall(text)]
    latin = [word for word in words if _LATIN.search(word)]
    if not latin or len(latin) < len(words) / 2:
        return OTHER_LANGUAGE
    malay = sum(word in MALAY_CUES for word in latin)
    indonesian = sum(word in INDONESIAN_CUES for word in latin)
    english = sum(word in ENGLISH_WORDS for word in latin)
    if english >= 3 and english / len(latin) >= MIXED_ENGLISH_SHARE:
        return MIXED
    return MALAY if malay > indonesian else INDONESIAN
