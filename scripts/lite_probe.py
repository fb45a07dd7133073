"""Runs `bert_keras.lite.LiteClassifier` on TFLite bundles and compares two machines' runs.

`scripts/check_arm64.sh` runs `probe` twice, once with the host's Python (x86_64) and once
with an arm64 Python under qemu-user, then `compare`s the two JSON files:

    probe BUNDLE... --out FILE        ids, probabilities, labels and timings on this machine
    compare X86.json ARM.json         ids identical, probabilities within --tolerance (float
                                      bundles) or labels equal (int8 / dynamic: arm and x86
                                      integer kernels round differently); exit 1 on a mismatch

The probe needs only the standard library, NumPy and what `bert_keras.lite` needs (LiteRT):
it runs on a board install (`BERT_KERAS_LITE_ONLY=1`).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

INPUT_NAMES = ("input_word_ids", "input_mask", "input_type_ids")
# Quantisations whose arithmetic is float on both machines: compared by probability.
FLOAT_QUANTIZATIONS = ("none", "float16")
LONG_TEXT = " ".join(["The tablets worked, but the headaches lasted for weeks."] * 40)
TEXTS = [
    "This drug worked great, no side effects at all!",
    "Terrible nausea and headache; I stopped after two days.",
    "It's okay. Not better, not worse.",
    "Café crème brûlée: the pharmacist was très gentil.",
    "ÉNORME DOULEUR — AUCUN EFFET.",
    "这个药很好，没有副作用。",
    "この薬はよく効きました！",
    "Great 👍🏽 medicine 😀😀 would recommend 👨‍👩‍👧",
    "",
    "   \t\n  ",
    "Ｆｕｌｌ－ｗｉｄｔｈ ｔｅｘｔ， ﬁne ligatures and soft\u00adhyphens\u200b.",
    "Ελληνικά και русский текст, 123 mg twice a day.",
    LONG_TEXT,
]


def probe(bundles: Sequence[str], out: Path, threads: int | None,
          no_default_delegates: bool) -> dict:
    """Runs every bundle on TEXTS with this interpreter; writes and returns the record."""
    started = time.perf_counter()
    import numpy as np

    if no_default_delegates:
        _disable_default_delegates()
    from bert_keras.lite import LiteClassifier

    record = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "litert": _version("ai-edge-litert"),
        "bert_keras": _bert_keras_location(),
        "threads": threads,
        "no_default_delegates": no_default_delegates,
        "import_seconds": round(time.perf_counter() - started, 3),
        "texts": TEXTS,
        "bundles": {},
    }
    for bundle in bundles:
        start = time.perf_counter()
        classifier = LiteClassifier(bundle, num_threads=threads)
        loaded = time.perf_counter()
        first = classifier.predict(TEXTS[:1])
        first_done = time.perf_counter()
        rest = classifier.predict(TEXTS[1:])
        done = time.perf_counter()
        ids = classifier.encode(TEXTS)
        probabilities = np.concatenate([first, rest])
        record["bundles"][str(Path(bundle).resolve())] = {
            "quantization": classifier.facts.get("quantization"),
            "seq_length": classifier.seq_length,
            "labels": classifier.labels,
            "ids": {name: ids[name].tolist() for name in INPUT_NAMES},
            "probabilities": probabilities.astype(float).tolist(),
            "predicted": [classifier.labels[i] for i in probabilities.argmax(axis=1)],
            "seconds": {"load": round(loaded - start, 3),
                        "first_predict": round(first_done - loaded, 3),
                        "other_predicts": round(done - first_done, 3),
                        "total": round(done - start, 3)},
        }
        print(f"  {platform.machine()}: {bundle} {done - start:.1f} s", file=sys.stderr,
              flush=True)
    out.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    return record


def _disable_default_delegates() -> None:
    """Makes every LiteRT Interpreter skip the default delegates (XNNPACK), for timing."""
    from ai_edge_litert import interpreter as litert

    original = litert.Interpreter

    def without_delegates(*args, **kwargs):
        kwargs.setdefault("experimental_op_resolver_type",
                          litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        return original(*args, **kwargs)

    litert.Interpreter = without_delegates


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def _bert_keras_location() -> str:
    import bert_keras

    return str(Path(bert_keras.__file__).parent)


def compare_bundle(x86: dict, arm: dict, tolerance: float) -> dict:
    """One bundle's verdict: ids identical, max probability difference, labels equal."""
    ids_identical = all(x86["ids"][name] == arm["ids"][name] for name in INPUT_NAMES)
    diffs = [abs(a - b) for row_a, row_b in zip(x86["probabilities"], arm["probabilities"],
                                                strict=True)
             for a, b in zip(row_a, row_b, strict=True)]
    max_diff = max(diffs, default=0.0)
    labels_equal = x86["predicted"] == arm["predicted"]
    by_probability = x86["quantization"] in FLOAT_QUANTIZATIONS
    values_ok = max_diff <= tolerance if by_probability else labels_equal
    return {
        "quantization": x86["quantization"],
        "texts": len(x86["probabilities"]),
        "ids_identical": ids_identical,
        "max_abs_prob_diff": max_diff,
        "labels_equal": labels_equal,
        "label_mismatches": sum(a != b for a, b in zip(x86["predicted"], arm["predicted"],
                                                       strict=True)),
        "compared_by": f"probabilities within {tolerance:g}" if by_probability else "labels",
        "passed": ids_identical and values_ok,
        "x86_seconds": x86["seconds"],
        "arm64_seconds": arm["seconds"],
    }


