"""Record what kubectl sends as protobuf, as fixtures for test_protobody.py.

    python tests/unit/protobuf_bodies/capture.py KUBECTL KUBECONFIG NAME -- ARGS...

runs ``KUBECTL --kubeconfig KUBECONFIG ARGS -v=9`` against a cox cluster and
writes NAME.json beside this file: the command, the first protobuf request
body (kubectl prints it as a hex dump at -v=9) and, unless ``--no-expect``,
the object ``ARGS --dry-run=client -o json`` prints: what the body must
decode to (edit it by hand where kubectl cannot print it, e.g. an eviction).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HEX_LINE = re.compile(r"^\s*[0-9a-f]{8}  ((?:[0-9a-f]{2} {1,2}){1,16})")


def request_bodies(log: str) -> list[bytes]:
    """Every request body of a -v=9 log that was sent as protobuf."""
    out, current = [], None
    for line in log.splitlines():
        if '"Request Body" body=<' in line:
            current = bytearray()
        elif current is not None and (m := HEX_LINE.match(line)):
            current += bytes.fromhex(m.group(1).replace(" ", ""))
        elif current is not None:
            if current.startswith(b"k8s\x00"):
                out.append(bytes(current))
            current = None
    return out


def main(argv: list[str]) -> None:
    kubectl, kubeconfig, name = argv[:3]
    expect = "--no-expect" not in argv
    args = argv[argv.index("--") + 1:]
    run = [kubectl, "--kubeconfig", kubeconfig]  # flags go first: ARGS may end in -- COMMAND
    log = subprocess.run([*run, "-v=9", *args], capture_output=True, text=True,
                         check=False).stderr
    bodies = request_bodies(log)
    assert bodies, log[-2000:]
    fixture = {"kubectl": Path(kubectl).name, "args": args, "body": bodies[0].hex()}
    if expect:
        printed = subprocess.run([*run, "--dry-run=client", "-o", "json", *args],
                                 capture_output=True, text=True, check=True).stdout
        fixture["json"] = json.loads(printed)
    path = Path(__file__).with_name(f"{name}.json")
    path.write_text(json.dumps(fixture, indent=1) + "\n")
    print(path, len(bodies[0]), "bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
