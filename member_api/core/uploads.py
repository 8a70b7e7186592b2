"""Checks on uploaded receipts and evidence, and how stored files are served back.

Every file is checked whole before anything is stored; one bad file refuses the upload.

- Type is sniffed from the bytes (``filetype``): JPEG, PNG or PDF, whatever the name or declared type says.
- Nothing that looks like markup (``<html``, ``<script`` ...) in the first KiB, where browsers sniff: the
  ``%PDF``+HTML and image+HTML polyglots (``file_corrupt``).
- Images (Pillow) are decoded in full, every frame, within the pixel budget ``max_image_pixels`` (summed over
  frames, checked from the header before decoding: ``image_too_large``). A file that does not decode, is
  truncated, or carries bytes after its end marker (PNG ``IEND`` chunk, JPEG ``EOI``) is ``file_corrupt``.
- PDFs (pikepdf, i.e. qpdf) must parse without repair, end at ``%%EOF``, open without a password
  (``pdf_encrypted``) and hold no active content anywhere in the object graph: JavaScript, open or
  additional actions, launch, embedded files, rich media, XFA forms, form submission (``pdf_active_content``).
  qpdf resolves name escapes (``/J#61vaScript``) and object streams, which a byte pattern would miss.
- PDFs cost no more to show than an image of the budget: at most ``PDF_MAX_PAGES`` pages (``pdf_too_many_pages``),
  each page at the reviewer's render scale (``PDF_RENDER_SCALE``) and every embedded image within
  ``max_image_pixels`` (``pdf_page_too_large``), and all streams together decompress to at most
  ``PDF_MAX_DECODED_BYTES`` (``pdf_too_complex``: a small file whose drawing expands to megabytes).
- File names are kept only as a label: control characters refused, path and odd characters removed, and the
  extension made to match the sniffed type.

Served files (``file_response``) are always downloads: ``Content-Disposition: attachment``, ``nosniff`` and a
``sandbox`` CSP, so a browser never renders one as a page of this origin.
"""

from __future__ import annotations

import asyncio
import io
import re
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import filetype
import pikepdf
from litestar import Response
from litestar.datastructures import UploadFile
from PIL import Image, ImageSequence

from member_api.core.errors import DomainError, FieldError
from member_api.settings import Settings

ALLOWED = {"image/jpeg", "image/png", "application/pdf"}
EXTENSIONS = {"image/jpeg": ("jpg", "jpeg"), "image/png": ("png",), "application/pdf": ("pdf",)}
PILLOW_FORMATS = {"image/jpeg": ["JPEG", "MPO"], "image/png": ["PNG"]}
SNIFF_WINDOW = 1024
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|head|body|script|iframe|svg|object|embed|meta|style)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_NAME = re.compile(r'[<>:"/\\|?*;%\s]+')
MAX_NAME = 100
# Dictionary keys and name values that make a PDF do something when opened or clicked, or carry other files.
PDF_ACTIVE = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/OpenAction",
        "/AA",
        "/Launch",
        "/EmbeddedFile",
        "/EmbeddedFiles",
        "/EF",
        "/FileAttachment",
        "/RichMedia",
        "/XFA",
        "/SubmitForm",
        "/ImportData",
        "/GoToE",
    }
)


PDF_MAX_PAGES = 50
PDF_RENDER_SCALE = 2.0  # the console renders PDF pages at 144 dpi (web/console/documents.py)
PDF_MAX_DECODED_BYTES = 16 * 1_048_576  # page descriptions, fonts and images together, decompressed
_FLATE = "/FlateDecode"
_IMAGE_FILTERS = frozenset({"/DCTDecode", "/JPXDecode", "/CCITTFaxDecode", "/JBIG2Decode"})


# For the OpenAPI document of every operation whose form carries files (core.openapi; statuses: core/problems)
PROBLEMS = (
    "file_required",
    "too_many_files",
    "file_empty",
    "file_too_large",
    "file_type_not_allowed",
    "image_too_large",
    "file_corrupt",
    "pdf_encrypted",
    "pdf_active_content",
    "pdf_too_many_pages",
    "pdf_page_too_large",
    "pdf_too_complex",
    "control_character",
)


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    content_type: str
    filename: str


def _refuse(code: str, zh: str, en: str, field: str) -> DomainError:
    return DomainError(code, zh, en, errors=[FieldError(field=field, message=en)])


def _corrupt(where: str, en: str = "The file is damaged or is not what its type says.") -> DomainError:
    return _refuse("file_corrupt", "文件已损坏或内容与类型不符，无法读取", en, where)


