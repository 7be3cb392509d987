"""The similarity check on its calibration corpus: false positives and detection, printed.

    python scripts/similarity_calibration.py [--thresholds 0.4,0.5,0.6,0.7,0.8]

For every graded function of the corpus (``tests/similarity/variants``) a
"class" is compared as ``make grade`` compares one (:func:`grader.similarity.compare`):
the independent correct variants, and disguised copies (renamed, commented,
reordered, respaced; :mod:`tests.similarity.disguise`) of each variant, of the
reference (rnn_ref) and of the instructor's solution, against the reference and
the solution.  Then

* a **false positive** is a listed pair of two independent versions: two variants,
  or a variant and the reference or the solution;
* a **detection** is a copy listed with its original.  Copies of a function too
  short to be compared (fewer than ``MIN_FINGERPRINTS`` fingerprints) are
  counted apart: the check never lists them, by design.

``rates()`` is what the test asserts (tests/test_similarity_calibration.py).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from similarity.corpus import solution_code, variants  # noqa: E402
from similarity.disguise import disguise  # noqa: E402

from grader import similarity  # noqa: E402
from grader.course import Function  # noqa: E402


def document(key, owner, code, kind="student"):
    name = key.split(".")[-1]
    cells = [{"index": 0, "source": code, "role": "solution", "grade_id": None}]
    found, notes = similarity.student_documents(owner, cells, [Function(name, key, "test", "nb")], kind=kind)
    if notes or not found:
        raise ValueError(f"{owner}: {notes or 'no function found'}")
    return found[0]


@dataclass
class Corpus:
    documents: list  # every document of every key
    independent: list  # (key, owner, owner) pairs that must not be listed
    copies: list  # (key, original owner, copy owner, comparable)


def build():
    """The corpus as documents, with the pairs that must and must not be listed."""
    documents, independent, copies = [], [], []
    by_key = {}
    for variant in variants():
        by_key.setdefault(variant.key, []).append(variant)
    for key, found in sorted(by_key.items()):
        reference = similarity.reference_documents([key])[0]
        sources = [reference]
        solution = solution_code(key)
        if solution is not None:
            sources.append(document(key, "solutions", solution, kind="solution"))
        originals = [(s.owner, s.code, len(s.print)) for s in sources]
        for variant in found:
            doc = document(key, variant.label, variant.code)
            documents.append(doc)
            originals.append((variant.label, variant.code, len(doc.print)))
            independent += [(key, s.owner, variant.label) for s in sources]
        labels = [v.label for v in found]
        independent += [(key, a, b) for i, a in enumerate(labels) for b in labels[i + 1 :]]
        for owner, code, size in originals:
            copy = document(key, f"copy of {owner} ({key})", disguise(code, keep={key.split(".")[-1]}))
            documents.append(copy)
            comparable = min(size, len(copy.print)) >= similarity.MIN_FINGERPRINTS
            copies.append((key, owner, copy.owner, comparable))
        documents += sources
    return Corpus(documents, independent, copies)


def rates(corpus, threshold=similarity.THRESHOLD):
    """``{"false_positives", "independent", "detected", "comparable", "copies", "detected_all", "listed"}``."""
    pairs = similarity.compare(corpus.documents, threshold=threshold)
    listed = {(p.key, *sorted((p.a.owner, p.b.owner))) for p in pairs}
    false = [pair for pair in corpus.independent if (pair[0], *sorted(pair[1:])) in listed]
    found = [c for c in corpus.copies if (c[0], *sorted((c[1], c[2]))) in listed]
    return {
        "threshold": threshold,
        "independent": len(corpus.independent),
        "false_positives": len(false),
        "false_pairs": false,
        "copies": len(corpus.copies),
        "comparable": sum(1 for c in corpus.copies if c[3]),
        "detected": sum(1 for c in found if c[3]),
        "detected_all": len(found),
        "missed": [c for c in corpus.copies if c[3] and c not in found],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", default="0.4,0.5,0.6,0.7,0.8")
    args = parser.parse_args(argv)
    corpus = build()
    keys = sorted({d.key for d in corpus.documents})
    print(f"corpus: {len(keys)} functions, {len(corpus.independent)} independent pairs, {len(corpus.copies)} copies")
    print(f"k = {similarity.fp.K}, window = {similarity.fp.W}, min fingerprints = {similarity.MIN_FINGERPRINTS}")
    print("threshold  false positives      detected (comparable copies)   detected (all copies)")
    for value in (float(t) for t in args.thresholds.split(",")):
        r = rates(corpus, value)
        marker = "  <- THRESHOLD" if value == similarity.THRESHOLD else ""
        false, detected, detected_all = (
            r["false_positives"] / r["independent"],
            r["detected"] / r["comparable"],
            r["detected_all"] / r["copies"],
        )
        print(
            f"{value:9.2f}  {r['false_positives']:3d}/{r['independent']:<3d} ({false:6.1%})"
            f"   {r['detected']:3d}/{r['comparable']:<3d} ({detected:6.1%})"
            f"               {r['detected_all']:3d}/{r['copies']:<3d} ({detected_all:6.1%}){marker}"
        )
    r = rates(corpus)
    for pair in r["false_pairs"]:
        print(f"false positive at {similarity.THRESHOLD}: {pair}")
    for copy in r["missed"]:
        print(f"missed at {similarity.THRESHOLD}: {copy}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
