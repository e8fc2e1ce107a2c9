"""Loading release files with the ``datasets`` library, in a subprocess.

``HF_DATASETS_OFFLINE=1`` and a private ``HF_HOME``: the tests neither touch the network nor
the user's cache, and do not depend on whether another test imported ``datasets`` first
(it reads its settings at import).

The loader ends with ``os._exit`` once its answer is printed and flushed. Arrow's scanner
threads (``datasets`` reads Parquet and JSON through pyarrow) can still be winding down
when the interpreter finalizes; they then find Arrow's C++ state destroyed and abort the
process with "terminate called without an active exception" (exit 134), after all the work
is done: a known pyarrow shutdown race (apache/arrow#34314, huggingface/datasets#7566). A CI
run failed that way once, with that line as the whole of stderr. Skipping finalization
leaves no teardown to race; the answer is already on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

_LOADER = textwrap.dedent("""
    import json, os, sys
    import datasets
    from huggingface_hub import DatasetCard

    out = {}
    for kind, path, *label in json.loads(sys.argv[1]):
        if kind == "dir" or kind.startswith("dir:"):
            ds = datasets.load_dataset(path, kind.partition(":")[2] or None)["train"]
        else:
            ds = datasets.load_dataset(kind, data_files=path)["train"]
        out[label[0] if label else kind] = {"rows": ds.num_rows, "features": ds.features.to_dict(), "first": ds[0],
                                            "last": ds[-1]}
        if kind == "dir":
            card = DatasetCard.load(path + "/README.md")
            declared = datasets.Features._from_yaml_list(card.data.to_dict()["dataset_info"]["features"])
            out["card"] = {"license": card.data.license, "language": card.data.language,
                           "declared_equals_loaded": declared == ds.features,
                           "num_examples": card.data.to_dict()["dataset_info"]["splits"][0]["num_examples"]}
    print(json.dumps(out, default=str), flush=True)
    sys.stderr.flush()
    os._exit(0)
""")


def load_with_datasets(tmp_path: Path, requests: list[tuple[str, ...]]) -> dict:
    """Load ``(kind, path)`` pairs (kind: "parquet", "json", "dir" for a release directory
    through its card, "dir:<config>" for one of the card's other configs) and return rows,
    features, first/last row under the kind (or under a third item, a label, when given), and
    for "dir" the card's metadata and whether its declared features are the loaded ones."""
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    done = subprocess.run([sys.executable, "-c", _LOADER, json.dumps(requests)], capture_output=True, text=True,
                          env=env, timeout=300, check=False)
    assert done.returncode == 0, f"exit {done.returncode}\nstderr: {done.stderr[-3000:]}\nstdout: {done.stdout[-500:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])
