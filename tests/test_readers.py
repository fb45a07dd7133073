"""Tests for bert_keras.data.readers: every format, every bad-row case, raised and skipped."""

import json

import pandas as pd
import pytest

from bert_keras.data.examples import BadRow, LabelledTexts
from bert_keras.data.readers import from_dataframe, from_lists, read_examples
from bert_keras.errors import DataError


def write(path, content):
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def bad_lines(data):
    return [row.line for row in data.skipped]


# --- formats ---------------------------------------------------------------------------------


def test_csv(tmp_path):
    path = write(tmp_path / "train.csv", "text,label\ngood film,pos\n\"bad, awful\",neg\n")
    data = read_examples(path)
    assert data.texts == ["good film", "bad, awful"]
    assert data.labels == [["pos"], ["neg"]]
    assert data.pairs is None
    assert data.sources == [f"{path}:2", f"{path}:3"]
    assert data.skipped == []
    assert len(data) == 2 and not data.is_multi_label


def test_crlf_line_endings(tmp_path):
    path = write(tmp_path / "w.csv", "text,label\r\nfine,pos\r\n,neg\r\nok,neg\r\n")
    data = read_examples(path, skip_bad_rows=True)
    assert data.labels == [["pos"], ["neg"]] and bad_lines(data) == [3]


def test_tsv_and_tab_suffix(tmp_path):
    content = "id\treview\trating\n1\tnice, really\tpositive\n2\tmeh\tneutral\n"
    for name in ("a.tsv", "a.tab"):
        data = read_examples(write(tmp_path / name, content), text_column="review",
                             label_column="rating")
        assert data.texts == ["nice, really", "meh"]
        assert data.labels == [["positive"], ["neutral"]]


def test_jsonl_and_json_suffix(tmp_path):
    rows = [{"text": "a", "label": "x"}, {"text": "b", "label": 3},
            {"text": "c", "label": ["x", "y"]}]
    content = "\n".join(json.dumps(r) for r in rows) + "\n\n"
    for name in ("d.jsonl", "d.ndjson", "d.json"):
        data = read_examples(write(tmp_path / name, content))
        assert data.texts == ["a", "b", "c"]
        assert data.labels == [["x"], ["3"], ["x", "y"]]
        assert data.is_multi_label


def test_json_array_is_refused(tmp_path):
    path = write(tmp_path / "d.json", '[{"text": "a", "label": "x"}]')
    with pytest.raises(DataError, match="JSON array"):
        read_examples(path)


def test_folder(tmp_path):
    (tmp_path / "neg").mkdir()
    (tmp_path / "pos").mkdir()
    write(tmp_path / "neg" / "1.txt", "awful")
    write(tmp_path / "pos" / "1.txt", "\ufefflovely\nfilm")
    write(tmp_path / "pos" / "2.txt", "great")
    write(tmp_path / "pos" / ".DS_Store", b"\x00\xff")
    data = read_examples(tmp_path)
    assert data.texts == ["awful", "lovely\nfilm", "great"]
    assert data.labels == [["neg"], ["pos"], ["pos"]]
    assert data.sources[0] == f"{tmp_path / 'neg' / '1.txt'}:1"


def test_folder_bad_files(tmp_path):
    (tmp_path / "pos").mkdir()
    write(tmp_path / "pos" / "ok.txt", "fine")
    write(tmp_path / "pos" / "empty.txt", "  \n")
    write(tmp_path / "pos" / "notes.md", "x")
    write(tmp_path / "pos" / "latin1.txt", b"caf\xe9")
    write(tmp_path / "stray.txt", "x")
    data = read_examples(tmp_path, skip_bad_rows=True)
    assert data.texts == ["fine"]
    reasons = {row.path.rsplit("/", 1)[-1]: row.reason for row in data.skipped}
    assert "empty text" in reasons["empty.txt"]
    assert "not a .txt file" in reasons["notes.md"]
    assert "byte offset 3" in reasons["latin1.txt"]
    assert "class folder" in reasons["stray.txt"]


def test_file_format_overrides_suffix(tmp_path):
    path = write(tmp_path / "data.txt", "text\tlabel\nhi there\tx\n")
    assert read_examples(path, file_format="tsv").texts == ["hi there"]
    with pytest.raises(DataError, match="cannot tell the format"):
        read_examples(path)


def test_pair_column(tmp_path):
    path = write(tmp_path / "a.csv", "text,aspect,label\nfood ok but slow,service,neg\n")
    data = read_examples(path, text_pair_column="aspect")
    assert data.pairs == ["service"]
    data = read_examples(path)
    assert data.pairs is None


def test_dataframe():
    df = pd.DataFrame({"sentence": ["a", "b", None], "label": [1, 0, 1]})
    data = from_dataframe(df, text_column="sentence", skip_bad_rows=True)
    assert data.texts == ["a", "b"]
    assert data.labels == [["1"], ["0"]]
    assert data.sources == ["<dataframe>:0", "<dataframe>:1"]
    assert data.skipped == [BadRow("<dataframe>", 2, "missing 'sentence'")]


