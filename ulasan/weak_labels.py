"""Labelling functions: Malay and Indonesian lexicons and patterns that suggest silver labels.

Each function looks for one kind of evidence (say, "price too high") and votes
for one label of one head. A cue preceded by a negator ("tak mahal", "gak
lambat") does not fire; cues that are themselves negations ("tak reply",
"gak dibalas") are written with their negator. The precision and coverage of
every function on the gold sets is measured by ``benchmarks/weak_labels.py``
and stored in ``data/weak_labels/precision.json``; training uses silver labels
only from functions whose measured precision reaches a threshold.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ulasan.config import PROJECT_ROOT
from ulasan.records import Example
from ulasan.schema import (CAUSES, HARD_TO_COMMUNICATE, LACK_OF_PERSONALIZATION, NEGATIVE, POOR_AFTER_SALES, POSITIVE,
                           PRICING, PRODUCT_QUALITY, PROFIT_OVER_CUSTOMER)

PRECISION_FILE = PROJECT_ROOT / "data" / "weak_labels" / "precision.json"
NEGATORS = frozenset("tak tidak x gak ga gk nggak ngga enggak engga bukan tiada takde tdk tk ndak nda belum blm "
                     "jangan jgn no not never".split())
_NEG = r"(?:tak|tidak|x|gak|ga|gk|nggak|ngga|enggak|tdk|tk|belum|blm|no|not|takde|tiada|ndak)"
_WORDS = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class LabelingFunction:
    """One named cue pattern that votes for a label of a head (``sentiment`` or ``cause``)."""

    name: str
    head: str
    label: str
    pattern: str
    negation_led: bool = False
    """The pattern carries its own negator, so a preceding negator is not checked."""

    def __post_init__(self):
        object.__setattr__(self, "_regex", re.compile(self.pattern, re.IGNORECASE | re.UNICODE))

    def fires(self, text: str) -> bool:
        """Whether the cue occurs in the text and is not negated."""
        for match in self._regex.finditer(text):
            if self.negation_led or not _negated(text, match.start()):
                return True
        return False


def _negated(text: str, start: int) -> bool:
    """Whether one of the two words before ``start`` is a negator."""
    before = _WORDS.findall(text[max(0, start - 30):start].lower())[-2:]
    return any(word in NEGATORS for word in before)


def _cause(name: str, label: str, pattern: str, negation_led: bool = False) -> LabelingFunction:
    return LabelingFunction(f"{label}.{name}", "cause", label, pattern, negation_led)


def _sentiment(name: str, label: str, pattern: str) -> LabelingFunction:
    return LabelingFunction(f"sentiment.{label}.{name}", "sentiment", label, pattern)


LABELING_FUNCTIONS: tuple[LabelingFunction, ...] = (
    _cause("expensive", PRICING, r"\b(mahal|kemahalan|overprice[d]?|pricey|harga (?:tak|tidak|gak|x) (?:masuk akal|berbaloi|sepadan))\b"),
    _cause("not_worth", PRICING, r"\b(?:tak|tidak|gak|ga|x|not) (?:berbaloi|worth(?: it)?|sepadan|sebanding)\b", True),
    _cause("extra_fees", PRICING, r"\b(caj|cas|biaya|fee|charge)s? (?:tambahan|tersembunyi|admin|extra|hidden)\b|\bhidden (?:fee|charge)s?\b"),
    _cause("shipping_cost", PRICING, r"\b(ongkir|ongkos kirim|kos penghantaran|caj pos|shipping fee)\b.{0,15}\b(mahal|tinggi|naik)\b"),
    _cause("price_rise", PRICING, r"\b(harga (?:naik|dinaikkan|dinaikin|makin mahal)|naik harga|price (?:hike|increase))\b"),
    _cause("no_reply", HARD_TO_COMMUNICATE,
           rf"\b{_NEG} (?:di)?(?:reply|balas|bales|respon|respond|jawab|angkat|diangkat|dibalas|dibales|direspon|dijawab)\b", True),
    _cause("unreachable", HARD_TO_COMMUNICATE,
           r"\b(susah|sukar|sulit|payah) (?:nak |untuk |utk )?(?:di)?(?:hubungi|contact|kontak|call|telefon|telepon|reach)\b"),
    _cause("slow_response", HARD_TO_COMMUNICATE, r"\b(slow (?:respon|response|reply)|respon(?:nya)? lambat|lambat (?:respon|balas|reply)|fast respon(?:se)? (?:tapi|but) )\b"),
    _cause("ignored_chat", HARD_TO_COMMUNICATE, r"\b(dicuekin|diabaikan|di ?read (?:doang|je|sahaja)|bluetick|blue tick|seen (?:je|doang|sahaja))\b"),
    _cause("refund_stuck", POOR_AFTER_SALES,
           r"\b(refund|pengembalian dana|duit balik|dana)\b.{0,25}\b(belum|tak masuk|blm|lambat|lama|ditolak|dipersulit|susah|x masuk|tidak masuk|gak masuk)\b"),
    _cause("return_refused", POOR_AFTER_SALES, r"\b(retur|return|tukar|komplain|complain|claim|klaim)\w*\b.{0,25}\b(ditolak|tolak|dipersulit|susah|gak diproses|tak diproses|tidak diproses|tidak ada solusi|gak ada solusi|tak selesai)\b"),
    _cause("warranty", POOR_AFTER_SALES, r"\b(garansi|warranty|waranti|jaminan)\b.{0,25}\b(ditolak|tolak|tak|tidak|gak|susah|lambat|lama|hangus|void)\b"),
    _cause("after_service", POOR_AFTER_SALES, r"\b(lepas|selepas|setelah|habis|abis) (?:servis|service|repair|dibaiki|diperbaiki)\b"),
    _cause("note_ignored", LACK_OF_PERSONALIZATION,
           r"\b(catatan|nota|note|notes|request|permintaan|pesan(?:an)? khusus)\b.{0,40}\b(diabaikan|tak dibaca|gak dibaca|tidak dibaca|tak ikut|gak diikutin|tidak diikuti|diabai|dicuekin|tetap|tetep|juga)\b"),
    _cause("asked_for", LACK_OF_PERSONALIZATION, r"\b(dah|sudah|udah|udh) (?:minta|request|tulis|bilang|pesan|cakap)\b.{0,50}\b(tapi|tp|tetap|tetep|malah|juga|jugak)\b"),
    _cause("template_reply", LACK_OF_PERSONALIZATION, r"\b(template|copy ?paste|jawapan standard|jawaban standar|auto ?reply|gak nyambung|tak faham masalah)\b"),
    _cause("policy", PROFIT_OVER_CUSTOMER, r"\b(polisi (?:syarikat|kedai|company)|kebijakan (?:perusahaan|toko)|company policy|sudah prosedur|dah prosedur)\b"),
    _cause("greed", PROFIT_OVER_CUSTOMER, r"\b(cari untung|mata duitan|untung je|nak untung|money ?oriented|pentingkan untung|mementingkan keuntungan)\b"),
    _cause("pushy", PROFIT_OVER_CUSTOMER, r"\b(paksa|dipaksa|memaksa|upsell|push (?:beli|jual))\b"),
    _cause("misleading_promo", PROFIT_OVER_CUSTOMER, r"\b(promo|diskaun|diskon|iklan|sale)\w*\b.{0,25}\b(menipu|tipu|palsu|bohong|prank|scam|ngibul)\b"),
    _cause("shrinkflation", PROFIT_OVER_CUSTOMER, r"\b(porsi|portion|saiz|ukuran|isi)\w* (?:makin|semakin|dah|jadi) (?:kecil|sikit|sedikit)\b"),
    _cause("no_responsibility", PROFIT_OVER_CUSTOMER, r"\b(lepas tangan|tak nak bertanggungjawab|tidak (?:mau )?bertanggung ?jawab|gak (?:mau )?tanggung ?jawab|buang tanggungjawab)\b", True),
    _cause("broken", PRODUCT_QUALITY, r"\b(rusak|rosak|cacat|pecah|retak|koyak|sobek|robek|penyok|kemek|bocor|patah|calar|lecet)\b"),
    _cause("not_working", PRODUCT_QUALITY, r"\b(tak|tidak|gak|ga|x) (?:berfungsi|function|jalan|nyala|menyala|hidup|bisa dipake|boleh guna|work|working)\b|\bmati total\b", True),
    _cause("not_as_described", PRODUCT_QUALITY, r"\b(tak|tidak|gak|ga|x|nggak) (?:sesuai|sama|macam|seperti) (?:gambar|foto|deskripsi|pesanan|order|iklan)\b|\bsalah kirim\b|\bwrong item\b", True),
    _cause("fake", PRODUCT_QUALITY, r"\b(palsu|kw|tiruan|fake|bukan ori|not original)\b"),
    _cause("slow_delivery", PRODUCT_QUALITY, r"\b(lambat|lama|lmbt|lembap|lelet)\b.{0,12}\b(sampai|sampe|nyampe|dihantar|dikirim|pengiriman|penghantaran|delivery)\b|\b(pengiriman|penghantaran|delivery)\w* (?:lambat|lama|lembap|lelet)\b"),
    _cause("poor_quality", PRODUCT_QUALITY, r"\b(kualiti|kualitas|quality|bahan|material)\w* (?:teruk|buruk|jelek|rendah|murahan|kurang|tipis|nipis|bad|poor)\b|\b(jelek|buruk|teruk|murahan|hampeh|cikai|abal)\b"),
    _cause("bad_taste", PRODUCT_QUALITY, r"\b(hambar|tawar|basi|masam|tak sedap|gak enak|tidak enak|keras|sejuk|dingin)\b"),
    _cause("rude_staff", PRODUCT_QUALITY, r"\b(kurang ajar|biadab|jutek|kasar|sombong|rude|judes)\b"),
    _sentiment("praise", POSITIVE, r"\b(bagus|mantap|mantul|puas|terbaik|recommended|rekomen|suka|cantik|sedap|enak|good|best|love|berbaloi|sesuai|memuaskan|terima ?kasih|makasih|thanks|tq)\b"),
    _sentiment("fast", POSITIVE, r"\b(cepat|cepet|laju|pantas|fast)\b"),
    _sentiment("disappointed", NEGATIVE, r"\b(kecewa|mengecewakan|menyesal|nyesel|kapok|teruk|hampeh|parah|buruk|jelek|rugi|disappointed|worst|zonk)\b"),
    _sentiment("not_good", NEGATIVE, r"\b(tak|tidak|gak|ga|x|kurang|nggak|not) (?:bagus|puas|memuaskan|sesuai|best|good|recommended|rekomen|sedap|enak)\b"),
)
def fired_functions(text: str) -> list[LabelingFunction]:
    """The labelling functions that fire on a text."""
    return [function for function in LABELING_FUNCTIONS if function.fires(text)]


def measured_precision(path: Path = PRECISION_FILE) -> dict[str, dict]:
    """Per-function precision and coverage measured on the gold sets."""
    return json.loads(path.read_text(encoding="utf-8"))["functions"] if path.is_file() else {}


MIN_FIRES = 5
"""A function that fired on fewer gold records has no trustworthy precision and is never trusted."""


def trusted_functions(min_precision: float, path: Path = PRECISION_FILE) -> set[str]:
    """Names of the functions whose measured precision is at least ``min_precision`` (over >= MIN_FIRES firings)."""
    return {name for name, stats in measured_precision(path).items()
            if stats["fires"] >= MIN_FIRES and stats["precision"] >= min_precision}


@dataclass(frozen=True)
class SilverLabels:
    """Suggested labels for one text and the functions that produced them."""

    sentiment: str | None
    cause: str | None
    causes: tuple[str, ...]
    rules: tuple[str, ...]


def suggest(text: str, allowed: set[str] | None = None) -> SilverLabels:
    """Silver sentiment and causes from the functions that fire (restricted to ``allowed`` names when given)."""
    fired = [f for f in fired_functions(text) if allowed is None or f.name in allowed]
    cause_votes = Counter(f.label for f in fired if f.head == "cause")
    sentiment_votes = Counter(f.label for f in fired if f.head == "sentiment")
    if cause_votes:
        sentiment_votes[NEGATIVE] += 1
    # The most-voted cause leads (and is listed first); on a tie the rarer, more specific cause wins over product quality.
    ranked = tuple(sorted(cause_votes, key=lambda c: (-cause_votes[c], c == PRODUCT_QUALITY, CAUSES.index(c))))
    sentiment = None
    if sentiment_votes[POSITIVE] != sentiment_votes[NEGATIVE]:
        sentiment = POSITIVE if sentiment_votes[POSITIVE] > sentiment_votes[NEGATIVE] else NEGATIVE
    return SilverLabels(sentiment, ranked[0] if ranked else None, ranked, tuple(f.name for f in fired))


def with_silver_labels(examples: list[Example], min_precision: float) -> list[Example]:
    """Fill missing cause labels (and sentiment) from trusted functions; records without a trusted vote keep None."""
    allowed = trusted_functions(min_precision)
    labelled = []
    for example in examples:
        silver = suggest(example.text, allowed)
        cause = example.cause if example.cause is not None else silver.cause
        causes = example.causes if example.causes is not None else (silver.causes if silver.cause else None)
        labelled.append(Example(example.text, example.sentiment or silver.sentiment, cause, causes, example.lang,
                                example.source, example.origin))
    return labelled
