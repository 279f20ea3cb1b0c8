"""Report intake finds every link an investigator's report holds, and says where it is.

Every report is made here at test time with the library a real author would use
(openpyxl, python-docx, pypdf, the stdlib e-mail package) or, for the PDF text, by hand.
"""

from __future__ import annotations

import io
from email.message import EmailMessage
from urllib.parse import quote

import docx
import openpyxl
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from pypdf import PdfReader, PdfWriter
from pypdf.annotations import Link

from crawlers import reports
from crawlers.reports import FoundLink, ReportError, find_links, unwrap

TIKTOK = "https://www.tiktok.com/@akun/video/7336007528070958382?is_from_webapp=1"
VT = "https://vt.tiktok.com/ZSabc123/"
X = "https://x.com/akun/status/1760000000000000000"
IG = "https://www.instagram.com/reel/C3xYzAbCdEf/"
FB = "https://fb.watch/abcDEF123/"
YT = "https://youtu.be/dQw4w9WgXcQ"
TG = "https://t.me/kanal/1234"
NEWS = "https://news.example.id/berita/1"


def located(found: list[FoundLink]) -> list[tuple[str, str]]:
    return [(link.url, link.where) for link in found]


def safelink(url: str) -> str:
    return (f"https://apc01.safelinks.protection.outlook.com/?url={quote(url, safe='')}"
            "&data=05%7C02%7Cpengawas%40example.id%7C&sdata=AbCd%3D&reserved=0")


def urls_in_text(tmp_path, text: str) -> list[str]:
    report = tmp_path / "catatan.txt"
    report.write_text(text, encoding="utf-8")
    return [link.url for link in find_links(report)]


# --- plain text ---------------------------------------------------------------------------


def test_text_report_links_with_line_numbers_wraps_and_duplicates(tmp_path):
    report = tmp_path / "laporan.txt"
    report.write_text(
        "Laporan dugaan pelanggaran kampanye\n"
        "Video: https://www.tiktok.com/@akun/vid\n"
        "eo/7336007528070958382?is_from_webapp=1 (diunggah 14 Feb).\n"
        f"Tautan pendek ({VT}), lihat juga {X}.\n"
        f'Sumber berita: "{NEWS}"\n'
        f"{TG}\n"
        "Akun ini menyebarkan hoaks\n"
        f"<{IG}> dan https://id.wikipedia.org/wiki/Pemilu_(Indonesia).\n"
        "> Diteruskan: https://www.youtube.com/watch?v=\n"
        "> dQw4w9WgXcQ&t=42s\n"
        f"{FB}\n"
        "14/02/2024 diunggah ulang\n"
        f"Sekali lagi: {TG}\n",
        encoding="utf-8",
    )
    found = find_links(report)
    assert located(found) == [
        (TIKTOK, "line 2"),
        (VT, "line 4"),
        (X, "line 4"),
        (NEWS, "line 5"),
        (TG, "line 6"),
        (IG, "line 8"),
        ("https://id.wikipedia.org/wiki/Pemilu_(Indonesia)", "line 8"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "line 9"),
        (FB, "line 11"),
        (TG, "line 13"),
    ]
    assert {link.source for link in found} == {"laporan.txt"}
    assert {link.wrapped_by for link in found} == {None}


@pytest.mark.parametrize("text,expected", [
    (f"(lihat {X})", [X]),
    (f"“{TG}”", [TG]),
    (f"'{TG}', {FB};", [TG, FB]),
    (f"[{TG}] **{YT}**", [TG, YT]),
    (f"Sudah lihat {TG}? Juga {NEWS}!", [TG, NEWS]),
    (f"{TG}… dan {NEWS}。", [TG, NEWS]),
    (f"| {TG} |{NEWS}|", [TG, NEWS]),
    (f"kirim ke {TG}:", [TG]),
    ("https://id.wikipedia.org/wiki/Pemilu_(Indonesia)", [
        "https://id.wikipedia.org/wiki/Pemilu_(Indonesia)"]),
    (f"tautan{TG}", []),  # glued to a word: not a link start
    ("https:// dan http://", []),
    ("ftp://files.example.id/a dan mailto:pengawas@example.id", []),
])
def test_trailing_punctuation_and_surroundings_are_not_part_of_links(tmp_path, text, expected):
    assert urls_in_text(tmp_path, text + "\n") == expected


