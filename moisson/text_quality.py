"""Document-level quality rules: is this text prose a language model should learn from?

Web archives and dumps are mostly not prose: navigation menus, link lists, tables of numbers,
keyword-stuffed spam, boilerplate repeated on every line, placeholder text. The rules here are the
heuristics the field converged on for removing that material cheaply, without a model:

* DeepMind Gopher (Rae et al. 2021, "Scaling Language Models", appendix A): word count, mean word
  length, '#' and ellipses per word, bullet and ellipsis lines, words with a letter, and the
  repetition rules (duplicate lines, top word n-grams, duplicate word n-grams). The English
  stop-word rule is left out because the corpus is multilingual.
* Google C4 (Raffel et al. 2020): lines end in terminal punctuation, "lorem ipsum" means placeholder
  text, '{' means leaked code. C4 applied these per line or with zero tolerance; here they are
  document-level fractions, so one heading or one stray brace does not drop a page.

Rules are measured on prose, not on markup. Table rows (`| cell | cell |`, as trafilatura writes them)
are read as their cells, Markdown separator rows and lines of symbols alone are left out, and lines
that a hard wrap broke inside a sentence (e-texts, OCR, mail) are joined again before the
terminal-punctuation rules count them. In scripts written without spaces (Chinese, Japanese, Thai...)
a word is `unspaced_characters_per_word` characters: word counts and n-gram sizes are scaled by it,
so that "50 words" and "duplicate 5-grams" mean there what they mean in French.

The thresholds are policy, not code. Every number lives in `QualityThresholds` with its default and
its reason, and the sources file can override any of them (`policy.quality`); this module only
measures and compares. `check_quality` applies the rules cheapest first and stops at the first
failure, naming the rule (= the threshold field) so that rejections can be counted and explained.

Every measure is linear in the length of the text, works on any `str` (lone surrogates, control
characters, RTL scripts, emoji, a megabyte without a space) and never raises.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from itertools import accumulate, compress, count, filterfalse, repeat

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Unicode punctuation (categories P*) of the Basic Multilingual Plane: stripped from both ends of a
# whitespace token to get a word, so "«Bonjour," and "(l'été)" give "Bonjour" and "l'été".
_PUNCTUATION = "".join(c for c in map(chr, range(0x10000)) if unicodedata.category(c)[0] == "P")
_PUNCT = re.escape(_PUNCTUATION)
# A word is a whitespace token without its leading and trailing punctuation; one regex pass instead
# of a strip per token. Its first and last characters are neither space nor punctuation.
_WORD = re.compile(rf"[^\s{_PUNCT}](?:\S*[^\s{_PUNCT}])?")
_DIGIT = re.compile(r"\d")
# Scripts written without spaces between words (Han, kana, Thai, Lao, Myanmar, Khmer): each of their
# characters counts as a word, or a Chinese page would be "a few very long words" and fail every word rule.
_UNSPACED = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff"
_UNSPACED_CHAR = re.compile(f"[{_UNSPACED}]")
_UNSPACED_PIECES = re.compile(f"[{_UNSPACED}]|[^{_UNSPACED}\\s{_PUNCT}]+")  # punctuation between them is no word
_NO_LETTER_OR_DIGIT = re.compile(r"[\W_]+")  # a line of symbols alone: '---', '* * *', '|', '•••'

BULLETS = ("•", "‣", "⁃", "◦", "∙", "·", "●", "○", "■", "□", "▪", "▫", "◆", "◇", "►", "▶", "▸",
           "➢", "➤", "✓", "✔", "- ", "* ")
"""Line starts that mark a list item (Gopher). Dashes count only when followed by a space, as in
Markdown: '—', '–' and '--' open the dialogue lines of French, Spanish and Italian fiction."""

TERMINAL_PUNCTUATION = (".", "!", "?", "…", ":", ";", '"', "'", "»", "«", "”", "“", "’",
                        "。", "！", "？", "｡", "．", "؟", "۔", "।", "॥", "\u037e", "‼", "⁇", "⁈", "⁉")
"""Line ends that close a sentence (C4), with the closing quotes of European languages (German
closes with “ and «) and CJK, Arabic, Urdu, Devanagari and Greek equivalents. A closing ')' or ']'
after them is ignored."""

PROSE_LINE_ENDINGS = (*TERMINAL_PUNCTUATION, ",", "，", "、", "—", "–", "،")
"""Line ends that the terminal-punctuation rules accept: a sentence's, and a clause's that goes on in the next line."""

MAX_NGRAM_SIZE = 32
"""Largest n an n-gram rule accepts: the top-n-gram measure costs one pass over the words per size."""

_ELLIPSES = ("...", "…")


class QualityThresholds(BaseModel):
    """The quality policy: a document is kept only if every measured signal is within these bounds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_words: int = Field(
        default=30,
        ge=0,
        description="Fewer words than this is a fragment, not a document (Gopher said 50; 30 keeps a short notice or an "
                    "abstract, which good text of every language has, and menus are caught by the line rules).",
    )
    max_words: int = Field(default=100_000, ge=0, description="More words than this is a dump or a concatenation, not a document (Gopher).")
    min_mean_word_length: float = Field(
        default=3.0, ge=0.0, description="Mean characters per word below this means symbols, initials or broken text (Gopher)."
    )
    max_mean_word_length: float = Field(
        default=10.0, ge=0.0, description="Mean characters per word above this means URLs, hashes or run-together text (Gopher)."
    )
    max_symbol_word_ratio: float = Field(
        default=0.1, ge=0.0, description="Most '#' or ellipses ('...', '…') per word; more means hashtag spam or truncated teasers (Gopher)."
    )
    max_curly_bracket_ratio: float = Field(
        default=0.01,
        ge=0.0,
        le=1.0,
        description="Most '{' and '}' per non-space character; more means leaked JavaScript or CSS (C4 drops any page with '{').",
    )
    max_digit_ratio: float = Field(
        default=0.25, ge=0.0, le=1.0, description="Most digits per non-space character; more means tables, listings or prices."
    )
    min_alpha_word_fraction: float = Field(
        default=0.8, ge=0.0, le=1.0, description="Least fraction of words with at least one letter (Gopher)."
    )
    max_bullet_line_fraction: float = Field(
        default=0.9, ge=0.0, le=1.0, description="Most fraction of lines that start with a bullet; more is a list, not prose (Gopher)."
    )
    max_ellipsis_line_fraction: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Most fraction of lines that end with an ellipsis; more is a page of teasers (Gopher)."
    )
    max_lines_without_terminal_punctuation: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description=(
            "Most fraction of lines (hard wraps joined, table rows read as cells) that end neither a sentence nor a "
            "clause (C4, as a fraction). Off by default (1.0): headings, captions, list items and the names under a "
            "letter are lines too, and the character-weighted and short-line rules tell menus from articles better."
        ),
    )
    max_chars_without_terminal_punctuation: float = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        description=(
            "Most fraction of the text's characters in lines that do not end in terminal punctuation. Weighed by "
            "length, headings, captions and list items count for what they are (a small part of an article), while "
            "a menu, a link list or a product grid is nearly all of its page."
        ),
    )
    max_short_line_fraction: float = Field(
        default=0.67,
        ge=0.0,
        le=1.0,
        description=(
            "Most fraction of lines (hard wraps joined) under `short_line_words` words: a menu, a tag cloud or a grid of "
            "links is made of them, an article is not (FineWeb's short-line rule, counted in words so that it means the "
            "same in every script)."
        ),
    )
    short_line_words: int = Field(default=4, ge=1, description="A line with fewer words than this is short.")
    min_lines_for_punctuation_rule: int = Field(
        default=3,
        ge=1,
        description="The terminal-punctuation rules apply only from this many lines: a one-line JSONL document is not a menu.",
    )
    min_lines_for_list_rules: int = Field(
        default=5,
        ge=1,
        description=(
            "The bullet and ellipsis rules apply only from this many lines: one line ending in '...' is all the lines "
            "of a one-line notice, not a page of teasers."
        ),
    )
    unspaced_characters_per_word: float = Field(
        default=1.7,
        gt=0.0,
        description=(
            "In scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar), characters per word: word "
            "counts are characters divided by it and n-gram sizes are multiplied by it."
        ),
    )
    max_duplicate_line_fraction: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Most fraction of lines that repeat an earlier line of the document (Gopher)."
    )
    max_duplicate_line_char_fraction: float = Field(
        default=0.2, ge=0.0, le=1.0, description="Most fraction of line characters in lines that repeat an earlier line (Gopher)."
    )
    max_top_ngram_char_fraction: dict[int, float] = Field(
        default_factory=lambda: {2: 0.20, 3: 0.18, 4: 0.16},
        description="For each n, most fraction of word characters covered by the most frequent word n-gram (Gopher).",
    )
    max_duplicate_ngram_char_fraction: dict[int, float] = Field(
        default_factory=lambda: {5: 0.19, 6: 0.18, 7: 0.16, 8: 0.15, 9: 0.14, 10: 0.13},
        description="For each n, most fraction of word characters inside word n-grams that occur more than once (Gopher's "
                    "limits times 1.25: names, titles and quotes repeat in good news and fiction of every language).",
    )
    forbidden_phrases: tuple[str, ...] = Field(
        default=("lorem ipsum",),
        description="A document containing any of these (case and spacing ignored) is rejected (C4: placeholder text).",
    )

    @field_validator("max_top_ngram_char_fraction", "max_duplicate_ngram_char_fraction")
    @classmethod
    def _ngram_limits_are_fractions(cls, value: dict[int, float]) -> dict[int, float]:
        bad = {n: limit for n, limit in value.items() if not 1 <= n <= MAX_NGRAM_SIZE or not 0.0 <= limit <= 1.0}
        if bad:
            raise ValueError(f"n-gram sizes must be 1 to {MAX_NGRAM_SIZE} and limits between 0 and 1, got {bad}")
        return value

    @field_validator("forbidden_phrases")
    @classmethod
    def _phrases_are_not_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not phrase.strip() for phrase in value):
            raise ValueError("a blank phrase would match every document")
        return value

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> "QualityThresholds":
        if self.min_words > self.max_words:
            raise ValueError(f"min_words {self.min_words} is above max_words {self.max_words}")
        if self.min_mean_word_length > self.max_mean_word_length:
            raise ValueError(
                f"min_mean_word_length {self.min_mean_word_length} is above max_mean_word_length {self.max_mean_word_length}"
            )
        return self


