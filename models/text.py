"""Label text as vectors, offline: a hashed bag of words and character trigrams (the "hashing trick").

Why not a sentence encoder: none installs from a registry with its weights inside and runs here without a
download, and the graph's labels are short noun phrases ("knees cave inward"), where shared words and
trigrams already carry most of the similarity a new error type needs to find its neighbours.

``embed(text)[h(g) mod dim] += 1`` for every word and every character trigram ``g`` of the lower-cased
text (``h`` is BLAKE2b, stable across processes and Python versions), then L2-normalised.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

DIM = 128


def embed(texts: list[str], dim: int = DIM) -> np.ndarray:
    """(len(texts), dim) float32 rows of unit length (all zero for an empty text)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for row, text in enumerate(texts):
        words = re.findall(r"\w+", text.lower())
        grams = [*words, *(f"{w}"[i:i + 3] for w in (f" {w} " for w in words) for i in range(len(w) - 2))]
        for gram in grams:
            digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
            out[row, int.from_bytes(digest, "little") % dim] += 1.0
        norm = np.linalg.norm(out[row])
        if norm > 0:
            out[row] /= norm
    return out
