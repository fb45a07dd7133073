"""Corpus of test strings for tokenizer parity tests.

The strings here are fed to every BERT tokenizer implementation we ship or compare against
(the TF-Hub / tf-text WordPiece preprocessor, Hugging Face ``BertTokenizerFast`` and the
pure-NumPy tokenizer) and the resulting ``input_ids`` / ``token_type_ids`` / ``attention_mask``
must agree exactly.

The corpus deliberately stresses the parts of BERT's basic tokenizer where implementations tend
to diverge: Unicode normalisation and accent stripping, lower-casing of non-ASCII scripts,
combining marks, punctuation classification, CJK character splitting, whitespace and control
character handling, emoji sequences, compatibility characters and very long words / texts.

* ``SINGLE_TEXTS``: hand-written strings, grouped by category (no duplicates).
* ``TEXT_PAIRS``: hand-written ``(text_a, text_b)`` pairs for sentence-pair encoding, including
  empty sides and pairs long enough that truncation has to split the length budget.
* ``random_texts(n, seed)``: a deterministic generator of arbitrarily many mixed-script strings.
* ``WORD_LENGTH_CASES``: words of 1 to 150 characters of each UTF-8 width around the 100-character
  [UNK] limit, alone and split by punctuation, spaces, ideographs and dropped characters, with
  ``WORD_LENGTH_PIECES`` to build a vocabulary that spells them out.

Non-printable characters are written as Python escapes so the file stays readable. The five
upper-case special-token strings never appear in the corpus: Hugging Face treats them as special
tokens when they occur in raw text while tf-text does not, and that difference is documented and
tested separately. Lower-case look-alikes (which both sides treat as plain text) are included.
"""

from __future__ import annotations

import random

# The five special-token strings, built from parts so that they do not appear literally here.
_SPECIAL_TOKENS = tuple(f"[{name}]" for name in ("CLS", "SEP", "MASK", "PAD", "UNK"))