@dataclass(frozen=True)
class QualityVerdict:
    """The outcome for one document: kept or not, the first rule it broke, and what was measured."""

    passed: bool
    rule: str | None
    detail: str | None
    signals: dict[str, float]
    thresholds: str | None = None  # which thresholds decided: a language's, a script's or the defaults
    language: str | None = None  # the language they were chosen for


class _Document:
    """A text split once into the units the rules measure; each split is made when a rule first needs it.

    Words come from the lowercased prose: the n-gram rules compare words case-insensitively, and one
    lowercasing of the text is cheaper than one per word (it changes the length of almost no word).
    """

    def __init__(self, text: str, unspaced_characters_per_word: float = 1.7) -> None:
        self.text = text
        self.characters_per_word = unspaced_characters_per_word

    @cached_property
    def lowered(self) -> str:
        return self.text.lower()

    @cached_property
    def words(self) -> list[str]:
        """Words of the prose; in unspaced scripts each character is a unit (see `word_count`)."""
        prose = self.lowered if self.prose_lines is self.lines else "\n".join(self.prose_lines).lower()
        words = _WORD.findall(prose)
        if not self.unspaced_chars:
            return words
        return [piece for word in words for piece in _UNSPACED_PIECES.findall(word)]

    @cached_property
    def unspaced_chars(self) -> int:
        return len(_UNSPACED_CHAR.findall(self.text)) if _UNSPACED_CHAR.search(self.text) else 0

    @cached_property
    def unspaced(self) -> bool:
        """Mostly written in a script without spaces: word length then measures nothing."""
        return self.unspaced_chars > 0.3 * max(self.non_space_chars, 1)

    @cached_property
    def word_count(self) -> float:
        """Words, where unspaced characters count `characters_per_word` to a word."""
        if not self.unspaced_chars:
            return float(len(self.words))
        units = sum(1 for word in self.words if len(word) == 1 and _UNSPACED_CHAR.match(word))
        return len(self.words) - units + units / self.characters_per_word

    def is_short(self, line: str, words: int) -> bool:
        """Has the line fewer than `words` words (whitespace tokens; unspaced characters counted as the document
        counts them)? A line of 20 characters a word or more is long without counting."""
        if len(line) >= 20 * words:
            return False
        if not self.unspaced_chars:
            return len(line.split()) < words
        unspaced = len(_UNSPACED_CHAR.findall(line))
        return len(_UNSPACED_CHAR.sub(" ", line).split()) + unspaced / self.characters_per_word < words

    def ngram_size(self, n: int) -> int:
        """n words as units of `words`: in an unspaced text, n words are about n * characters_per_word characters."""
        return max(1, round(n * self.characters_per_word)) if self.unspaced else n

    @cached_property
    def word_chars(self) -> int:
        return sum(map(len, self.words))

    @cached_property
    def word_char_offsets(self) -> list[int]:
        """offsets[i] = characters in words[:i], so words[i:j] hold offsets[j] - offsets[i] characters."""
        return list(accumulate(map(len, self.words), initial=0))

    @cached_property
    def non_space_chars(self) -> int:
        return len("".join(self.text.split()))

    @cached_property
    def lines(self) -> list[str]:
        """Non-empty lines, stripped; every line break counts ('\\n', '\\r\\n', '\\u2028', ...)."""
        return list(filter(None, map(str.strip, self.text.splitlines())))

    @cached_property
    def prose_lines(self) -> list[str]:
        """The lines as prose: a table row becomes its non-empty cells, separator rows and lines of symbols
        alone are left out. The same list as `lines` when there is nothing to change (most documents)."""
        if "|" not in self.text and not any(map(_NO_LETTER_OR_DIGIT.fullmatch, self.lines)):
            return self.lines
        prose: list[str] = []
        for line in self.lines:
            if line.startswith("|"):
                prose.extend(cell for cell in map(str.strip, line.strip("|").split("|")) if cell)
            else:
                prose.append(line)
        return [line for line in prose if not _NO_LETTER_OR_DIGIT.fullmatch(line)]

    @cached_property
    def sentence_lines(self) -> list[str]:
        """`prose_lines` with hard wraps undone: a line broken inside a sentence is joined to the next."""
        return reflow(self.prose_lines)

    @cached_property
    def ngrams(self) -> _Ngrams:
        return _Ngrams(self.words)


