"""The Markdown the README includes verbatim: one table each for training, inference, the
ratios, the targets and cost against length, under a header naming machine and versions."""

from __future__ import annotations

from speed.report import SHORT, comparisons, find, label, targets

FRAMEWORK_ORDER = ("bert_keras", "pytorch", "keras_hub", "onnxruntime", "tflite")
TABLE_NAMES = {"natural": "drug-review texts at their own lengths (max 128 tokens)",
               "fixed": "every example padded to 128 tokens"}

TRAIN_NOTES = {
    "natural": "Identical batches: every framework trains on the same examples padded to the "
               "same shapes, bert_keras's own length-bucketed batches replayed on the same "
               "ids (pure compute; bert_keras's standard pipeline is exactly these batches). "
               "Standard: the framework's own pipeline.",
    "fixed": "Identical batches: every framework trains on the same shuffled batches, every "
             "example padded to 128 (bert_keras's pipeline over pre-padded examples), on the "
             "same ids."}
INFER_NOTE = ("ids: identical batches in input order, each padded to its longest member "
              "(batch 1: each text at its own length; TFLite bundles take a fixed 128). "
              "strings: the framework's own tokenizer and padding, timed with the model "
              "(bert_keras's Classifier.predict and SavedModel serving_default cut each batch "
              "to its longest text; keras-hub's preprocessor packs every text to 128).")


def cell(row: dict | None) -> str:
    """Median (min-max) examples/s, or a dash."""
    if row is None:
        return "-"
    return f"{row['median']:.1f} ({row['min']:.1f}-{row['max']:.1f})"


def _memory(row: dict | None) -> str:
    return f"{row['peak_rss_mb']:.0f}" if row and row.get("peak_rss_mb") else "-"


def _order(row: dict) -> tuple:
    return (FRAMEWORK_ORDER.index(row["framework"]) if row["framework"] in FRAMEWORK_ORDER
            else 99, row["path"], row["precision"], row["regime"])


def _table(header: list[str], lines: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(line) + " |" for line in lines)]


def header(results: dict) -> list[str]:
    system, settings = results["system"], results["settings"]
    flags = ", ".join(f"{f} {'yes' if v else 'no'}" for f, v in system["cpu_flags"].items())
    versions = ", ".join(f"{k} {v}" for k, v in sorted(results.get("versions", {}).items()))
    load = results.get("load_average", {})
    cpu = sum(j.get("cpu_s") or 0 for j in results.get("jobs", []))
    took = (f" The run took {results['seconds'] / 60:.0f} min ({cpu / 60:.0f} CPU min in its "
            f"jobs){'' if results.get('complete', True) else ' so far (not complete)'}."
            if results.get("seconds") else "")
    return [
        f"Measured {results['date']} on `{system['host']}`: {system['cpu']}, "
        f"{system['cores']} cores ({flags}).",
        f"Load average before / after: {load.get('before', '?')} / {load.get('after', '?')}."
        + took + (f" {results['note']}" if results.get("note") else ""),
        f"Versions: {versions}.",
        f"{results.get('texts', '?')} texts, batch {settings['batch_size']}, at most "
        f"{settings['max_seq_length']} tokens; {settings['warmup']} warm-up steps (not "
        f"timed), then {settings['repeats']} repetitions of {settings['train_steps']} "
        f"training steps / {settings['infer_steps']['32']} batches of 32 / "
        f"{settings['infer_steps']['1']} single examples: median (min-max) examples/s. "
        "Each framework runs in its own process; peak RSS is that process's peak resident "
        "memory when the row finished.",
    ]


def training(rows: list[dict], table: str) -> list[str]:
    lines = []
    for row in sorted(find(rows, task="train", table=table), key=_order):
        batches = (f"identical ({'bert_keras length buckets' if table == 'natural' else 'all 128'})"
                   if row["regime"] == "identical" else f"standard: {row['path']}")
        lines.append([row["framework"], SHORT.get(row["precision"], row["precision"]),
                      batches, f"{row['seq']:.0f}", cell(row), _memory(row)])
    return _table(["framework", "precision", "batches", "mean padded length",
                   "train examples/s", "peak RSS MiB"], lines)