@pytest.mark.parametrize("text,expected", [
    # broken mid-URL by a hard wrap, continued without indentation
    ("https://www.tiktok.com/@akun/vid\neo/7336007528070958382\n",
     ["https://www.tiktok.com/@akun/video/7336007528070958382"]),
    # over three lines
    ("https://www.tiktok.com/@akun/\nvideo/73360075\n28070958382?is_from_webapp=1\n", [TIKTOK]),
    # an unfinished query continues whatever follows
    ("https://www.youtube.com/watch?v=\ndQw4w9WgXcQ\n",
     ["https://www.youtube.com/watch?v=dQw4w9WgXcQ"]),
    # quoted e-mail reply: the same quote marks start the continuation
    ("> https://www.tiktok.com/@akun/vid\n> eo/7336007528070958382 katanya\n",
     ["https://www.tiktok.com/@akun/video/7336007528070958382"]),
    # a link followed by ordinary lines swallows nothing
    (f"{X}\nAkun ini menyebarkan hoaks\n", [X]),
    (f"{FB}\n14/02/2024 diunggah\n", [FB]),
    (f"{TG}\n2024\n", [TG]),
    (f"{TG}\n#pemilu2024 #hoaks\n", [TG]),
    (f"{TG}\n@akun2024 membagikan\n", [TG]),
    (f"{TG}\n{NEWS}\n", [TG, NEWS]),
    # sentence-final punctuation ends the link even if the next word looks like a piece
    (f"{NEWS}.\nbab2 berikut\n", [NEWS]),
    # a space at the line end, or an indented next line, means a new word
    ("https://www.tiktok.com/@akun/vid \neo/7336007528070958382\n",
     ["https://www.tiktok.com/@akun/vid"]),
    ("https://www.tiktok.com/@akun/vid\n  eo/7336007528070958382\n",
     ["https://www.tiktok.com/@akun/vid"]),
    # a different quote depth is a different message
    ("> https://www.tiktok.com/@akun/vid\n> > eo/7336007528070958382\n",
     ["https://www.tiktok.com/@akun/vid"]),
])
def test_line_wraps_rejoin_only_mid_url(tmp_path, text, expected):
    assert urls_in_text(tmp_path, text) == expected


def test_link_after_a_rejoined_tail_is_located_on_its_own_line(tmp_path):
    report = tmp_path / "catatan.txt"
    report.write_text(f"awal https://x.com/akun/sta\ntus/1760000000000000000 dan {TG}\n",
                      encoding="utf-8")
    assert located(find_links(report)) == [(X, "line 1"), (TG, "line 2")]


def test_defanged_links_are_refanged_and_marked(tmp_path):
    report = tmp_path / "ancaman.txt"
    report.write_text("IOC: hxxps://t[.]me/kanal/1234 dan hXXp[:]//news[.]example[.]id/berita/1\n",
                      encoding="utf-8")
    found = find_links(report)
    assert [(link.url, link.wrapped_by) for link in found] == [
        (TG, "defanged"), ("http://news.example.id/berita/1", "defanged")]


def test_windows_1252_and_utf16_text_are_read(tmp_path):
    ansi = tmp_path / "ansi.txt"
    ansi.write_bytes(f"Tautan – {TG} – dihapus\n".encode("cp1252"))
    unicode_text = tmp_path / "unicode.txt"
    unicode_text.write_text(f"Tautan: {X}\n", encoding="utf-16")
    assert located(find_links(ansi)) == [(TG, "line 1")]
    assert located(find_links(unicode_text)) == [(X, "line 1")]


