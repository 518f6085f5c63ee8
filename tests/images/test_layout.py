"""Listing a folder per class and reading a manifest: order, classes, and the refusals."""

import pytest

from almlit.data.images.layout import class_ids, list_class_folders, read_image_manifest
from tests.helpers.image_folders import write_digit_folder, write_manifest


def test_folder_lists_classes_sorted_and_files_by_relative_path(tmp_path):
    written = write_digit_folder(tmp_path / "root", {"ones": 3, "eights": 4}, {"ones": 1, "eights": 8})
    nested = tmp_path / "root" / "ones" / "patient7" / "a.PNG"
    nested.parent.mkdir()
    nested.write_bytes(written[-1].read_bytes())
    (tmp_path / "root" / "ones" / "notes.txt").write_text("not an image")
    (tmp_path / "root" / ".cache").mkdir()
    records = list_class_folders(tmp_path / "root")
    expected = [path for path in written if path.parent.name == "eights"]
    expected += sorted([path for path in written if path.parent.name == "ones"] + [nested], key=lambda p: p.as_posix())
    assert [record.path for record in records] == expected
    assert [record.class_name for record in records] == ["eights"] * 4 + ["ones"] * 4
    assert records[-1].path == nested  # "ones/patient7/a.PNG" sorts after "ones/0xxx.png"


def test_an_empty_class_folder_is_named(tmp_path):
    write_digit_folder(tmp_path / "root", {"ones": 3, "eights": 4}, {"ones": 1, "eights": 8})
    (tmp_path / "root" / "sevens").mkdir()
    with pytest.raises(ValueError, match=r"class folder .*sevens holds no image \(.png, .jpg, .jpeg, .webp\)"):
        list_class_folders(tmp_path / "root")


def test_a_root_with_one_class_or_missing_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="data.root is not a folder"):
        list_class_folders(tmp_path / "nowhere")
    write_digit_folder(tmp_path / "root", {"ones": 3}, {"ones": 1})
    with pytest.raises(ValueError, match=r"at least two\), found \['ones'\]"):
        list_class_folders(tmp_path / "root")


def test_manifest_rows_keep_their_order_split_and_group(tmp_path):
    files = write_digit_folder(tmp_path / "data", {"a": 2, "b": 2}, {"a": 1, "b": 2})
    rows = [
        {"path": f"{path.parent.name}/{path.name}", "label": label, "split": split, "patient": patient}
        for path, label, split, patient in zip(
            reversed(files),
            ["b", "b", "a", "a"],
            ["Train", "test", "validation", "train"],
            ["p1", "p2", "p1", "p3"],
            strict=True,
        )
    ]
    records = read_image_manifest(write_manifest(tmp_path / "data" / "labels.csv", rows), "patient")
    assert [record.path for record in records] == list(reversed(files))
    assert [record.split for record in records] == ["train", "test", "validation", "train"]
    assert [record.group for record in records] == ["p1", "p2", "p1", "p3"]


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("../outside.png", r"line 3: path ../outside.png leads outside the manifest's folder"),
        ("a/../../outside.png", r"line 3: path a/../../outside.png leads outside"),
        ("a/missing.png", r"line 3: image not found: .*a/missing.png"),
        ("", "line 3 has an empty path"),
    ],
)
def test_manifest_paths_must_exist_inside_its_folder(tmp_path, cell, message):
    files = write_digit_folder(tmp_path / "data", {"a": 2}, {"a": 1})
    (tmp_path / "outside.png").write_bytes(files[0].read_bytes())
    rows = [{"path": "a/" + files[0].name, "label": "a"}, {"path": cell, "label": "a"}]
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        read_image_manifest(write_manifest(tmp_path / "data" / "labels.csv", rows))


def test_manifest_columns_and_splits_are_checked(tmp_path):
    files = write_digit_folder(tmp_path / "data", {"a": 1}, {"a": 1})
    manifest = write_manifest(tmp_path / "data" / "m.csv", [{"path": "a/" + files[0].name, "label": "a"}])
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['patient'\]; it has \['path', 'label'\]"):
        read_image_manifest(manifest, "patient")
    write_manifest(manifest, [{"path": "a/" + files[0].name, "label": "a", "split": "dev"}])
    with pytest.raises(ValueError, match=r"split must be one of \['train', 'validation', 'test'\], got 'dev'"):
        read_image_manifest(manifest)


def test_class_names_become_ids_or_are_refused():
    classes = ["normal", "pneumonia", "viral"]
    assert class_ids("positive_classes", ["viral", "normal"], classes) == (2, 0)
    with pytest.raises(ValueError, match=r"names unknown class\(es\) \['covid'\]; the classes are \['normal', "):
        class_ids("positive_classes", ["covid"], classes)
    with pytest.raises(ValueError, match="must not repeat a class"):
        class_ids("critical_classes", ["viral", "viral"], classes)
    assert class_ids("positive_classes", [8], ["3", "8"]) == (1,)  # a number names the folder of that name