def check_files(settings: Settings, files: Sequence[tuple[str, bytes]], field: str) -> list[CheckedFile]:
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
        filename = sanitise_filename(name, kind, where)
        if _MARKUP.search(data[:SNIFF_WINDOW]):
            raise _corrupt(where, "The file contains markup (HTML) that does not belong in it.")
        if kind == "application/pdf":
            _check_pdf(settings, data, where)
        else:
            _check_image(settings, data, kind, where)
        checked.append(CheckedFile(data=data, content_type=kind, filename=filename))
    return checked


async def check_uploads(settings: Settings, uploads: UploadFile | list[UploadFile], field: str) -> list[CheckedFile]:
    """Read a form's files and check them off the event loop (decoding an image takes a while)."""
    items = uploads if isinstance(uploads, list) else [uploads]
    files = [(u.filename or "", await u.read()) for u in items]
    return await asyncio.to_thread(check_files, settings, files, field)


def sanitise_filename(name: str, content_type: str, where: str = "file") -> str:
    """A label safe to store and to put in a download header; the extension always matches the content."""
    if _CONTROL.search(name):
        raise DomainError(
            "control_character",
            "文件名含有不允许的控制字符",
            "The file name contains a control character.",
            errors=[FieldError(field=f"{where}.filename", message="contains a control character")],
        )
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFC", base)
    base = "".join(c for c in base if unicodedata.category(c) not in ("Cf", "Cs", "Co", "Cn"))
    base = _UNSAFE_NAME.sub("_", base).strip("._ ")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    allowed = EXTENSIONS.get(content_type, ("bin",))
    ext = ext.lower() if ext.lower() in allowed else allowed[0]
    stem = stem.strip("._ ")[: MAX_NAME - len(ext) - 1] or "file"
    return f"{stem}.{ext}"


def file_response(data: bytes, content_type: str, filename: str) -> Response[bytes]:
    """A stored file, as a download that a browser never renders or sniffs (RFC 6266 filename and filename*)."""
    label = sanitise_filename(filename, content_type)
    fallback = label.encode("ascii", "replace").decode().replace("?", "_")
    disposition = f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(label, safe='')}"
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
        },
    )


def _check_image(settings: Settings, data: bytes, kind: str, where: str) -> None:
    too_large = _refuse(
        "image_too_large",
        "图片分辨率过高，请压缩后重新上传",
        f"The image has more than {settings.max_image_pixels} pixels.",
        where,
    )
    try:
        end = _png_end(data) if kind == "image/png" else _jpeg_end(data)
        with Image.open(io.BytesIO(data), formats=PILLOW_FORMATS[kind]) as img:
            if kind == "image/jpeg":
                while img.format == "MPO" and end < len(data) and data[end : end + 2] == b"\xff\xd8":
                    end = _jpeg_end(data, end)  # a multi-picture JPEG: further images follow the first
            if data[end:].strip(b"\x00"):
                raise _corrupt(where, "The file has data after the end of the image.")
            pixels = 0
            for frame in ImageSequence.Iterator(img):
                width, height = frame.size
                pixels += width * height
                if pixels > settings.max_image_pixels:
                    raise too_large
                frame.load()  # decode every pixel: a truncated or damaged image fails here
    except DomainError:
        raise
    except Image.DecompressionBombError as exc:
        raise too_large from exc
    except Exception as exc:  # Pillow raises many types for damaged data; every one means "cannot be read"
        raise _corrupt(where, "The image cannot be read in full.") from exc


class _Damaged(ValueError):
    pass


def _png_end(data: bytes) -> int:
    """Offset just past the IEND chunk, walking the chunk lengths from the signature."""
    pos = 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        chunk = data[pos + 4 : pos + 8]
        pos += 12 + length
        if chunk == b"IEND":
            return pos
    raise _Damaged("no IEND chunk")


