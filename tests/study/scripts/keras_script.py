"""A Keras (TensorFlow) script: seeds from Seeds.from_env(), writes its own {out}/metrics.jsonl."""

import json
import os
import sys

import seedwise as sw

seeds = sw.Seeds.from_env()
import keras

out = sys.argv[1]
data = sw.Seeds(0)["data"].numpy()
x = data.standard_normal((128, 6)).astype("float32")
y = (x[:, 0] > 0).astype("int64")
init_seed = int(seeds["init"]) % 2**31
keras.utils.set_random_seed(int(seeds["data_order"]) % 2**31)  # shuffling and dropout draw from it
model = keras.Sequential(
    [
        keras.Input((6,)),
        keras.layers.Dense(8, activation="relu", kernel_initializer=keras.initializers.GlorotUniform(seed=init_seed)),
        keras.layers.Dense(2, kernel_initializer=keras.initializers.GlorotUniform(seed=init_seed + 1)),
    ]
)
model.compile(
    optimizer=keras.optimizers.SGD(0.1),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(x, y, epochs=2, batch_size=32, shuffle=True, verbose=0)
with open(os.path.join(out, "metrics.jsonl"), "a") as f:
    for epoch, loss in enumerate(history.history["loss"]):
        f.write(json.dumps({"epoch": epoch, "loss": loss}) + "\n")
    loss, accuracy = model.evaluate(x, y, verbose=0)
    f.write(json.dumps({"loss": float(loss), "accuracy": float(accuracy)}) + "\n")
