"""Docker's JSON shapes for image list and inspect."""

from __future__ import annotations

from supervisor.api.image_views import image_inspect, image_summary
from supervisor.images.model import Image, ImageConfig

IMG = Image(
    id="sha256:" + "ab" * 32,
    repo_tags=("busybox:latest",),
    created=1_700_000_000,
    size=1234,
    config=ImageConfig(cmd=("sh",), env=("PATH=/bin",), labels={"a": "b"}, volumes=("/data",)),
    layers=("sha256:" + "cd" * 32,),
    comment="imported",
)


def test_summary_types() -> None:
    """Created and Size are ints, RepoTags a list, SharedSize -1 (not computed)."""
    s = image_summary(IMG, 2)
    assert s == {
        "Id": IMG.id,
        "ParentId": "",
        "RepoTags": ["busybox:latest"],
        "RepoDigests": [],
        "Created": 1_700_000_000,
        "Size": 1234,
        "SharedSize": -1,
        "VirtualSize": 1234,
        "Labels": {"a": "b"},
        "Containers": 2,
    }


def test_summary_of_untagged_unlabelled_image() -> None:
    """No tags is an empty list (not null); no labels is null, as moby prints."""
    s = image_summary(Image(id="sha256:" + "0" * 64), 0)
    assert s["RepoTags"] == [] and s["Labels"] is None and s["Containers"] == 0


def test_inspect_fields_clients_index() -> None:
    """Id, Config, ContainerConfig.Volumes (compose), RFC3339 Created, RootFS layers."""
    doc = image_inspect(IMG)
    assert doc["Id"] == IMG.id
    assert doc["Created"] == "2023-11-14T22:13:20Z"
    assert doc["ContainerConfig"]["Volumes"] is None
    assert doc["Config"]["Cmd"] == ["sh"]
    assert doc["Config"]["Volumes"] == {"/data": {}}
    assert doc["Config"]["Labels"] == {"a": "b"}
    assert doc["Config"]["Entrypoint"] is None
    assert doc["Config"]["Healthcheck"] is None
    assert doc["Config"]["Hostname"] == "" and doc["Config"]["AttachStdin"] is False
    assert doc["RootFS"] == {"Type": "layers", "Layers": list(IMG.layers)}
    assert doc["GraphDriver"] == {"Name": "overlay2", "Data": {}}
    assert doc["Os"] == "linux" and isinstance(doc["Architecture"], str) and doc["Architecture"]
    assert doc["Comment"] == "imported" and doc["Size"] == 1234
    assert doc["Metadata"] == {}


def test_inspect_passes_graph_data_and_tag_time() -> None:
    """Optional GraphDriver data and LastTagTime are filled when given."""
    doc = image_inspect(IMG, graph_data={"LowerDir": "/x"}, last_tag_time="2024-01-01T00:00:00Z")
    assert doc["GraphDriver"]["Data"] == {"LowerDir": "/x"}
    assert doc["Metadata"] == {"LastTagTime": "2024-01-01T00:00:00Z"}