def reflow(lines: list[str]) -> list[str]:
    """Join the lines that a hard wrap (e-texts, OCR, mail, XML) broke inside a sentence.

    A line of 30 characters or more continues on the next when it ends no sentence or clause and either
    the next line starts with a lowercase letter (a new sentence or a menu item rarely does), or it ends
    in a hyphen, or the lines are wrapped at a fixed width (most of them about as long as the longest)
    and this one reaches that width: the only sign of a wrap in scripts without letter case."""
    if len(lines) < 2:
        return lines
    width = _wrap_width(lines)
    joined: list[str] = []
    pieces = [lines[0]]  # the sentence being joined, a piece a line: joined once at its end, not line by line
    for previous, line in zip(lines, lines[1:]):
        if _continues(previous, line, width):
            if previous.endswith(_HYPHENS):
                pieces[-1] = pieces[-1][:-1]
            else:
                pieces.append(" ")
            pieces.append(line)
        else:
            joined.append("".join(pieces))
            pieces = [line]
    joined.append("".join(pieces))
    return joined


_HYPHENS = ("-", "\u00ad", "\u2010")
_MIN_WRAPPED_LINE = 30  # characters: a shorter line is a heading or a menu item, not a wrapped piece of prose


def _continues(line: str, following: str, width: int | None) -> bool:
    if len(line) < _MIN_WRAPPED_LINE or _ends_prose(line):
        return False
    if following[0].islower() or line.endswith(_HYPHENS):
        return True
    return width is not None and len(line) >= 0.8 * width


