"""Tokenising a text into interpretable features and building perturbed copies of it.

Tokens
    By default a token is a maximal run of Unicode word characters (letters and
    digits of any script, underscore) together with the combining marks and
    zero-width joiners that belong to them, so Korean, accented Latin, Cyrillic,
    Devanagari and mixed text keep whole words. ``split_expression`` replaces
    this with a regular expression that matches the *separators* (as in the
    reference implementation's ``split_expression``); tokens are the non-empty
    stretches between its matches. ``char_level`` makes every word character
    (with its combining marks) a token, for unsegmented scripts such as Chinese
    and Japanese. Whatever lies between tokens (spaces, punctuation) is a
    separator and is kept verbatim in every perturbed text.

Features
    Bag of words (``bow=True``): one feature per distinct token string, all of
    its occurrences removed together. Otherwise one feature per token position,
    replaced by ``mask_token`` when switched off.

Perturbed texts are built for a whole batch of samples at once with numpy on
the code points of a template string, not by re-joining words in a Python
loop per sample: only the final slicing of one long string into the batch's
texts is a per-sample Python step.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from limecli.errors import ParameterError

#: The mask that replaces a switched-off token when ``bow=False`` (the reference's choice).
DEFAULT_MASK_TOKEN = "UNKWORDZ"

#: Rows of the sample matrix drawn per step: fixed, so results do not depend on --batch-size.
_DRAW_CHUNK = 1024

_JOINERS = "\u200c\u200d"  # zero-width non-joiner / joiner: inside words in Persian, Indic scripts


def _mark_class(text: str) -> str:
    """Escaped combining marks (and joiners) that occur in ``text``, for a character class."""
    extra = {c for c in set(text) if unicodedata.category(c)[0] == "M"}
    extra.update(c for c in _JOINERS if c in text)
    return "".join(re.escape(c) for c in sorted(extra))


def compile_split_expression(split_expression: str) -> re.Pattern[str]:
    """Compile a user's separator regex, or raise ParameterError naming the problem."""
    try:
        return re.compile(split_expression)
    except re.error as e:
        raise ParameterError(
            f"The 'split_expression' parameter is not a valid regular expression: {e}"
        ) from e


def token_spans(
    text: str, *, split_expression: str | None = None, char_level: bool = False
) -> np.ndarray:
    """``(n_tokens, 2)`` array of [start, end) character offsets of the tokens in ``text``."""
    if split_expression is not None and char_level:
        raise ParameterError("split_expression and char_level cannot be used together")
    if split_expression is not None:
        spans = list(_gaps(text, compile_split_expression(split_expression)))
    else:
        marks = _mark_class(text)
        if not marks:
            pattern = r"\w" if char_level else r"\w+"
        else:
            pattern = rf"\w[{marks}]*" if char_level else rf"\w[\w{marks}]*"
            # A stray mark with no word character before it still forms a token.
            pattern = rf"(?:{pattern}|[{marks}]+)"
        spans = [m.span() for m in re.finditer(pattern, text)]
    if not spans:
        return np.zeros((0, 2), dtype=np.int64)
    return np.asarray(spans, dtype=np.int64)


def _gaps(text: str, separator: re.Pattern[str]) -> Iterator[tuple[int, int]]:
    start = 0
    for m in separator.finditer(text):
        if m.start() > start:
            yield start, m.start()
        start = max(start, m.end())
    if start < len(text):
        yield start, len(text)


@dataclass(frozen=True)
class TokenizedText:
    """A text, its tokens and the interpretable features built from them."""

    text: str
    spans: np.ndarray  # (n_tokens, 2) character offsets
    feature_of_token: np.ndarray  # (n_tokens,) feature index of each token
    feature_names: list[str]  # the token string of each feature
    bow: bool

    @property
    def n_tokens(self) -> int:
        return int(self.spans.shape[0])

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def token(self, i: int) -> str:
        start, end = self.spans[i]
        return self.text[int(start) : int(end)]

    def positions(self, j: int) -> list[list[int]]:
        """[start, end] character offsets of every occurrence of feature ``j``."""
        rows = self.spans[self.feature_of_token == j]
        return [[int(s), int(e)] for s, e in rows]


