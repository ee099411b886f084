"""Pod-template hashes: the name suffix and `rollouts-pod-template-hash` label of a revision's ReplicaSet.

Like Kubernetes: FNV-32a over the template (canonical JSON here, with sorted keys) and the collision count, its
decimal digits then mapped onto an alphabet without vowels (no accidental words) or look-alike characters.
Hashes will not equal Argo's byte for byte (Go serialises struct fields in its own order); existing ReplicaSets are
matched by label, so this only matters on a hand-over from Argo, where the new hash starts one new revision.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193


def fnv32a(data: bytes) -> int:
    value = _FNV_OFFSET
    for byte in data:
        value ^= byte
        value = (value * _FNV_PRIME) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    return "".join(_SAFE_ALPHABET[ord(char) % len(_SAFE_ALPHABET)] for char in text)


def pod_template_hash(template: Mapping[str, Any], *, collision_count: int | None = None) -> str:
    """>>> pod_template_hash({"metadata": {"labels": {"app": "x"}}}) == pod_template_hash({"metadata": {"labels": {"app": "x"}}})
    True
    """
    canonical = json.dumps(template, sort_keys=True, separators=(",", ":"))
    if collision_count:
        canonical += str(collision_count)
    return safe_encode(str(fnv32a(canonical.encode())))


def steps_hash(steps: Any) -> str:
    """Hash of the canary steps as written, to notice a change of steps without a change of template."""
    return safe_encode(str(fnv32a(json.dumps(steps, sort_keys=True, separators=(",", ":")).encode())))
