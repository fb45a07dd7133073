"""Clients for a model served by TF Serving: REST (`/v1/models/NAME[/versions/N]:predict`,
row or columnar format) and gRPC (`PredictionService.Predict`, tensorflow-serving-api).

Both send texts (and pairs) to the `serving_default` signature of a model exported by
`bert-keras export` and return one dict per text: `label`, `label_id`, `probabilities`
and `logits` (multi-label models also `labels`, the labels above the stored threshold).
No bert_keras code runs on the server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

from bert_keras.errors import BertKerasError

DEFAULT_SIGNATURE = "serving_default"
_REST_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?/?$")


class ServingError(BertKerasError):
    """The server could not be reached, or it answered with an error."""


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where a served model is: `http(s)://host:port` (REST) or `grpc://host:port`.

    Examples:
    >>> Endpoint.parse("http://localhost:8501/v1/models/reviews/versions/2")
    Endpoint(protocol='rest', address='http://localhost:8501', model='reviews', version=2)
    >>> Endpoint.parse("grpc://localhost:8500", model="reviews").address
    'localhost:8500'
    """

    protocol: str
    address: str
    model: str
    version: int | None = None

    @classmethod
    def parse(cls, url: str, model: str | None = None, version: int | None = None) -> Endpoint:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https", "grpc") or not parsed.netloc:
            raise ServingError(f"{url}: expected http(s)://HOST:PORT[/v1/models/NAME"
                               "[/versions/N]] or grpc://HOST:PORT")
        path_model, path_version = None, None
        if parsed.path not in ("", "/"):
            match = _REST_PATH.match(parsed.path)
            if not match or parsed.scheme == "grpc":
                raise ServingError(f"{url}: the path must be /v1/models/NAME[/versions/N]")
            path_model, path_version = match["name"], match["version"]
        name = model or path_model
        if not name:
            raise ServingError(f"{url}: no model name; add /v1/models/NAME or pass --model")
        number = version if version is not None else (
            int(path_version) if path_version else None)
        if parsed.scheme == "grpc":
            return cls("grpc", parsed.netloc, name, number)
        return cls("rest", f"{parsed.scheme}://{parsed.netloc}", name, number)

    @property
    def model_path(self) -> str:
        suffix = f"/versions/{self.version}" if self.version is not None else ""
        return f"/v1/models/{self.model}{suffix}"


def _rows(outputs: dict[str, list]) -> list[dict[str, Any]]:
    count = len(next(iter(outputs.values()))) if outputs else 0
    return [_result({key: values[i] for key, values in outputs.items()}) for i in range(count)]


def _result(row: dict[str, Any]) -> dict[str, Any]:
    result = dict(row)
    if "labels" in result:  # multi-label: "" marks labels below the threshold
        result["labels"] = [lab for lab in result["labels"] if lab]
    return result


class RestClient:
    """TF Serving's REST Predict API.

    Args:
        url: `http://HOST:8501[/v1/models/NAME[/versions/N]]`.
        model: the model name (when not in `url`).
        version: a version number (default: the server's latest).
        timeout: seconds per request.

    Examples:

        client = RestClient("http://localhost:8501/v1/models/reviews")
        client.predict(["Works great"])  # [{"label": "positive", "probabilities": [...], ...}]
    """

    def __init__(self, url: str, model: str | None = None, version: int | None = None, *,
                 timeout: float = 30.0):
        self.endpoint = Endpoint.parse(url, model, version)
        if self.endpoint.protocol != "rest":
            raise ServingError(f"{url}: not an http(s) URL; use GrpcClient for grpc://")
        self.timeout = timeout

    @property
    def predict_url(self) -> str:
        return f"{self.endpoint.address}{self.endpoint.model_path}:predict"

    @staticmethod
    def request_body(texts: Sequence[str], pairs: Sequence[str] | None = None, *,
                     signature: str = DEFAULT_SIGNATURE, columnar: bool = False) -> dict:
        """The request JSON: row format (`instances`) or columnar (`inputs`).

        Examples:
        >>> RestClient.request_body(["a", "b"])
        {'signature_name': 'serving_default', 'instances': ['a', 'b']}
        >>> RestClient.request_body(["a"], ["food"], columnar=True)
        {'signature_name': 'serving_default', 'inputs': {'text': ['a'], 'text_pair': ['food']}}
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if pairs is not None:
            pairs = [pairs] if isinstance(pairs, str) else list(pairs)
            if len(pairs) != len(texts):
                raise ServingError(f"{len(texts)} texts but {len(pairs)} pairs")
        body: dict[str, Any] = {"signature_name": signature}
        if columnar:
            body["inputs"] = {"text": texts, **({"text_pair": pairs} if pairs else {})}
        elif pairs is None:
            body["instances"] = texts
        else:
            body["instances"] = [{"text": t, "text_pair": p}
                                 for t, p in zip(texts, pairs, strict=True)]
        return body

    def _call(self, url: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(url, data=data, method="GET" if data is None else "POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            detail = error.read().decode("utf-8", "replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("error", detail)
            raise ServingError(f"{url}: HTTP {error.code}: {detail}") from error
        except (urllib.error.URLError, OSError) as error:
            raise ServingError(f"{url}: {getattr(error, 'reason', error)}") from error

    def status(self) -> list[dict[str, Any]]:
        """The model's version states (`GET /v1/models/NAME[/versions/N]`)."""
        body = self._call(f"{self.endpoint.address}{self.endpoint.model_path}")
        return body.get("model_version_status", [])

    def predict(self, texts: Sequence[str], pairs: Sequence[str] | None = None, *,
                signature: str = DEFAULT_SIGNATURE, columnar: bool = False) -> list[dict]:
        """Classifies `texts` (and `pairs`); one result dict per text."""
        body = self._call(self.predict_url, self.request_body(
            texts, pairs, signature=signature, columnar=columnar))
        if "predictions" in body:
            return [_result(row) for row in body["predictions"]]
        if "outputs" in body:
            return _rows(body["outputs"])
        raise ServingError(f"{self.predict_url}: unexpected answer {str(body)[:300]}")


