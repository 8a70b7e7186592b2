"""Checks on uploaded receipts and evidence: type sniffed from bytes, size, count and pixel limits."""

from __future__ import annotations

import io
from dataclasses import dataclass

import filetype
from PIL import Image

from member_api.core.errors import ApiError, FieldError
from member_api.settings import Settings

ALLOWED = {"image/jpeg", "image/png", "application/pdf"}


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    content_type: str
    filename: str


def _refuse(code: str, zh: str, en: str, field: str) -> ApiError:
    return ApiError(code, 422, zh, en, errors=[FieldError(field=field, message=en)])


def check_files(settings: Settings, files: list[tuple[str, bytes]], field: str) -> list[CheckedFile]:
    """Validate every file before anything is stored: one bad file refuses the whole upload."""
    if not files:
        raise _refuse("file_required", "请上传至少一个文件", "At least one file is required.", field)
    if len(files) > settings.max_upload_files:
        raise _refuse(
            "too_many_files",
            f"最多上传 {settings.max_upload_files} 个文件",
            f"At most {settings.max_upload_files} files.",
            field,
        )
    checked = []
    for index, (name, data) in enumerate(files):
        where = f"{field}[{index}]"
        if not data:
            raise _refuse("file_empty", "文件为空", "The file is empty.", where)
        if len(data) > settings.max_upload_bytes:
            raise _refuse(
                "file_too_large", "文件过大", f"Files may be at most {settings.max_upload_bytes} bytes.", where
            )
        kind = filetype.guess_mime(data)
        if kind not in ALLOWED:
            raise _refuse(
                "file_type_not_allowed",
                "只支持 JPEG、PNG 图片或 PDF 文件",
                "Only JPEG, PNG or PDF files are accepted.",
                where,
            )
        if kind.startswith("image/"):
            _check_image(settings, data, where)
        checked.append(CheckedFile(data=data, content_type=kind, filename=name[:200]))
    return checked


def _check_image(settings: Settings, data: bytes, where: str) -> None:
    try:
        with Image.open(io.BytesIO(data)) as img:
            width, height = img.size
            if width * height > settings.max_image_pixels:
                raise _refuse("image_too_large", "图片分辨率过高", "The image has too many pixels.", where)
            img.verify()
    except ApiError:
        raise
    except Exception as exc:
        raise _refuse("file_corrupt", "文件已损坏，无法读取", "The image cannot be read.", where) from exc
