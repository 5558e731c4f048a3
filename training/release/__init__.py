"""Release tools for maintainers: turning trained runs and third-party weights into shipped files.

- ``python -m training.release.embed``: embed a trained checkpoint in the package as an offline default.
- ``python -m training.release.vgg_convert``: convert VGG16 convolutions from ONNX to the bundled
  ``training/assets/vgg16_relu3_3.safetensors``.

They import the training core; the core never imports them (``tests/training/test_package_shape.py``).
"""
