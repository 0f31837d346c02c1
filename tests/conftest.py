import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")


def pytest_configure(config):
    # zoo.load caches pulled presets under ZOO_HOME: keep tests out of the user's ~/.cache/zoo.
    import tempfile

    os.environ.setdefault("ZOO_HOME", tempfile.mkdtemp(prefix="zoo-home-"))