class GrpcClient:
    """TF Serving's gRPC Predict API (`tensorflow_serving.apis`).

    Args:
        target: `HOST:PORT` or `grpc://HOST:PORT` (TF Serving's gRPC port is 8500).
        model: the model name; version: a version number (default: the latest).
        timeout: seconds per request.

    Examples:

        client = GrpcClient("localhost:8500", "reviews")
        client.predict(["Works great"])
    """

    def __init__(self, target: str, model: str | None = None, version: int | None = None, *,
                 timeout: float = 30.0):
        url = target if "://" in target else f"grpc://{target}"
        self.endpoint = Endpoint.parse(url, model, version)
        if self.endpoint.protocol != "grpc":
            raise ServingError(f"{target}: not a gRPC target; use RestClient for http(s)://")
        self.timeout = timeout
        self._channel = None

    def request(self, texts: Sequence[str], pairs: Sequence[str] | None = None, *,
                signature: str = DEFAULT_SIGNATURE):
        """The `PredictRequest` for `texts` (and `pairs`)."""
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.endpoint.model
        request.model_spec.signature_name = signature
        if self.endpoint.version is not None:
            request.model_spec.version.value = self.endpoint.version
        texts = [texts] if isinstance(texts, str) else list(texts)
        request.inputs["text"].CopyFrom(tf.make_tensor_proto(texts, tf.string))
        if pairs is not None:
            pairs = [pairs] if isinstance(pairs, str) else list(pairs)
            request.inputs["text_pair"].CopyFrom(tf.make_tensor_proto(pairs, tf.string))
        return request

    def predict(self, texts: Sequence[str], pairs: Sequence[str] | None = None, *,
                signature: str = DEFAULT_SIGNATURE) -> list[dict]:
        """Classifies `texts` (and `pairs`); one result dict per text."""
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        if self._channel is None:
            self._channel = grpc.insecure_channel(self.endpoint.address)
        stub = prediction_service_pb2_grpc.PredictionServiceStub(self._channel)
        try:
            response = stub.Predict(self.request(texts, pairs, signature=signature),
                                    timeout=self.timeout)
        except grpc.RpcError as error:
            raise ServingError(f"grpc://{self.endpoint.address}: {error.code().name}: "
                               f"{error.details()}") from error
        outputs = {key: _to_python(tf.make_ndarray(proto))
                   for key, proto in response.outputs.items()}
        return _rows(outputs)

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None


def _to_python(array) -> list:
    if array.dtype.kind in "OS":
        return [_to_python(a) if getattr(a, "ndim", 0) else a.decode("utf-8", "replace")
                for a in array]
    return array.tolist()


def client_for(url: str, model: str | None = None, version: int | None = None, *,
               timeout: float = 30.0) -> RestClient | GrpcClient:
    """A REST client for http(s):// URLs, a gRPC client for grpc:// ones."""
    if url.startswith("grpc://"):
        return GrpcClient(url, model, version, timeout=timeout)
    return RestClient(url, model, version, timeout=timeout)