# --------------------------------------------------------------------------------------------
# Building blocks for the very long texts.
# --------------------------------------------------------------------------------------------
_PARAGRAPH_UNIT = (
    "The quick brown fox jumps over the lazy dog, while the patient reviewer notes that "
    "tokenization must be identical across implementations. "
)
LONG_PARAGRAPH = (_PARAGRAPH_UNIT * (5000 // len(_PARAGRAPH_UNIT) + 1))[:5000]
LONG_ASCII_WORD = ("abcdefghijklmnopqrstuvwxyz" * 12)[:300]
LONG_ACCENTED_WORD = ("éèêëàâäôöûüùçñåøœæ" * 9)[:150]
LONG_CYRILLIC_WORD = ("абвгдеёжзийклмнопрстуфхцчшщъыьэюя" * 4)[:120]
LONG_URL = (
    "https://www.example.com/some/really/long/path/that/keeps/going/and/going/"
    + "segment-" * 20
    + "index.html?query=tokenizer&lang=en&page=42&sort=desc&filter=a%20b%20c"
    + "&session=0123456789abcdef0123456789abcdef#section-7.3.2"
)

SINGLE_TEXTS: list[str] = [
    # ----------------------------------------------------------------------------------------
    # Plain English: reviews, news-like, medical text.
    # ----------------------------------------------------------------------------------------
    "The food was great but the price was too high.",
    "Absolutely loved this product! Would buy again.",
    "Terrible service, cold fries, and a rude cashier. Never again.",
    "It's okay, I guess. Not the best, not the worst.",
    "The battery life is amazing; it lasts two full days.",
    "I can't believe how fast the delivery was!!!",
    "Don't waste your money on this.",
    "The hotel room was clean, spacious and quiet; the breakfast, however, was mediocre.",
    "Five stars. Would recommend to anyone looking for a reliable blender.",
    "The movie's plot was predictable, but the acting was superb.",
    "Patient presents with acute abdominal pain radiating to the lower right quadrant.",
    "BP 140/90 mmHg, HR 88 bpm, SpO2 97% on room air.",
    "Prescribed amoxicillin 500 mg PO TID x 7 days.",
    "History of type 2 diabetes mellitus, hypertension, and hyperlipidemia.",
    "No known drug allergies (NKDA). Non-smoker.",
    "MRI of the lumbar spine shows L4-L5 disc herniation with mild canal stenosis.",
    "Post-operative recovery was uneventful; the patient was discharged on day 3.",
    "The electrocardiogram revealed sinus tachycardia without ST-segment elevation.",
    "Hemoglobin A1c: 7.2%; fasting glucose 132 mg/dL.",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a very long word.",
    "Hello world",
    "hello world",
    "The U.S.A. and the U.K. signed the treaty in Washington, D.C.",
    "She said, \"I'll be there at 5 o'clock.\"",
    "Mr. and Mrs. Smith's children's toys weren't put away.",
    "rock'n'roll isn't dead, y'all",
    "state-of-the-art, well-known, mother-in-law",
    "Unaffable unhappiness; antidisestablishmentarianism; supercalifragilisticexpialidocious.",
    "Tokenization of subwords like playing, played, player and plays.",
    "a b c d e f g h i j k l m n o p q r s t u v w x y z",
    # ----------------------------------------------------------------------------------------
    # Accents and diacritics.
    # ----------------------------------------------------------------------------------------
    "Ça va très bien, merci ! Où est la gare ?",
    "L'élève a répondu à la question très précisément.",
    "Noël, naïve, cliché, façade, crème brûlée, déjà vu.",
    "Œuvre, cœur, sœur et bœuf.",
    "Größe, Straße, Fußball, Müller, Ärger, Öl, Übung.",
    "Die Bücher über Äpfel sind schön.",
    "GROSSE STRASSE ÄÖÜ",
    "Tiếng Việt có nhiều dấu: ả, ã, ạ, ằ, ẳ, ẵ, ặ, ề, ể, ễ, ệ.",
    "Người Việt Nam rất thân thiện và hiếu khách.",
    "Phở bò Hà Nội ngon tuyệt vời!",
    "¿Dónde está la biblioteca? ¡Qué día tan bonito!",
    "El niño comió piñata y jalapeño en España.",
    "Zażółć gęślą jaźń.",
    "Łódź, Kraków, Gdańsk, Wrocław, Poznań.",
    "İstanbul'da ılık bir gün; IĞDIR, ışık, İzmir.",
    "ı İ i I",
    "DİYARBAKIR ve diyarbakır",
    "Şişli'de çay içtik, güzel bir öğleden sonraydı.",
    "Ελληνικά: καλημέρα κόσμε, ευχαριστώ πολύ.",
    "ΟΔΥΣΣΕΥΣ and Οδυσσεύς (final sigma ς vs σ)",
    "ΣΟΦΟΣ σοφός ΣΊΣΥΦΟΣ",
    "Ἀθῆναι, ᾨδή, ὅτι, ἄνθρωπος",
    "Привет, мир! Как дела?",
    "Ёлка, ёж, Щука, Жёлтый, ЭТО СЛОВО",
    "Україна, їжак, ґанок, Єва.",
    "Београд, Ђорђе, Љубљана, Њујорк, Џеп.",
    "Ångström, Ørsted, Æsir, Þórr, Ðuro, ðæt",
    "São Paulo, João, coração, não, ações.",
    "Čeština: Příliš žluťoučký kůň úpěl ďábelské ódy.",
    "Română: știință, țară, mâine, învățătură.",
    "Magyar: árvíztűrő tükörfúrógép.",
    "Íslenska: Hvað segirðu gott?",
    "Lietuvių: ąčęėįšųūž.",
    "Latviešu: āčēģīķļņšūž.",
    "Hrvatski: čćđšž ČĆĐŠŽ.",
    "Esperanto: ĉu vi ŝatas ĝin? Ĥoro, ĵaŭdo.",
    "Malti: ħobż, ċirasa, ġnien, żebbuġ.",
    "ÀÁÂÃÄÅàáâãäå ÈÉÊËèéêë ÌÍÎÏìíîï ÒÓÔÕÖòóôõö ÙÚÛÜùúûü",
    # ----------------------------------------------------------------------------------------
    # Combining marks: decomposed letters, stacked diacritics, Zalgo-like text.
    # ----------------------------------------------------------------------------------------
    "Cafe\u0301 and re\u0301sume\u0301 (decomposed)",
    "e\u0301",
    "A\u030a and \u00c5 and \u212b (three ways to write A-ring)",
    "n\u0303o\u0308u\u0300",
    "Vie\u0323\u0302t Nam (stacked combining marks)",
    "a\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349\u035a"
    "\u032f\u031e\u0320\u034da\u0328\u0362\u0322l\u0336\u0321\u0317g\u0335o\u0336\u035f",
    "H\u0336e\u0336l\u0336l\u0336o\u0336 strikethrough",
    "u\u0332n\u0332d\u0332e\u0332r\u0332l\u0332i\u0332n\u0332e\u0332d\u0332",
    "\u0301 leading combining mark",
    "trailing combining mark\u0308",
    "\u0300\u0301\u0302",
    "x\u20dd y\u20de z\u20e3",
    "\u0915\u094d\u0937 (Devanagari conjunct with virama)",
    "\u05e9\u05c1\u05b8\u05dc\u05d5\u05b9\u05dd (Hebrew with niqqud)",
    "\u0628\u0650\u0633\u0652\u0645\u0650 (Arabic with harakat)",
    "o\u031b\u0301 vs \u1edb",
    "I\u0307stanbul (dotted I decomposed)",
    "\u03b1\u0301\u03b5\u0301\u03b7\u0301 (Greek with combining acute)",
    "\u0438\u0306 vs \u0439",
    "\u304b\u3099 vs \u304c (kana with combining voiced mark)",
    "\u1100\u1161\u11a8 (conjoining jamo)",
    # ----------------------------------------------------------------------------------------
    # Punctuation runs, quotes of all kinds, brackets.
    # ----------------------------------------------------------------------------------------
    "What?!!!???",
    "!!!???",
    "Wait... what...",
    "...",
    "\u2026 ellipsis character \u2026",
    "well--maybe",
    "dash -- dash --- dash",
    "em\u2014dash and en\u2013dash, minus \u2212 and hyphen \u2010 and figure dash \u2012",
    "\u00abBonjour\u00bb, dit-il. \u2039single\u203a",
    "\u201eGuten Tag\u201c, sagte er. \u201aeinfach\u2018",
    "\u00bfC\u00f3mo est\u00e1s? \u00a1Muy bien!",
    "\"double\" 'single' `backtick` \u201ccurly double\u201d \u2018curly single\u2019",
    "\u300cJapanese quotes\u300d\u300eand double\u300f",
    "(round) [square] {curly} <angle> \u27e8math\u27e9 \u3010lenticular\u3011 \u3014tortoise\u3015",
    "((nested (parentheses) here))",
    "[[wiki link]] {{template}}",
    "a.b,c;d:e!f?g",
    "#$%&*+/<=>@\\^_|~",
    "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "\u00a1\u00a7\u00b6\u00b7\u00bf \u2020\u2021\u2022\u2030\u2031\u203b\u203d\u2042",
    "\u00b4\u02c6\u02dc\u00a8\u00b8 spacing modifier and accent characters",
    "Hello,world.How are you?Fine!",
    "?!",
    "'quoted'",
    "end with period.",
    "It's 'quoted' and \"double-quoted\" and \u2018smart\u2019.",
    "\u061f \u060c \u061b Arabic punctuation",
    "\u0964 \u0965 Devanagari danda",
    "\u2e2e reversed question mark \u2e18 inverted interrobang",
    "____underscores____ and ~~~tildes~~~",
    "***bold*** and ___italic___",
    "==> <== <=> != >= <= ->",
    # ----------------------------------------------------------------------------------------
    # Numbers: decimals, separators, scientific, percentages, phones, dates, times, currency.
    # ----------------------------------------------------------------------------------------
    "3.14159",
    "1,234,567.89",
    "1.234.567,89",
    "1 234 567",
    "1\u202f234\u202f567 (narrow no-break space separators)",
    "1e-5 and 6.022e23 and 1E+10",
    "50% off! 99.9% pure, -3.5%, +12%",
    "+1 (555) 123-4567",
    "+44 20 7946 0958, +49-30-123456, 0800.123.456",
    "2024-01-15",
    "15/01/2024 and 01/15/2024 and 15.01.2024",
    "12:30:45.123 and 9am, 11:59 PM",
    "2024-01-15T12:30:45Z and 2024-01-15T12:30:45+05:30",
    "$100",
    "$1,299.99 \u20ac49,95 \u00a510000 \u00a320 \u20b9500 \u20a9 \u20bd \u20ba \u20bf",
    "USD 100 vs 100 USD vs US$100",
    "0",
    "007",
    "0x1F600 0b1010 0o755",
    "\u0661\u0662\u0663 Arabic-Indic digits and \u06f4\u06f5\u06f6 extended",
    "\u0967\u0968\u0969 Devanagari digits",
    "\u4e00\u4e8c\u4e09\u5341\u767e\u5343\u4e07 Chinese numerals",
    "\u2160 \u2161 \u2162 \u216b Roman numeral characters",
    "42nd, 1st, 2nd, 3rd, 101st",
    "-0.0001 and .5 and 5. and 1/3",
    "Version 2.0.1-beta.3",
    "ISBN 978-3-16-148410-0",
    "12\u00d734 = 408, 10\u00f72 = 5, 3\u00b17",
    "\u221e \u2248 \u2260 \u2264 \u2265 \u2211 \u220f \u221a \u222b",
    # ----------------------------------------------------------------------------------------
    # URLs, emails, paths, hashtags, mentions, code, HTML / XML.
    # ----------------------------------------------------------------------------------------
    "https://www.example.com/path?query=1&lang=en#frag",
    "http://localhost:8080/api/v1/users/42",
    "ftp://files.example.org/pub/file.tar.gz",
    "www.google.com",
    "https://de.wikipedia.org/wiki/M%C3%BCnchen",
    "https://\u4f8b\u5b50.\u6d4b\u8bd5/\u8def\u5f84",
    "Contact: john.doe+tag@example.co.uk",
    "user_name-123@sub.domain.io",
    "/usr/local/bin/python3",
    "C:\\Users\\Admin\\Documents\\file.txt",
    "~/projects/bert_keras/tests/test_tokenizer.py",
    "../relative/path/./file.json",
    "#MachineLearning #NLP #100DaysOfCode",
    "@elonmusk @OpenAI hi",
    "x = f(a[i]) + 1;",
    "def foo(bar: int = 3) -> str:\n    return str(bar ** 2)",
    "for (int i = 0; i < n; ++i) { sum += a[i]; }",
    "if (x != null && y >= 0) return x->next;",
    "SELECT * FROM users WHERE id = 42;",
    "console.log(`template ${value}`);",
    "import numpy as np; np.array([1, 2, 3])",
    "{\"key\": \"value\", \"list\": [1, 2.5, null, true]}",
    "snake_case_name and kebab-case-name and dot.case.name",
    "<p>Hello <b>world</b></p>",
    "<div class=\"main\" id='x'>text</div>",
    "&amp; &lt; &gt; &quot; &#39; &nbsp; &#x1F600;",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><root><item a=\"1\"/></root>",
    "<!-- comment --> <br/> <img src=\"a.png\" alt=\"\">",
    "[link text](https://example.com) and ![img](a.png)",
    "$\\frac{a}{b} + \\sqrt{x^2}$",
    # ----------------------------------------------------------------------------------------
    # Emoji: single, skin tones, ZWJ sequences, flags, keycaps, variation selectors.
    # ----------------------------------------------------------------------------------------
    "\U0001f600",
    "I love it \U0001f60d\U0001f60d\U0001f60d",
    "Great job \U0001f44d",
    "\U0001f44d\U0001f3fb \U0001f44d\U0001f3fc \U0001f44d\U0001f3fd \U0001f44d\U0001f3fe"
    " \U0001f44d\U0001f3ff",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466 family",
    "\U0001f3f3\ufe0f\u200d\U0001f308 rainbow flag",
    "\U0001f3f3\ufe0f\u200d\u26a7\ufe0f",
    "\U0001f469\U0001f3fd\u200d\U0001f4bb coder",
    "\U0001f9d1\u200d\U0001f91d\u200d\U0001f9d1",
    "\U0001f1fa\U0001f1f8 \U0001f1ef\U0001f1f5 \U0001f1e9\U0001f1ea \U0001f1e8\U0001f1f3",
    "\U0001f1fa\U0001f1f8\U0001f1ec\U0001f1e7\U0001f1eb\U0001f1f7",
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f Scotland",
    "1\ufe0f\u20e3 2\ufe0f\u20e3 #\ufe0f\u20e3 *\ufe0f\u20e3",
    "\u2764\ufe0f vs \u2764 vs \u2665",
    "\u263a\ufe0f \u2600\ufe0f \u2601 \u2614",
    "\U0001f525\U0001f525\U0001f525 fire!!!",
    "good\U0001f44dbad\U0001f44e",
    "\U0001f1e6",
    "\U0001f9ec \U0001f9ea \U0001fa7a medical emoji",
    "\U0001faf6\U0001f3fc heart hands",
    ":-) :) ;) :D XD <3 </3 :P ^_^ \u00af\\_(\u30c4)_/\u00af",
    "(\u256f\u00b0\u25a1\u00b0)\u256f\ufe35 \u253b\u2501\u253b",
    # ----------------------------------------------------------------------------------------
    # CJK: Chinese (simplified / traditional), Japanese, Korean.
    # ----------------------------------------------------------------------------------------
    "\u6211\u7231\u5317\u4eac\u5929\u5b89\u95e8\u3002",
    "这家餐厅的菜很好吃，但是价格太贵了！",
    "你好吗？我很好，谢谢。",
    "他说：「今天天气很好。」",
    "『红楼梦』是中国古典小说之一；作者是曹雪芹（约1715—1763）。",
    "苹果、香蕉、橘子和葡萄。",
    "這部電影非常精彩，強烈推薦！",
    "臺灣的夜市小吃種類繁多。",
    "機器學習與自然語言處理",
    "中华人民共和国",
    "東京は日本の首都です。",
    "ひらがなとカタカナと漢字を混ぜた文章です。",
    "ありがとうございます！",
    "コンピューター・サイエンス",
    "ｶﾀｶﾅ半角カナ",
    "私はラーメンが大好きです。毎日食べたい！",
    "안녕하세요, 만나서 반갑습니다.",
    "한국어 텍스트와 English 텍스트가 섞여 있습니다.",
    "서울특별시 강남구 테헤란로 123",
    "\U00020000\U0002a6d6 CJK Extension B characters",
    "\u3400\u4db5 CJK Extension A",
    "\uf900\ufa0b CJK compatibility ideographs",
    "\u2f00\u2f01\u2f02 Kangxi radicals",
    "\u3105\u3106\u3107 bopomofo",
    # ----------------------------------------------------------------------------------------
    # Mixed scripts: Chinese + English + numbers, Arabic, Hebrew, Hindi, Thai, Amharic...
    # ----------------------------------------------------------------------------------------
    "iPhone15价格是6999元，比去年贵了10%。",
    "我在Google工作了3年，主要做NLP和BERT模型。",
    "2024年1月15日，星期一，上午10:30开会。",
    "AI人工智能 + ML机器学习 = 未来",
    "مرحبا بالعالم! كيف حالك؟",
    "اللغة العربية جميلة جدا.",
    "شكرا 123 thanks",
    "שלום עולם! מה שלומך?",
    "עברית and English mixed 2024",
    "नमस्ते दुनिया! आप कैसे हैं?",
    "मैंने 5 किताबें पढ़ीं।",
    "সবাইকে শুভেচ্ছা (Bengali)",
    "ਸਤ ਸ੍ਰੀ ਅਕਾਲ (Gurmukhi)",
    "வணக்கம் உலகம் (Tamil)",
    "สวัสดีครับ ยินดีที่ได้รู้จัก",
    "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ",
    "ሰላም ልዑል! እንዴት ነህ?",
    "ქართული ენა (Georgian)",
    "Հայերեն լեզու (Armenian)",
    "ខ្មែរ (Khmer) ລາວ (Lao) မြန်မာ (Burmese)",
    "ᠮᠣᠩᠭᠣᠯ (Mongolian) ᏣᎳᎩ (Cherokee) ᚠᚢᚦ (runes)",
    "English, Русский, 中文, العربية, हिन्दी, 日本語, 한국어 in one line",
    "\u200fRTL mark and \u200eLTR mark and \u202eoverride\u202c pop",
    "\u2066isolate\u2069 and \u2067rtl isolate\u2069",
    # ----------------------------------------------------------------------------------------
    # Full-width forms, ligatures, compatibility characters, letterlike symbols.
    # ----------------------------------------------------------------------------------------
    "ＡＢＣ１２３！",
    "ｈｅｌｌｏ　ｗｏｒｌｄ",
    "Ｆｕｌｌ－ｗｉｄｔｈ（ｂｒａｃｋｅｔｓ）＆ｐｕｎｃｔ．",
    "＄１００，０００＠ｅｘａｍｐｌｅ．ｃｏｍ",
    "\ufb01nance and \ufb02ower and \ufb00 and \ufb03 and \ufb04",
    "\ufb05 \ufb06 \u0132 \u0133 \u01c4 \u01c6",
    "\u2460 \u2461 \u2473 \u2474 \u2488",
    "5\u338f and 10\u3396 and 3\u33a1",
    "Brand\u2122 and Company\u00ae and \u00a9 2024 and \u2120",
    "\u00bd \u00bc \u00be \u2153 \u215b",
    "E = mc\u00b2 and H\u2082O and x\u00b3 + y\u2070 and a\u2099",
    "\u2103 \u2109 \u212a \u2126 \u00b5 \u03bc",
    "\u2115 \u2124 \u211a \u211d \u2102",
    "\U0001d400\U0001d401\U0001d402 math bold and \U0001d552\U0001d553 double-struck",
    "\u1d2c\u1d2e\u1d30 modifier letters",
    "\u24b6\u24b7\u24b8 circled capital letters \u24d0\u24d1\u24d2",
    "\u3231 \u3239 \u32a4 \u3250 parenthesized and circled CJK",
    "\u337b\u337c\u337d\u337e era names and \u32ff",
    "\u00aa \u00ba ordinal indicators",
    "\u017f long s and \u1e9e capital sharp s",
    # ----------------------------------------------------------------------------------------
    # Whitespace variants.
    # ----------------------------------------------------------------------------------------
    "tab\tseparated\tvalues",
    "line one\nline two\nline three",
    "windows\r\nline\r\nendings",
    "old mac\rline endings",
    "non\u00a0breaking\u00a0space",
    "en\u2002space em\u2003space thin\u2009space hair\u200aspace",
    "ideographic\u3000space",
    "line\u2028separator and paragraph\u2029separator",
    "zero\u200bwidth\u200bspace",
    "zero\u200dwidth\u200djoiner and non\u200cjoiner",
    "soft\u00adhyphen\u00adated",
    "\ufeffBOM at start",
    "BOM in\ufeffmiddle",
    "form\x0cfeed",
    "vertical\x0btab",
    "next\x85line",
    "word\u2060joiner",
    "narrow\u202fno-break and medium\u205fmath space",
    "ogham\u1680space mark",
    "  leading and trailing spaces  ",
    "multiple     spaces     between",
    "\t\t\tindented with tabs",
    "\n\nleading newlines",
    "mixed \t\n\r\u00a0\u3000\u2002 whitespace",
    "\u2061\u2062\u2063\u2064 invisible math operators",
    "\u180e mongolian vowel separator",
    # ----------------------------------------------------------------------------------------
    # Control characters, replacement char, private use, noncharacters.
    # ----------------------------------------------------------------------------------------
    "null\x00byte",
    "start of heading\x01here",
    "bell\x07ring",
    "escape\x1b[31mred\x1b[0m",
    "delete\x7fchar",
    "replacement\ufffdchar",
    "\ufffd\ufffd\ufffd",
    "private\ue000use",
    "\ue000\uf8ff",
    "\U000f0000 supplementary private use",
    "\x00",
    "\x1f unit separator and \x1e record separator",
    "c1 controls: \x80\x81\x9f",
    "\ufeff",
    "\ufffe\uffff noncharacters",
    "\u0378 unassigned Greek code point",
    "\U000e0001 language tag",
    "variation\ufe0fselector and \U000e0100 supplement",
    # ----------------------------------------------------------------------------------------
    # Mixed case.
    # ----------------------------------------------------------------------------------------
    "THIS IS ALL CAPS AND VERY LOUD!",
    "CamelCaseIdentifierName",
    "iPhone iPad macOS eBay YouTube",
    "McDonald's O'Neill MacArthur",
    "NASA, FBI, UNESCO, NATO",
    "ÉCOLE NORMALE SUPÉRIEURE",
    "ПРИВЕТ МИР",
    "ΚΑΛΗΜΈΡΑ",
    "tHiS iS sPoNgEbOb CaSe",
    "XMLHttpRequest and getHTTPResponseCode",
    "\u01c5 titlecase digraph and \u1f88 Greek titlecase",
    # ----------------------------------------------------------------------------------------
    # Special-token look-alikes (lower-case / partial only; never the exact upper-case tokens).
    # ----------------------------------------------------------------------------------------
    "[cls] and [sep] in lowercase",
    "[mask] the [pad] with [unk]",
    "[Cls] [Sep] [Mask] [Pad] [Unk]",
    "CLS SEP MASK PAD UNK",
    "[CLS ] [ SEP] [MASK[ ]PAD]",
    "[unused0] [unused1] [unused99]",
    "<s> </s> <pad> <unk> <mask>",
    "##ing ##s ## #",
    # ----------------------------------------------------------------------------------------
    # Very long texts.
    # ----------------------------------------------------------------------------------------
    LONG_PARAGRAPH,
    LONG_ASCII_WORD,
    LONG_ACCENTED_WORD,
    LONG_CYRILLIC_WORD,
    LONG_URL,
    "word " * 600,
    "\u4e2d\u6587" * 300,
    "!" * 250,
    "\U0001f600" * 120,
    "a\u0301" * 110,
    ("Ab1-" * 40).strip("-"),
    " ".join(["antidisestablishmentarianism"] * 40),
    # ----------------------------------------------------------------------------------------
    # Empty, whitespace-only, single characters.
    # ----------------------------------------------------------------------------------------
    "",
    " ",
    "\t\n",
    "\u3000\u00a0",
    "\n",
    "\r\n",
    "      ",
    "\u200b",
    "\u00ad",
    "a",
    "Z",
    "\u00e9",
    "\u00df",
    "\u0130",
    "\u0131",
    "\u03a3",
    "\u03c2",
    "\u4e2d",
    "\u3042",
    "\ud55c",
    "!",
    "?",
    ".",
    "-",
    "'",
    "\"",
    "#",
    "$",
    "@",
    "\\",
    "1",
    "\uff01",
    "\u00b7",
    "\u0660",
    "\u05d0",
    "\u0627",
    "\u0e01",
    "\u2122",
    "\ufb01",
    "\u00bd",
]

assert len(set(SINGLE_TEXTS)) == len(SINGLE_TEXTS), "duplicate strings in SINGLE_TEXTS"

# --------------------------------------------------------------------------------------------
# Sentence pairs.
# --------------------------------------------------------------------------------------------
_LONG_QUESTION = (
    "Could you please explain, in as much detail as possible and with several concrete examples, "
    "why the WordPiece tokenizer splits rare words into multiple subword units, how the greedy "
    "longest-match-first algorithm chooses those units, and what happens to characters that are "
    "not present in the vocabulary at all? " * 3
)
_LONG_ANSWER = (
    "WordPiece starts from the full word and repeatedly takes the longest prefix found in the "
    "vocabulary, marking every continuation piece with two hash signs; if no prefix matches, the "
    "whole word becomes the unknown token. Words longer than the maximum input characters per "
    "word are also mapped to the unknown token. " * 4
)
_LONG_REVIEW = (
    "I ordered the tasting menu for our anniversary and, honestly, the first three courses were "
    "outstanding: the scallops were perfectly seared, the risotto was creamy without being heavy, "
    "and the wine pairing was thoughtful. Unfortunately the service slowed down dramatically "
    "afterwards, and we waited forty-five minutes for dessert. " * 3
)
_LONG_CHINESE = "这是一个非常长的中文句子，用来测试截断时两个句子如何分配长度预算。" * 10
_LONG_MEDICAL = (
    "The patient is a 67-year-old male with a history of coronary artery disease status post "
    "CABG in 2015, chronic kidney disease stage 3b, and poorly controlled type 2 diabetes, "
    "presenting with progressive dyspnea on exertion and bilateral lower extremity edema. " * 3
)

TEXT_PAIRS: list[tuple[str, str]] = [
    # Question / answer.
    ("What is the capital of France?", "Paris is the capital and most populous city of France."),
    ("Who wrote Hamlet?", "Hamlet was written by William Shakespeare around 1600."),
    ("How many legs does a spider have?", "Spiders have eight legs."),
    ("When did World War II end?", "It ended in 1945."),
    ("What's the boiling point of water?", "100\u00b0C (212\u00b0F) at sea level."),
    ("Is it safe to take ibuprofen with aspirin?", "Consult your physician; NSAIDs may interact."),
    ("Why is the sky blue?", "Because of Rayleigh scattering of sunlight by the atmosphere."),
    ("What does BERT stand for?", "Bidirectional Encoder Representations from Transformers."),
    ("Where is Zürich?", "Zürich is in Switzerland, on Lake Zürich."),
    ("Can I pay in €?", "Yes, we accept €, $ and £."),
    ("How much is 2+2?", "2+2=4"),
    ("Who is the CEO?", "N/A"),
    ("what is tokenization", "splitting text into tokens"),
    ("WHAT IS THE ANSWER???", "42!!!"),
    ("Question with trailing spaces   ", "   answer with leading spaces"),
    # Aspect / sentence.
    ("price", "The food was great but the price was too high."),
    ("food", "The food was great but the price was too high."),
    ("service", "The waiter was rude and ignored us for twenty minutes."),
    ("ambience", "Lovely candle-lit tables, soft jazz, and a view of the river."),
    ("battery life", "The battery drains within four hours of light use."),
    ("screen", "The OLED screen is gorgeous, but it scratches easily."),
    ("delivery", "Arrived two days late and the box was crushed."),
    ("staff", "Staff were friendly & helpful :)"),
    ("location", "Right next to the metro station, very convenient!"),
    ("cleanliness", "The bathroom was filthy; hair in the sink, stains on the towels."),
    ("value for money", "For $9.99 you can't beat it."),
    ("wifi", "Wi-Fi kept dropping every 10 min."),
    ("size", "Runs small \u2014 order one size up."),
    ("taste", "Trop sucré à mon goût, mais la texture était parfaite."),
    ("Preis", "Das Essen war lecker, aber der Preis war zu hoch."),
    ("precio", "La comida estaba rica pero el precio era demasiado alto."),
    ("цена", "Еда была отличной, но цена слишком высокая."),
    # Chinese and other CJK pairs.
    ("价格", "这家餐厅的菜很好吃，但是价格太贵了！"),
    ("服务", "服务员态度很差，等了半个小时才上菜。"),
    ("环境", "环境优雅，适合约会。"),
    ("北京是中国的首都吗？", "是的，北京是中华人民共和国的首都。"),
    ("这部电影怎么样？", "剧情一般，但是特效非常震撼！"),
    ("電池", "電池的續航力非常好，可以用兩天。"),
    ("値段", "料理はおいしかったけど、値段が高すぎた。"),
    ("東京タワーの高さは？", "333メートルです。"),
    ("가격", "음식은 맛있었지만 가격이 너무 비쌌어요."),
    ("iPhone的价格是多少？", "iPhone 15起售价为5999元。"),
    ("「这是什么？」", "『这是一本书。』"),
    # One side empty.
    ("", "The second segment is present but the first is empty."),
    ("The first segment is present but the second is empty.", ""),
    ("", ""),
    (" ", "only whitespace on the left"),
    ("only whitespace on the right", "\t\n"),
    ("\u3000\u00a0", "\u200b"),
    ("\x00", "control char on the left"),
    ("", "\u4f60\u597d"),
    ("\U0001f600", ""),
    # Both sides very long (truncation must split the budget).
    (_LONG_QUESTION, _LONG_ANSWER),
    (_LONG_ANSWER, _LONG_QUESTION),
    (_LONG_REVIEW, _LONG_MEDICAL),
    (LONG_PARAGRAPH, LONG_PARAGRAPH[:2000]),
    (_LONG_CHINESE, _LONG_REVIEW),
    (_LONG_CHINESE, _LONG_CHINESE[:150]),
    (LONG_ASCII_WORD, LONG_CYRILLIC_WORD),
    (LONG_ACCENTED_WORD, LONG_URL),
    ("short question?", _LONG_ANSWER),
    (_LONG_QUESTION, "short answer."),
    ("word " * 100, "token " * 100),
    ("word " * 31, "token " * 33),
    ("a " * 15, "b " * 15),
    ("a " * 14, "b " * 16),
    # Emoji and accents.
    ("Did you like it? \U0001f914", "Yes!!! \U0001f60d\U0001f60d\U0001f44d\U0001f3fd"),
    ("\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466", "family emoji ZWJ sequence"),
    ("\U0001f1eb\U0001f1f7 France", "\U0001f1e9\U0001f1ea Germany"),
    ("Café crème?", "Oui, avec plaisir ! \u2615"),
    ("Cafe\u0301", "Caf\u00e9"),
    ("Größe", "GRÖSSE"),
    ("İstanbul", "istanbul"),
    ("ΟΔΥΣΣΕΥΣ", "Οδυσσεύς"),
    ("Tiếng Việt", "tieng viet"),
    ("naïve résumé", "naive resume"),
    ("ＡＢＣ１２３", "ABC123"),
    ("\ufb01le", "file"),
    ("Zażółć gęślą jaźń", "\U0001f1f5\U0001f1f1 Polska"),
    ("مرحبا", "שלום"),
    ("नमस्ते", "สวัสดี"),
    ("[cls] lower-case look-alike", "[sep] [mask] [pad] [unk]"),
    ("x = f(a[i]) + 1;", "https://example.com/a?b=c#d"),
    ("line one\nline two", "tab\tseparated"),
    ("A\u030a", "\u212b"),
]

# --------------------------------------------------------------------------------------------
# Words around the 100-character limit beyond which a word is one [UNK] (Hugging Face counts
# characters; tf-text's own WordPiece counted UTF-8 bytes).
# --------------------------------------------------------------------------------------------
# One letter of each UTF-8 width (none of them punctuation or CJK, so runs stay one word).
WORD_LENGTH_LETTERS = {1: "a", 2: "ж", 3: "ａ", 4: "\U0001d400"}  # 𝐀: mathematical bold A


def _word_length_cases() -> list[str]:
    cases = []
    for letter in WORD_LENGTH_LETTERS.values():
        cases += [letter * n for n in (1, 33, 34, 50, 51, 99, 100, 101, 150)]
        cases += [
            letter * 60 + "," + letter * 60,  # split by punctuation: two words of 60
            letter * 100 + "." + letter * 101,  # a word of 100, then one of 101
            letter * 101 + " " + letter * 100,
            letter * 70 + "中" + letter * 70,  # a CJK ideograph is a word of its own
            letter * 50 + "\u200b" + letter * 51,  # the zero-width space is dropped: 101
            letter * 100 + "\u200b",
            f"({letter * 100})", f"{letter * 99}!{letter}", f"x{letter * 100}",
        ]
    cases += [
        "a" * 50 + "ж" * 50, "a" * 50 + "ж" * 51, "ж" * 40 + "ａ" * 30 + "\U0001d400" * 30,
        "ж" * 40 + "ａ" * 30 + "\U0001d400" * 31, "\U0001f600" * 100, "\U0001f600" * 101,
        "e\u0301" * 50, "e\u0301" * 51,  # 102 characters cased, 51 once accents are stripped
        "Ж" * 101, "Ａ" * 100,  # upper case: lower-cased first when uncased
        "中" * 150, "\U00020000" * 101,  # ideographs: each one a word
    ]
    return cases


WORD_LENGTH_CASES = _word_length_cases()
# The pieces those words are made of, for a vocabulary that spells every case out.
WORD_LENGTH_PIECES = [c for letter in ("e", "\u0301", "\U0001f600", "Ж", "Ａ", "中",
                                       "\U00020000", "x", *WORD_LENGTH_LETTERS.values())
                      for c in (letter, "##" + letter)] + [",", ".", "(", ")", "!"]

# --------------------------------------------------------------------------------------------
# Sanity checks run at import.
# --------------------------------------------------------------------------------------------
for _text in SINGLE_TEXTS + [side for pair in TEXT_PAIRS for side in pair]:
    assert not any(tok in _text for tok in _SPECIAL_TOKENS), _text[:80]
    assert not any(0xD800 <= ord(ch) <= 0xDFFF for ch in _text), _text[:80]
del _text

# --------------------------------------------------------------------------------------------
# Random generator.
# --------------------------------------------------------------------------------------------
_WORDS = (
    # English.
    "the", "quick", "brown", "fox", "tokenizer", "running", "unbelievable", "I", "Hello",
    "WORLD", "iPhone", "can't", "e-mail", "COVID-19", "naïve",
    # French / German / Spanish / Polish / Turkish / Vietnamese.
    "été", "garçon", "Straße", "Übermut", "mañana", "¿qué?", "źdźbło", "İzmir", "ılık",
    "Việt", "người",
    # Greek / Cyrillic.
    "λόγος", "ΣΟΦΟΣ", "σοφός", "Москва", "ёжик", "Ґанок",
    # CJK.
    "中国", "自然语言", "機器學習", "こんにちは", "カタカナ", "한국어", "서울",
    # Other scripts.
    "مرحبا", "שלום", "नमस्ते", "สวัสดี", "ሰላም",
    # Emoji and symbols.
    "\U0001f600", "\U0001f44d\U0001f3fd", "\U0001f1ef\U0001f1f5",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\u2764\ufe0f", "\u2122", "\ufb01",
    "\u00bd", "\u2460", "ＡＢＣ",
    # Special-token look-alikes (lower-case only).
    "[cls]", "[sep]", "[mask]", "##s",
)

_BLOCKS = (
    (0x00A0, 0x00FF),  # Latin-1 Supplement
    (0x0100, 0x017F),  # Latin Extended-A
    (0x0370, 0x03FF),  # Greek and Coptic
    (0x0400, 0x04FF),  # Cyrillic
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0x3040, 0x309F),  # Hiragana
    (0xAC00, 0xD7A3),  # Hangul Syllables
    (0x2000, 0x206F),  # General Punctuation
    (0x3000, 0x303F),  # CJK Symbols and Punctuation
    (0xFF00, 0xFFEF),  # Halfwidth and Fullwidth Forms
    (0x1F300, 0x1FAFF),  # Emoji and pictographs
    (0x0300, 0x036F),  # Combining Diacritical Marks
)

_ASCII_PUNCT_DIGITS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~0123456789"

_WHITESPACE = (
    " ", " ", " ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u2002", "\u3000", "\u2028",
    "\u2029", "\u200b", "\u200d", "\u00ad", "\ufeff", "\x0c", "\x0b", "\x85",
)


def _random_segment(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.40:
        return rng.choice(_WORDS)
    if kind < 0.70:
        lo, hi = rng.choice(_BLOCKS)
        return "".join(chr(rng.randint(lo, hi)) for _ in range(rng.randint(1, 6)))
    if kind < 0.85:
        return "".join(rng.choice(_ASCII_PUNCT_DIGITS) for _ in range(rng.randint(1, 4)))
    return rng.choice(_WHITESPACE)


def random_texts(n: int, seed: int = 0) -> list[str]:
    """Return ``n`` deterministic pseudo-random mixed-script strings of 0 to 400 characters.

    Strings mix words from a small multi-script word list, random code points from several
    Unicode blocks (Latin-1, Latin Extended-A, Greek, Cyrillic, CJK, Hiragana, Hangul, general
    and CJK punctuation, full-width forms, emoji, combining marks), ASCII punctuation and digits,
    and assorted whitespace / invisible characters. No surrogates and no upper-case
    special-token strings are produced. The same ``(n, seed)`` always gives the same list, and
    the first ``k`` strings do not depend on ``n``.
    """
    rng = random.Random(seed)
    texts: list[str] = []
    for _ in range(n):
        # Favour short strings a little so that empty and tiny inputs occur regularly.
        target = rng.randint(0, 12) if rng.random() < 0.15 else rng.randint(0, 400)
        parts: list[str] = []
        length = 0
        while length < target:
            segment = _random_segment(rng)
            if parts and rng.random() < 0.6:
                segment = " " + segment
            parts.append(segment)
            length += len(segment)
        text = "".join(parts)[:target]
        for tok in _SPECIAL_TOKENS:
            text = text.replace(tok, tok.lower())
        texts.append(text)
    return texts
