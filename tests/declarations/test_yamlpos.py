"""The YAML reader: values, positions of every node, and the problems it refuses."""

from __future__ import annotations

import json

import pytest

from certgov.declarations import yamlpos
from certgov.declarations.yamlpos import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    YamlProblem,
    join_key,
    load_documents,
)


def test_block_style_positions_point_at_each_value() -> None:
    text = "name: ci\nscopes:\n  - read\n  - write\nsecret:\n  store: local\n"
    [doc], problems = load_documents(text)
    assert problems == []
    assert doc.value == {"name": "ci", "scopes": ["read", "write"], "secret": {"store": "local"}}
    assert doc.positions == {
        "": (1, 1),
        "name": (1, 7),
        "scopes": (3, 3),
        "scopes[0]": (3, 5),
        "scopes[1]": (4, 5),
        "secret": (6, 3),
        "secret.store": (6, 10),
    }
    assert doc.key_positions == {
        "name": (1, 1),
        "scopes": (2, 1),
        "secret": (5, 1),
        "secret.store": (6, 3),
    }


def test_flow_style_positions_point_at_each_value() -> None:
    text = "rules: [{action: x, values: {minimum_bits: 1024}}]\n"
    [doc], _ = load_documents(text)
    assert doc.positions == {
        "": (1, 1),
        "rules": (1, 8),
        "rules[0]": (1, 9),
        "rules[0].action": (1, 18),
        "rules[0].values": (1, 29),
        "rules[0].values.minimum_bits": (1, 44),
    }


def test_quoted_keys_are_plain_keys_with_their_own_positions() -> None:
    text = '"name": ci\n\'odd key\': 1\nsub: {"a.b": 2}\n'
    [doc], _ = load_documents(text)
    assert doc.value == {"name": "ci", "odd key": 1, "sub": {"a.b": 2}}
    assert doc.positions == {
        "": (1, 1),
        "name": (1, 9),
        '["odd key"]': (2, 12),
        "sub": (3, 6),
        'sub["a.b"]': (3, 14),
    }


def test_multi_document_files_keep_positions_per_document() -> None:
    text = "a: 1\n---\n\nb:\n  c: 2\n---\n...\n"
    docs, problems = load_documents(text)
    assert problems == []
    assert [(d.value, d.line, d.col, d.positions) for d in docs] == [
        ({"a": 1}, 1, 1, {"": (1, 1), "a": (1, 4)}),
        ({"b": {"c": 2}}, 4, 1, {"": (4, 1), "b": (5, 3), "b.c": (5, 6)}),
    ]


def test_positions_are_worked_out_when_first_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    # A valid document is read without its positions (most are never needed); the first look
    # reads its text again, in the C loader or, where that refuses the text, the Python one.
    located: list[int] = []
    locate = yamlpos._locate

    def counted(text: str, index: int) -> object:
        located.append(index)
        return locate(text, index)

    monkeypatch.setattr(yamlpos, "_locate", counted)
    docs, _ = load_documents("a: 1\n---\nb: [x, {y: 2}]\n")
    assert located == []
    assert docs[1].positions == {"": (3, 1), "b": (3, 4), "b[0]": (3, 5), "b[1]": (3, 8)} | {
        "b[1].y": (3, 12)
    }
    assert docs[1].key_positions == {"b": (3, 1), "b[1].y": (3, 9)}
    assert located == [1]
    monkeypatch.setattr(yamlpos, "_fast_loader", lambda text: None)
    fresh, _ = load_documents("a: 1\n---\nb: [x, {y: 2}]\n")
    assert (fresh[1].positions, fresh[1].key_positions) == (
        docs[1].positions,
        docs[1].key_positions,
    )
    assert located == [1, 1]


def test_merged_and_non_string_keys_have_positions_too() -> None:
    [doc], problems = load_documents("base: &b {p: 1}\nm:\n  <<: *b\n  2: two\n")
    assert problems == []
    assert doc.value == {"base": {"p": 1}, "m": {"p": 1, "2": "two"}}
    assert doc.positions == {
        "": (1, 1),
        "base": (1, 7),
        "base.p": (1, 14),
        "m": (3, 3),
        "m.p": (1, 14),
        'm["2"]': (4, 6),
    }


def test_timestamps_stay_the_text_written() -> None:
    [doc], _ = load_documents("d: 2027-06-30\nt: 2027-06-30T10:00:00Z\n")
    assert doc.value == {"d": "2027-06-30", "t": "2027-06-30T10:00:00Z"}


