"""Tokenising a text into interpretable features and building perturbed copies of it.

Tokens
    By default a token is an emoji (ZWJ sequences, flags, keycaps, skin tones
    included), an emoticon standing apart from words (``:)``, ``:-(``, ``<3``),
    or a maximal run of Unicode word characters (letters and digits of any
    script, underscore) together with the combining marks and zero-width
    joiners that belong to them, so Korean, accented Latin, Cyrillic,
    Devanagari and mixed text keep whole words (:mod:`limecli.sampling.tokens`
    has the patterns and their edge cases). ``split_expression`` replaces
    this with a regular expression that matches the *separators* (as in the
    reference implementation's ``split_expression``); tokens are the non-empty
    stretches between its matches. ``char_level`` makes every word character
    (with its combining marks) a token, for unsegmented scripts such as Chinese
    and Japanese; emoji and emoticons stay whole. Whatever lies between tokens
    (spaces, other punctuation) is a separator and is kept verbatim in every
    perturbed text.

Features
    Bag of words (``bow=True``): one feature per distinct token string, all of
    its occurrences removed together. Otherwise one feature per token position,
    replaced by ``mask_token`` when switched off.

Perturbed texts are built for a whole batch of samples at once with numpy on
the code units of a template string, not by re-joining words in a Python
loop per sample: only the final slicing of one long string into the batch's
texts is a per-sample Python step (see :class:`TextSampler`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from limecli.errors import ParameterError
from limecli.sampling.tokens import default_token_pattern

#: The mask that replaces a switched-off token when ``bow=False`` (the reference's choice).
DEFAULT_MASK_TOKEN = "UNKWORDZ"

#: Rows of the sample matrix drawn per step: fixed, so results do not depend on --batch-size.
_DRAW_CHUNK = 1024

#: About how many template characters :meth:`TextSampler.texts` expands per step.
_CHARS_PER_STEP = 1 << 20


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
        pattern = default_token_pattern(text, char_level=char_level)
        spans = [m.span() for m in pattern.finditer(text)]
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

    The template is the text with, after each token when masking, the mask
    token: a sequence of pieces ``separator, token[, mask], ..., separator``.
    A sample's text is the template with the pieces it switches off left out,
    so a batch is written by expanding the (rows x pieces) on/off matrix to
    one flag per template character and compressing the tiled template's code
    units with it. Code units are the narrowest that hold the text (1 byte for
    Latin-1, 2 for the Basic Multilingual Plane, else 4), which is most of the
    speed: the work is a few passes over bytes.
    """

    def __init__(self, tokenized: TokenizedText, mask_token: str | None = None) -> None:
        self.tokenized = tokenized
        self.mask_token = None if tokenized.bow else (mask_token or DEFAULT_MASK_TOKEN)
        text = tokenized.text
        starts = tokenized.spans[:, 0].astype(np.intp)
        ends = tokenized.spans[:, 1].astype(np.intp)
        n_tok = tokenized.n_tokens
        # Pieces per token: its separator before it, itself, and its mask when masking.
        self._stride = 2 if self.mask_token is None else 3
        lengths = np.empty(self._stride * n_tok + 1, dtype=np.intp)
        previous_ends = np.concatenate(([0], ends))[:-1].astype(np.intp)
        lengths[0 : self._stride * n_tok : self._stride] = starts - previous_ends
        lengths[1 :: self._stride] = ends - starts
        lengths[-1] = len(text) - (int(ends[-1]) if n_tok else 0)
        if self.mask_token is None:
            template = text
        else:
            lengths[2 :: self._stride] = len(self.mask_token)
            cuts = [0, *ends.tolist(), len(text)]
            template = self.mask_token.join(text[a:b] for a, b in pairwise(cuts))
        self._piece_lengths = lengths
        # A text's length: every separator and mask, plus what each kept feature adds
        # over its masks (per feature, not per token: fewer columns in the product).
        token_extra = ends - starts - len(self.mask_token or "")
        self._kept_extra = np.zeros(tokenized.n_features, dtype=np.int64)
        np.add.at(self._kept_extra, tokenized.feature_of_token, token_extra)
        self._base_length = len(text) - int(token_extra.sum())
        self._codes, self._encoding = _code_units(template)
        # Rows written per step: about a million template characters, so the
        # per-character flags stay small (and in cache) whatever the batch size.
        self._rows_per_step = max(1, _CHARS_PER_STEP // max(len(template), 1))
        self._tiled: np.ndarray | None = None

    def draw(self, num_samples: int, rng: np.random.Generator) -> np.ndarray:
        """``(num_samples, n_features)`` bool matrix of kept features; row 0 keeps all.

        Each other row removes k features, k uniform in 1..d-1 (1 when d == 1),
        chosen uniformly without replacement, as in LIME.
        """
        d = self.tokenized.n_features
        keep = np.ones((num_samples, d), dtype=bool)
        high = max(d - 1, 1)
        for start in range(1, num_samples, _DRAW_CHUNK):
            stop = min(start + _DRAW_CHUNK, num_samples)
            n = stop - start
            k = rng.integers(1, high + 1, size=n)
            keep[start:stop] = removal_keep(rng.random((n, d)), k)
        return keep

    def texts(self, keep: np.ndarray) -> list[str]:
        """The perturbed texts for rows of a feature-keep matrix (as from :meth:`draw`)."""
        keep = np.asarray(keep, dtype=bool)
        out: list[str] = []
        # Block by block, so every intermediate is bounded whatever the batch and text size.
        for first in range(0, keep.shape[0], self._rows_per_step):
            out += self._write(keep[first : first + self._rows_per_step])
        return out

    def _write(self, keep: np.ndarray) -> list[str]:
        tokens_kept = keep[:, self.tokenized.feature_of_token]
        stride = self._stride
        pieces_on = np.ones((keep.shape[0], self._piece_lengths.shape[0]), dtype=bool)
        pieces_on[:, 1::stride] = tokens_kept
        if stride == 3:
            pieces_on[:, 2::stride] = ~tokens_kept
        flags = np.repeat(pieces_on, self._piece_lengths, axis=1).reshape(-1)
        units = np.compress(flags, self._tiled_codes(keep.shape[0]))
        joined = str(units.data, self._encoding, "surrogatepass")
        # Integer product, not float: BLAS here would wake its thread pool for a tiny product.
        lengths = self._base_length + keep.view(np.uint8) @ self._kept_extra
        ends = np.cumsum(lengths).tolist()
        return [joined[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]

    def _tiled_codes(self, n_rows: int) -> np.ndarray:
        """The template's code units repeated for ``n_rows`` rows (a view of one cached tiling)."""
        size = n_rows * self._codes.shape[0]
        if self._tiled is None or self._tiled.shape[0] < size:
            self._tiled = np.tile(self._codes, n_rows)
        return self._tiled[:size]


def removal_keep(random: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Keep-matrix whose row i removes the features at the ``k[i]`` first places of ``argsort(random[i])``.

    That is how :meth:`TextSampler.draw` turns uniform numbers into a random
    subset. The k smallest numbers of a row are the ones at or below its k-th
    smallest, so a sort and a comparison give the same matrix as an argsort
    and a scatter, several times faster. Only a tie at the cut (two equal
    draws, about once in 10^15 rows) makes the comparison ambiguous: such rows
    take the argsort path, so the result is always the argsort's.
    """
    n, d = random.shape
    if d == 0:
        return np.ones((n, 0), dtype=bool)
    rows = np.arange(n)
    ordered = np.sort(random, axis=1)
    cut = ordered[rows, k - 1]
    keep = random > cut[:, None]
    inside = k < d
    tied = np.flatnonzero(inside & (ordered[rows, np.minimum(k, d - 1)] == cut))
    if tied.size:
        order = np.argsort(random[tied], axis=1)
        exact = np.ones((tied.size, d), dtype=bool)
        np.put_along_axis(exact, order, np.arange(d)[None, :] >= k[tied, None], axis=1)
        keep[tied] = exact
    return keep


def _code_units(s: str) -> tuple[np.ndarray, str]:
    """``s`` as an array of code units in the narrowest exact encoding, and that encoding's name."""
    try:
        return np.frombuffer(s.encode("latin-1"), dtype=np.uint8), "latin-1"
    except UnicodeEncodeError:
        pass
    try:
        # Strict: a lone surrogate raises; a character outside the BMP takes two units.
        data = s.encode("utf-16-le")
        if len(data) == 2 * len(s):
            return np.frombuffer(data, dtype="<u2"), "utf-16-le"
    except UnicodeEncodeError:
        pass
    return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype="<u4"), "utf-32-le"
