"""tf.distribute strategies by name: one device, several local GPUs, several machines, TPU.

`create_strategy` must run before TensorFlow does anything else in the process: a
MultiWorkerMirroredStrategy configures collective ops, which TensorFlow allows only at start.
"""

from __future__ import annotations

import glob
import os
import secrets
from pathlib import Path

import tensorflow as tf

from bert_keras.errors import ClusterError
from bert_keras.tf_config import ClusterConfig, cluster_from_env

STRATEGIES = ("auto", "one-device", "mirrored", "multi-worker", "tpu")
_SHARED_CHECK = ".bert-keras-shared-dir-check"


def create_strategy(name: str = "auto", tpu: str | None = None) -> tf.distribute.Strategy:
    """The strategy `name` stands for.

    Args:
        name: "auto" (TPU when `tpu` is given or a TPU is announced by the environment,
            multi-worker when TF_CONFIG lists more than one worker, mirrored with more than
            one GPU, else TensorFlow's default strategy), "one-device", "mirrored"
            (all local GPUs), "multi-worker" (MultiWorkerMirroredStrategy, cluster from
            TF_CONFIG) or "tpu" (TPUStrategy).
        tpu: the TPU's name or grpc:// address, or "local" for this host's chips (a
            Cloud TPU VM); None: from TPU_NAME / COLAB_TPU_ADDR, else "local" when the
            host has TPU devices.

    Raises:
        ClusterError: an unknown name, a bad TF_CONFIG, or no TPU to connect to.
    """
    if name not in STRATEGIES:
        raise ClusterError(f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}")
    cluster = cluster_from_env()  # checked for every name: a broken TF_CONFIG is a mistake
    if name == "auto":
        name = _auto_name(cluster, tpu)
    if name == "tpu":
        return _tpu_strategy(tpu)
    if name == "multi-worker":
        if cluster is None:
            raise ClusterError("--strategy multi-worker needs TF_CONFIG describing the cluster "
                               "(see the README, 'Training on several machines and TPUs')")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if cluster is not None and cluster.num_workers > 1:
        raise ClusterError(f"TF_CONFIG lists {cluster.num_workers} workers but the strategy is "
                           f"{name!r}; use --strategy multi-worker (or auto)")
    gpus = tf.config.list_logical_devices("GPU")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "one-device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    # auto on one machine: what training always used, so single-machine runs do not change.
    return tf.distribute.get_strategy()


def local_strategy() -> tf.distribute.Strategy:
    """This machine alone: MirroredStrategy over its GPUs when it has several, else the
    default strategy. For jobs that do not coordinate workers (continued pre-training)."""
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()


def _tpu_announced() -> bool:
    return bool(os.environ.get("TPU_NAME") or os.environ.get("COLAB_TPU_ADDR"))


def _local_tpu() -> bool:
    """TPU chips on this host: a Cloud TPU VM (Colab's TPU runtimes are TPU VMs too)."""
    return bool(glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"))


def _auto_name(cluster: ClusterConfig | None, tpu: str | None) -> str:
    # Cheap signals only: probing for a TPU with a resolver can wait on network timeouts.
    if tpu or _tpu_announced() or _local_tpu():
        return "tpu"
    if cluster is not None and cluster.num_workers > 1:
        return "multi-worker"
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return "mirrored"
    return "default"


def _tpu_strategy(tpu: str | None) -> tf.distribute.Strategy:
    if not tpu and not _tpu_announced() and _local_tpu():
        tpu = "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu or "")
        if tpu != "local":  # a TPU VM's chips are local; a TPU node is reached over gRPC
            tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except (ValueError, tf.errors.OpError, RuntimeError) as error:
        where = f"--tpu {tpu}" if tpu else "the environment (Colab, TPU_NAME)"
        raise ClusterError(f"no TPU found from {where} ({error}); on a Cloud TPU VM pass "
                           "--tpu local") from None
    return tf.distribute.TPUStrategy(resolver)


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and \
        _num_workers(strategy) > 1


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (always true on one machine)."""
    return strategy.extended.should_checkpoint


def shard_by_data(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Sets auto-sharding by data: every worker builds the whole (in-memory) pipeline and
    keeps its share of each global batch, as there are no files to hand out."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def _all_sum(strategy: tf.distribute.Strategy, value: int) -> int:
    """The sum of `value` over the workers; also a barrier (every worker must call it)."""
    local = strategy.num_replicas_in_sync // max(_num_workers(strategy), 1)
    values = strategy.experimental_distribute_values_from_function(
        lambda _: tf.constant(value, tf.int64))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None)
    return int(total.numpy()) // max(local, 1)  # each worker's replicas all contributed


def _num_workers(strategy: tf.distribute.Strategy) -> int:
    spec = strategy.cluster_resolver.cluster_spec().as_dict()
    return len(spec.get("worker", [])) + len(spec.get("chief", []))


def check_shared_directory(strategy: tf.distribute.Strategy, directory: Path) -> None:
    """Raises on every worker unless all of them see the files the chief writes in
    `directory`: checkpoints, backups and the final model must be on shared storage.

    The chief writes a random token into the directory; after a barrier each worker reads
    it back, and a second collective tells everyone how many workers saw it.
    """
    if not is_multi_worker(strategy):
        return
    marker = directory / _SHARED_CHECK
    chief = is_chief(strategy)
    token = secrets.randbelow(2**31 - 1) + 1 if chief else 0
    if chief:
        directory.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(token))
    token = _all_sum(strategy, token)
    try:
        seen = marker.read_text().strip() == str(token)
    except OSError:
        seen = False
    workers = _num_workers(strategy)
    seeing = _all_sum(strategy, int(seen))
    if chief:
        marker.unlink(missing_ok=True)
    if seeing < workers:
        raise ClusterError(
            f"{workers - seeing} of {workers} workers cannot see the files the chief writes "
            f"in {directory}{'' if seen else ' (this one cannot)'}: the output directory "
            "must be on storage every worker mounts at the same path (NFS, a shared disk, "
            "gcsfuse)")
