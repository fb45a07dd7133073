"""`bert_keras.serving` clients against loopback servers that speak TF Serving's APIs.

The REST server checks each request exactly as TF Serving documents it
(https://www.tensorflow.org/tfx/serving/api_rest: `POST /v1/models/NAME[/versions/N]:predict`
with `{"signature_name", "instances"}` or `{"signature_name", "inputs"}`), the gRPC server
implements `PredictionService.Predict`; both answer with the signatures of a real
`ServingModule`, so the answers are compared with `Classifier.predict`.
"""

from __future__ import annotations

import http.server
import json
import threading
from concurrent import futures

import grpc
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from bert_keras.cli import main
from bert_keras.export.serving_module import ServingModule
from bert_keras.models.classifier import Classifier
from bert_keras.serving import Endpoint, GrpcClient, RestClient, ServingError, client_for

LABELS = ["negative", "neutral", "positive"]
TEXTS = ["great good drug", "terrible bad pain", ""]
PAIRS = ["food", "price", "service"]
MAX_BODY = 1 << 20


@pytest.fixture(scope="module")
def models(tiny_handle) -> dict:
    """name -> (Classifier, serving_default, input names): an untrained single and pair model."""
    built = {}
    for name, pair in (("single", False), ("pair", True)):
        model = Classifier(str(tiny_handle), LABELS, seq_length=32, pair=pair)
        signature = ServingModule(model).signatures()["serving_default"]
        built[name] = (model, signature, ["text", "text_pair"] if pair else ["text"])
    return built


def _expected(models, name: str) -> np.ndarray:
    model = models[name][0]
    pairs = PAIRS if name == "pair" else None
    return model.probabilities(model.predict(TEXTS, pairs=pairs, verbose=0))


def _check_results(results: list[dict], expected: np.ndarray) -> None:
    assert len(results) == len(expected)
    for result, probabilities in zip(results, expected, strict=True):
        assert set(result) == {"probabilities", "label_id", "label", "logits"}
        np.testing.assert_allclose(result["probabilities"], probabilities, atol=1e-5)
        assert result["label_id"] == int(np.argmax(probabilities))
        assert result["label"] == LABELS[result["label_id"]]


class _FakeServing(http.server.BaseHTTPRequestHandler):
    """TF Serving's REST API for the module's models, strict about the request format."""

    models: dict = {}
    seen: list = []

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self) -> tuple[str, str | None, str]:
        path, _, verb = self.path.partition(":")
        parts = path.strip("/").split("/")
        if parts[:2] != ["v1", "models"] or len(parts) not in (3, 5):
            raise ValueError(f"bad path {self.path}")
        if len(parts) == 5 and (parts[3] != "versions" or not parts[4].isdigit()):
            raise ValueError(f"bad version path {self.path}")
        return parts[2], parts[4] if len(parts) == 5 else None, verb

    def do_GET(self) -> None:  # noqa: N802  (http.server's naming)
        name, version, verb = self._route()
        if verb or name not in self.models:
            return self._answer(404, {"error": f"Servable not found for request: {name}"})
        self._answer(200, {"model_version_status": [
            {"version": version or "1", "state": "AVAILABLE",
             "status": {"error_code": "OK", "error_message": ""}}]})

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        assert 0 < length <= MAX_BODY
        body = json.loads(self.rfile.read(length).decode("utf-8"))
        name, version, verb = self._route()
        self.seen.append({"name": name, "version": version, "verb": verb, "body": body,
                          "content_type": self.headers.get("Content-Type")})
        if name not in self.models:
            return self._answer(404, {"error": f"Servable not found for request: {name}"})
        try:
            inputs, columnar = self._inputs(body, self.models[name][2])
        except ValueError as error:
            return self._answer(400, {"error": str(error)})
        outputs = {k: v.numpy() for k, v in self.models[name][1](**inputs).items()}
        outputs = {k: ([s.decode() for s in v] if v.dtype.kind in "OS" else v.tolist())
                   for k, v in outputs.items()}
        if columnar:
            return self._answer(200, {"outputs": outputs})
        rows = [{k: v[i] for k, v in outputs.items()} for i in range(len(outputs["label"]))]
        self._answer(200, {"predictions": rows})

    @staticmethod
    def _inputs(body: dict, names: list[str]) -> tuple[dict, bool]:
        """The request as TF Serving parses it (and rejects what TF Serving would reject)."""
        if set(body) - {"signature_name", "instances", "inputs"}:
            raise ValueError(f"unknown keys {sorted(body)}")
        if ("instances" in body) == ("inputs" in body):
            raise ValueError("exactly one of 'instances' (row) or 'inputs' (columnar)")
        if body.get("signature_name", "serving_default") != "serving_default":
            raise ValueError(f"no signature {body['signature_name']!r}")
        if "instances" in body:
            rows = body["instances"]
            if len(names) == 1 and all(isinstance(r, str) for r in rows):
                return {names[0]: tf.constant(rows)}, False
            if not all(isinstance(r, dict) and sorted(r) == sorted(names) for r in rows):
                raise ValueError(f"instances must be objects with keys {names}")
            return {n: tf.constant([r[n] for r in rows]) for n in names}, False
        columns = body["inputs"]
        if len(names) == 1 and isinstance(columns, list):
            return {names[0]: tf.constant(columns)}, True
        if not isinstance(columns, dict) or sorted(columns) != sorted(names):
            raise ValueError(f"inputs must name {names}")
        if len({len(v) for v in columns.values()}) != 1:
            raise ValueError("inputs of different batch sizes")
        return {n: tf.constant(columns[n]) for n in names}, True


