"""Sentence / token vectors, vector files, token tables and `similar`, on the tiny BERT."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bert_keras.errors import DataError, HandleError

TEXTS = ["the drug works", "bad headache after the first dose", "hello world", "",
         "i took it for two weeks and it helped my sleep"]


@pytest.fixture(scope="module")
def encoder(tiny_handle):
    from bert_keras.vectors import TextEncoder

    return TextEncoder(tiny_handle)


def _reference(tiny_handle, texts, block=-1):
    """The encoder's outputs on fully padded (128) inputs, straight from TF-Hub."""
    import tensorflow as tf

    from bert_keras.hub.loader import load_encoder

    pre, enc, _ = load_encoder(tiny_handle, trainable=False)
    inputs = pre(tf.constant(texts))
    outputs = enc(inputs)
    return outputs["encoder_outputs"], inputs["input_mask"].numpy(), inputs["input_word_ids"]


def test_mean_and_cls_pooling_match_the_encoder(tiny_handle, encoder):
    import bert_keras

    blocks, mask, _ = _reference(tiny_handle, TEXTS)
    sequence = blocks[-1].numpy()
    expected = (sequence * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    got = bert_keras.embed(TEXTS, encoder, normalize=False, batch_size=2)
    assert got.dtype == np.float32 and got.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    unit = bert_keras.embed(TEXTS, encoder, pooling="cls")
    cls = sequence[:, 0] / np.linalg.norm(sequence[:, 0], axis=1, keepdims=True)
    np.testing.assert_allclose(unit, cls, atol=1e-5)
    assert bert_keras.embed([], encoder).shape == (0, 32)


def test_layer_choice_and_mean_of_last_layers(tiny_handle):
    from bert_keras.errors import BertKerasError
    from bert_keras.vectors import TextEncoder, embed

    blocks, mask, _ = _reference(tiny_handle, TEXTS[:2])
    both = (blocks[0].numpy() + blocks[1].numpy()) / 2
    expected = (both * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    got = embed(TEXTS[:2], TextEncoder(tiny_handle, last_layers=2), normalize=False)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    first = blocks[0].numpy()
    expected = (first * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    np.testing.assert_allclose(embed(TEXTS[:2], tiny_handle, layer=0, normalize=False),
                               expected, atol=1e-5)
    with pytest.raises(BertKerasError, match="2 layers"):
        embed(["x"], tiny_handle, layer=5)


def test_token_vectors_carry_their_word_pieces(tiny_handle, encoder):
    from bert_keras.vectors import embed_tokens

    blocks, mask, ids = _reference(tiny_handle, ["hello playing", ""])
    hello, empty = embed_tokens(["hello playing", ""], encoder)
    assert hello.tokens == ["hello", "p", "##l", "##a", "##y", "##i", "##n", "##g"]
    # [CLS] and [SEP] are left out: the token vectors are positions 1..n.
    np.testing.assert_allclose(hello.vectors, blocks[-1].numpy()[0, 1:9], atol=1e-5)
    assert empty.tokens == [] and empty.vectors.shape == (0, 32)


def test_tokens_need_a_vocabulary(encoder, monkeypatch):
    from bert_keras.vectors import TextEncoder, embed_tokens

    remote = dataclasses.replace(encoder.resolved, encoder="https://tfhub.dev/x/bert/1")
    bare = TextEncoder.__new__(TextEncoder)
    bare.__dict__.update(encoder.__dict__, resolved=remote, _vocabulary=None)
    with pytest.raises(HandleError, match="no vocabulary"):
        embed_tokens(["hello"], bare)


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["npy", "parquet", "csv"])
def test_embed_file_formats_and_projector(tmp_path, encoder, fmt):
    import bert_keras
    from bert_keras.vectors import embed_file
    from bert_keras.vectors.outputs import index_rows, iter_vectors

    source = _write(tmp_path / "in.txt", ["the drug works", "", "   ", "bad\tpain", "hello"])
    meta = embed_file(source, tmp_path / "out", model=encoder, fmt=fmt, projector=True,
                      batch_size=2, progress=False)
    assert meta["count"] == 3 and meta["dim"] == 32 and meta["pooling"] == "mean"
    stored = np.concatenate(list(iter_vectors(tmp_path / "out")))
    np.testing.assert_allclose(stored, bert_keras.embed(["the drug works", "bad\tpain",
                                                         "hello"], encoder), atol=1e-6)
    assert index_rows(tmp_path / "out", [0, 1, 2]) == {
        0: (1, "the drug works"), 1: (4, "bad\tpain"), 2: (5, "hello")}
    projector = tmp_path / "out" / "projector"
    assert len((projector / "vectors.tsv").read_text().splitlines()) == 3
    assert (projector / "metadata.tsv").read_text().splitlines() == [
        "line\ttext", "1\tthe drug works", "4\tbad pain", "5\thello"]
    assert 'tensor_path: "vectors.tsv"' in (projector / "projector_config.pbtxt").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.txt", "out"]  # no temporaries


def test_embed_file_tokens(tmp_path, encoder):
    from bert_keras.vectors import embed_file
    from bert_keras.vectors.outputs import index_rows, iter_vectors

    source = _write(tmp_path / "in.txt", ["hello world", "", "the drug"])
    meta = embed_file(source, tmp_path / "out", model=encoder, tokens=True, progress=False)
    assert meta["kind"] == "tokens" and meta["count"] == 4
    assert index_rows(tmp_path / "out", range(4)) == {
        0: (1, 0, "hello"), 1: (1, 1, "world"), 2: (3, 0, "the"), 3: (3, 1, "drug")}
    assert np.load(tmp_path / "out" / "vectors.npy").shape == (4, 32)
    assert sum(len(v) for v in iter_vectors(tmp_path / "out")) == 4


def test_bad_inputs_are_clear_and_leave_nothing(tmp_path, encoder):
    from bert_keras.errors import BertKerasError
    from bert_keras.vectors import embed_file

    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(DataError, match="empty"):
        embed_file(tmp_path / "empty.txt", tmp_path / "out", model=encoder)
    blank = _write(tmp_path / "blank.txt", ["", "  ", ""])
    with pytest.raises(DataError, match="every line is empty"):
        embed_file(blank, tmp_path / "out", model=encoder, progress=False)
    (tmp_path / "latin1.txt").write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(DataError, match="latin1.txt:2: not UTF-8"):
        embed_file(tmp_path / "latin1.txt", tmp_path / "out", model=encoder, progress=False)
    assert not any(p.name.startswith(".out") or p.name == "out" for p in tmp_path.iterdir())
    good = _write(tmp_path / "good.txt", ["hello"])
    embed_file(good, tmp_path / "out", model=encoder, progress=False)
    with pytest.raises(BertKerasError, match="already exists"):
        embed_file(good, tmp_path / "out", model=encoder, progress=False)


def test_static_and_contextual_tables(tmp_path, encoder):
    import tf_keras as keras

    from bert_keras.vectors import build_table, embed_tokens, embedding_initializer, load_table

    corpus = _write(tmp_path / "corpus.txt", ["the drug works", "", "the pain"])
    info = build_table(corpus, tmp_path / "static.txt", model=encoder, progress=False)
    assert info == {"tokens": 4, "dim": 32, "occurrences": 5}
    table = load_table(tmp_path / "static.txt")
    vocab = encoder.vocabulary
    np.testing.assert_allclose(table["drug"], encoder.input_embeddings()[vocab.index("drug")],
                               atol=1e-6)
    build_table(corpus, tmp_path / "ctx.txt", model=encoder, contextual=True, progress=False)
    contextual = load_table(tmp_path / "ctx.txt")
    first, second = embed_tokens(["the drug works", "the pain"], encoder)
    np.testing.assert_allclose(contextual["the"], (first.vectors[0] + second.vectors[0]) / 2,
                               atol=1e-5)
    np.testing.assert_allclose(contextual["pain"], second.vectors[1], atol=1e-5)
    layer = keras.layers.Embedding(3, 32, embeddings_initializer=embedding_initializer(
        tmp_path / "ctx.txt", ["[PAD]", "pain", "the"], missing="zeros"))
    rows = layer(np.array([0, 1, 2])).numpy()
    np.testing.assert_allclose(rows[1:], [contextual["pain"], contextual["the"]], atol=1e-6)
    assert not rows[0].any()


def test_run_directory_uses_the_fine_tuned_encoder(tmp_path, tiny_handle, encoder):
    from bert_keras.models.classifier import Classifier
    from bert_keras.vectors import TextEncoder, embed

    model = Classifier(str(tiny_handle), ["a", "b"], seq_length=64)
    table = next(w for w in model.get_layer("encoder").weights if "word_embeddings" in w.name)
    table.assign(table + 0.5)  # stands in for fine-tuning
    model.save_to(tmp_path / "run" / "model")
    from_run = TextEncoder(tmp_path / "run")
    assert from_run.seq_length == 64
    np.testing.assert_allclose(from_run.input_embeddings(), table.numpy(), atol=1e-6)
    assert not np.allclose(embed(["the drug"], from_run), embed(["the drug"], encoder))


def test_cli_embed_similar_and_table(tmp_path, tiny_handle, capsys):
    from bert_keras.cli import main

    source = _write(tmp_path / "in.txt", ["the drug works", "bad headache", "hello world"])
    out = tmp_path / "out"
    assert main(["embed", "--input", str(source), "--output", str(out), "--model",
                 str(tiny_handle), "--format", "parquet", "--projector"]) == 0
    assert json.loads((out / "meta.json").read_text())["count"] == 3
    capsys.readouterr()
    assert main(["similar", "--index", str(out), "--query", "bad headache", "-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[0].startswith("1.0000\tline 2\tbad headache")
    assert main(["embed", "--table", "--input", str(source), str(source), "--output",
                 str(tmp_path / "t.txt"), "--model", str(tiny_handle)]) == 0
    assert "tokens x 32" in capsys.readouterr().out
    (tmp_path / "empty.txt").write_text("")
    assert main(["embed", "--input", str(tmp_path / "empty.txt"), "--output",
                 str(tmp_path / "o2"), "--model", str(tiny_handle)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "the file is empty" in error


def test_vocabulary_keeps_tokens_that_are_line_separators(tmp_path, encoder):
    from bert_keras.vectors import TextEncoder

    (tmp_path / "h").mkdir()
    (tmp_path / "h" / "vocab.txt").write_text("[PAD]\n\x85\n\u2028\nx\n", encoding="utf-8")
    local = dataclasses.replace(encoder.resolved, encoder=str(tmp_path / "h" / "encoder"))
    bare = TextEncoder.__new__(TextEncoder)
    bare.__dict__.update(encoder.__dict__, resolved=local, _vocabulary=None)
    assert bare.vocabulary == ["[PAD]", "\x85", "\u2028", "x"]


def test_read_lines_takes_a_column_of_csv_tsv_and_jsonl(tmp_path):
    from bert_keras.vectors.files import read_lines

    csv_file = tmp_path / "in.csv"
    csv_file.write_text('id,text\n1,"first, quoted\nover two lines"\n2,\n3,third\n',
                        encoding="utf-8")
    assert list(read_lines(csv_file, progress=False)) == [
        (2, "first, quoted\nover two lines"), (5, "third")]
    tsv_file = tmp_path / "in.tsv"
    tsv_file.write_text("body\tlabel\nhello\tpos\n\nbye\tneg\n", encoding="utf-8")
    assert list(read_lines(tsv_file, text_column="body", progress=False)) == [
        (2, "hello"), (4, "bye")]
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "a"}\n\n{"text": ""}\n{"text": "b", "x": 1}\n')
    assert list(read_lines(jsonl, progress=False)) == [(1, "a"), (4, "b")]
    with pytest.raises(DataError, match=r"in.csv:1: no column 'body' \(columns: id, text\)"):
        list(read_lines(csv_file, text_column="body", progress=False))
    jsonl.write_text('{"text": "a"}\n[1]\n')
    with pytest.raises(DataError, match="in.jsonl:2: no 'text' key"):
        list(read_lines(jsonl, progress=False))
    jsonl.write_text('{"text": "a"}\n{oops\n')
    with pytest.raises(DataError, match="in.jsonl:2: not JSON"):
        list(read_lines(jsonl, progress=False))


def test_cli_embed_reads_a_csv_column_and_defaults_to_the_default_data(
        tmp_path, tiny_handle, monkeypatch, capsys):
    import bert_keras.data.datasets as datasets
    from bert_keras.cli import main

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("text,label\ngood drug,positive\nbad pain,negative\n")
    monkeypatch.setattr(datasets, "prepare_dataset", lambda name: data)
    assert main(["embed", "--output", str(tmp_path / "out"), "--model", str(tiny_handle),
                 "--projector"]) == 0
    assert "no --input: embedding the texts of drug-reviews" in capsys.readouterr().out
    meta = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert meta["count"] == 2 and meta["input"].endswith("train.csv")
    assert (tmp_path / "out" / "projector" / "metadata.tsv").read_text().splitlines() == [
        "line\ttext", "2\tgood drug", "3\tbad pain"]
    assert main(["embed", "--table", "--output", str(tmp_path / "t.txt"), "--model",
                 str(tiny_handle)]) == 0
    assert "tokens x 32" in capsys.readouterr().out
