"""Render one PDF page to PNG in a child process under hard limits: run as a script (``python -I pdf_render.py N``),
PDF on stdin, PNG on stdout. Exit 3: no such page; 4: the PDF cannot be read. The parent (documents.py) also kills
it after a wall-clock limit, so no PDF costs a worker more than one bounded image."""

from __future__ import annotations

import io
import resource
import sys

MEMORY_LIMIT = 1 << 30  # address space: pdfium, one bitmap of the pixel budget, its PNG
CPU_LIMIT_S = 10


def main() -> int:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT_S, CPU_LIMIT_S))
    import pypdfium2  # loaded only after the memory and CPU limits above are in force

    index, scale, max_pages = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
    try:
        pdf = pypdfium2.PdfDocument(sys.stdin.buffer.read())
    except pypdfium2.PdfiumError:
        return 4
    if not 0 <= index < min(len(pdf), max_pages):
        return 3
    bitmap = pdf[index].render(scale=scale)
    out = io.BytesIO()
    bitmap.to_pil().save(out, format="PNG", optimize=False)
    sys.stdout.buffer.write(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