def compare(x86_file: Path, arm_file: Path, tolerance: float, record_file: Path | None,
            extra: dict) -> int:
    x86 = json.loads(x86_file.read_text(encoding="utf-8"))
    arm = json.loads(arm_file.read_text(encoding="utf-8"))
    results = {bundle: compare_bundle(x86["bundles"][bundle], arm["bundles"][bundle], tolerance)
               for bundle in x86["bundles"]}
    print(f"x86_64: Python {x86['python']}, LiteRT {x86['litert']}; arm64: Python "
          f"{arm['python']} ({arm['machine']}), LiteRT {arm['litert']}")
    for bundle, result in results.items():
        print(f"{bundle}\n"
              f"  quantization {result['quantization']}, {result['texts']} texts; "
              f"ids identical: {_yes(result['ids_identical'])}; "
              f"max abs prob diff: {result['max_abs_prob_diff']:.2e}; "
              f"labels equal: {_yes(result['labels_equal'])}\n"
              f"  x86 {result['x86_seconds']['total']:.2f} s, "
              f"arm64 {result['arm64_seconds']['total']:.2f} s "
              f"(first predict {result['arm64_seconds']['first_predict']:.2f} s); "
              f"compared by {result['compared_by']}: "
              f"{'PASS' if result['passed'] else 'MISMATCH'}")
    passed = all(r["passed"] for r in results.values())
    if record_file is not None:
        record = {
            "check": "scripts/check_arm64.sh: LiteClassifier on arm64 (qemu-user) vs x86_64",
            "date": time.strftime("%Y-%m-%d"),
            "passed": passed,
            "tolerance": tolerance,
            **extra,
            "x86": {k: x86[k] for k in ("machine", "python", "numpy", "litert", "threads",
                                        "import_seconds")},
            "arm64": {k: arm[k] for k in ("machine", "python", "numpy", "litert", "threads",
                                          "no_default_delegates", "import_seconds")},
            "texts": x86["texts"],
            "bundles": results,
        }
        record_file.parent.mkdir(parents=True, exist_ok=True)
        record_file.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n",
                               encoding="utf-8")
        print(f"record: {record_file}")
    print("arm64 check passed" if passed else "arm64 check FAILED: arm64 differs from x86_64")
    return 0 if passed else 1


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("probe", help="run bundles here and write a JSON record")
    run.add_argument("bundles", nargs="+")
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--threads", type=int, default=None)
    run.add_argument("--no-default-delegates", action="store_true",
                     help="skip LiteRT's default delegates (XNNPACK)")
    check = commands.add_parser("compare", help="compare an x86 and an arm64 record")
    check.add_argument("x86", type=Path)
    check.add_argument("arm64", type=Path)
    check.add_argument("--tolerance", type=float, default=1e-4)
    check.add_argument("--record", type=Path, default=None)
    check.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                       help="a fact for the record (a number when it parses as one)")
    args = parser.parse_args(argv)
    if args.command == "probe":
        probe(args.bundles, args.out, args.threads, args.no_default_delegates)
        return 0
    extra = {}
    for item in args.extra:
        key, _, value = item.partition("=")
        try:
            extra[key] = float(value)
        except ValueError:
            extra[key] = value
    return compare(args.x86, args.arm64, args.tolerance, args.record, extra)


if __name__ == "__main__":
    sys.exit(main())
