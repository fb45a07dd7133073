"""Which ops an exported SavedModel uses, and whether stock TF Serving can run them.

Stock TF Serving (`tensorflow/serving` images) links core TensorFlow's kernels and all of
TF Text's ops (`@org_tensorflow_text//tensorflow_text:ops_lib` in its
`SUPPORTED_TENSORFLOW_OPS`), nothing else. An op registered by another library (a custom
op, tensorflow-addons, ...) would make the server refuse the model at load time.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

from bert_keras.errors import BertKerasError

# Run in a fresh interpreter: the op registry of this process holds whatever was imported.
_LIST_OPS = """
import json
from tensorflow.core.framework import op_def_pb2
from tensorflow.python.client import pywrap_tf_session as c_api
def ops():
    buffer = c_api.TF_GetAllOpList()
    op_list = op_def_pb2.OpList()
    op_list.ParseFromString(c_api.TF_GetBuffer(buffer))
    return {op.name for op in op_list.op}
core = ops()
import tensorflow_text  # noqa: F401
print(json.dumps({"core": sorted(core), "text": sorted(ops() - core)}))
"""


class UnsupportedOpsError(BertKerasError):
    """The exported graph uses ops that stock TF Serving does not link."""


@dataclasses.dataclass(frozen=True)
class OpsReport:
    """The ops of an exported graph, by where they come from.

    Args:
        core: core TensorFlow ops.
        text: TF Text ops (linked by the stock TF Serving model server).
        unknown: ops from neither (stock TF Serving cannot load the model).
    """

    core: tuple[str, ...]
    text: tuple[str, ...]
    unknown: tuple[str, ...]

    def to_dict(self) -> dict[str, list[str]]:
        return {"core": list(self.core), "tensorflow_text": list(self.text),
                "unknown": list(self.unknown)}


def graph_ops(export_dir: str | os.PathLike) -> set[str]:
    """Every op type in `saved_model.pb`: the graphs and all functions of their libraries.

    Examples:

        graph_ops("saved_models/reviews/1")  # {"WordpieceTokenizeWithOffsets", ...}
    """
    from tensorflow.core.protobuf import saved_model_pb2

    path = Path(export_dir) / "saved_model.pb"
    if not path.exists():
        raise BertKerasError(f"{export_dir}: no saved_model.pb")
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString(path.read_bytes())
    ops: set[str] = set()
    for meta_graph in proto.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            ops.update(node.op for node in function.node_def)
    # Calls of library functions name the function as their op; they are not kernels.
    functions = {f.signature.name for mg in proto.meta_graphs
                 for f in mg.graph_def.library.function}
    return ops - functions


@functools.lru_cache(maxsize=1)
def registered_ops() -> tuple[frozenset[str], frozenset[str]]:
    """(core TensorFlow ops, TF Text ops) as registered by a fresh interpreter."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    result = subprocess.run([sys.executable, "-c", _LIST_OPS], capture_output=True, text=True,
                            timeout=300, env=env)
    if result.returncode != 0:
        raise BertKerasError(f"could not list TensorFlow's ops: {result.stderr.strip()[-500:]}")
    found = json.loads(result.stdout.strip().splitlines()[-1])
    return frozenset(found["core"]), frozenset(found["text"])


def check_ops(export_dir: str | os.PathLike) -> OpsReport:
    """Sorts the graph's ops into core / TF Text / unknown; raises if any is unknown.

    Args:
        export_dir: a SavedModel directory.

    Returns:
        The report (the TF Text ops are the ones to record next to the model).

    Raises:
        UnsupportedOpsError: naming each op that stock TF Serving would not find.
    """
    ops = graph_ops(export_dir)
    core, text = registered_ops()
    report = OpsReport(core=tuple(sorted(ops & core)), text=tuple(sorted(ops & text)),
                       unknown=tuple(sorted(ops - core - text)))
    if report.unknown:
        raise UnsupportedOpsError(
            f"{export_dir}: the graph uses ops that are neither core TensorFlow nor TF Text, "
            f"so stock TF Serving cannot load it: {', '.join(report.unknown)}. Build a "
            "custom model server that links them, or remove them from the model."
        )
    return report