# --- CSV ----------------------------------------------------------------------------------


def test_csv_cells_are_located_by_row_and_column(tmp_path):
    report = tmp_path / "laporan.csv"
    rows = (
        "No;Platform;Tautan;Keterangan\r\n"
        f"1;TikTok;{TIKTOK};diunggah 14/02 – dihapus\r\n"
        f'2;X;"{X}, {TG}";dua tautan\r\n'
        f'3;Berita;"lihat:\r\n{NEWS}";catatan {YT}\r\n'
    )
    report.write_bytes(rows.encode("cp1252"))  # Excel's "CSV" on Indonesian Windows
    assert located(find_links(report)) == [
        (TIKTOK, "row 2 column C"),
        (X, "row 3 column C"),
        (TG, "row 3 column C"),
        (NEWS, "row 4 column C"),
        (YT, "row 4 column D"),
    ]


# --- Excel --------------------------------------------------------------------------------


def make_workbook() -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    first = book.active
    first.title = "Laporan"
    first.append(["No", "Tautan", "Bukti"])
    first["B2"] = TIKTOK
    first["C2"] = "lihat video"  # the display text is not the link
    first["C2"].hyperlink = VT
    second = book.create_sheet("Lampiran")
    second["B3"] = f"Akun: {X} dan {TG}"
    second["A4"] = f'=HYPERLINK("{YT}","tonton")'
    second["D5"] = "berita"
    second["D5"].hyperlink = f"https://www.google.com/url?q={quote(NEWS, safe='')}&sa=D"
    second["A7"].hyperlink = IG  # on an empty cell openpyxl (like Excel) shows the address
    return book


def test_xlsx_text_links_and_hyperlinks_on_every_sheet(tmp_path):
    report = tmp_path / "rekap.xlsx"
    make_workbook().save(report)
    found = find_links(report)
    assert located(found) == [
        (TIKTOK, "sheet Laporan row 2 column B"),
        (VT, "hyperlink in sheet Laporan row 2 column C"),
        (X, "sheet Lampiran row 3 column B"),
        (TG, "sheet Lampiran row 3 column B"),
        (YT, "sheet Lampiran row 4 column A"),
        (NEWS, "hyperlink in sheet Lampiran row 5 column D"),
        (IG, "hyperlink in sheet Lampiran row 7 column A"),
        (IG, "sheet Lampiran row 7 column A"),
    ]
    assert found[5].wrapped_by == "google redirect"
    # the locators point at cells a person can open and find the link in
    book = openpyxl.load_workbook(report)
    assert book["Laporan"]["C2"].hyperlink.target == VT
    assert book["Lampiran"]["A4"].value.startswith(f'=HYPERLINK("{YT}"')


# --- Word ---------------------------------------------------------------------------------


def add_hyperlink(paragraph, url: str, text: str) -> None:
    """python-docx has no public hyperlink API: relationship + w:hyperlink by hand."""
    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    link.append(text_run(text))
    paragraph._p.append(link)


def text_run(text: str):
    run = OxmlElement("w:r")
    body = OxmlElement("w:t")
    body.set(qn("xml:space"), "preserve")
    body.text = text
    run.append(body)
    return run


def add_hyperlink_field(paragraph, url: str, text: str) -> None:
    """The other way Word stores links: a HYPERLINK field code around the display text."""
    def field_char(kind: str):
        run = OxmlElement("w:r")
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        run.append(char)
        return run

    instruction = OxmlElement("w:r")
    code = OxmlElement("w:instrText")
    code.set(qn("xml:space"), "preserve")
    code.text = f' HYPERLINK "{url}" \\o "buka tautan" '
    instruction.append(code)
    for element in (field_char("begin"), instruction, field_char("separate"), text_run(text),
                    field_char("end")):
        paragraph._p.append(element)