def _jpeg_end(data: bytes, pos: int = 0) -> int:
    """Offset just past the EOI marker of the JPEG starting at ``pos``, walking segments and scans."""
    if data[pos : pos + 2] != b"\xff\xd8":
        raise _Damaged("no SOI marker")
    pos += 2
    size = len(data)
    while pos < size:
        if data[pos] != 0xFF:
            raise _Damaged("expected a marker")
        while pos < size and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= size:
            break
        marker = data[pos]
        pos += 1
        if marker == 0xD9:
            return pos
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # RSTn and TEM stand alone
            continue
        if pos + 2 > size:
            break
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2:
            raise _Damaged("bad segment length")
        pos += length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffed 0 or RSTn
            while True:
                found = data.find(b"\xff", pos)
                if found < 0 or found + 1 >= size:
                    raise _Damaged("scan runs past the end")
                following = data[found + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    pos = found + 2
                    continue
                pos = found
                break
    raise _Damaged("no EOI marker")


def _check_pdf(settings: Settings, data: bytes, where: str) -> None:
    if data.rstrip(b" \t\r\n\f\x00")[-5:] != b"%%EOF":
        raise _corrupt(where, "The PDF has data after its end (%%EOF).")
    try:
        with pikepdf.open(io.BytesIO(data), attempt_recovery=False) as pdf:
            active = _pdf_active_content(pdf)
            if not active:
                _pdf_bounds(settings, pdf, where)
    except DomainError:
        raise
    except pikepdf.PasswordError as exc:
        raise _refuse(
            "pdf_encrypted", "PDF 文件设有密码，请上传未加密的文件", "The PDF is password-protected.", where
        ) from exc
    except Exception as exc:  # qpdf refuses a damaged file rather than guess at its structure
        raise _corrupt(where, "The PDF is damaged and cannot be read without repair.") from exc
    if active:
        raise _refuse(
            "pdf_active_content",
            "PDF 含有脚本、自动动作或嵌入文件，不能接受；请打印为普通 PDF 或拍照上传",
            f"The PDF holds active content ({', '.join(sorted(active))}).",
            where,
        )


def _pdf_active_content(pdf: pikepdf.Pdf) -> set[str]:
    """Every active-content name used as a key or a value anywhere in the file's objects."""
    found: set[str] = set()
    pending: list[object] = [pdf.trailer, *pdf.objects]
    while pending:
        obj = pending.pop()
        if isinstance(obj, pikepdf.Stream):
            obj = obj.stream_dict
        if isinstance(obj, pikepdf.Dictionary):
            found.update(k for k in obj.keys() if k in PDF_ACTIVE)
            children = list(obj.values())
        elif isinstance(obj, pikepdf.Array):
            children = list(obj)
        else:
            continue
        for child in children:
            if isinstance(child, pikepdf.Name):
                if str(child) in PDF_ACTIVE:
                    found.add(str(child))
            elif isinstance(child, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) and not child.is_indirect:
                pending.append(child)  # indirect ones are visited as members of pdf.objects
    return found


def _pdf_bounds(settings: Settings, pdf: pikepdf.Pdf, where: str) -> None:
    """Refuse a PDF that would cost more to render than an image of the pixel budget (see the module's docstring)."""
    if len(pdf.pages) > PDF_MAX_PAGES:
        raise _refuse(
            "pdf_too_many_pages",
            f"PDF 页数过多（最多 {PDF_MAX_PAGES} 页），请拆分后上传",
            f"The PDF has more than {PDF_MAX_PAGES} pages.",
            where,
        )
    too_large = _refuse(
        "pdf_page_too_large",
        "PDF 页面或其中的图片尺寸过大，请缩小后重新上传",
        f"A page or image of the PDF has more than {settings.max_image_pixels} pixels at the viewer's scale.",
        where,
    )
    for page in pdf.pages:
        box = [float(v) for v in page.mediabox]
        unit = float(page.obj.get("/UserUnit", 1))
        width, height = abs(box[2] - box[0]) * unit, abs(box[3] - box[1]) * unit
        if width * height * PDF_RENDER_SCALE**2 > settings.max_image_pixels:
            raise too_large
    decoded = 0
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Stream):
            continue
        meta = obj.stream_dict
        if meta.get("/Subtype") == "/Image":
            pixels = int(meta.get("/Width", 0)) * int(meta.get("/Height", 0))
            if pixels > settings.max_image_pixels:
                raise too_large
        decoded += _decoded_size(obj, PDF_MAX_DECODED_BYTES - decoded)
        if decoded > PDF_MAX_DECODED_BYTES:
            raise _refuse(
                "pdf_too_complex",
                "PDF 内容过于复杂，请打印为普通 PDF 或拍照上传",
                f"The PDF's content expands to more than {PDF_MAX_DECODED_BYTES} bytes.",
                where,
            )


def _decoded_size(stream: pikepdf.Stream, budget: int) -> int:
    """Bytes the stream decompresses to, counted no further than ``budget`` + 1 (a bomb is never expanded whole).

    Images in their own codecs count as stored (their pixels are bounded by the pixel budget); Flate, the usual
    compression, is inflated in bounded steps; any other filter chain is decoded by qpdf.
    """
    filters = stream.stream_dict.get("/Filter")
    names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []
    raw = stream.read_raw_bytes()
    if not names or any(n in _IMAGE_FILTERS for n in names):
        return len(raw)
    if names == [_FLATE]:
        inflater, size = zlib.decompressobj(), 0
        chunk = inflater.decompress(raw, budget + 1)
        size += len(chunk)
        while inflater.unconsumed_tail and size <= budget:
            chunk = inflater.decompress(inflater.unconsumed_tail, budget + 1 - size)
            size += len(chunk)
        return size
    return len(stream.read_bytes())
