"""TF Serving configuration for a base directory of exported models, and how to run it.

TF Serving serves `<base>/<name>/<version>/` directories; with the base directory mounted
at `/models` in the `tensorflow/serving` image, `models.config` names each model:

    model_config_list {
      config {
        name: "reviews"
        base_path: "/models/reviews"
        model_platform: "tensorflow"
        model_version_policy { latest { num_versions: 1 } }
      }
    }
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

from bert_keras.export.frozen_weights import docker_env_flag

CONFIG_FILE = "models.config"
CONTAINER_BASE = "/models"
REST_PORT, GRPC_PORT = 8501, 8500


def serving_image() -> str:
    """The `tensorflow/serving` image of the TensorFlow version that writes the models."""
    import tensorflow as tf

    return f"tensorflow/serving:{tf.__version__.split('-')[0]}"


def model_names(base_dir: str | os.PathLike) -> list[str]:
    """The model folders under `base_dir` that hold at least one numbered version."""
    base = Path(base_dir)
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if p.is_dir() and not p.name.startswith(".")
                  and any(v.name.isdigit() and v.is_dir() for v in p.iterdir()))


def models_config(names: Sequence[str], *, container_base: str = CONTAINER_BASE,
                  num_versions: int = 1) -> str:
    """The `models.config` text (protobuf text format) for `names`.

    Args:
        names: model names (folders of the base directory).
        container_base: where the base directory is mounted in the server.
        num_versions: serve the latest N versions (version policy `latest`).

    Examples:
    >>> print(models_config(["reviews"]).splitlines()[3])
        base_path: "/models/reviews"
    """
    entries = []
    for name in names:
        entries.append(
            "  config {\n"
            f"    name: {json.dumps(name)}\n"
            f"    base_path: {json.dumps(f'{container_base}/{name}')}\n"
            '    model_platform: "tensorflow"\n'
            f"    model_version_policy {{ latest {{ num_versions: {num_versions} }} }}\n"
            "  }\n"
        )
    return "model_config_list {\n" + "".join(entries) + "}\n"


def write_models_config(base_dir: str | os.PathLike) -> Path:
    """Writes `<base_dir>/models.config` listing every model under `base_dir`."""
    base = Path(base_dir)
    path = base / CONFIG_FILE
    tmp = path.with_name(f".{CONFIG_FILE}.tmp")
    tmp.write_text(models_config(model_names(base)), encoding="utf-8")
    tmp.replace(path)
    return path


def computes_in_16_bits(base_dir: str | os.PathLike) -> bool:
    """Whether any model version under `base_dir` was exported to compute in 16 bits."""
    from bert_keras.export.saved_model import FACTS_FILE

    for facts in Path(base_dir).glob(f"*/*/assets/{FACTS_FILE}"):
        if json.loads(facts.read_text(encoding="utf-8")).get("compute_precision",
                                                             "float32") != "float32":
            return True
    return False


def docker_command(base_dir: str | os.PathLike) -> str:
    """The one-line docker command that serves every model of `base_dir` (REST and gRPC).

    With a 16-bit model among them it turns on oneDNN's frozen-weights mode
    (`bert_keras.export.frozen_weights`): a server never changes a weight, and on AMX CPUs
    bfloat16 models run about 1.4x to 1.9x faster with it. float32 models gain nothing
    measurable and keep a second copy of their matmul weights, so it stays off for them.
    """
    source = shlex.quote(str(Path(base_dir).resolve()))
    flag = f"{docker_env_flag()} " if computes_in_16_bits(base_dir) else ""
    return (f"docker run --rm -p {GRPC_PORT}:{GRPC_PORT} -p {REST_PORT}:{REST_PORT} "
            f"{flag}-v {source}:{CONTAINER_BASE} {serving_image()} "
            f"--model_config_file={CONTAINER_BASE}/{CONFIG_FILE}")


def curl_command(name: str, texts: Sequence[str], pairs: Sequence[str] | None = None, *,
                 host: str = "localhost") -> str:
    """A curl call of the REST Predict API (row format) on `serving_default`.

    Examples:
    >>> print(curl_command("reviews", ["works"]))
    curl -s -X POST http://localhost:8501/v1/models/reviews:predict -d '{"instances": ["works"]}'
    """
    if pairs is None:
        instances: list = list(texts)
    else:
        instances = [{"text": t, "text_pair": p} for t, p in zip(texts, pairs, strict=True)]
    body = json.dumps({"instances": instances}, ensure_ascii=False)
    return (f"curl -s -X POST http://{host}:{REST_PORT}/v1/models/{name}:predict "
            f"-d {shlex.quote(body)}")


def usage(base_dir: str | os.PathLike, name: str, version_dir: str | os.PathLike,
          texts: Sequence[str], pairs: Sequence[str] | None = None) -> str:
    """What `bert-keras export` prints: where the model is, how to serve and query it."""
    return "\n".join([
        f"exported {version_dir}",
        f"serving config: {Path(base_dir) / CONFIG_FILE}",
        "serve it (REST on 8501, gRPC on 8500):",
        f"  {docker_command(base_dir)}",
        "query it:",
        f"  {curl_command(name, texts, pairs)}",
        f"  bert-keras serve-check http://localhost:{REST_PORT}/v1/models/{name}",
    ])
