"""What a file is by its bytes, not its name: a known container, text in some encoding, or binary.

A file named ``README``, ``NEWS`` or ``notes.log`` is read as plain text when
its bytes decode as text: UTF-8 first (the common case, and exact), then a
legacy encoding detected by ``charset-normalizer`` (Latin-1, Windows-1252,
Shift-JIS…). A NUL byte, or bytes no encoding reads without mess, make it
binary, and the reason names the format when its magic number is known. A
file whose name says nothing is held to more: it must not open like a binary
format nor be more than 1% control characters, since any bytes free of NULs
decode as something.
"""

from __future__ import annotations

import io
import zipfile

from charset_normalizer import from_bytes

from rag.ingest.extract.blocks import ExtractError
from rag.ingest.extract.text import OVERSTRIKE

# Leading bytes of common binary formats, to say what a skipped file is.
MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"),
    (b"PK\x03\x04", "ZIP archive"), (b"\x1f\x8b", "gzip archive"), (b"BZh", "bzip2 archive"),
    (b"\xfd7zXZ\x00", "xz archive"), (b"7z\xbc\xaf\x27\x1c", "7-Zip archive"), (b"Rar!\x1a\x07", "RAR archive"),
    (b"\x7fELF", "ELF executable"), (b"MZ", "Windows executable"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE document"),
    (b"SQLite format 3\x00", "SQLite database"), (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"), (b"RIFF", "RIFF media"),
    (b"\x00asm", "WebAssembly module"), (b"%PDF", "PDF document"),
)
# The text-bearing BOMs; UTF-16/32 text is full of NUL bytes, so the BOM has to speak for it.
BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"),
)
# The ``mimetype`` entry that opens an OpenDocument or EPUB container.
ZIP_MIMETYPES = {"application/vnd.oasis.opendocument.text": ".odt", "application/epub+zip": ".epub"}
MAX_UNPACKED = 400_000_000  # a .docx/.odt/.epub that unpacks to more is a zip bomb, not a document
DETECT_SAMPLE = 1 << 20  # charset-normalizer reads this much of a large file to pick its encoding
# On a tie charset-normalizer picks the first candidate (cp1250 reads "crème" as "crčme"); Windows-1252 is
# by far the commonest legacy encoding (HTML5 reads Latin-1 as it), so a tie goes to it.
TIE_PREFERENCE = "cp1252"
CONTROL_SAMPLE = 65536  # characters of an untyped file checked for control characters
MAX_CONTROL_SHARE = 0.01  # text has almost none (a form feed, an escape); binary that happens to decode has many
TEXT_CONTROLS = set("\t\n\r\f\v\x1b")


def content_suffix(data: bytes) -> str | None:
    """The suffix of a format recognised from the bytes alone (``.pdf``, ``.docx``, ``.odt``, ``.epub``), else None."""
    if data.startswith(b"%PDF"):
        return ".pdf"
    if not data.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" in names:
                return ".docx"
            if "mimetype" in names:
                return ZIP_MIMETYPES.get(archive.read("mimetype").decode("ascii", "replace").strip())
    except Exception:  # noqa: BLE001 - a damaged archive raises anything from BadZipFile to "negative seek value"
        return None
    return None


def refuse_zip_bomb(data: bytes, kind: str) -> None:
    """``ExtractError`` when a container's members add up to more than ``MAX_UNPACKED`` bytes.

    The sizes come from the archive's directory; zipfile never unpacks more
    than a member declares, so they bound what reading it can cost.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except Exception:  # noqa: BLE001 - not a readable archive: the format's reader says how it is damaged
        return
    if total > MAX_UNPACKED:
        raise ExtractError(f"refused {kind} file: it unpacks to {total / 1e6:.0f} MB (a zip bomb?)")


def binary_kind(data: bytes) -> str:
    """A name for a binary file's format, or "" when its magic number is not one of the common ones."""
    return next((name for magic, name in MAGIC if data.startswith(magic)), "")


def sniff_text(data: bytes) -> str:
    """The text of a file whose name says nothing: refused when it opens like a binary format or is full of controls."""
    kind = binary_kind(data)
    magic = next((m for m, name in MAGIC if name == kind), b"")
    if any(byte < 0x20 or byte > 0x7E for byte in magic):  # "MZ" or "ID3" may well start a line of text
        raise ExtractError(f"binary file ({kind}), not text")
    text = decode_text(data)
    sample = OVERSTRIKE.sub("", text[:CONTROL_SAMPLE])  # nroff's bold and underline are text ("B\bB")
    controls = sum(1 for ch in sample if ch < " " and ch not in TEXT_CONTROLS or "\x7f" <= ch < "\xa0")
    if controls > MAX_CONTROL_SHARE * len(sample):
        raise _binary(data, f"{controls} control characters in its first {len(sample)}")
    return text


def decode_text(data: bytes) -> str:
    """The text of a file's bytes with newlines normalised; ``ExtractError`` when the bytes are not text."""
    encoding = next((name for bom, name in BOMS if data.startswith(bom)), None)
    if encoding is None and b"\x00" in data:
        raise _binary(data, "it has NUL bytes")
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            reason = f"not {encoding.upper()} text despite its byte-order mark (bad byte at offset {exc.start})"
            raise ExtractError(reason) from None
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = _legacy(data)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _legacy(data: bytes) -> str:
    """Bytes in a legacy encoding, as charset-normalizer reads them; binary when no encoding reads them cleanly."""
    matches = from_bytes(data[:DETECT_SAMPLE])
    best = matches.best()
    if best is None:
        raise _binary(data, "no text encoding reads it")
    tied = [m.encoding for m in matches if (m.chaos, m.coherence) == (best.chaos, best.coherence)]
    if TIE_PREFERENCE in tied:
        best = next(m for m in matches if m.encoding == TIE_PREFERENCE)
    try:
        return data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):  # the sample decoded, a later byte does not
        raise _binary(data, f"not {best.encoding} throughout") from None


def _binary(data: bytes, why: str) -> ExtractError:
    kind = binary_kind(data)
    return ExtractError(f"binary file ({kind}), not text" if kind else f"binary file, not text ({why})")
