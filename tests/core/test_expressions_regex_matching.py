"""`matches` follows Go's regexp (RE2 syntax, unanchored search) with a linear-time engine of our own."""

import contextlib
import re
from dataclasses import dataclass

import hypothesis
import pytest
from hypothesis import strategies as st

from rollouts.core import expressions


def matches(subject: str, pattern: str) -> bool:
    outcome = expressions.evaluate("subject matches pattern", {"subject": subject, "pattern": pattern})
    assert isinstance(outcome, bool)
    return outcome


@pytest.mark.parametrize(
    ("subject", "pattern", "expected"),
    [
        pytest.param("hello", "ell", True, id="unanchored-search"),
        pytest.param("hello", "^ell", False, id="caret-anchors-start"),
        pytest.param("hello", "lo$", True, id="dollar-anchors-end"),
        pytest.param("a\n", "a$", False, id="dollar-is-end-of-text-not-before-newline"),
        pytest.param("a\nb", "(?m)^b$", True, id="multiline-anchors"),
        pytest.param("a\nb", "^b", False, id="caret-without-multiline"),
        pytest.param("ab", "\\Aab\\z", True, id="text-anchors"),
        pytest.param("a\n", "a\\z", False, id="z-is-strict-end"),
        pytest.param("", "", True, id="empty-matches-empty"),
        pytest.param("", "a*", True, id="star-matches-empty"),
        pytest.param("abc", "a.c", True, id="dot"),
        pytest.param("a\nc", "a.c", False, id="dot-skips-newline"),
        pytest.param("a\nc", "(?s)a.c", True, id="dotall-flag"),
        pytest.param("b", "[a-c]", True, id="class-range"),
        pytest.param("d", "[a-c]", False, id="class-range-miss"),
        pytest.param("a", "[^a]", False, id="negated-class"),
        pytest.param("]", "[]a]", True, id="bracket-first-in-class"),
        pytest.param("-", "[a-]", True, id="dash-last-in-class"),
        pytest.param("5", "[[:digit:]]", True, id="posix-class"),
        pytest.param("x", "[[:^alpha:]]", False, id="negated-posix-class"),
        pytest.param("7", "\\d", True, id="digit"),
        pytest.param("x", "\\D", True, id="non-digit"),
        pytest.param("_", "^\\w$", True, id="word-char"),
        pytest.param("é", "^\\w$", False, id="word-is-ascii-like-re2"),
        pytest.param("\t", "\\s", True, id="space"),
        pytest.param("1.5", "^[\\d.]+$", True, id="escape-in-class"),
        pytest.param("a.b", "a\\.b", True, id="escaped-dot"),
        pytest.param("axb", "a\\.b", False, id="escaped-dot-is-literal"),
        pytest.param("A", "\\x41", True, id="hex-escape"),
        pytest.param("☺", "\\x{263a}", True, id="braced-hex-escape"),
        pytest.param("a\tb", "a\\tb", True, id="tab-escape"),
        pytest.param("cat", "dog|cat", True, id="alternation"),
        pytest.param("abab", "^(?:ab)+$", True, id="non-capturing-group"),
        pytest.param("abab", "^(?P<pair>ab){2}$", True, id="named-group"),
        pytest.param("abab", "^(?<pair>ab){3}$", False, id="named-group-count"),
        pytest.param("aa", "^a{2}$", True, id="exact-count"),
        pytest.param("aaa", "^a{2}$", False, id="exact-count-miss"),
        pytest.param("aaaa", "^a{2,}$", True, id="at-least"),
        pytest.param("aaaa", "^a{1,3}$", False, id="at-most"),
        pytest.param("a{", "a{", True, id="brace-is-literal-when-not-a-repeat"),
        pytest.param("x{1,a}", "x{1,a}", True, id="brace-with-non-count"),
        pytest.param("aaa", "^a+?$", True, id="lazy-quantifier"),
        pytest.param("HeLLo", "(?i)hello", True, id="case-insensitive"),
        pytest.param("HeLLo", "(?i:h)ello", False, id="scoped-flag"),
        pytest.param("A", "(?i)[^a]", False, id="case-insensitive-negated-class"),
        pytest.param("B", "(?i)[a-c]", True, id="case-insensitive-class"),
        pytest.param("x", "(?i-s)X", True, id="flags-with-negation"),
        pytest.param("cat dog", "\\bdog\\b", True, id="word-boundary"),
        pytest.param("catdog", "\\bdog", False, id="word-boundary-miss"),
        pytest.param("catdog", "\\Bdog", True, id="non-word-boundary"),
        pytest.param("v1.28.3", "^v1\\.(2[6-9]|3[0-9])\\.", True, id="version-check"),
        pytest.param("HTTP 503", "^HTTP [45]\\d\\d$", True, id="status-check"),
    ],
)
def test_regex_semantics(subject: str, pattern: str, expected: bool) -> None:
    assert matches(subject, pattern) is expected


# -- differential test against Python's `re` on the syntax both share (ASCII, no `$`, short inputs)


@dataclass(frozen=True)
class Pattern:
    text: str
    atomic: bool  # can take a quantifier without a group


ATOMS = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "\\w", "\\d", "\\s", "\\.", "[a-b1]", "\\b", "^"])


def quantified(inner: Pattern, quantifier: str) -> Pattern:
    body = inner.text if inner.atomic else f"(?:{inner.text})"
    return Pattern(text=body + quantifier, atomic=False)


def extend(children: st.SearchStrategy[Pattern]) -> st.SearchStrategy[Pattern]:
    quantifiers = st.sampled_from(["*", "+", "?", "{2}", "{0,2}", "{1,}", "*?"])
    return st.one_of(
        st.builds(lambda left, right: Pattern(text=left.text + right.text, atomic=False), children, children),
        st.builds(
            lambda left, right: Pattern(text=f"(?:{left.text}|{right.text})", atomic=True), children, children
        ),
        st.builds(lambda inner: Pattern(text=f"({inner.text})", atomic=True), children),
        st.builds(quantified, children, quantifiers),
    )


def atom_pattern(text: str) -> Pattern:
    # Assertions take no quantifier in Python's `re`.
    return Pattern(text=text, atomic=text not in ("\\b", "^"))


PATTERNS = st.recursive(ATOMS.map(atom_pattern), extend, max_leaves=8)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(pattern=PATTERNS, subject=st.text(alphabet="ab1 .\n", max_size=10))
def test_regex_agrees_with_python_re(pattern: Pattern, subject: str) -> None:
    expected = re.search(pattern.text, subject) is not None
    assert matches(subject, pattern.text) is expected


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(pattern=st.text(alphabet="ab()[]{}^$.*+?|\\-,:<>=!PpdwsbBAzxi0123456789", max_size=20))
def test_arbitrary_patterns_only_raise_expression_errors(pattern: str) -> None:
    with contextlib.suppress(expressions.ExpressionError):
        matches("ab[0]{1} x", pattern)
