"""The one tokenizer shared by the BM25 index and BM25 queries."""

from __future__ import annotations

import pytest

from tools.tokenize import ENGLISH_STOPWORDS, normalize_text, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Digital Caliper", ["digital", "caliper"]),
        ("PORTER-CABLE 740000801", ["porter", "cable", "740000801"]),
        ("4 1/2-Inch x 10yd 80 Grit", ["4", "1/2", "inch", "x", "10", "yd", "80", "grit"]),
        ("DEWALT DW4524 4-1/2-Inch", ["dewalt", "dw4524", "4", "1/2", "inch"]),
        ("1.88 Inch x 60 Yard", ["1.88", "inch", "x", "60", "yard"]),
        ("0.8mm solder", ["0.8", "mm", "solder"]),
        ("3.5mm and 3.5 mm", ["3.5", "mm", "3.5", "mm"]),
        ("CR2032 battery, 2x4 stud", ["cr2032", "battery", "2x4", "stud"]),
        ("version 2.0.", ["version", "2.0"]),
        ("Men's gloves", ["men", "gloves"]),
        ("Café Lab", ["cafe", "lab"]),
        ("ＦＵＬＬ width", ["full", "width"]),
        ("½ inch", ["1/2", "inch"]),
        ("10×20 cm", ["10x20", "cm"]),  # like "2x4": a dimension stays one token
        ("vitamin c", ["vitamin", "c"]),
        ("the and of", []),
        ("", []),
        ("   \t\n", []),
        ("!!! ??? ---", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_query_and_document_spellings_meet() -> None:
    # The point of splitting number+unit: a shopper's spelling finds the catalog's.
    assert set(tokenize("10 yd")) <= set(tokenize("4 1/2-Inch x 10yd Sanding Roll"))
    assert set(tokenize("1/2 inch")) <= set(tokenize("Hex Bolt 1/2-Inch"))


def test_normalize_text_drops_accents_and_case() -> None:
    assert normalize_text("Crème BRÛLÉE") == "creme brulee"


def test_stopwords_are_lowercase_words() -> None:
    assert all(w == w.lower() and w.isalpha() for w in ENGLISH_STOPWORDS)
    assert {"the", "and", "of", "s"} <= ENGLISH_STOPWORDS
    assert "inch" not in ENGLISH_STOPWORDS