def _wrap_width(lines: list[str]) -> int | None:
    """The width a text is wrapped at, if it is: at least half of its lines (and 4) within 80% of it."""
    lengths = sorted(map(len, lines))
    if len(lengths) < 4:
        return None
    width = lengths[math.ceil(0.9 * len(lengths)) - 1]  # the 90th percentile: a few long lines do not set it
    if not _MIN_WRAPPED_LINE <= width <= 160:
        return None
    near = sum(1 for length in lengths if 0.8 * width <= length <= width + 2)
    return width if near >= max(4, len(lengths) / 2) else None


def _ends_prose(line: str) -> bool:
    """Ends a sentence, or a clause that the next line goes on with: the comma of a preamble's clauses, the
    dash that closes a line of dialogue. Menus and link lists end in neither. What may follow the stop is not
    looked at: closing brackets, emoji, a stray closing tag."""
    if line.endswith(PROSE_LINE_ENDINGS):
        return True
    # only the line's end is looked at: on a whole line the pattern backtracks over every run of spaces or tags
    # it meets (quadratic: 40,000 spaces inside one line took 45 s)
    return _TRAILING_NOISE.sub("", line[-_TRAILING_NOISE_CHARS:]).endswith(PROSE_LINE_ENDINGS)


_TRAILING_NOISE = re.compile(r"(?:<[^<>]{1,40}>|[\s)\]}\u200d\ufe0f\u2600-\u27bf\U0001f000-\U0001faff])+$")
_TRAILING_NOISE_CHARS = 100  # a stop, then up to a hundred characters of brackets, emoji and stray tags


