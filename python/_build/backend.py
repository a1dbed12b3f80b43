"""A PEP 517 build backend with no dependencies, so that `pip install ./python`
works offline (pip's build isolation would otherwise fetch setuptools).

It builds a pure-Python wheel of the `adamas` package. The native library of
the runtime goes into the wheel too (`adamas/lib/libadamas_runtime.so`) when
one is found: $ADAMAS_LIB_DIR, else the checkout's build/lib.
"""

import base64
import hashlib
import os
import zipfile

NAME = "adamas"
VERSION = "0.2.0"
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)              # python/
CHECKOUT = os.path.dirname(SOURCE)
TAG = "py3-none-any"
METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: Hadamard sparse attention for long-context decoding: compiler driver, runtime binding, reference
Requires-Python: >=3.9
Requires-Dist: numpy
"""
WHEEL = f"""Wheel-Version: 1.0
Generator: adamas-backend
Root-Is-Purelib: true
Tag: {TAG}
"""


def _files():
    """(path in the wheel, path on disk) of the package and the native
    library."""
    package = os.path.join(SOURCE, NAME)
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".pyc"):
                continue
            path = os.path.join(dirpath, name)
            yield os.path.relpath(path, SOURCE), path
    lib_dir = os.environ.get("ADAMAS_LIB_DIR") or os.path.join(CHECKOUT, "build", "lib")
    library = os.path.join(lib_dir, "libadamas_runtime.so")
    if os.path.exists(library):
        yield f"{NAME}/lib/libadamas_runtime.so", library


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{name},sha256={digest.decode()},{len(data)}"


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    dist_info = f"{NAME}-{VERSION}.dist-info"
    filename = f"{NAME}-{VERSION}-{TAG}.whl"
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as wheel:
        def add(name, data):
            wheel.writestr(name, data)
            records.append(_record_line(name, data))
        for name, path in _files():
            with open(path, "rb") as fh:
                add(name, fh.read())
        add(f"{dist_info}/METADATA", METADATA.encode())
        add(f"{dist_info}/WHEEL", WHEEL.encode())
        records.append(f"{dist_info}/RECORD,,")
        wheel.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = os.path.join(metadata_directory, f"{NAME}-{VERSION}.dist-info")
    os.makedirs(dist_info, exist_ok=True)
    with open(os.path.join(dist_info, "METADATA"), "w") as fh:
        fh.write(METADATA)
    with open(os.path.join(dist_info, "WHEEL"), "w") as fh:
        fh.write(WHEEL)
    return os.path.basename(dist_info)


# Editable installs and sdists are not offered: pip install ./python builds
# the wheel above.