def test_docx_paragraphs_tables_hyperlinks_and_field_codes(tmp_path):
    document = docx.Document()
    document.add_paragraph("Laporan pengawasan kampanye")
    document.add_paragraph(f"Video utama: {TIKTOK}")
    third = document.add_paragraph("Lihat ")
    add_hyperlink(third, IG, "unggahan akun")
    third.add_run(f" dan {FB}")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Platform"
    table.cell(1, 0).text = "X"
    table.cell(1, 1).text = f"Tautan: {X}"
    fourth = document.add_paragraph("Kanal: ")
    add_hyperlink_field(fourth, TG, "kanal Telegram")
    fifth = document.add_paragraph("Terpotong antar-run: ")
    fifth.add_run("https://youtu.")
    fifth.add_run("be/dQw4w9WgXcQ")
    header = document.sections[0].header.paragraphs[0]
    header.text = f"Sumber: {NEWS} "
    add_hyperlink(header, VT, "video pendek")  # its relationship lives in the header part
    report = tmp_path / "laporan.docx"
    document.save(report)

    assert located(find_links(report)) == [
        (TIKTOK, "paragraph 2"),
        (IG, "hyperlink in paragraph 3"),
        (FB, "paragraph 3"),
        (X, "table 1 row 2 column 2"),
        (TG, "hyperlink in paragraph 4"),
        (YT, "paragraph 5"),
        (NEWS, "page header"),
        (VT, "hyperlink in page header"),
    ]
    # "paragraph N" counts as Word does (tables apart): check with python-docx itself
    reread = docx.Document(report).paragraphs
    assert "unggahan akun" in reread[2].text
    assert "kanal Telegram" in reread[3].text


# --- PDF ----------------------------------------------------------------------------------