class _Ngrams:
    """The word n-grams of one document as hash keys, and the start positions of those that repeat.

    The key of the n-gram at i is hash((key of the (n-1)-gram at i, word i+n-1)): one pass over pairs
    per size instead of hashing n-word tuples. Equal n-grams get equal keys; two different n-grams
    share one only on a 64-bit hash collision, which could only make a fraction slightly larger.
    An n-gram can repeat only where its (n-1)-gram prefix (at i) and suffix (at i+1) both repeat, so
    once few (n-1)-grams repeat, as in prose, only those positions are keyed.
    """

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.keys: dict[int, list] = {1: words}  # size -> key at every start position
        self.sparse_keys: dict[int, dict[int, int]] = {}  # size -> key at candidate start positions
        self.repeats: dict[int, list[int]] = {}  # size -> ascending starts of repeated n-grams
        self.frequencies: dict[int, Counter] = {}  # size -> occurrences of each key, where every position was keyed

    def all_keys(self, n: int) -> list:
        known = max(size for size in self.keys if size <= n)
        for size in range(known + 1, n + 1):
            self.keys[size] = list(map(hash, zip(self.keys[size - 1], self.words[size - 1 :])))
        return self.keys[n]

    def frequency(self, n: int) -> Counter:
        """How often each n-gram key occurs, every position keyed (the top n-gram rule needs them all)."""
        if n not in self.frequencies:
            self.frequencies[n] = Counter(self.all_keys(n))
        return self.frequencies[n]

    def repeated_starts(self, n: int) -> list[int]:
        """Ascending start positions of the n-grams that occur more than once."""
        smaller = [size for size in (*self.repeats, *self.frequencies) if size < n]
        for size in range(max(smaller) + 1 if smaller else n, n + 1):
            shorter = self.repeats.get(size - 1)
            if shorter is None and size - 1 in self.frequencies:  # counted for the top n-gram rule: reuse
                shorter = self.repeats[size - 1] = self._repeated_anywhere(size - 1)
            if shorter is not None and len(shorter) * 8 < len(self.words):
                self.repeats[size] = self._repeated_among(size, shorter)
            else:
                self.repeats[size] = self._repeated_anywhere(size)
        return self.repeats[n]

    def _repeated_anywhere(self, n: int) -> list[int]:
        keys, frequency = self.all_keys(n), self.frequency(n)
        if len(frequency) == len(keys):
            return []
        return list(compress(count(), map((1).__lt__, map(frequency.__getitem__, keys))))

    def _repeated_among(self, n: int, shorter_repeats: list[int]) -> list[int]:
        repeating = set(shorter_repeats)
        candidates = [i for i in shorter_repeats if i + 1 in repeating]
        shorter_keys = self.sparse_keys[n - 1] if n - 1 in self.sparse_keys else self.keys[n - 1]
        keys = {i: hash((shorter_keys[i], self.words[i + n - 1])) for i in candidates}
        self.sparse_keys[n] = keys
        frequency = Counter(keys.values())
        return [i for i in candidates if frequency[keys[i]] > 1]


Failure = tuple[str, str]  # (rule, detail)
Rule = Callable[[_Document, QualityThresholds, dict[str, float]], "Failure | None"]


def _ratio(part: float, whole: float) -> float:
    return part / whole if whole else 0.0


def _below(rule: str, what: str, value: float, limit: float) -> Failure | None:
    return (rule, f"{what} {value:.4g} < {rule} {limit:g}") if value < limit else None


def _above(rule: str, what: str, value: float, limit: float) -> Failure | None:
    return (rule, f"{what} {value:.4g} > {rule} {limit:g}") if value > limit else None


def _covered_chars(starts: Iterable[int], n: int, offsets: list[int]) -> int:
    """Characters of the words inside n-grams starting at `starts` (ascending); each word counted once."""
    covered = end = 0
    for start in starts:
        stop = start + n
        covered += offsets[stop] - offsets[max(start, end)]
        end = stop
    return covered


