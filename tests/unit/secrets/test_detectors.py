"""secrets.detectors: at least sixty kinds of detector, each hiding a secret of the corpus on its own."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from instance_hygiene.secrets import redact as redact_module
from instance_hygiene.secrets.detectors import DETECTORS, FAMILIES
from instance_hygiene.secrets.redact import sanitize

ROOT = Path(__file__).resolve().parents[3]
SECRETS = ROOT / "tests" / "fixtures" / "secrets"
CASES: list[dict[str, Any]] = json.loads((SECRETS / "cases.json").read_text())


# --------------------------------------------------------------------------- detectors


def test_there_are_at_least_sixty_kinds_of_detector_in_the_families_the_issue_names() -> None:
    kinds = {detector.kind for detector in DETECTORS} | {
        "private-key",
        "aws-secret-key",
        "base64",
        "high-entropy",
    }

    assert len(kinds) >= 60
    assert {detector.family for detector in DETECTORS} == set(FAMILIES) - {"private-key"}


@pytest.mark.parametrize("kind", sorted({d.kind for d in DETECTORS}))
def test_every_kind_of_detector_hides_a_secret_of_the_corpus_on_its_own(kind: str) -> None:
    """A detector no public example exercises is untested: each kind, applied alone to the case's
    sanitized text, hides at least one secret of at least one case."""
    alone = [d for d in DETECTORS if d.kind == kind]

    def hidden_by_it(case: dict[str, Any]) -> bool:
        text = unicodedata.normalize("NFKC", sanitize(case["text"]))
        after = text
        for detector in alone:
            after = redact_module.apply_detector(detector, after)
        return any(secret in text and secret not in after for secret in case["secrets"])

    assert [case["class"] for case in CASES if hidden_by_it(case)]
