"""`switch_layers`: swaps the class of matching layers inside a built network, in place.

The native encoder keeps the layers `networks.BertEncoder` builds (names, weights, configs)
and only changes how some of them compute: a subclass that overrides `call` (or a method it
calls) replaces the class of each matching instance, so checkpoints load either way.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf


def switch_layers(network: tf.Module, plain: type, replacement: type,
                  accept: Callable[[tf.Module], bool] = lambda layer: True) -> int:
    """Gives every layer of exactly class `plain` inside `network` the class `replacement`.

    Args:
        network: a built Keras layer or model.
        plain: the class to replace (subclasses of it are left alone).
        replacement: a subclass of `plain` that keeps its weights and config.
        accept: which of those layers to switch.

    Returns:
        How many layers were switched.

    Examples:
    >>> import tf_keras as keras
    >>> class Quiet(keras.layers.Dropout):
    ...     pass
    >>> model = keras.Sequential([keras.layers.Dropout(0.1), keras.layers.Dense(2)])
    >>> switch_layers(model, keras.layers.Dropout, Quiet)
    1
    >>> switch_layers(model, keras.layers.Dropout, Quiet)
    0
    """
    switched = 0
    for layer in network.submodules:
        if type(layer) is plain and accept(layer):
            layer.__class__ = replacement
            switched += 1
    return switched
