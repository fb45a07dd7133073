"""Install definition for bert_keras (the one place that lists requirements)."""

import os
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
ABOUT: dict = {}
exec((HERE / "bert_keras" / "version.py").read_text(), ABOUT)

# The pinned TF 2.20 stack: tf-models-official 2.20.0 requires tensorflow~=2.20.0 and
# tensorflow-text~=2.20.0; tensorflow-hub 0.16.1 imports pkg_resources, which setuptools
# 81 and newer no longer ship.
INSTALL_REQUIRES = [
    "tensorflow~=2.20.0",
    "tensorflow-text~=2.20.0",
    "tf-models-official==2.20.0",
    "tf-keras~=2.20.0",
    "tensorflow-hub==0.16.1",
    # warm-up records (PredictionLog) and the gRPC client; the 2.20 line matches TF 2.20
    "tensorflow-serving-api~=2.20.0",
    "setuptools<81",
    "tensorboard",
    "numpy",
    "pandas",
    "pyyaml",
    "tqdm",
    "scikit-learn",
    "matplotlib",
    "safetensors",
    # Parquet output of `bert-keras embed` (already pulled in by tensorflow-datasets; listed
    # because bert_keras imports it itself)
    "pyarrow",
]

# A board (phone, Raspberry Pi class) runs only bert_keras.lite. Extras can only add to the
# base requirements, so the board's set is chosen at install time instead:
#     BERT_KERAS_LITE_ONLY=1 pip install .
LITE_REQUIRES = ["numpy", "ai-edge-litert"]
LITE_ONLY = os.environ.get("BERT_KERAS_LITE_ONLY", "").strip() not in ("", "0")

EXTRAS_REQUIRE = {
    "dev": [
        "pytest",
        "pytest-timeout",
        # the suite runs on every core (pytest.ini: -n auto, one worker per test file)
        "pytest-xdist",
        "filelock",  # session fixtures built once for all workers (tests/conftest.py)
        "ruff",
        "transformers",
        # The exact CPU build that lies on the build machines' disk: an unpinned torch
        # pulls several GB of CUDA wheels.
        "torch==2.13.0",
        "safetensors",
        # reference for the sentence-vector parity test (tests/test_embed_parity.py)
        "sentence-transformers",
        # LiteRT for bert_keras.lite (tests/test_lite_classifier.py, notebooks/03_tflite)
        "ai-edge-litert",
        # executing the notebooks in notebooks/ (tests/test_notebooks.py)
        "nbclient",
        "nbformat",
        "ipykernel",
    ],
    "lite": ["ai-edge-litert"],
}
if LITE_ONLY:
    INSTALL_REQUIRES = LITE_REQUIRES
    EXTRAS_REQUIRE = {}

setup(
    name="bert_keras",
    version=ABOUT["__version__"],
    description="Fine-tune TF-Hub BERT encoders for text classification with Keras; "
    "export to TF Serving and TFLite.",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["bert_keras", "bert_keras.*"]),
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["bert-keras=bert_keras.cli:run"]},
)
