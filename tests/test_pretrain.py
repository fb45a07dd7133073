"""Continued masked-LM pre-training: corpus reading, packing, masking, the run and its handle
(tiny random BERT), and one real run on MiniLM with drug-review text (slow)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf
from test_training import labelled_rows, write_csv

from bert_keras.errors import DataError, HandleError
from bert_keras.pretraining.corpus import check_corpus, iter_documents
from bert_keras.pretraining.masking import MaskingSettings, mask_sequence
from bert_keras.pretraining.packing import SequencePacker, split_document

SPECIAL = (0, 1, 2, 3, 4)  # [PAD] [UNK] [CLS] [SEP] [MASK], as the tiny vocabulary


def _settings(seq_length: int = 64, whole_word: bool = False, rate: float = 0.15):
    return MaskingSettings(mask_id=4, vocab_size=200, special_ids=SPECIAL,
                           seq_length=seq_length, mask_rate=rate, whole_word=whole_word)


def _sequence(rng: np.random.Generator, seq_length: int, word_lengths=(1,)):
    """[CLS] words [SEP] [PAD]...: ids >= 5, word groups from `word_lengths` choices."""
    body = seq_length - 2 - int(rng.integers(0, 8))
    groups, word = [], 0
    while len(groups) < body:
        groups += [word] * int(rng.choice(word_lengths))
        word += 1
    groups = groups[:body]
    ids = [2] + list(rng.integers(5, 200, size=body)) + [3] + [0] * (seq_length - body - 2)
    groups = [-1] + groups + [-1] * (seq_length - body - 1)
    return np.array(ids, np.int32), np.array(groups, np.int32)


def _mask_many(n: int, settings: MaskingSettings, word_lengths=(1,)):
    rng = np.random.default_rng(0)
    mask = tf.function(lambda ids, groups, seed: mask_sequence(ids, groups, seed, settings))
    for i in range(n):
        ids, groups = _sequence(rng, settings.seq_length, word_lengths)
        out = mask(tf.constant(ids), tf.constant(groups), tf.constant([7, i], tf.int64))
        yield ids, groups, {k: v.numpy() for k, v in out.items()}


def test_masking_rate_replacements_and_specials():
    settings = _settings()
    chosen = maskable = mask = random = same = 0
    for ids, groups, out in _mask_many(300, settings):
        weights = out["masked_lm_weights"]
        positions = out["masked_lm_positions"][weights > 0]
        assert (groups[positions] >= 0).all(), "a special token or padding was masked"
        assert (out["masked_lm_ids"][weights > 0] == ids[positions]).all()
        unchanged = np.setdiff1d(np.arange(len(ids)), positions)
        assert (out["input_word_ids"][unchanged] == ids[unchanged]).all()
        assert (out["input_mask"] == (ids != 0)).all()
        new = out["input_word_ids"][positions]
        mask += int((new == 4).sum())
        same += int((new == ids[positions]).sum())
        random += int(((new != 4) & (new != ids[positions])).sum())
        assert not np.isin(new[(new != 4) & (new != ids[positions])], SPECIAL).any()
        chosen += len(positions)
        maskable += int((groups >= 0).sum())
    assert abs(chosen / maskable - 0.15) < 0.005
    # A random replacement equals the original id with probability 1/195: counted as same.
    assert abs(mask / chosen - 0.8) < 0.03
    assert abs(random / chosen - 0.1) < 0.02
    assert abs(same / chosen - 0.1) < 0.02


def test_masks_are_dynamic_and_reproducible():
    settings = _settings()
    ids, groups = _sequence(np.random.default_rng(1), 64)
    draw = [mask_sequence(ids, groups, tf.constant([7, i], tf.int64), settings)
            ["masked_lm_positions"].numpy() for i in (0, 0, 1)]
    assert (draw[0] == draw[1]).all() and not (draw[0] == draw[2]).all()


def test_whole_word_masking_masks_every_piece_of_a_word():
    settings = _settings(whole_word=True)
    chosen = maskable = 0
    for _, groups, out in _mask_many(200, settings, word_lengths=(1, 2, 3)):
        positions = out["masked_lm_positions"][out["masked_lm_weights"] > 0]
        words = set(groups[positions])
        assert -1 not in words
        assert sorted(positions) == sorted(np.flatnonzero(np.isin(groups, list(words))))
        assert len(positions) <= settings.max_predictions
        chosen += len(positions)
        maskable += int((groups >= 0).sum())
    assert 0.12 < chosen / maskable <= 0.15


def test_packing_joins_short_documents_and_splits_long_ones():
    packer = SequencePacker(10, cls_id=2, sep_id=3, pad_id=0)
    docs = [(np.array([10, 11]), np.array([0, 1])), (np.array([12]), np.array([0])),
            (np.arange(20, 40), np.repeat(np.arange(10), 2)),  # 20 pieces: split
            (np.array([50, 51, 52]), np.array([0, 0, 1]))]
    out = packer.pack(docs)
    rows = [s.input_word_ids.tolist() for s in out]
    assert rows[0] == [2, 10, 11, 3, 12, 3, 0, 0, 0, 0]
    body = [i for row in rows for i in row if i >= 10]
    assert body == [10, 11, 12, *range(20, 40), 50, 51, 52]  # nothing dropped, in order
    assert all(len(r) == 10 and r[0] == 2 for r in rows)
    for s in out:  # specials and padding carry no word group; a word never straddles
        special = np.isin(s.input_word_ids, [0, 2, 3])
        assert (s.word_groups[special] == -1).all() and (s.word_groups[~special] >= 0).all()
    parts = split_document(np.arange(20, 40), np.repeat(np.arange(10), 2), 8)
    assert [len(p) for p, _ in parts] == [8, 8, 4]


def test_corpus_reading_and_empty_files(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("one doc\n\n   \ntwo  doc \n", encoding="utf-8")
    assert list(iter_documents([corpus])) == ["one doc", "two  doc"]
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt: the corpus file is empty"):
        check_corpus([corpus, empty])
    with pytest.raises(DataError, match="missing.txt: corpus file not found"):
        check_corpus([tmp_path / "missing.txt"])


def test_pipeline_tokenizes_packs_and_splits_long_lines(tiny_handle, tmp_path):
    from bert_keras.pretraining.dataset import CorpusTokenizer, pretraining_dataset

    tokenizer = CorpusTokenizer(tiny_handle / "preprocessor", tiny_handle / "vocab.txt")
    corpus = tmp_path / "c.txt"
    long_line = " ".join(["the pain"] * 40)  # 80 word pieces
    corpus.write_text(f"the drug worked\nhello world\n{long_line}\n", encoding="utf-8")
    batches = list(pretraining_dataset([corpus], tokenizer, seq_length=16, batch_size=4,
                                       repeat=False))
    features, ids, weights = batches[0]
    assert features["input_word_ids"].shape[1] == 16
    assert features["masked_lm_positions"].shape[1] == ids.shape[1] == 2
    total = sum(int(np.sum(b[0]["input_mask"])) for b in batches)
    sequences = sum(int(b[0]["input_mask"].shape[0]) for b in batches)
    # [CLS] 3 [SEP] 2 [SEP], then the 80 pieces in parts of 14 (5 full sequences and 10
    # pieces): 85 pieces, a [SEP] per document part, a [CLS] per sequence, none dropped.
    assert sequences == 7 and total == 85 + 8 + 7


def test_handle_without_vocabulary_is_refused(tiny_handle, tmp_path):
    from bert_keras.pretraining.run import pretrain

    handle = tmp_path / "no-vocab"
    shutil.copytree(tiny_handle, handle)
    (handle / "vocab.txt").unlink()
    (handle / "encoder" / "assets" / "vocab.txt").unlink()
    corpus = tmp_path / "c.txt"
    corpus.write_text("the drug\n", encoding="utf-8")
    with pytest.raises(HandleError, match="no vocabulary"):
        pretrain(encoder=str(handle), corpus=[str(corpus)], out=str(tmp_path / "out"))
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(DataError, match="empty.txt"):
        pretrain(encoder=str(tiny_handle), corpus=[str(empty)], out=str(tmp_path / "out"))


@pytest.fixture(scope="module")
def pretrained(tiny_handle, tmp_path_factory):
    """The tiny BERT pre-trained for 6 steps through the CLI."""
    from bert_keras.cli import main

    root = tmp_path_factory.mktemp("pretrain")
    corpus = root / "corpus.txt"
    rows = labelled_rows(120, seed=3)
    corpus.write_text("\n".join(text for text, _ in rows) + "\n", encoding="utf-8")
    out = root / "adapted"
    assert main(["pretrain", "--encoder", str(tiny_handle), "--corpus", str(corpus),
                 "--out", str(out), "--steps", "6", "--save-every-steps", "3",
                 "--batch-size", "4", "--seq-length", "32", "--learning-rate", "1e-3",
                 "--whole-word-masking", "--precision", "float32"]) == 0
    return out


def test_pretrain_writes_a_handle_with_its_head(pretrained, tiny_handle):
    import tensorflow_hub as hub

    from bert_keras.hub.handles import resolve_handle
    from bert_keras.pretraining.model import build_pretrainer, head_weights

    info = json.loads((pretrained / "bert_keras_handle.json").read_text())
    assert info["pretraining"]["steps"] == 6 and info["pretraining"]["mlm_head"] == "new"
    assert info["config"] == json.loads(
        (tiny_handle / "bert_keras_handle.json").read_text())["config"]
    run = pretrained.parent / "adapted-run"
    assert (run / "logs").is_dir() and not (run / "backup").exists()
    assert json.loads((run / "metrics.json").read_text())["steps"] == 6
    assert not list(pretrained.parent.glob(".adapted.tmp-*"))
    pretrainer, reused = build_pretrainer(resolve_handle(pretrained))
    assert reused
    saved = np.load(pretrained / "masked_lm.npz")
    for key, value in head_weights(pretrainer.masked_lm).items():
        np.testing.assert_array_equal(value, saved[key])
    # The vocabulary is unchanged: the handle carries the source's preprocessor, which
    # tokenizes alike.
    for name in ("saved_model.pb", "assets/vocab.txt"):
        assert (pretrained / "preprocessor" / name).read_bytes() == (
            tiny_handle / "preprocessor" / name).read_bytes()
    texts = tf.constant(["the drug works", "no side effects at all"])
    source = hub.KerasLayer(str(tiny_handle / "preprocessor"))(texts)
    copied = hub.KerasLayer(str(pretrained / "preprocessor"))(texts)
    for key, value in source.items():
        np.testing.assert_array_equal(copied[key].numpy(), value.numpy())


def test_pretrained_handle_fine_tunes(pretrained, tmp_path):
    from bert_keras.config import TrainConfig
    from bert_keras.training import train

    data = write_csv(tmp_path / "train.csv", labelled_rows(32, seed=0))
    result = train(TrainConfig(train=str(data), encoder=str(pretrained), epochs=1,
                               batch_size=8, max_seq_length=32, output=str(tmp_path / "run"),
                               early_stopping_patience=0))
    assert result.model.predict(["the drug works"]).shape == (1, 3)


def test_head_only_training_leaves_the_encoder_unchanged(tiny_handle):
    from bert_keras.hub.handles import resolve_handle
    from bert_keras.pretraining.model import MaskedLMModel, build_pretrainer

    pretrainer, _ = build_pretrainer(resolve_handle(tiny_handle))
    names = [v.name for v in MaskedLMModel(pretrainer, train_encoder=False).updated_variables]
    assert len(names) == 5 and all("cls/predictions" in n for n in names), names
    assert len(MaskedLMModel(pretrainer).updated_variables) == len(
        pretrainer.trainable_variables)


def test_fine_tuning_rate_follows_the_preset_a_handle_came_from(tmp_path):
    from bert_keras.config import TrainConfig
    from bert_keras.hub.presets import get_preset

    (tmp_path / "bert_keras_handle.json").write_text(
        json.dumps({"source": {"format": "continued-pretraining",
                               "from_preset": "minilm-l6-uncased"}}))
    rate = TrainConfig(encoder=str(tmp_path)).peak_learning_rate()
    assert rate == get_preset("minilm-l6-uncased").learning_rate
    assert TrainConfig(encoder=str(tmp_path / "none")).peak_learning_rate() == 5e-5


def test_pretrained_handle_embeds(pretrained):
    import bert_keras

    vectors = bert_keras.embed(["the drug works", "bad headache"], model=str(pretrained))
    assert vectors.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_rerun_with_other_settings_is_refused_while_a_backup_exists(pretrained, tiny_handle,
                                                                    tmp_path):
    from bert_keras.errors import BertKerasError
    from bert_keras.pretraining.run import PretrainConfig, pretrain

    corpus = tmp_path / "c.txt"
    corpus.write_text("the drug\n", encoding="utf-8")
    config = PretrainConfig(encoder=str(tiny_handle), corpus=[str(corpus)],
                            out=str(tmp_path / "out"), steps=4)
    run = config.run_path
    (run / "backup").mkdir(parents=True)
    (run / "pretrain.json").write_text(json.dumps({**config.to_dict(), "steps": 8}))
    with pytest.raises(BertKerasError, match="interrupted run with other settings"):
        pretrain(config)


@pytest.mark.slow
def test_minilm_held_out_masked_lm_loss_goes_down(minilm_handle, tmp_path):
    """Continued pre-training on drug-review texts lowers the masked-LM loss on other,
    held-out reviews. MiniLM ships no MLM head: one is fitted first with the encoder
    frozen (A), then encoder and head train on (B); both are scored on the same masks."""
    import csv

    from bert_keras.data.datasets import prepare_dataset
    from bert_keras.pretraining.run import masked_lm_loss, pretrain

    data = prepare_dataset("drug-reviews")

    def texts(split: str, n: int):
        with open(data / f"{split}.csv", encoding="utf-8", newline="") as f:
            return [" ".join(r["text"].split()) for r in csv.DictReader(f)][:n]

    corpus, held_out = tmp_path / "train.txt", tmp_path / "held-out.txt"
    corpus.write_text("\n".join(texts("train", 600)) + "\n", encoding="utf-8")
    held_out.write_text("\n".join(texts("test", 120)) + "\n", encoding="utf-8")
    common = dict(corpus=[str(corpus)], batch_size=16, seq_length=64, save_every_steps=24)
    head = pretrain(encoder=str(minilm_handle), out=str(tmp_path / "A"), steps=24,
                    train_encoder=False, learning_rate=1e-3, **common).handle
    adapted = pretrain(encoder=str(head), out=str(tmp_path / "B"), steps=24,
                       learning_rate=1e-4, **common).handle
    before = masked_lm_loss(head, [held_out], seq_length=64, seed=0)
    after = masked_lm_loss(adapted, [held_out], seq_length=64, seed=0)
    print(f"held-out masked-LM loss: before {before}, after {after}")
    assert before["tokens"] == after["tokens"] > 1000
    assert after["loss"] < before["loss"] - 0.05, (before, after)


def test_converted_mlm_head_matches_transformers(tmp_path):
    """A BertForMaskedLM checkpoint keeps its head through convert, and the pretrainer's
    masked-LM logits equal transformers' on the same tokens."""
    import torch
    import transformers
    from conftest import write_vocab

    from bert_keras.convert.hf import convert_hf
    from bert_keras.hub.handles import resolve_handle
    from bert_keras.pretraining.model import build_pretrainer, mlm_logits

    src = tmp_path / "hf-mlm"
    src.mkdir()
    vocab = write_vocab(src / "vocab.txt")
    torch.manual_seed(1)
    config = transformers.BertConfig(
        vocab_size=len(vocab.read_text(encoding="utf-8").splitlines()), hidden_size=32,
        num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64)
    model = transformers.BertForMaskedLM(config).eval()
    with torch.no_grad():  # a non-trivial head: random bias and layer norm
        model.cls.predictions.bias.normal_()
        model.cls.predictions.transform.LayerNorm.weight.normal_()
    model.save_pretrained(src)
    handle = convert_hf(src, tmp_path / "handle")
    assert (handle / "masked_lm.npz").exists()
    pretrainer, reused = build_pretrainer(resolve_handle(handle))
    assert reused
    ids = np.array([[2, 60, 4, 151, 90, 3]], np.int32)
    positions = np.array([[1, 2, 4]], np.int32)
    ours = mlm_logits(pretrainer, {"input_word_ids": ids, "input_mask": np.ones_like(ids),
                                   "input_type_ids": np.zeros_like(ids),
                                   "masked_lm_positions": positions}, training=False)
    with torch.no_grad():
        theirs = model(input_ids=torch.tensor(ids, dtype=torch.long)).logits.numpy()
    np.testing.assert_allclose(ours.numpy()[0], theirs[0][positions[0]], atol=2e-4)
