"""Canonical text of a policy document and its SHA-256 (pure).

A proposal records the hash of the canonical policy it was computed from; before applying, the
writer compares the live policy's hash with it. Canonical means the parsed JSON with sorted keys and
compact separators, so whitespace or key order in the stored text does not count as a change.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(policy: dict[str, Any]) -> str:
    """The policy as JSON with sorted keys, compact separators and non-ASCII kept as is."""
    return json.dumps(policy, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def policy_sha256(policy: dict[str, Any]) -> str:
    """Hex SHA-256 of `canonical_json(policy)` encoded as UTF-8."""
    return hashlib.sha256(canonical_json(policy).encode("utf-8")).hexdigest()