def inference(rows: list[dict], table: str) -> list[str]:
    rows = find(rows, task="infer", table=table)
    keys = sorted({(r["framework"], r["path"], r["precision"], r["input"]) for r in rows},
                  key=lambda k: _order({"framework": k[0], "path": k[1], "precision": k[2],
                                        "regime": k[3]}))
    lines = []
    for framework, path, precision, kind in keys:
        same = find(rows, framework=framework, path=path, precision=precision, input=kind)
        one, many = (next(iter(find(same, batch=b)), None) for b in (1, 32))
        lengths = " / ".join(f"{r['seq']:.0f}" for r in (one, many) if r)
        note = "; ".join(dict.fromkeys(r["note"] for r in (one, many) if r and r.get("note")))
        lines.append([label(same[0]), kind, lengths, cell(one), cell(many), _memory(many),
                      note])
    return _table(["path", "input", "padded length (1 / 32)", "batch 1 examples/s",
                   "batch 32 examples/s", "peak RSS MiB", "note"], lines)


def ratios(rows: list[dict]) -> list[str]:
    lines = [[c["comparison"], c["mode"], f"{c['ours']} / {c['peer']}", f"{c['speed']:.2f}",
              f"{c['memory']:.2f}" if c["memory"] else "-"] for c in comparisons(rows)]
    return _table(["comparison", "mode", "rows", "speed ratio", "memory ratio"], lines)


def target_lines(rows: list[dict]) -> list[str]:
    lines = [[t["target"], "-" if t["value"] is None else f"{t['value']:.2f}",
              f"{t['threshold']:g}", t["verdict"], t["detail"]] for t in targets(rows)]
    return _table(["target", "measured", "needed", "verdict", "rows"], lines)


def sweep(rows: list[dict]) -> list[str]:
    rows = find(rows, table="sweep")
    lines = []
    for seq, batch in sorted({(int(r["seq"]), r["batch"]) for r in rows}):
        infer, train = (next(iter(find(rows, seq=seq, batch=batch, task=t)), None)
                        for t in ("infer", "train"))
        lines.append([str(seq), str(batch), cell(infer), cell(train), _memory(infer),
                      _memory(train)])
    precision = SHORT.get(rows[0]["precision"], rows[0]["precision"]) if rows else "?"
    return [f"bert_keras ({precision}), random ids of exactly that length:", "",
            *_table(["sequence length", "batch", "inference examples/s", "training examples/s",
                     "peak RSS MiB (inference)", "peak RSS MiB (training)"], lines)]


def markdown(results: dict) -> str:
    rows = results["rows"]
    parts = ["## Speed on CPU: bert_keras and its peers, measured side by side", "",
             *header(results), ""]
    for table in ("natural", "fixed"):
        parts += [f"### Training, {TABLE_NAMES[table]}", "", TRAIN_NOTES[table], "",
                  *training(rows, table), ""]
    for table in ("natural", "fixed"):
        parts += [f"### Inference, {TABLE_NAMES[table]}", "", INFER_NOTE, "",
                  *inference(rows, table), ""]
    parts += ["### Ratios (bert_keras / peer; speed above 1 and memory below 1 favour "
              "bert_keras)", "", *ratios(rows), "",
              "### Targets (issue 9)", "", *target_lines(rows), "",
              "### Cost against sequence length and batch size", "", *sweep(rows), ""]
    failed = [j for j in results.get("jobs", []) if not j.get("ok")]
    if failed:
        parts += ["### Failed jobs", "",
                  *(f"- `{j['name']}`: {j.get('error', 'failed')}" for j in failed), ""]
    return "\n".join(parts)
