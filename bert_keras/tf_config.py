"""TF_CONFIG, the cluster description of a multi-worker run, read and checked up front.

Every machine of a cluster runs the same `bert-keras train` command with its own TF_CONFIG:

    {"cluster": {"worker": ["host1:12345", "host2:12345"]},
     "task": {"type": "worker", "index": 0}}

TensorFlow reads the variable itself; this module only makes a mistake in it a one-line
error that names the problem, instead of a hang or a gRPC error minutes later.
"""

from __future__ import annotations

import dataclasses
import json
import os

from bert_keras.errors import ClusterError

TRAINING_TASKS = ("chief", "worker")
# Parameter servers and evaluators belong to other strategies than MultiWorkerMirrored.
UNSUPPORTED_TASKS = ("ps", "evaluator")


@dataclasses.dataclass(frozen=True)
class ClusterConfig:
    """One machine's view of the cluster.

    Args:
        cluster: task type -> "host:port" addresses, e.g. {"worker": ["h1:1234", "h2:1234"]}.
        task_type: this machine's task type, "chief" or "worker".
        task_index: this machine's index within its task type.
    """

    cluster: dict[str, list[str]]
    task_type: str
    task_index: int

    @property
    def num_workers(self) -> int:
        """Machines that train: the chief (if any) and the workers."""
        return sum(len(self.cluster.get(kind, [])) for kind in TRAINING_TASKS)

    @property
    def is_chief(self) -> bool:
        """The chief task, or worker 0 when the cluster names no chief (TensorFlow's rule)."""
        if self.task_type == "chief":
            return True
        return self.task_type == "worker" and self.task_index == 0 and "chief" not in self.cluster

    @property
    def task_name(self) -> str:
        return f"{self.task_type} {self.task_index}"


def parse_tf_config(text: str) -> ClusterConfig | None:
    """Parses and checks a TF_CONFIG value.

    Args:
        text: the JSON text (empty or "{}": no cluster).

    Returns:
        The cluster, or None when `text` describes none.

    Raises:
        ClusterError: the JSON is malformed, `cluster` or `task` is missing or ill-formed,
            the task type is unknown or absent from the cluster, or its index is out of range.
    """
    if not text.strip():
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ClusterError(f"TF_CONFIG is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise ClusterError(f"TF_CONFIG must be a JSON object, got {type(value).__name__}")
    if not value:
        return None
    cluster, task = value.get("cluster"), value.get("task")
    if not isinstance(cluster, dict) or not cluster:
        raise ClusterError('TF_CONFIG has no "cluster" mapping, e.g. "cluster": {"worker": '
                           '["host1:12345", "host2:12345"]}')
    if not isinstance(task, dict):
        raise ClusterError('TF_CONFIG has no "task", e.g. "task": {"type": "worker", '
                           '"index": 0}')
    _check_cluster(cluster)
    kind, index = task.get("type"), task.get("index", 0)
    if kind in UNSUPPORTED_TASKS:
        raise ClusterError(f"TF_CONFIG task type {kind!r} is not supported: bert-keras trains "
                           "with MultiWorkerMirroredStrategy (task types chief and worker)")
    if kind not in TRAINING_TASKS:
        raise ClusterError(f"TF_CONFIG task type {kind!r} is unknown; expected one of "
                           f"{', '.join(TRAINING_TASKS)}")
    if kind not in cluster:
        raise ClusterError(f"TF_CONFIG task type {kind!r} has no addresses in the cluster "
                           f"(it lists {', '.join(sorted(cluster))})")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ClusterError(f"TF_CONFIG task index must be an integer, got {index!r}")
    count = len(cluster[kind])
    if not 0 <= index < count:
        raise ClusterError(f"TF_CONFIG task index {index} is out of range: the cluster has "
                           f"{count} {kind} address(es), so the index must be 0..{count - 1}")
    return ClusterConfig({k: list(v) for k, v in cluster.items()}, kind, index)


def _check_cluster(cluster: dict) -> None:
    seen: set[str] = set()
    for kind, addresses in cluster.items():
        if kind not in TRAINING_TASKS + UNSUPPORTED_TASKS:
            raise ClusterError(f"TF_CONFIG cluster has an unknown task type {kind!r}; expected "
                               f"{', '.join(TRAINING_TASKS)}")
        if not isinstance(addresses, list) or not addresses:
            raise ClusterError(f"TF_CONFIG cluster[{kind!r}] must be a non-empty list of "
                               '"host:port" addresses')
        for address in addresses:
            host, _, port = str(address).rpartition(":")
            if not isinstance(address, str) or not host or not port.isdigit():
                raise ClusterError(f"TF_CONFIG cluster[{kind!r}] address {address!r} is not "
                                   '"host:port"')
            if address in seen:
                raise ClusterError(f"TF_CONFIG lists {address} twice")
            seen.add(address)
    if len(cluster.get("chief", [])) > 1:
        raise ClusterError("TF_CONFIG may list one chief at most, got "
                           f"{len(cluster['chief'])}")


def cluster_from_env() -> ClusterConfig | None:
    """The cluster TF_CONFIG describes, or None when it is unset (a single machine)."""
    return parse_tf_config(os.environ.get("TF_CONFIG", ""))