def tokenize(
    text: str,
    *,
    bow: bool = True,
    split_expression: str | None = None,
    char_level: bool = False,
) -> TokenizedText:
    spans = token_spans(text, split_expression=split_expression, char_level=char_level)
    tokens = [text[int(s) : int(e)] for s, e in spans]
    if bow:
        index: dict[str, int] = {}
        feature_of_token = np.array(
            [index.setdefault(tok, len(index)) for tok in tokens], dtype=np.int64
        )
        names = list(index)
    else:
        feature_of_token = np.arange(len(tokens), dtype=np.int64)
        names = tokens
    return TokenizedText(text, spans, feature_of_token.reshape(-1), names, bow)


class TextSampler:
    """Draws which features each sample keeps, and writes the corresponding texts.

    The template is the text's code points with, after each token when
    masking, the mask token's code points; every template character is owned
    by a column of a per-batch state matrix ``[kept tokens | removed tokens | True]``,
    so one fancy-indexing step gives each sample's visible characters.
    """

    def __init__(self, tokenized: TokenizedText, mask_token: str | None = None) -> None:
        self.tokenized = tokenized
        self.mask_token = None if tokenized.bow else (mask_token or DEFAULT_MASK_TOKEN)
        text = tokenized.text
        n_tok = tokenized.n_tokens
        always = 2 * n_tok  # the state column that is always True (separators)
        codes: list[np.ndarray] = []
        owner: list[np.ndarray] = []
        mask_codes = _code_points(self.mask_token or "")
        cursor = 0
        for i, (start, end) in enumerate(tokenized.spans.tolist()):
            codes.append(_code_points(text[cursor:start]))
            owner.append(np.full(start - cursor, always, dtype=np.intp))
            codes.append(_code_points(text[start:end]))
            owner.append(np.full(end - start, i, dtype=np.intp))
            if self.mask_token is not None:
                codes.append(mask_codes)
                owner.append(np.full(len(mask_codes), n_tok + i, dtype=np.intp))
            cursor = end
        codes.append(_code_points(text[cursor:]))
        owner.append(np.full(len(text) - cursor, always, dtype=np.intp))
        self._codes = np.concatenate(codes) if codes else np.zeros(0, dtype="<u4")
        self._owner = np.concatenate(owner) if owner else np.zeros(0, dtype=np.intp)

    def draw(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        """``(num_samples, n_features)`` bool matrix of kept features; row 0 keeps all.

        Each other row removes k features, k uniform in 1..d-1 (1 when d == 1),
        chosen uniformly without replacement, as in LIME.
        """
        d = self.tokenized.n_features
        keep = np.ones((num_samples, d), dtype=bool)
        high = max(d - 1, 1)
        columns = np.arange(d)
        for start in range(1, num_samples, _DRAW_CHUNK):
            stop = min(start + _DRAW_CHUNK, num_samples)
            n = stop - start
            k = rng.integers(1, high + 1, size=n)
            order = np.argsort(rng.random((n, d)), axis=1)
            # The features at the first k places of a random permutation are removed.
            np.put_along_axis(keep[start:stop], order, columns[None, :] >= k[:, None], axis=1)
        return keep

    def texts(self, keep: np.ndarray) -> list[str]:
        """The perturbed texts for rows of a feature-keep matrix (as from :meth:`draw`)."""
        keep = np.asarray(keep, dtype=bool)
        n_rows = keep.shape[0]
        if n_rows == 0:
            return []
        tokens_kept = keep[:, self.tokenized.feature_of_token]
        state = np.concatenate(
            [tokens_kept, ~tokens_kept, np.ones((n_rows, 1), dtype=bool)], axis=1
        )
        visible = state[:, self._owner]
        lengths = visible.sum(axis=1)
        flat = np.broadcast_to(self._codes, visible.shape)[visible]
        joined = flat.astype("<u4", copy=False).tobytes().decode("utf-32-le", "surrogatepass")
        ends = np.cumsum(lengths).tolist()
        starts = [0, *ends[:-1]]
        return [joined[s:e] for s, e in zip(starts, ends, strict=True)]


def _code_points(s: str) -> np.ndarray:
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype="<u4")
