"""The similarity check's calibration corpus: the variants are correct and independent, the copies are found.

The rates committed to (and printed with the whole table by
``python scripts/similarity_calibration.py``; on the instructors' page):
at the threshold in use, at most 2% of the pairs of independent versions are
listed, and at least 95% of the disguised copies long enough to be compared.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from similarity.corpus import run, variants
from similarity.disguise import disguise

import rnn_checks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import similarity_calibration  # noqa: E402

MAX_FALSE_POSITIVE_RATE = 0.02
MIN_DETECTION_RATE = 0.95
ASSIGNMENTS = ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10")


def test_the_corpus_covers_every_assignment_with_three_variants_a_function():
    from similarity.corpus import assignment_of

    by_key = {}
    for variant in variants():
        by_key.setdefault(variant.key, []).append(variant.name)
    assert all(len(names) >= 3 and len(set(names)) == len(names) for names in by_key.values()), by_key
    assert {assignment_of(key)[:2] for key in by_key} == set(ASSIGNMENTS)


@pytest.mark.parametrize("variant", variants(), ids=lambda v: v.label)
def test_every_variant_and_its_disguised_copy_are_correct(variant, capsys):
    """Variants are real solutions; the disguise (renaming, reordering, comments, spacing) kept the copy correct."""
    rnn_checks.grade(run(variant.code, variant.setup, variant.function), variant.key)
    copy = disguise(variant.code, {variant.function})
    assert copy != variant.code
    rnn_checks.grade(run(copy, variant.setup, variant.function), variant.key)


def test_false_positive_and_detection_rates_at_the_threshold():
    rates = similarity_calibration.rates(similarity_calibration.build())
    assert rates["independent"] >= 100 and rates["comparable"] >= 60
    assert rates["false_positives"] / rates["independent"] <= MAX_FALSE_POSITIVE_RATE, rates["false_pairs"]
    assert rates["detected"] / rates["comparable"] >= MIN_DETECTION_RATE, rates["missed"]