def test_dataframe_float_labels_with_gap_and_pairs():
    df = pd.DataFrame({"text": ["a", "b"], "aspect": ["x", "y"], "label": [1, None]})
    with pytest.raises(DataError, match="<dataframe>:1: missing label"):
        from_dataframe(df, text_pair_column="aspect")
    data = from_dataframe(df, text_pair_column="aspect", require_labels=False)
    assert data.labels == [["1"], []] and data.pairs == ["x", "y"]


def test_dataframe_missing_column():
    with pytest.raises(DataError, match="columns found: 'text', 'y'"):
        from_dataframe(pd.DataFrame({"text": ["a"], "y": ["b"]}))


def test_lists():
    data = from_lists(["a", "b"], ["x", ["x", "y"]], pairs=["p", "q"])
    assert data.labels == [["x"], ["x", "y"]] and data.pairs == ["p", "q"]
    assert data.sources == ["<list>:0", "<list>:1"]
    assert from_lists(["a"]).labels is None
    with pytest.raises(DataError, match="<list>:1: empty text"):
        from_lists(["a", " "], ["x", "y"])
    with pytest.raises(DataError, match="2 texts but 1 labels"):
        from_lists(["a", "b"], ["x"])


# --- bad rows --------------------------------------------------------------------------------

BAD_CSV = (
    "text,label\n"      # 1
    "fine,pos\n"        # 2
    "   ,pos\n"         # 3 empty text
    "no label,\n"       # 4 missing label
    "too,many,fields\n"  # 5 wrong field count
    "odd,zzz\n"         # 6 unknown label (with known_labels)
    "ok,neg\n"          # 7
)


@pytest.mark.parametrize(
    ("line", "reason"),
    [(3, "empty text in 'text'"), (4, "missing label in 'label'"),
     (5, "expected 2 fields as in the header, found 3"),
     (6, "unknown label 'zzz'; known labels: 'neg', 'pos'")],
)
def test_each_bad_row_raises_with_file_line_reason(tmp_path, line, reason):
    lines = BAD_CSV.splitlines(keepends=True)
    content = lines[0] + lines[1] + lines[line - 1]  # the bad row alone, now on line 3
    path = write(tmp_path / "v.csv", content)
    with pytest.raises(DataError) as info:
        read_examples(path, known_labels=["pos", "neg"])
    assert str(info.value) == f"{path}:3: {reason} (use --skip-bad-rows to skip it)"


def test_first_bad_row_raises_and_counts_the_rest(tmp_path):
    path = write(tmp_path / "v.csv", BAD_CSV)
    with pytest.raises(DataError) as info:
        read_examples(path, known_labels={"pos", "neg"})
    message = str(info.value)
    assert message.startswith(f"{path}:3: empty text")
    assert message.endswith("(3 more bad rows; use --skip-bad-rows to skip them)")


def test_bad_rows_skipped(tmp_path):
    path = write(tmp_path / "v.csv", BAD_CSV)
    data = read_examples(path, known_labels={"pos", "neg"}, skip_bad_rows=True)
    assert data.texts == ["fine", "ok"]
    assert data.sources == [f"{path}:2", f"{path}:7"]
    assert bad_lines(data) == [3, 4, 5, 6]
    assert str(data.skipped[2]) == f"{path}:5: expected 2 fields as in the header, found 3"


def test_multiline_quoted_field_keeps_line_numbers(tmp_path):
    content = 'text,label\n"first line\nsecond line\nthird",pos\n,neg\n"x\r\ny",neg\n\n,pos\n'
    path = write(tmp_path / "m.csv", content)
    with pytest.raises(DataError, match=r"m\.csv:5: empty text"):
        read_examples(path)
    data = read_examples(path, skip_bad_rows=True)
    assert data.texts == ["first line\nsecond line\nthird", "x\r\ny"]
    assert data.sources == [f"{path}:2", f"{path}:6"]
    assert bad_lines(data) == [5, 9]


def test_non_utf8_bytes(tmp_path):
    content = b"text,label\nfine,pos\ncaf\xe9 au lait,pos\nok,neg\n"
    path = write(tmp_path / "b.csv", content)
    with pytest.raises(DataError) as info:
        read_examples(path)
    offset = content.index(b"\xe9")
    expected = f"{path}:3: invalid UTF-8 at byte offset {offset} (byte 0xe9)"
    assert str(info.value).startswith(expected)
    data = read_examples(path, skip_bad_rows=True)
    assert data.texts == ["fine", "ok"] and data.sources[1] == f"{path}:4"


def test_non_utf8_bytes_jsonl(tmp_path):
    content = b'{"text": "a", "label": "x"}\n{"text": "\xff", "label": "x"}\n'
    path = write(tmp_path / "b.jsonl", content)
    data = read_examples(path, skip_bad_rows=True)
    assert data.texts == ["a"]
    assert data.skipped[0].line == 2 and "byte offset 38" in data.skipped[0].reason


