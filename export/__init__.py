"""Export: SavedModel for TF Serving, TFLite for phones and devices, streaming variants, parity gates.

`export.to_saved_model(task, base_dir)` and `export.to_tflite(task, precision="int8", ...)` are the
short names DESIGN.md uses; the modules import TensorFlow only when called.
"""


def to_saved_model(task, base_dir, **kwargs):
    from export.saved_model import export_saved_model

    return export_saved_model(task, base_dir, **kwargs)


def to_tflite(task, precision="float32", **kwargs):
    from export.tflite import convert

    return convert(task, precision=precision, **kwargs)