def _has_letter(word: str) -> bool:
    return any(map(str.isalpha, word))


def words_with_letter(words: list[str]) -> int:
    """Words with at least one letter; most words are letters only, which str.isalpha answers in C."""
    return sum(map(str.isalpha, words)) + sum(map(_has_letter, filterfalse(str.isalpha, words)))


def top_ngram_char_fraction(doc: _Document, n: int) -> float:
    """Word characters covered by the occurrences of the most frequent n-gram / all word characters."""
    keys, frequency = doc.ngrams.all_keys(n), doc.ngrams.frequency(n)
    most = max(frequency.values(), default=0)
    if most < 2:
        return 0.0
    top = next(key for key, seen in frequency.items() if seen == most)  # the first to appear among equals
    starts = compress(count(), map(top.__eq__, keys))
    return _ratio(_covered_chars(starts, n, doc.word_char_offsets), doc.word_chars)


def duplicate_ngram_char_fraction(doc: _Document, n: int) -> float:
    """Word characters inside n-grams that occur more than once / all word characters."""
    starts = doc.ngrams.repeated_starts(n)
    return _ratio(_covered_chars(starts, n, doc.word_char_offsets), doc.word_chars)


@lru_cache(maxsize=256)
def _phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A forbidden phrase as a regex over lowercased text, any run of whitespace between its words."""
    return re.compile(r"\s+".join(map(re.escape, phrase.lower().split())))


# The rules, cheapest first. Each records all of its signals, then returns its first failure or None.


def _word_count_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    words = signals["word_count"] = doc.word_count
    if words < limits.min_words:
        return "min_words", f"{words:.0f} words < min_words {limits.min_words}"
    if words > limits.max_words:
        return "max_words", f"{words:.0f} words > max_words {limits.max_words}"
    return None


def _forbidden_phrase_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    found = [phrase for phrase in limits.forbidden_phrases if _phrase_pattern(phrase).search(doc.lowered)]
    signals["forbidden_phrase_count"] = float(len(found))
    return ("forbidden_phrases", f"contains {found[0]!r} from forbidden_phrases") if found else None


def _mean_word_length_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    mean = signals["mean_word_length"] = _ratio(doc.word_chars, len(doc.words))
    if doc.unspaced:
        return None
    return _below("min_mean_word_length", "mean word length", mean, limits.min_mean_word_length) or _above(
        "max_mean_word_length", "mean word length", mean, limits.max_mean_word_length
    )


def _symbol_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    words = doc.word_count
    hashes = signals["hash_word_ratio"] = _ratio(doc.text.count("#"), words)
    ellipses = signals["ellipsis_word_ratio"] = _ratio(sum(map(doc.text.count, _ELLIPSES)), words)
    signals["symbol_word_ratio"] = max(hashes, ellipses)
    return _above("max_symbol_word_ratio", "'#' per word", hashes, limits.max_symbol_word_ratio) or _above(
        "max_symbol_word_ratio", "ellipses per word", ellipses, limits.max_symbol_word_ratio
    )


def _curly_bracket_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    brackets = doc.text.count("{") + doc.text.count("}")
    ratio = signals["curly_bracket_ratio"] = _ratio(brackets, doc.non_space_chars)
    return _above("max_curly_bracket_ratio", "curly brackets per character", ratio, limits.max_curly_bracket_ratio)


def _digit_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    ratio = signals["digit_ratio"] = _ratio(len(_DIGIT.findall(doc.text)), doc.non_space_chars)
    return _above("max_digit_ratio", "digits per character", ratio, limits.max_digit_ratio)


def _alpha_word_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    fraction = signals["alpha_word_fraction"] = _ratio(words_with_letter(doc.words), len(doc.words))
    return _below("min_alpha_word_fraction", "fraction of words with a letter", fraction, limits.min_alpha_word_fraction)


def _line_shape_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    lines = doc.lines
    signals["line_count"] = float(len(lines))
    bullets = signals["bullet_line_fraction"] = _ratio(sum(map(str.startswith, lines, repeat(BULLETS))), len(lines))
    ellipses = signals["ellipsis_line_fraction"] = _ratio(sum(map(str.endswith, lines, repeat(_ELLIPSES))), len(lines))
    sentences = doc.sentence_lines
    open_lines = [line for line in sentences if not _ends_prose(line)]
    open_fraction = signals["lines_without_terminal_punctuation"] = _ratio(len(open_lines), len(sentences))
    open_chars = signals["chars_without_terminal_punctuation"] = _ratio(sum(map(len, open_lines)), sum(map(len, sentences)))
    short = signals["short_line_fraction"] = _ratio(sum(1 for line in sentences if doc.is_short(line, limits.short_line_words)),
                                                    len(sentences))
    failure = None
    if len(lines) >= limits.min_lines_for_list_rules:
        failure = _above("max_bullet_line_fraction", "fraction of bullet lines", bullets, limits.max_bullet_line_fraction)
        failure = failure or _above(
            "max_ellipsis_line_fraction", "fraction of lines ending in an ellipsis", ellipses, limits.max_ellipsis_line_fraction
        )
    if failure or len(sentences) < limits.min_lines_for_punctuation_rule:
        return failure
    return _above(
        "max_lines_without_terminal_punctuation",
        "fraction of lines without terminal punctuation",
        open_fraction,
        limits.max_lines_without_terminal_punctuation,
    ) or _above(
        "max_chars_without_terminal_punctuation",
        "fraction of characters in lines without terminal punctuation",
        open_chars,
        limits.max_chars_without_terminal_punctuation,
    ) or _above(
        "max_short_line_fraction", f"fraction of lines under {limits.short_line_words} words", short, limits.max_short_line_fraction
    )


def _duplicate_line_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    lines = doc.lines
    copies = [(line, seen - 1) for line, seen in Counter(lines).items() if seen > 1]  # beyond the first
    fraction = signals["duplicate_line_fraction"] = _ratio(sum(times for _, times in copies), len(lines))
    char_fraction = signals["duplicate_line_char_fraction"] = _ratio(
        sum(len(line) * times for line, times in copies), sum(map(len, lines))
    )
    return _above(
        "max_duplicate_line_fraction", "fraction of repeated lines", fraction, limits.max_duplicate_line_fraction
    ) or _above(
        "max_duplicate_line_char_fraction",
        "fraction of characters in repeated lines",
        char_fraction,
        limits.max_duplicate_line_char_fraction,
    )


def _top_ngram_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    failures = []
    for n, limit in sorted(limits.max_top_ngram_char_fraction.items()):
        fraction = signals[f"top_{n}gram_char_fraction"] = top_ngram_char_fraction(doc, doc.ngram_size(n))
        failures.append(_above("max_top_ngram_char_fraction", f"top {n}-gram character fraction", fraction, limit))
    return next(filter(None, failures), None)


def _duplicate_ngram_rule(doc: _Document, limits: QualityThresholds, signals: dict[str, float]) -> Failure | None:
    failures = []
    for n, limit in sorted(limits.max_duplicate_ngram_char_fraction.items()):
        fraction = signals[f"duplicate_{n}gram_char_fraction"] = duplicate_ngram_char_fraction(doc, doc.ngram_size(n))
        failures.append(_above("max_duplicate_ngram_char_fraction", f"duplicate {n}-gram character fraction", fraction, limit))
    return next(filter(None, failures), None)


RULES: tuple[Rule, ...] = (
    _word_count_rule,
    _forbidden_phrase_rule,
    _mean_word_length_rule,
    _symbol_rule,
    _curly_bracket_rule,
    _digit_rule,
    _alpha_word_rule,
    _line_shape_rule,
    _duplicate_line_rule,
    _top_ngram_rule,
    _duplicate_ngram_rule,
)
"""The order check_quality applies the rules in: character and word counts first, n-grams last."""

_DEFAULTS = QualityThresholds()


def quality_signals(text: str, thresholds: QualityThresholds | None = None) -> dict[str, float]:
    """Every signal the rules measure, pass or fail; n-gram sizes and phrases come from `thresholds`."""
    limits, signals = thresholds or _DEFAULTS, {}
    doc = _Document(text, limits.unspaced_characters_per_word)
    for rule in RULES:
        rule(doc, limits, signals)
    return signals


def check_quality(text: str, thresholds: QualityThresholds) -> QualityVerdict:
    """Apply the rules in order and stop at the first the text breaks; `signals` holds what was measured."""
    doc, signals = _Document(text, thresholds.unspaced_characters_per_word), {}
    for rule in RULES:
        failure = rule(doc, thresholds, signals)
        if failure:
            return QualityVerdict(passed=False, rule=failure[0], detail=failure[1], signals=signals)
    return QualityVerdict(passed=True, rule=None, detail=None, signals=signals)