def test_duplicate_keys_are_refused_at_the_second_key() -> None:
    docs, problems = load_documents("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert docs == []
    assert sorted(problems, key=lambda p: (p.line, p.col)) == [
        YamlProblem(4, 3, "b.c", "duplicate key (first at line 3)"),
        YamlProblem(5, 1, "a", "duplicate key (first at line 1)"),
    ]


def test_merge_keys_merge_and_own_keys_win() -> None:
    text = "base: &b {p: 1, q: 2}\nm:\n  <<: *b\n  q: 5\n"
    [doc], problems = load_documents(text)
    assert problems == []
    assert doc.value == {"base": {"p": 1, "q": 2}, "m": {"p": 1, "q": 5}}


def test_a_bad_merge_value_is_reported() -> None:
    docs, problems = load_documents("m:\n  <<: 3\n")
    assert docs == []
    assert [(p.line, p.col, p.path) for p in problems] == [(2, 7, "m")]


def test_alias_bombs_are_refused_before_expansion() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    prev = "a"
    for name in "bcdefghij":
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
        prev = name
    docs, problems = load_documents("\n".join(lines) + "\n")
    assert docs == []
    assert problems == [
        YamlProblem(
            1,
            1,
            "",
            f"the document expands to more than {MAX_EXPANDED_NODES} nodes through aliases",
        )
    ]


def test_a_small_alias_is_expanded() -> None:
    [doc], problems = load_documents("a: &x [1, 2]\nb: *x\n")
    assert problems == []
    assert doc.value == {"a": [1, 2], "b": [1, 2]}
    assert doc.positions["b[1]"] == (1, 11)


def test_recursive_aliases_are_refused() -> None:
    docs, problems = load_documents("a: &a [*a]\n")
    assert docs == []
    assert problems == [YamlProblem(1, 1, "", "an alias refers to its own anchor")]


def test_non_scalar_keys_are_refused() -> None:
    docs, problems = load_documents("? [a, b]\n: 1\n")
    assert docs == []
    assert problems == [YamlProblem(1, 3, "", "a mapping key must be a plain string")]


def test_unsafe_tags_are_refused() -> None:
    docs, problems = load_documents("a: !!python/name:os.system x\nb: !!set {x}\n")
    assert docs == []
    assert problems == [
        YamlProblem(
            1,
            4,
            "a",
            "could not determine a constructor for the tag"
            " 'tag:yaml.org,2002:python/name:os.system'",
        ),
        YamlProblem(2, 4, "b", "the tag tag:yaml.org,2002:set is not allowed here"),
    ]


def test_custom_sequence_tags_are_refused() -> None:
    docs, problems = load_documents("a: !list [1]\n")
    assert docs == []
    assert problems == [YamlProblem(1, 4, "a", "the tag !list is not allowed here")]


def test_syntax_errors_name_the_place() -> None:
    docs, problems = load_documents("a: [1,\nb: 2\n")
    assert docs == []
    assert problems == [
        YamlProblem(
            3,
            1,
            "",
            "YAML syntax: while parsing a flow sequence: expected ',' or ']', but got"
            " '<stream end>'",
        )
    ]


def test_keys_that_are_not_identifiers_are_quoted_in_paths() -> None:
    assert join_key("", "name") == "name"
    assert join_key("a", "b-c") == "a.b-c"
    assert join_key("a", 'say "hi"\\') == 'a["say \\"hi\\"\\\\"]'


def test_a_control_character_is_refused_at_its_position() -> None:
    docs, problems = load_documents("name: ci\ndescription: a \x07 bell\n")
    assert docs == []
    assert problems == [YamlProblem(2, 16, "", "the non-printable character U+0007 is not allowed")]


def test_a_nul_byte_is_refused_at_its_position() -> None:
    docs, problems = load_documents("name: c\x00i\n")
    assert docs == []
    assert problems == [YamlProblem(1, 8, "", "the non-printable character U+0000 is not allowed")]


def test_nesting_at_the_limit_is_read() -> None:
    # The document mapping and 99 nested lists: MAX_DEPTH levels, the innermost list empty.
    lists = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)
    [doc], problems = load_documents(f"a: {lists}\n")
    assert problems == []
    assert doc.value == {"a": json.loads(lists)}


