"""A PDF written operator by operator, for tests that need text and ruled lines at known places (no PDF
library writes both without a font file; the base-14 Helvetica needs none)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class PdfPage:
    ops: list[str] = field(default_factory=list)

    def text(self, x: float, y: float, s: str, size: float = 10) -> PdfPage:
        escaped = s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        self.ops.append(f"BT /F1 {size} Tf {x} {y} Td ({escaped}) Tj ET")
        return self

    def line(self, x0: float, y0: float, x1: float, y1: float) -> PdfPage:
        self.ops.append(f"0.5 w {x0} {y0} m {x1} {y1} l S")
        return self

    def grid(self, xs: list[float], ys: list[float], rows: list[list[str]], size: float = 10) -> PdfPage:
        """A table ruled on every row and column; ys from the top down, one more than the rows."""
        for y in ys:
            self.line(xs[0], y, xs[-1], y)
        for x in xs:
            self.line(x, ys[0], x, ys[-1])
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                self.text(xs[c] + 4, ys[r + 1] + 5, cell, size)
        return self


def pdf_bytes(pages: list[PdfPage]) -> bytes:
    """Objects: 1 catalog, 2 page tree, 3 font, then each page's content stream and page."""
    kids = " ".join(f"{5 + 2 * k} 0 R" for k in range(len(pages)))
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for k, page in enumerate(pages):
        stream = "\n".join(page.ops)
        objects.append(f"<< /Length {len(stream.encode('latin-1'))} >>\nstream\n{stream}\nendstream")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * k} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>"
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)