@pytest.fixture(scope="module")
def rest_url(models):
    handler = type("Handler", (_FakeServing,), {"models": models, "seen": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.timeout = 10
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.mark.parametrize("name, columnar", [("single", False), ("single", True),
                                            ("pair", False), ("pair", True)])
def test_rest_predict_row_and_columnar(models, rest_url, name, columnar):
    url, seen = rest_url
    client = RestClient(f"{url}/v1/models/{name}", timeout=30)
    pairs = PAIRS if name == "pair" else None
    results = client.predict(TEXTS, pairs, columnar=columnar)
    _check_results(results, _expected(models, name))
    request = seen[-1]
    assert request["verb"] == "predict" and request["version"] is None
    assert request["content_type"] == "application/json"
    key = "inputs" if columnar else "instances"
    if name == "single":
        values = {"text": TEXTS} if columnar else TEXTS
    elif columnar:
        values = {"text": TEXTS, "text_pair": PAIRS}
    else:
        values = [{"text": t, "text_pair": p} for t, p in zip(TEXTS, PAIRS, strict=True)]
    assert request["body"] == {"signature_name": "serving_default", key: values}


def test_rest_version_path_status_and_errors(rest_url):
    url, seen = rest_url
    client = RestClient(url, model="single", version=2)
    assert client.predict_url == f"{url}/v1/models/single/versions/2:predict"
    client.predict(["works"])
    assert seen[-1]["name"] == "single" and seen[-1]["version"] == "2"
    assert client.status()[0]["state"] == "AVAILABLE"
    with pytest.raises(ServingError, match="HTTP 404: Servable not found"):
        RestClient(f"{url}/v1/models/missing").predict(["x"])
    with pytest.raises(ServingError, match="HTTP 400: instances must be objects"):
        RestClient(f"{url}/v1/models/pair").predict(["x"])  # a pair model without pairs
    with pytest.raises(ServingError, match="2 texts but 1 pairs"):
        RestClient(f"{url}/v1/models/pair").predict(["x", "y"], ["z"])


def test_unreachable_server_is_a_clear_error():
    import socket

    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ServingError, match=f"127.0.0.1:{port}"):
        RestClient(f"http://127.0.0.1:{port}/v1/models/x", timeout=5).predict(["x"])


def test_endpoint_parsing():
    assert Endpoint.parse("https://h:1/v1/models/m").address == "https://h:1"
    assert Endpoint.parse("http://h:1/v1/models/m", version=3).model_path == \
        "/v1/models/m/versions/3"
    assert isinstance(client_for("grpc://h:8500", "m"), GrpcClient)
    for bad in ("h:8501/v1/models/m", "http://h:1/v2/m", "http://h:1", "ftp://h/v1/models/m"):
        with pytest.raises(ServingError):
            Endpoint.parse(bad)


class _Prediction(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, models: dict):
        self.models, self.seen = models, []

    def Predict(self, request, context):  # noqa: N802  (the generated service's name)
        self.seen.append(request)
        if request.model_spec.name not in self.models:
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"Servable not found for request: {request.model_spec.name}")
        _, signature, names = self.models[request.model_spec.name]
        if request.model_spec.signature_name not in ("", "serving_default"):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "unknown signature")
        if sorted(request.inputs) != sorted(names):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"inputs must be {names}")
        inputs = {}
        for key, proto in request.inputs.items():
            if proto.dtype != tf.string.as_datatype_enum or len(proto.tensor_shape.dim) != 1:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{key}: want DT_STRING [n]")
            inputs[key] = tf.constant(tf.make_ndarray(proto))
        response = predict_pb2.PredictResponse()
        response.model_spec.CopyFrom(request.model_spec)
        for key, value in signature(**inputs).items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
        return response


@pytest.fixture(scope="module")
def grpc_target(models):
    servicer = _Prediction(models)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(grace=None).wait(timeout=10)


@pytest.mark.parametrize("name", ["single", "pair"])
def test_grpc_predict(models, grpc_target, name):
    target, servicer = grpc_target
    client = GrpcClient(target, name, version=1, timeout=30)
    try:
        results = client.predict(TEXTS, PAIRS if name == "pair" else None)
    finally:
        client.close()
    _check_results(results, _expected(models, name))
    request = servicer.seen[-1]
    assert request.model_spec.name == name and request.model_spec.version.value == 1
    assert request.model_spec.signature_name == "serving_default"
    assert [s.decode() for s in tf.make_ndarray(request.inputs["text"])] == TEXTS


def test_grpc_errors(grpc_target):
    target, _ = grpc_target
    with pytest.raises(ServingError, match="NOT_FOUND: Servable not found"):
        GrpcClient(f"grpc://{target}", "missing", timeout=30).predict(["x"])


def test_serve_check_prints_the_answer(models, rest_url, grpc_target, capsys):
    url, _ = rest_url
    assert main(["serve-check", f"{url}/v1/models/pair", "--text", TEXTS[0],
                 "--text-pair", PAIRS[0], "--columnar"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "model pair version 1: AVAILABLE"
    row = json.loads(lines[1])
    assert row["text"] == TEXTS[0] and row["text_pair"] == PAIRS[0]
    np.testing.assert_allclose(row["probabilities"], _expected(models, "pair")[0], atol=1e-5)
    target, _ = grpc_target
    assert main(["serve-check", f"grpc://{target}", "--model", "single", "--text", "x"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["text"] == "x" and row["label"] in LABELS
    assert main(["serve-check", f"{url}/v1/models/missing"]) == 2
    assert "bert-keras serve-check: error:" in capsys.readouterr().err