def test_deep_flow_nesting_is_refused_without_recursing_into_it() -> None:
    docs, problems = load_documents("a: " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert docs == []
    assert problems == [
        YamlProblem(
            1,
            3 + MAX_DEPTH,
            "a" + "[0]" * (MAX_DEPTH - 1),
            f"the document nests deeper than {MAX_DEPTH} levels",
        )
    ]


def test_deep_block_nesting_is_refused_at_the_first_key_too_deep() -> None:
    text = "".join(f"{' ' * i}k{i}:\n" for i in range(3000)) + " " * 3000 + "end\n"
    docs, problems = load_documents(text)
    assert docs == []
    # k0's value is the second level; the key k99 would be the 101st.
    assert problems == [
        YamlProblem(
            MAX_DEPTH,
            MAX_DEPTH,
            ".".join(f"k{i}" for i in range(MAX_DEPTH - 1)),
            f"the document nests deeper than {MAX_DEPTH} levels",
        )
    ]


def test_aliases_that_nest_too_deep_are_refused_before_building() -> None:
    # Each collection is composed 61 levels deep at most; `*a` inside `b` makes 121 levels.
    text = f"a: &a {'[' * 60}{']' * 60}\nb: {'[' * 60}*a{']' * 60}\n"
    docs, problems = load_documents(text)
    assert docs == []
    assert problems == [
        YamlProblem(
            1,
            1,
            "",
            f"the document nests deeper than {MAX_DEPTH} levels once aliases are followed",
        )
    ]


# Texts on either side of the shortcuts: `*` in quotes, comments and plain words; aliases after
# each token start; shallow text with many indicators; and the hostile cases above.
SHORTCUT_TEXTS = [
    "domains: ['*.example.com', \"*.b.example.com\"]  # *.c\n",
    "a: x*y\nb: '*'\n",
    "a: &x [1]\nb: *x\nc: [*x]\nd: {k: *x}\ne: [1,*x]\n",
    "- - - - [a, b, {c: d}]\n" * 40,
    "a:\n" + "".join(f"  k{i}: [x-{i}, '-:?']\n" for i in range(60)),
    "{" + ",".join(f"k{i}" for i in range(60_000)) + "}\n",
    f"a: &a {'[' * 60}{']' * 60}\nb: {'[' * 60}*a{']' * 60}\n",
    "a: " + "[" * 150 + "]" * 150 + "\n",
    "a: [1, 2\n",
    "a: *missing\n",
]


@pytest.mark.parametrize("text", SHORTCUT_TEXTS, ids=range(len(SHORTCUT_TEXTS)))
def test_skipped_checks_change_nothing(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The depth pre-scan and the alias graph walk are skipped where they cannot find anything;
    # run them always, and every answer is the same.
    quick = load_documents(text)
    monkeypatch.setattr(yamlpos, "_may_nest_deep", lambda text: True)
    monkeypatch.setattr(yamlpos, "_may_expand", lambda text: True)
    assert load_documents(text) == quick


# A plain tree is built straight from libyaml's events; anything else goes the node path, which
# words its problems. Either way the documents are the same.
PLAIN_TREES = [
    "",
    "# only a comment\n",
    "a: 1\nb: -2.5\nc: true\nd: no\ne: ~\nf: null\ng: ''\nh: 0x1F\ni: 1_000\nj: .inf\n",
    "d: 2027-06-30\nt: 2027-06-30T10:00:00Z\nq: '2027-06-30'\n",
    'quoted: "yes"\nsingle: \'1\'\nkey with spaces: x\n"a.b": {c: [1, [2, {d: e}]]}\n',
    "- a\n- - b\n  - {}\n- []\n",
    "just a scalar\n",
    "a: 1\n---\n\nb:\n  c: 2\n---\n...\n",
    "---\n---\nx: |\n  literal\n  text\ny: >\n  folded\n",
    "a: 1\n---\n# empty\n---\nb: 2\n",
    "a: [" + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2) + "]\n",
]
NOT_PLAIN = [
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: !custom x\n",
    "a: !!map {b: 1}\n",
    "base: &b {p: 1}\nm:\n  <<: *b\n",
    "1: one\nyes: true\nnull: x\n",
    "a: 1\na: 2\n",
    "? [a, b]\n: 1\n",
    "a: [1, 2\n",
    "a: =\n",
    "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n",
    "k: " + "x" * MAX_EXPANDED_NODES + "\n",
]


@pytest.mark.parametrize(
    ("text", "plain"),
    [(t, True) for t in PLAIN_TREES]
    + [(t, False) for t in NOT_PLAIN]
    + [(t, None) for t in SHORTCUT_TEXTS],
)
def test_the_event_path_and_the_node_path_read_the_same(
    text: str, plain: bool | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    quick = yamlpos._quick_read(text)
    if plain is not None:
        assert (quick is not None) is plain
    answer = load_documents(text)
    monkeypatch.setattr(yamlpos, "_quick_read", lambda text: None)
    assert load_documents(text) == answer
    if quick is not None:
        assert answer == (quick, [])
        assert [(d.positions, d.key_positions) for d in quick] == [
            (d.positions, d.key_positions) for d in answer[0]
        ]