def test_bom_is_fine(tmp_path):
    path = write(tmp_path / "bom.csv", b"\xef\xbb\xbftext,label\nhi,pos\n\xff,neg\n")
    data = read_examples(path, skip_bad_rows=True)
    assert data.texts == ["hi"] and data.labels == [["pos"]]
    assert "byte offset 21" in data.skipped[0].reason  # offsets count the BOM


def test_jsonl_bad_rows(tmp_path):
    lines = ['{"text": "a", "label": "x"}', "{not json", "[1, 2]", '{"label": "x"}',
             '{"text": 5, "label": "x"}', '{"text": "b", "label": true}', "",
             '{"text": "c", "label": "x"}']
    path = write(tmp_path / "j.jsonl", "\n".join(lines))
    data = read_examples(path, skip_bad_rows=True)
    assert data.texts == ["a", "c"] and data.sources[1] == f"{path}:8"
    assert [(r.line, r.reason.split(" (")[0]) for r in data.skipped] == [
        (2, "invalid JSON"), (3, "expected a JSON object, found list"), (4, "missing 'text'"),
        (5, "'text' is not a string"), (6, "label True is not a string or an integer")]


def test_jsonl_key_in_no_row_is_a_column_error(tmp_path):
    path = write(tmp_path / "j.jsonl", '{"sentence": "a", "label": "x"}\n')
    with pytest.raises(DataError, match="no 'text' in the keys; keys found: 'label', 'sentence'"):
        read_examples(path)


def test_malformed_and_unclosed_quotes(tmp_path):
    path = write(tmp_path / "q.csv", 'text,label\n"a"b,pos\nok,pos\n"never closed,pos\nlost,pos\n')
    data = read_examples(path, skip_bad_rows=True)
    assert data.texts == ["ok"]
    assert bad_lines(data) == [2, 4]
    assert "malformed quoting" in data.skipped[0].reason
    assert "unclosed quote" in data.skipped[1].reason and "line 5" in data.skipped[1].reason


def test_missing_column_in_header(tmp_path):
    path = write(tmp_path / "h.csv", "sentence,label\na,b\n")
    with pytest.raises(DataError) as info:
        read_examples(path)
    assert str(info.value) == f"{path}: no 'text' in the header; header found: 'sentence', 'label'"
    with pytest.raises(DataError, match="no 'aspect'"):
        read_examples(path, text_column="sentence", text_pair_column="aspect")


def test_unlabelled_file(tmp_path):
    path = write(tmp_path / "p.csv", "text\nto predict\n")
    with pytest.raises(DataError, match="no 'label' in the header"):
        read_examples(path)
    data = read_examples(path, require_labels=False)
    assert data.labels is None and data.texts == ["to predict"]


@pytest.mark.parametrize("content", ["", "\n\n", "text,label\n"])
def test_empty_files(tmp_path, content):
    with pytest.raises(DataError, match=r"e\.csv: (the file is empty|no rows)"):
        read_examples(write(tmp_path / "e.csv", content))


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_examples(tmp_path / "nope.csv")


def test_all_rows_bad_while_skipping(tmp_path):
    path = write(tmp_path / "v.csv", "text,label\n ,x\n")
    with pytest.raises(DataError, match="no usable rows; all 1 were bad"):
        read_examples(path, skip_bad_rows=True)


# --- labels and cleaning ---------------------------------------------------------------------


def test_label_separator(tmp_path):
    path = write(tmp_path / "m.tsv", "text\tlabel\na\tfood | service\nb\tprice||price\nc\t |\n")
    data = read_examples(path, label_separator="|", skip_bad_rows=True)
    assert data.labels == [["food", "service"], ["price"]]
    assert data.is_multi_label
    assert bad_lines(data) == [4]
    data = read_examples(path, label_separator="|", known_labels=["food", "price"],
                         skip_bad_rows=True)
    assert "unknown label 'service'" in data.skipped[0].reason


def test_clean(tmp_path):
    path = write(tmp_path / "c.tsv",
                 'text\tlabel\n"""I didn&#039;t  like it."""\tneg\n"""   """\tneg\n')
    data = read_examples(path, clean=True, skip_bad_rows=True)
    assert data.texts == ["I didn't like it."]
    assert data.skipped[0].reason == "empty text in 'text' after cleaning"
    raw = read_examples(path, skip_bad_rows=True)
    assert raw.texts == ['"I didn&#039;t  like it."', '"   "']


def test_labelled_texts_subset_and_checks():
    data = LabelledTexts(["a", "b", "c"], ["x", "y", "z"], [["1"], ["2"], ["1", "2"]],
                         skipped=[BadRow("f", 1, "r")])
    part = data.subset([2, 0])
    assert part.texts == ["c", "a"] and part.pairs == ["z", "x"]
    assert part.labels == [["1", "2"], ["1"]] and part.sources == ["<list>:2", "<list>:0"]
    assert part.is_multi_label and part.skipped == data.skipped
    with pytest.raises(ValueError, match="labels has 1 entries"):
        LabelledTexts(["a", "b"], labels=[["x"]])