def pdf_with_text(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: each page shows its lines in Helvetica, one under the other."""
    count = len(pages)
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [{}] /Count {} >>".format(
            " ".join(f"{3 + 2 * i} 0 R" for i in range(count)), count),
    ]
    font = 3 + 2 * count
    for i, lines in enumerate(pages):
        shown = " ".join("({}) Tj T*".format(
            line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")) for line in lines)
        content = f"BT /F1 10 Tf 14 TL 50 750 Td {shown} ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R"
            f" /Resources << /Font << /F1 {font} 0 R >> >> >>")
        objects.append(f"<< /Length {len(content)} >>\nstream\n{content}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1"))
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n"
              f"startxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_pdf_page_text_and_link_annotations(tmp_path):
    plain = pdf_with_text([
        ["Laporan pengawasan", f"Video: {VT}", "Unggahan: https://x.com/akun/sta",
         "tus/1760000000000000000 (lihat lampiran)"],
        ["Lampiran", f"Kanal {TG}", "Klik di sini untuk video"],
    ])
    writer = PdfWriter(clone_from=io.BytesIO(plain))
    writer.add_annotation(page_number=1, annotation=Link(rect=(50, 700, 200, 715), url=YT))
    report = tmp_path / "laporan.pdf"
    with report.open("wb") as out:
        writer.write(out)
    assert YT not in "".join(page.extract_text() for page in PdfReader(report).pages)

    assert located(find_links(report)) == [
        (VT, "page 1"),
        (X, "page 1"),
        (TG, "page 2"),
        (YT, "page 2 link annotation"),
    ]


# --- e-mail -------------------------------------------------------------------------------


def test_eml_bodies_safelinks_and_attachments(tmp_path):
    workbook = io.BytesIO()
    make_workbook().save(workbook)
    forwarded = EmailMessage()
    forwarded["Subject"] = "Fwd: tautan"
    forwarded.set_content(f"Tautan yang diteruskan: {FB}\n")

    message = EmailMessage()
    message["From"] = "relawan@example.id"
    message["To"] = "pengawas@example.id"
    message["Subject"] = "Laporan dugaan pelanggaran"
    message.set_content(
        "Berikut tautan laporan:\n"
        f"{safelink(TIKTOK)}\n"
        "> Diteruskan: https://www.youtube.com/watch?v=\n"
        "> dQw4w9WgXcQ\n"
    )
    message.add_alternative(
        "<html><body>\n"
        f'<p>Lihat <a href="{safelink(X)}">unggahan ini</a></p>\n'
        f"<p>dan <b>{TG}</b></p>\n"
        "</body></html>\n",
        subtype="html",
    )
    message.add_attachment(
        workbook.getvalue(), maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet", filename="laporan.xlsx")
    message.add_attachment(b"\x89PNG\r\n\x1a\n", maintype="image", subtype="png",
                           filename="tangkapan.png")
    message.add_attachment(forwarded)
    report = tmp_path / "mail.eml"
    report.write_bytes(message.as_bytes())

    found = find_links(report)
    by_source = [(link.source, link.url, link.where, link.wrapped_by) for link in found]
    assert by_source[:4] == [
        ("mail.eml", TIKTOK, "mail body line 2", "outlook safelinks"),
        ("mail.eml", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "mail body line 3", None),
        ("mail.eml", X, "hyperlink in mail html line 2", "outlook safelinks"),
        ("mail.eml", TG, "mail html line 3", None),
    ]
    attached = [(link.source, link.url, link.where) for link in found[4:]]
    assert attached == [
        ("mail.eml > laporan.xlsx", TIKTOK, "sheet Laporan row 2 column B"),
        ("mail.eml > laporan.xlsx", VT, "hyperlink in sheet Laporan row 2 column C"),
        ("mail.eml > laporan.xlsx", X, "sheet Lampiran row 3 column B"),
        ("mail.eml > laporan.xlsx", TG, "sheet Lampiran row 3 column B"),
        ("mail.eml > laporan.xlsx", YT, "sheet Lampiran row 4 column A"),
        ("mail.eml > laporan.xlsx", NEWS, "hyperlink in sheet Lampiran row 5 column D"),
        ("mail.eml > laporan.xlsx", IG, "hyperlink in sheet Lampiran row 7 column A"),
        ("mail.eml > laporan.xlsx", IG, "sheet Lampiran row 7 column A"),
        ("mail.eml > attachment 3.eml", FB, "mail body line 1"),
    ]


def test_damaged_attachment_is_named_in_the_error(tmp_path):
    message = EmailMessage()
    message["Subject"] = "Laporan"
    message.set_content(f"Lihat {TG}\n")
    message.add_attachment(b"%PDF-1.4 rusak", maintype="application", subtype="pdf",
                           filename="bukti.pdf")
    report = tmp_path / "mail.eml"
    report.write_bytes(message.as_bytes())
    with pytest.raises(ReportError, match=r"^mail\.eml > bukti\.pdf: not a readable PDF"):
        find_links(report)


# --- safe links ---------------------------------------------------------------------------


@pytest.mark.parametrize("wrapped,inner,name", [
    (safelink(TIKTOK), TIKTOK, "outlook safelinks"),
    (f"https://www.google.com/url?q={quote(X, safe='')}&sa=D&source=editors&usg=AOvVaw1",
     X, "google redirect"),
    (f"https://www.google.co.id/url?sa=t&url={quote(NEWS, safe='')}&ved=2ahUKE",
     NEWS, "google redirect"),
    (f"https://l.facebook.com/l.php?u={quote(IG, safe='')}&h=AT0abc", IG, "facebook l.php"),
    (f"https://lm.facebook.com/l.php?u={quote(YT, safe='')}&h=AT1", YT, "facebook l.php"),
    (f"https://l.instagram.com/?u={quote(FB, safe='')}&e=AT0xyz", FB, "instagram redirect"),
    (f"https://www.youtube.com/redirect?event=video_description&redir_token=QUFF"
     f"&q={quote(NEWS, safe='')}&v=dQw4w9WgXcQ", NEWS, "youtube redirect"),
    (safelink(f"https://www.google.com/url?q={quote(TG, safe='')}&sa=D"), TG,
     "outlook safelinks > google redirect"),
    ("https://urldefense.proofpoint.com/v2/url?u=https-3A__x.com_akun_status_1760000000000000000"
     "&d=DwMFAg&c=euGZstcaTDllvimEN8b7jXrwqOf-v5A_CdpgnVfiiMM&r=abc&m=def&s=ghi&e=",
     X, "proofpoint urldefense"),
    # v3: each `*` takes the next character of the base64 block ("JSM" is "%#")
    ("https://urldefense.com/v3/__https://news.example.id/berita/1?q=pemilu*202024*bagian"
     "__;JSM!!ABCdef!ghiJKL$",
     "https://news.example.id/berita/1?q=pemilu%202024#bagian", "proofpoint urldefense"),
])
def test_unwrap_removes_safe_link_wrappers(wrapped, inner, name):
    assert unwrap(wrapped) == (inner, name)


@pytest.mark.parametrize("url", [
    TIKTOK,
    "https://www.google.com/url?q=javascript:alert(1)",
    "https://l.facebook.com/l.php?u=%2Fpages%2Fakun",
    "https://www.google.com/search?q=https%3A%2F%2Fx.com%2Fakun",  # a search, not a redirect
    "https://urldefense.com/v3/__https://x.com/a*b__;!!ABC$",  # no character for the `*`
])
def test_unwrap_leaves_other_urls_alone(url):
    assert unwrap(url) == (url, None)


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("name,content,message", [
    ("laporan.xlsx", b"PK\x03\x04 bukan workbook", r"laporan\.xlsx: not a readable \.xlsx"),
    ("laporan.docx", b"bukan dokumen", r"laporan\.docx: not a readable \.docx"),
    ("laporan.pdf", b"%PDF-1.4\nrusak", r"laporan\.pdf: not a readable PDF"),
    ("laporan.rtf", b"{\\rtf1 https://x.com/akun}", r"laporan\.rtf: \.rtf files are not supported"
                                                     r".*save it as \.docx"),
    ("laporan.xls", b"\xd0\xcf\x11\xe0", r"save it as \.xlsx"),
    ("tautan", b"https://x.com/akun", r"files without an extension"),
])
def test_unreadable_or_unsupported_files_are_refused_in_one_line(tmp_path, name, content,
                                                                 message):
    report = tmp_path / name
    report.write_bytes(content)
    with pytest.raises(ReportError, match=message) as refused:
        find_links(report)
    assert "\n" not in str(refused.value)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ReportError, match=r"hilang\.txt: cannot be opened"):
        find_links(tmp_path / "hilang.txt")


def test_text_beyond_the_cap_is_refused_not_cut(tmp_path, monkeypatch):
    monkeypatch.setattr(reports, "MAX_TEXT_CHARS", 1000)
    report = tmp_path / "besar.txt"
    report.write_text((f"{TG}\n" * 100), encoding="utf-8")
    with pytest.raises(ReportError, match=r"besar\.txt: more than .* split the report"):
        find_links(report)


def test_pdf_protected_only_against_editing_is_read_and_a_password_is_refused(tmp_path):
    for name, user_password in (("terbuka.pdf", ""), ("rahasia.pdf", "sandi")):
        writer = PdfWriter(clone_from=io.BytesIO(pdf_with_text([[f"Video: {VT}"]])))
        writer.encrypt(user_password=user_password, owner_password="pemilik",
                       algorithm="AES-128")
        with (tmp_path / name).open("wb") as out:
            writer.write(out)
    assert located(find_links(tmp_path / "terbuka.pdf")) == [(VT, "page 1")]
    with pytest.raises(ReportError, match=r"rahasia\.pdf: is password-protected; save an"):
        find_links(tmp_path / "rahasia.pdf")
