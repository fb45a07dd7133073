"""Reading texts to classify and writing predictions as JSON Lines or CSV."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from bert_keras.data.examples import LabelledTexts
from bert_keras.data.readers import from_lists, read_examples


def read_inputs(source: str, options: dict[str, Any]) -> LabelledTexts:
    """Texts (and pairs) to classify: a data file, or "-" for one text per stdin line."""
    if source == "-":
        lines = [line.rstrip("\n") for line in sys.stdin]
        return from_lists(lines, clean=options.get("clean", False),
                          skip_bad_rows=options.get("skip_bad_rows", False))
    return read_examples(source, require_labels=False, **options)


def write_predictions(results: list[dict[str, Any]], examples: LabelledTexts,
                      output: str) -> None:
    """Writes one prediction per text: JSON Lines, or CSV when `output` ends in .csv.

    Each row holds the source line, the text (and `text_pair`: the aspect or second text of
    pair models), the label (or labels), the label id and the probability of every label.
    """
    pairs = examples.pairs if examples.pairs is not None else [None] * len(examples.texts)
    rows = []
    for result, text, pair, source in zip(results, examples.texts, pairs, examples.sources,
                                          strict=True):
        rows.append({"source": source, "text": text,
                     **({"text_pair": pair} if pair is not None else {}), **result})
    if output.endswith(".csv"):
        content = _csv(rows)
    else:
        content = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    if output == "-":
        sys.stdout.write(content)
        return
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(content, encoding="utf-8")
    tmp.replace(path)
    print(f"wrote {len(rows)} predictions to {path}", file=sys.stderr)


def _csv(rows: list[dict[str, Any]]) -> str:
    labels = list(rows[0]["probabilities"]) if rows else []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    top_k = bool(rows) and "top_k" in rows[0]
    pair = bool(rows) and "text_pair" in rows[0]
    writer.writerow(["source", "text", *(["text_pair"] if pair else []), "label", "label_id",
                     *[f"p_{lab}" for lab in labels], *(["top_k"] if top_k else [])])
    for row in rows:
        label = row.get("label", "|".join(row.get("labels", [])))
        ranked = ["|".join(f"{lab}:{p:.6f}" for lab, p in row["top_k"])] if top_k else []
        writer.writerow([row["source"], row["text"], *([row["text_pair"]] if pair else []),
                         label, row.get("label_id", ""),
                         *[f"{row['probabilities'][lab]:.6f}" for lab in labels], *ranked])
    return buffer.getvalue()
