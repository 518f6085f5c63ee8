"""A user's own 2D images: a folder per class or a CSV manifest -> decoded, cached uint8 tensors -> ImageFolderData."""

from almlit.data.images.datamodule import ImageFolderData
from almlit.data.images.decode import DecodeSettings, load_images
from almlit.data.images.layout import ImageRecord, list_class_folders, read_image_manifest

__all__ = [
    "DecodeSettings",
    "ImageFolderData",
    "ImageRecord",
    "list_class_folders",
    "load_images",
    "read_image_manifest",
]
