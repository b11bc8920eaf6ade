"""Language cues tell Malay, Indonesian, code-mixed and other texts apart."""

import pytest

from ulasan.language import detect_language


@pytest.mark.parametrize("text, lang", [
    ("Barang tak sampai lagi, seller x reply je", "ms"),
    ("Nak tanya, kedai ni buka pukul berapa?", "ms"),
    ("Barangnya gak sesuai, kecewa banget deh", "id"),
    ("Mau tanya kak, ukuran L masih ada?", "id"),
    ("The delivery was very slow and the item is broken, but seller ok lah", "mixed"),
    ("配送很慢，质量很差", "other"),
])
def test_detects_language(text, lang):
    assert detect_language(text) == lang
