"""Report intake speed and memory: `find_links` against a plain regex over the same text.

    python benchmarks/intake.py [--small] [--rounds 3] [--profile | --no-profile]
        [--no-record]

Two reports are generated once per run (seeded, untimed, in a child process so this
process stays small), in a temporary directory:

- `laporan.xlsx` (openpyxl): sheet "Laporan", a header row and 5,000 report rows
  (`--small`: 500) of seven columns: No, Tanggal (a date), Nama Pelapor, Platform,
  Uraian Kejadian (free text in Bahasa Indonesia, one or two sentences, sometimes on two
  lines of the cell), Tautan Bukti (the evidence link), Keterangan (a status note). Each
  row names 1, 2 or 3 links (weights 45/35/20) in the platforms' real forms: TikTok
  (`www.tiktok.com/@user/video/ID?...`, `vt.tiktok.com/ZS.../`), X (`x.com`, `twitter.com`
  `/status/ID`), Instagram (`/reel/`, `/p/`, profiles), Facebook (`/posts/pfbid0...`,
  `fb.watch`, `/share/v/`, `/watch/?v=`), YouTube (`watch?v=`, `youtu.be`, `/shorts/`),
  Telegram (`t.me/channel/N`, `t.me/s/...`) and Indonesian news sites. The first link is
  in Tautan Bukti as one of: the URL as the value (35%); the URL as the value with a
  hyperlink to itself, as Excel makes when a URL is typed (25%); display text ("Lihat
  video", ...) with a hyperlink to the URL (25%); display text with a hyperlink to an
  Outlook safe link around it (10%); an Outlook safe link as the value (5%). The other
  links are in Uraian's sentences, 15% of them wrapped in an Outlook safe link, a Google
  redirect or Facebook's l.php, many followed by punctuation (`.`, `,`, `;`, `)`); in
  rows with 3 links the third is in Keterangan 40% of the time instead, as an e-mail
  pasted into the cell: the link broken over lines of at most 72 characters (half of
  these with every line quoted "> ", a third inside a safe link, which takes 4-5 lines).
  No comments, no formulas.
- `laporan.pdf` (written by hand: Helvetica, one Tj per line, Flate-compressed content
  streams, as tests/test_reports.py builds its PDF): 200 pages (`--small`: 20) of a
  supervision report, each a title, a number and page line, 3-5 prose paragraphs, 5-7
  links in the text and 1-3 link annotations (a /Link with a /URI action over a line
  such as "Klik di sini untuk membuka video yang dilaporkan", its URL not in the text,
  20% of them Outlook safe links). Of the text links 30% are broken across lines at a
  `/`, `?`, `&`, `=` or (inside a safe link) `%XX` and another 10% are Outlook safe links,
  always broken over several lines (95 characters a line); the rest sit in a sentence,
  word-wrapped at 95 characters, often followed by punctuation.

Every link the files hold is also written down as it should be found (the link inside
any wrapper, without the punctuation after it, wraps re-joined; a hyperlink on a cell
whose value is the same URL counts twice, as two places it was found), so each side's
list is also scored: how many of the planted links it returned exactly. Line breaks in
links are placed only where `crawlers/reports.py` says it joins them (its docstring),
so this measures speed on links it is meant to handle, not its documented limits.

Three sides per file, each a child process, the order reversed every round:

- saksi: `crawlers.reports.find_links(path)` (locators, hyperlinks and annotations,
  safe-link unwrapping, wrap joining, trimming);
- baseline: the same libraries extracting the same material, then one compiled
  `https?://\\S+` findall over it joined by newlines: for xlsx
  `openpyxl.load_workbook(path)` and, for every cell of `iter_rows()`, its value if a
  string and its hyperlink target; for PDF `PdfReader(path)` and, for every page,
  `page.extract_text()` and the /URI of its link annotations. This is the target's
  comparison: the work Saksi adds to reading the file;
- text only: the same without hyperlink targets and annotations (the narrowest reading
  of "the text extracted by the same libraries"), reported for reference.

Each child imports its libraries first (untimed) and times, with time.perf_counter, from
just before opening the file to having the list; CPU is its user + sys in that window;
peak RSS is its resource.getrusage(RUSAGE_SELF).ru_maxrss after the list, so it includes
the interpreter and the imports (RSS at open says how much that was). Target (issue):
median saksi wall <= 1.5x the median baseline wall, per file type. Unless `--no-profile`,
a file whose ratio misses the target (or every file, with `--profile`) gets one more run
of `find_links` under cProfile (untimed) that lists where its time went.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import resource
import statistics
import string
import subprocess
import sys
import tempfile
import time
import zlib
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from machine_facts import load_average, machine_busy_s, package_versions  # this folder

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]

from s3_store import BenchmarkFailed, whole_rss  # noqa: E402 - after the path set-up above
from static_capture import (  # noqa: E402
    _proc_rss_kib,
    clean_env,
    machine,
    progress,
    record,
    source_state,
    verdict,
)
from verify import _where  # noqa: E402

MiB = 1024 * 1024
SAKSI_VS_BASELINE_MAX = 1.5  # median find_links wall / median baseline wall, per file type
SEED = 20240214
CHILD_TIMEOUT = 1800.0
KINDS = ("xlsx", "pdf")
SIDES = ("saksi", "baseline", "text only")
URL = re.compile(r"https?://\S+")  # the baseline's whole idea of a link


@dataclass(frozen=True)
class Shape:
    rows: int
    pages: int

    def text(self) -> str:
        return f"{self.rows:,}-row xlsx, {self.pages}-page PDF"


FULL = Shape(5000, 200)
SMALL = Shape(500, 20)


# ---- the reports (untimed, in a child) -------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
LOWER = string.ascii_lowercase + string.digits
HANDLES = ("relawan", "suara_rakyat", "info.pemilu", "warga", "kabar", "pejuang", "cinta.nkri",
           "netizen", "pantau", "rakyat_jelata", "bersatu", "merah.putih", "kawal",
           "berita_terkini", "anak.bangsa", "gerakan", "solidaritas", "relawan.muda")
CHANNELS = ("infopemilu", "kabarterkini", "suararakyat", "beritapolitik", "relawan_nusantara",
            "pantaupemilu", "gerakanmuda")
SLUG_WORDS = ("bawaslu", "temukan", "video", "kampanye", "hitam", "di", "media", "sosial",
              "jelang", "pemungutan", "suara", "hoaks", "beredar", "surat", "tercoblos",
              "politik", "uang", "akun", "palsu", "calon", "presiden", "kpu", "tps")
FIRST_NAMES = ("Siti", "Budi", "Dewi", "Agus", "Rina", "Andi", "Nur", "Putri", "Eko", "Wahyu",
               "Sri", "Ahmad", "Yusuf", "Fitri", "Rizky", "Indah", "Made", "Ketut")
LAST_NAMES = ("Rahmawati", "Santoso", "Lestari", "Saputra", "Hidayat", "Pratama", "Wulandari",
              "Nugroho", "Kurniawan", "Siregar", "Simanjuntak", "Harahap", "Wijaya", "Putra")
ONE_LINK = (
    "Akun @{h} mengunggah video kampanye di luar jadwal: {u}",
    "Ditemukan konten ujaran kebencian terhadap pasangan calon nomor urut {n}, tautan {u}.",
    "Unggahan berisi ajakan golput ({u}) sudah dibagikan ulang {k} kali",
    "Video serupa juga beredar di {u}; mohon segera ditindaklanjuti.",
    "Mohon dicek: {u}",
    "Konten hoaks tentang surat suara tercoblos, lihat {u} (diunggah {d})",
    "Pelapor menemukan siaran langsung dengan atribut kampanye di rumah ibadah {u}",
    "Tangkapan layar terlampir, sumber: {u}, diakses {d} pukul {t} WIB.",
)
TWO_LINKS = (
    "Pelapor mengirim tautan {u} dan {v} melalui WhatsApp",
    "Konten yang sama diunggah ulang di {u} serta {v}.",
    "Awalnya di {u}, kemudian disebarkan lewat {v} oleh akun lain",
)
NO_LINK = (
    "Akun @{h} menyebarkan video kampanye hitam terhadap calon nomor urut {n}.",
    "Pelapor melihat unggahan berisi politik uang di grup warga pada {d}.",
    "Diduga melibatkan aparatur sipil negara dalam kegiatan kampanye.",
)
PROSE = (
    "Pengawas kampanye melakukan penelusuran terhadap akun yang diduga menyebarkan konten "
    "kampanye di luar jadwal yang ditetapkan KPU.",
    "Berdasarkan hasil pengawasan pada tanggal {d}, ditemukan sejumlah unggahan yang memuat "
    "ajakan untuk tidak menggunakan hak pilih.",
    "Konten tersebut telah ditonton lebih dari {k}.000 kali dan dibagikan ulang oleh "
    "akun-akun lain.",
    "Tim melakukan dokumentasi berupa tangkapan layar dan rekaman layar sebelum konten "
    "dihapus oleh pemilik akun.",
    "Akun pengunggah tidak terdaftar sebagai akun resmi kampanye pada KPU kabupaten/kota "
    "setempat.",
    "Temuan ini diteruskan kepada Sentra Gakkumdu untuk dikaji lebih lanjut sesuai ketentuan "
    "Undang-Undang Nomor 7 Tahun 2017.",
    "Sebagian unggahan menggunakan tagar #pemilu2024 dan #pemiludamai untuk memperluas "
    "jangkauan.",
    "Pemilik akun telah dipanggil untuk memberikan klarifikasi pada hari Senin pukul {t} WIB.",
)
STATUS = ("Sudah diteruskan ke Gakkumdu", "Menunggu klarifikasi platform",
          "Akun sudah dihapus per {d}", "Konten masih tayang saat diperiksa {d}",
          "Dilaporkan ke Kominfo melalui aduan konten", "")
DISPLAY = ("Lihat video", "tautan unggahan", "Bukti 1", "klik di sini", "Unggahan asli")
ANNOTATION_TEXT = ("Klik di sini untuk membuka video yang dilaporkan", "Lihat unggahan asli",
                   "Tautan bukti (klik)", "Rekaman siaran langsung", "Sumber pemberitaan")
WRAP_PREFIX = ("Tautan unggahan:", "Video yang dilaporkan dapat dilihat pada",
               "Unggahan ulang oleh akun lain:", "Bukti:", "Sumber:")
WRAP_SUFFIX = ("", "", ".", " (diunggah {d})", ", dibagikan {k} kali.")
HEADER = ("No", "Tanggal", "Nama Pelapor", "Platform", "Uraian Kejadian", "Tautan Bukti",
          "Keterangan")
PDF_WIDTH = 95  # characters a PDF line holds (10 pt Helvetica on 512 pt)
MAIL_WIDTH = 72
WRAPPER_HOSTS = ("apc01.safelinks.protection.outlook.com", "www.google.com", "l.facebook.com")
TRIMMED = frozenset(".,;:!?'\"*|>)]")  # what crawlers/reports.py drops from a link's end


class Planter:
    """Seeded links and text; every link planted is noted with what kind it is."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.facts: Counter[str] = Counter()

    def token(self, n: int, alphabet: str = ALNUM) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def shortcode(self, n: int) -> str:  # ids with - and _ inside, never at the end
        return self.token(1) + self.token(n - 2, ALNUM + "-_") + self.token(1)

    def digits(self, n: int) -> str:
        return str(self.rng.randint(1, 9)) + self.token(n - 1, string.digits)

    def handle(self, dots: bool = True) -> str:
        stem = self.rng.choice(HANDLES)
        if not dots:
            stem = stem.replace(".", "_")
        return stem + self.rng.choice(("", "_", "")) + str(self.rng.randint(1, 9999))

    def slug(self) -> str:
        return "-".join(self.rng.choice(SLUG_WORDS) for _ in range(self.rng.randint(4, 9)))

    def date(self) -> str:
        return f"{self.rng.randint(1, 28):02d}/{self.rng.randint(1, 2):02d}/2024"

    def fill(self, template: str, **links: str) -> str:
        r = self.rng
        return template.format(h=self.handle(), n=r.randint(1, 3), k=r.randint(2, 950),
                               d=self.date(), t=f"{r.randint(7, 22):02d}.{r.randint(0, 59):02d}",
                               **links)

    def link(self) -> tuple[str, str]:
        """(platform name, URL)."""
        r = self.rng
        platform = r.choices(("TikTok", "X", "Instagram", "Facebook", "YouTube", "Telegram",
                              "Berita"), (25, 15, 15, 15, 12, 8, 10))[0]
        yt = self.shortcode(10) + r.choice("AEIMQUYcgkosw048")
        forms = {
            "TikTok": (f"https://www.tiktok.com/@{self.handle()}/video/{self.digits(19)}"
                       "?is_from_webapp=1&sender_device=pc",
                       f"https://www.tiktok.com/@{self.handle()}/video/{self.digits(19)}",
                       f"https://vt.tiktok.com/ZS{self.token(7)}/"),
            "X": (f"https://x.com/{self.handle(False)}/status/{self.digits(19)}",
                  f"https://twitter.com/{self.handle(False)}/status/{self.digits(19)}?s=20",
                  f"https://x.com/{self.handle(False)}/status/{self.digits(19)}"
                  f"?t={self.token(22)}&s=19"),
            "Instagram": (f"https://www.instagram.com/reel/{self.shortcode(11)}/",
                          f"https://www.instagram.com/p/{self.shortcode(11)}/"
                          f"?igsh={self.token(16)}",
                          f"https://www.instagram.com/{self.handle()}/"),
            "Facebook": (f"https://www.facebook.com/{self.handle()}/posts/pfbid0"
                         f"{self.token(r.randint(30, 60))}",
                         f"https://fb.watch/{self.token(10)}/",
                         f"https://www.facebook.com/share/v/{self.token(16)}/",
                         f"https://www.facebook.com/watch/?v={self.digits(16)}"),
            "YouTube": (f"https://www.youtube.com/watch?v={yt}", f"https://youtu.be/{yt}"
                        f"?si={self.token(16)}", f"https://www.youtube.com/shorts/{yt}",
                        f"https://www.youtube.com/watch?v={yt}&t={r.randint(5, 900)}s"),
            "Telegram": (f"https://t.me/{r.choice(CHANNELS)}/{r.randint(2, 99999)}",
                         f"https://t.me/s/{r.choice(CHANNELS)}/{r.randint(2, 99999)}"),
            "Berita": (f"https://news.detik.com/berita/d-{self.digits(7)}/{self.slug()}",
                       f"https://nasional.kompas.com/read/2024/02/{r.randint(1, 28):02d}/"
                       f"{self.digits(8)}/{self.slug()}",
                       f"https://www.cnnindonesia.com/nasional/202402{self.digits(8)}"
                       f"-617-{self.digits(7)}/{self.slug()}",
                       f"https://nasional.tempo.co/read/{self.digits(7)}/{self.slug()}"),
        }
        return platform, r.choice(forms[platform])

    def wrapped(self, url: str, kind: str | None = None) -> str:
        """`url` inside a safe link or redirect, as pasted from e-mail or a chat."""
        kind = kind or self.rng.choice(("outlook", "outlook", "google", "facebook"))
        inner = quote(url, safe="")
        self.facts[f"wrapper {kind}"] += 1
        if kind == "outlook":
            return (f"https://apc01.safelinks.protection.outlook.com/?url={inner}&data=05%7C02"
                    f"%7Cpengawas%40bawaslu.example.id%7C{self.token(32, '0123456789abcdef')}"
                    f"%7C{self.token(32, '0123456789abcdef')}%7C0%7C0%7C638{self.digits(15)}"
                    f"%7CUnknown&sdata={self.token(43)}%3D&reserved=0")
        if kind == "google":
            return (f"https://www.google.com/url?q={inner}&sa=D&source=editors&ust="
                    f"{self.digits(16)}&usg=AOvVaw{self.token(22)}")
        return f"https://l.facebook.com/l.php?u={inner}&h=AT{self.token(40)}"

    def broken(self, url: str, room: int, width: int) -> list[str] | None:
        """`url` cut into pieces for lines of `width` characters, the first piece at most
        `room`, each cut where crawlers/reports.py re-joins a wrap: before `/ ? & =`, or
        before a `%XX` whose next characters mix a digit and a letter, never leaving
        trimmed punctuation at a line's end. None if no such cut fits."""
        cuts = [i for i, ch in enumerate(url) if i > 10 and url[i - 1] not in TRIMMED and (
            ch in "/?&=" or (ch == "%" and url[i + 1:i + 2].isdigit()
                             and url[i + 2:i + 3].isalpha()))]
        # a head too long for the room left on the line overflows it a little
        pieces, start, limit = [], 0, max(room, min(cuts, default=room))
        while len(url) - start > limit:
            fits = [i for i in cuts if start + 8 < i <= start + limit]
            if not fits:
                return None
            pieces.append(url[start:max(fits)])  # the last cut that fits, as layout does
            start, limit = max(fits), width
        pieces.append(url[start:])
        return pieces if len(pieces) > 1 else None


def word_wrap(text: str, width: int) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def build_workbook(path: Path, rows: int, p: Planter) -> list[str]:
    import openpyxl

    r = p.rng
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Laporan"
    sheet.append(HEADER)
    expected: list[str] = []
    for number in range(1, rows + 1):
        links = [p.link() for _ in range(r.choices((1, 2, 3), (45, 35, 20))[0])]
        p.facts["xlsx links"] += len(links)
        in_note = len(links) == 3 and r.random() < 0.4
        in_text = links[1:2] if in_note else links[1:]
        row = number + 1
        sheet.cell(row, 1, number)
        sheet.cell(row, 2, datetime(2024, r.randint(1, 2), r.randint(1, 28),
                                    r.randint(7, 22), r.randint(0, 59)))
        sheet.cell(row, 3, f"{r.choice(FIRST_NAMES)} {r.choice(LAST_NAMES)}")
        sheet.cell(row, 4, links[0][0])
        # Uraian: its links are found before column F's, in the order written
        shown = []
        for _, url in in_text:
            shown.append(p.wrapped(url) if r.random() < 0.15 else url)
            expected.append(url)
        if len(shown) == 2:
            text = p.fill(r.choice(TWO_LINKS), u=shown[0], v=shown[1])
        elif shown:
            text = p.fill(r.choice(ONE_LINK), u=shown[0])
        else:
            text = p.fill(r.choice(NO_LINK))
        if r.random() < 0.4:
            text += r.choice((" ", "\n")) + p.fill(r.choice(PROSE))
        p.facts["xlsx text links"] += len(shown)
        p.facts["xlsx text links followed by punctuation"] += sum(
            1 for s in shown if re.search(re.escape(s) + r"[.,;)]", text))
        sheet.cell(row, 5, text)
        # Tautan Bukti
        url = links[0][1]
        cell = sheet.cell(row, 6)
        form = r.choices(("value", "auto", "display", "display safe link", "safe link value"),
                         (35, 25, 25, 10, 5))[0]
        p.facts[f"xlsx column F: {form}"] += 1
        if form == "value":
            cell.value = url
            expected.append(url)
        elif form == "auto":
            cell.value, cell.hyperlink = url, url
            expected += [url, url]  # the hyperlink, then the text: two places
        elif form == "display":
            cell.value, cell.hyperlink = r.choice(DISPLAY), url
            expected.append(url)
        elif form == "display safe link":
            cell.value, cell.hyperlink = r.choice(DISPLAY), p.wrapped(url, "outlook")
            expected.append(url)
        else:
            cell.value = p.wrapped(url, "outlook")
            expected.append(url)
        if cell.hyperlink is not None:
            cell.style = "Hyperlink"
        # Keterangan
        if in_note:
            url = links[2][1]
            quote_mark = r.choice(("", "> "))
            shown_url = p.wrapped(url, "outlook") if r.random() < 0.33 else url
            head = f"{quote_mark}Tautan:"
            room = min(MAIL_WIDTH - len(head) - 1, len(shown_url) - 2)
            pieces = p.broken(shown_url, r.randint(min(20, room), room),
                              MAIL_WIDTH - len(quote_mark)) or [shown_url]
            lines = [f"{quote_mark}Diteruskan dari email relawan:", f"{head} {pieces[0]}",
                     *(quote_mark + piece for piece in pieces[1:]), f"{quote_mark}Terima kasih."]
            sheet.cell(row, 7, "\n".join(lines))
            expected.append(url)
            p.facts["xlsx text links"] += 1
            p.facts["xlsx links broken across lines in a cell"] += len(pieces) > 1
        else:
            sheet.cell(row, 7, p.fill(r.choice(STATUS)) or None)
    book.save(path)
    return expected


def pdf_page(number: int, pages: int, p: Planter) -> tuple[list[str], list[tuple[int, str]],
                                                           list[str]]:
    """(lines, annotations as (line index, URI), links expected in order)."""
    r = p.rng
    lines = ["LAPORAN HASIL PENGAWASAN KAMPANYE DI MEDIA SOSIAL",
             f"Nomor: {number:03d}/LHP/PM.01.02/II/2024", f"Halaman {number} dari {pages}", ""]
    blocks = (["link"] * r.randint(5, 7) + ["annotation"] * r.randint(1, 3)
              + ["prose"] * r.randint(3, 5))
    r.shuffle(blocks)
    in_text: list[str] = []
    annotations: list[tuple[int, str]] = []
    in_annotations: list[str] = []
    for block in blocks:
        if block == "prose":
            paragraph = " ".join(p.fill(r.choice(PROSE)) for _ in range(r.randint(1, 2)))
            lines += [*word_wrap(paragraph, PDF_WIDTH), ""]
        elif block == "annotation":
            url = p.link()[1]
            uri = p.wrapped(url, "outlook") if r.random() < 0.2 else url
            annotations.append((len(lines), uri))
            lines.append(r.choice(ANNOTATION_TEXT))
            in_annotations.append(url)
            p.facts["pdf annotations"] += 1
        else:
            url = p.link()[1]
            in_text.append(url)
            p.facts["pdf text links"] += 1
            dice = r.random()
            if dice >= 0.4:
                lines += word_wrap(p.fill(r.choice(ONE_LINK), u=url), PDF_WIDTH)
                continue
            shown = p.wrapped(url, "outlook") if dice < 0.1 else url
            prefix = r.choice(WRAP_PREFIX)
            room = PDF_WIDTH - len(prefix) - 1
            pieces = p.broken(shown, r.randint(20, max(21, min(room, len(shown) - 5))),
                              PDF_WIDTH) or [shown]  # no cut fits: whole, on its line
            p.facts["pdf text links broken across lines"] += len(pieces) > 1
            suffix = p.fill(r.choice(WRAP_SUFFIX))
            lines += [f"{prefix} {pieces[0]}" + (suffix if len(pieces) == 1 else ""),
                      *pieces[1:-1], *([pieces[-1] + suffix] if len(pieces) > 1 else [])]
    return lines, annotations, in_text + in_annotations


def _pdf_string(text: str) -> str:
    return "(" + text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ")"


def build_pdf(path: Path, pages: int, p: Planter) -> list[str]:
    """A PDF as simple as a text export: one font, one text object per page."""
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    }
    kids: list[int] = []
    expected: list[str] = []
    number = 4
    for page in range(1, pages + 1):
        lines, annotations, links = pdf_page(page, pages, p)
        expected += links
        p.facts["pdf lines"] += len(lines)
        shown = " ".join(f"{_pdf_string(line)} Tj T*" for line in lines)
        content = zlib.compress(f"BT /F1 10 Tf 13 TL 50 760 Td {shown} ET".encode("latin-1"))
        page_number, content_number = number, number + 1
        annotation_numbers = list(range(number + 2, number + 2 + len(annotations)))
        number += 2 + len(annotations)
        kids.append(page_number)
        annots = (" /Annots [" + " ".join(f"{n} 0 R" for n in annotation_numbers) + "]"
                  if annotations else "")
        objects[page_number] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_number}"
            f" 0 R /Resources << /Font << /F1 3 0 R >> >>{annots} >>").encode()
        objects[content_number] = (f"<< /Length {len(content)} /Filter /FlateDecode >>\n"
                                   "stream\n").encode() + content + b"\nendstream"
        for n, (line, uri) in zip(annotation_numbers, annotations, strict=True):
            y = 760 - 13 * line
            width = 5 * len(lines[line])
            objects[n] = (f"<< /Type /Annot /Subtype /Link /Rect [50 {y - 3} {50 + width} "
                          f"{y + 10}] /Border [0 0 0] /A << /S /URI /URI {_pdf_string(uri)} >> "
                          ">>").encode("latin-1")
    objects[2] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                  f"/Count {len(kids)} >>").encode()
    with open(path, "wb") as out:
        out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for n in range(1, number):
            offsets.append(out.tell())
            out.write(f"{n} 0 obj\n".encode() + objects[n] + b"\nendobj\n")
        xref = out.tell()
        out.write(f"xref\n0 {number}\n0000000000 65535 f \n".encode())
        out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
        out.write(f"trailer\n<< /Size {number} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
                  .encode())
    return expected


def build_main(work: Path, rows: int, pages: int) -> int:
    """Child: write both reports and the links they hold; print facts as one JSON line."""
    planter = Planter(SEED)
    expected = {"xlsx": build_workbook(work / "laporan.xlsx", rows, planter),
                "pdf": build_pdf(work / "laporan.pdf", pages, planter)}
    (work / "expected.json").write_text(json.dumps(expected))
    facts = dict(planter.facts)
    facts.update({f"{kind} expected": len(links) for kind, links in expected.items()})
    facts.update({f"{kind} bytes": (work / f"laporan.{kind}").stat().st_size for kind in KINDS})
    print(json.dumps(facts), flush=True)
    return 0


# ---- one side, in a child --------------------------------------------------------------------


def baseline_xlsx(path: Path, with_links: bool) -> list[str]:
    import openpyxl

    book = openpyxl.load_workbook(path)
    texts: list[str] = []
    try:
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        texts.append(cell.value)
                    if with_links and cell.hyperlink is not None and cell.hyperlink.target:
                        texts.append(cell.hyperlink.target)
    finally:
        book.close()
    return URL.findall("\n".join(texts))


def baseline_pdf(path: Path, with_links: bool) -> list[str]:
    from pypdf import PdfReader

    texts: list[str] = []
    for page in PdfReader(path).pages:
        texts.append(page.extract_text())
        annotations = page.get("/Annots") if with_links else None
        for ref in annotations.get_object() if annotations is not None else ():
            action = ref.get_object().get("/A")
            uri = action.get_object().get("/URI") if action is not None else None
            if uri is not None:
                texts.append(str(uri.get_object()))
    return URL.findall("\n".join(texts))


def rss_now_mib() -> float:
    return _proc_rss_kib(os.getpid()) / 1024


def cpu_self_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def scored(found: list[str], expected: list[str]) -> dict[str, Any]:
    """How many planted links `found` holds exactly, and why the others are not."""
    left = Counter(expected)
    unmatched = []
    for url in found:
        if left[url] > 0:
            left[url] -= 1
        else:
            unmatched.append(url)
    missing = sorted(left.elements())
    reasons: Counter[str] = Counter()
    for url in unmatched:
        at = bisect_left(missing, url)
        if (urlsplit(url).hostname or "") in WRAPPER_HOSTS:
            reasons["a safe link or redirect, not unwrapped"] += 1
        elif url[-1] in TRIMMED:
            reasons["punctuation after the link kept"] += 1
        elif at < len(missing) and missing[at].startswith(url):
            reasons["cut at a line break"] += 1
        else:
            reasons["other"] += 1
    return {"found": len(found), "matched": len(found) - len(unmatched),
            "reasons": dict(reasons), "in_order": found == expected,
            "unmatched_sample": unmatched[:3], "missing_sample": missing[:3]}


def child_main(side: str, kind: str, path: Path, expected_path: Path,
               profile_out: Path | None) -> int:
    import openpyxl  # noqa: F401 - imported before the clock, on every side alike
    import pypdf  # noqa: F401

    from crawlers import reports

    if profile_out is not None:
        profiler = cProfile.Profile()
        profiler.runcall(reports.find_links, path)
        profiler.dump_stats(profile_out)
        return 0
    baseline = baseline_xlsx if kind == "xlsx" else baseline_pdf
    rss_at_open = rss_now_mib()
    cpu0, busy0 = cpu_self_s(), machine_busy_s()
    t0 = time.perf_counter()
    if side == "saksi":
        found: list[Any] = reports.find_links(path)
    else:
        found = baseline(path, side == "baseline")
    t1 = time.perf_counter()
    cpu1, busy1 = cpu_self_s(), machine_busy_s()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    urls = [link.url for link in found] if side == "saksi" else found
    result = {"wall_s": t1 - t0, "cpu_s": cpu1 - cpu0,
              "other_cpu_s": (busy1 - busy0) - (cpu1 - cpu0), "max_rss_mib": peak,
              "rss_at_open_mib": rss_at_open, "module": reports.__file__}
    result.update(scored(urls, json.loads(expected_path.read_text())[kind]))
    print(json.dumps(result), flush=True)
    return 0


# ---- running the sides ---------------------------------------------------------------------


@dataclass
class Run:
    kind: str
    side: str
    round: int
    position: int
    wall_s: float
    cpu_s: float
    other_cpu_s: float
    max_rss_mib: float  # the child's ru_maxrss (interpreter and imports included)
    rss_floor_mib: float  # this process's peak when the child started (Linux carries it)
    rss_at_open_mib: float
    found: int
    matched: int
    in_order: bool
    reasons: dict[str, int] = field(default_factory=dict)
    unmatched_sample: list[str] = field(default_factory=list)
    missing_sample: list[str] = field(default_factory=list)

    @property
    def per_s(self) -> float:
        return self.found / self.wall_s


def child(args: list[str], work: Path) -> str:
    """Run this script as a child with `args`; its stdout, or BenchmarkFailed."""
    try:
        done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                              timeout=CHILD_TIMEOUT, env=clean_env(), cwd=work,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkFailed(f"{' '.join(args[:3])}: no result in {CHILD_TIMEOUT:.0f} s") \
            from exc
    if done.returncode != 0:
        raise BenchmarkFailed(f"{' '.join(args[:3])} exited {done.returncode}: "
                              + (done.stderr or done.stdout)[-1500:])
    return done.stdout


def run_side(kind: str, side: str, rnd: int, position: int, work: Path) -> Run:
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = child(["--child", side, "--kind", kind, str(work / f"laporan.{kind}"),
                 str(work / "expected.json")], work)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        raise BenchmarkFailed(f"{side} on {kind}: no result line in {out[-500:]!r}")
    res = json.loads(lines[-1])
    if Path(res["module"]).resolve() != REPO / "crawlers" / "reports.py":
        raise BenchmarkFailed(f"the child imported {res['module']}, not this checkout's")
    return Run(kind, side, rnd, position, res["wall_s"], res["cpu_s"], res["other_cpu_s"],
               res["max_rss_mib"], floor, res["rss_at_open_mib"], res["found"],
               res["matched"], res["in_order"], res["reasons"], res["unmatched_sample"],
               res["missing_sample"])


# ---- where find_links spends its time (untimed, under cProfile) ------------------------------

PHASES = {  # (label, file suffix, function): cumulative time, callees included
    "xlsx": (
        ("`openpyxl.load_workbook` (parse the whole workbook)", "openpyxl/reader/excel.py",
         "load_workbook"),
        ("`_scan` (links in each cell's text, wraps re-joined)", "crawlers/reports.py",
         "_scan"),
        ("`_Reading.found` (check, unwrap, make a FoundLink)", "crawlers/reports.py",
         "found"),
        ("`unwrap` (in `found`)", "crawlers/reports.py", "unwrap"),
        ("`get_column_letter` (locators)", "openpyxl/utils/cell.py", "get_column_letter"),
    ),
    "pdf": (
        ("`PdfReader` (open, read the cross-reference table)", "pypdf/_reader.py",
         "__init__"),
        ("`page.extract_text`", "pypdf/_page.py", "extract_text"),
        ("`_annotation_uris` (link annotations)", "crawlers/reports.py", "_annotation_uris"),
        ("`_scan` (links in each page's text, wraps re-joined)", "crawlers/reports.py",
         "_scan"),
        ("`_Reading.found` (check, unwrap, make a FoundLink)", "crawlers/reports.py",
         "found"),
        ("`unwrap` (in `found`)", "crawlers/reports.py", "unwrap"),
    ),
}


def profile_kind(kind: str, work: Path, top: int = 12) -> list[str]:
    out = work / f"profile-{kind}.pstats"
    started = time.monotonic()
    child(["--child", "saksi", "--kind", kind, str(work / f"laporan.{kind}"),
           str(work / "expected.json"), "--profile-out", str(out)], work)
    wall = time.monotonic() - started
    # (file, line, function) -> (primitive calls, calls, own s, with callees s, callers)
    stats: dict[tuple[str, int, str], tuple[Any, ...]] = \
        pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in stats.values())

    def cumulative(suffix: str, name: str) -> float:
        return sum(v[3] for (path, _, fn), v in stats.items()
                   if fn == name and path.endswith(suffix))

    lines = [f"- `find_links(laporan.{kind})` under cProfile: {wall:.1f} s for the child, "
             f"{total:.2f} s profiled", "", "| phase | s, with callees | share |",
             "|---|---:|---:|"]
    for text, suffix, name in PHASES[kind]:
        spent = cumulative(suffix, name)
        lines.append(f"| {text} | {spent:.2f} | {100 * spent / total:.0f}% |")
    lines += ["", "| function, by own time | calls | own s | share |", "|---|---:|---:|---:|"]
    ranked = sorted(((v[2], v[1], _where(*key)) for key, v in stats.items()), reverse=True)
    for tt, calls, where in ranked[:top]:
        lines.append(f"| `{where}` | {calls:,} | {tt:.2f} | {100 * tt / total:.0f}% |")
    return lines


# ---- report ----------------------------------------------------------------------------------


def medians(runs: list[Run], kind: str) -> dict[str, float]:
    return {s: statistics.median(r.wall_s for r in runs if r.kind == kind and r.side == s)
            for s in SIDES}


def runs_table(runs: list[Run]) -> str:
    rows = ["| round | file | side | order | wall s | CPU s | other CPU s | URLs found "
            "| URLs/s | planted links found exactly | peak RSS MiB | RSS at open MiB |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        rows.append(f"| {r.round} | {r.kind} | {r.side} | {r.position} | {r.wall_s:.2f} "
                    f"| {r.cpu_s:.2f} | {r.other_cpu_s:.1f} | {r.found:,} | {r.per_s:,.0f} "
                    f"| {r.matched:,} | {whole_rss(r)} | {r.rss_at_open_mib:.0f} |")
    return "\n".join(rows) + "\n"


def summary(runs: list[Run], facts: dict[str, int]) -> tuple[str, list[str], list[str]]:
    """(table, verdict lines, kinds whose ratio missed the target)."""
    rows = ["| file | side | rounds | median wall s | min | max | ratio to baseline "
            "| URLs found | median URLs/s | planted links found exactly | median CPU s "
            "| peak RSS MiB |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines: list[str] = []
    missed: list[str] = []
    for kind in KINDS:
        walls = medians(runs, kind)
        planted = facts[f"{kind} expected"]
        for side in SIDES:
            mine = [r for r in runs if r.kind == kind and r.side == side]
            found = sorted({r.found for r in mine})
            matched = sorted({r.matched for r in mine})
            rows.append(
                f"| {kind} | {side} | {len(mine)} | {walls[side]:.2f} "
                f"| {min(r.wall_s for r in mine):.2f} | {max(r.wall_s for r in mine):.2f} "
                f"| {walls[side] / walls['baseline']:.2f} | {'/'.join(f'{n:,}' for n in found)} "
                f"| {statistics.median(r.per_s for r in mine):,.0f} "
                f"| {'/'.join(f'{n:,}' for n in matched)} of {planted:,} "
                f"| {statistics.median(r.cpu_s for r in mine):.2f} "
                f"| {max(r.max_rss_mib for r in mine):.0f} |")
        ratio = walls["saksi"] / walls["baseline"]
        cpu = {s: statistics.median(r.cpu_s for r in runs if r.kind == kind and r.side == s)
               for s in SIDES}
        narrow = walls["saksi"] / walls["text only"]
        if ratio > SAKSI_VS_BASELINE_MAX:
            missed.append(kind)
        saksi = [r for r in runs if r.kind == kind and r.side == "saksi"]
        base = [r for r in runs if r.kind == kind and r.side == "baseline"]
        lines += [
            f"- {kind}: `find_links` / plain regex (same material) median wall = "
            f"**{ratio:.2f}** (target ≤ {SAKSI_VS_BASELINE_MAX}: "
            f"{verdict(ratio <= SAKSI_VS_BASELINE_MAX)}; median CPU ratio "
            f"{cpu['saksi'] / cpu['baseline']:.2f}); against the text-only regex "
            f"{narrow:.2f} (for reference: {verdict(narrow <= SAKSI_VS_BASELINE_MAX)})",
            f"- {kind}: URLs found per second, medians: saksi "
            f"{statistics.median(r.per_s for r in saksi):,.0f}, baseline "
            f"{statistics.median(r.per_s for r in base):,.0f}; peak RSS saksi "
            f"{max(r.max_rss_mib for r in saksi):.0f} MiB, baseline "
            f"{max(r.max_rss_mib for r in base):.0f} MiB"]
    return "\n".join(rows) + "\n", lines, missed


def notes(runs: list[Run], facts: dict[str, int], build_s: float, load_before: str
          ) -> list[str]:
    f = Counter(facts)
    out = [
        f"- laporan.xlsx: {f['xlsx bytes'] / MiB:.1f} MiB, {f['xlsx links']:,} links named in "
        f"the rows, {f['xlsx expected']:,} places to find them: {f['xlsx text links']:,} in "
        f"cell text ({f['xlsx text links followed by punctuation']:,} followed by "
        f"punctuation, {f['xlsx links broken across lines in a cell']:,} broken across "
        "lines of a cell), column F as value "
        f"{f['xlsx column F: value']:,}, value + hyperlink to itself "
        f"{f['xlsx column F: auto']:,} (counted twice), display text + hyperlink "
        f"{f['xlsx column F: display']:,}, display text + safe-link hyperlink "
        f"{f['xlsx column F: display safe link']:,}, safe link as value "
        f"{f['xlsx column F: safe link value']:,}",
        f"- laporan.pdf: {f['pdf bytes'] / MiB:.2f} MiB, {f['pdf lines']:,} lines of text, "
        f"{f['pdf expected']:,} links: {f['pdf text links']:,} in the text "
        f"({f['pdf text links broken across lines']:,} broken across lines, safe links among "
        f"them) and {f['pdf annotations']:,} link annotations; wrappers over both files: "
        + ", ".join(f"{k.removeprefix('wrapper ')} {v:,}" for k, v in sorted(f.items())
                    if k.startswith("wrapper ")),
        f"- both made (untimed, seeded {SEED}) in {build_s:.1f} s; load average when the "
        f"rounds began: {load_before}",
    ]
    for kind in KINDS:
        for side in SIDES:
            r = next(r for r in runs if r.kind == kind and r.side == side)
            why = ", ".join(f"{reason} {n:,}" for reason, n in sorted(r.reasons.items()))
            text = (f"- {kind}, {side}: {r.found:,} URLs, {r.matched:,} of them planted links "
                    f"exactly, of {f[f'{kind} expected']:,}")
            if why:
                text += f"; the other {r.found - r.matched:,}: {why}"
            if side == "saksi":
                text += ("; the list is the planted one, in order" if r.in_order
                         else f"; NOT the planted list: extra {r.unmatched_sample}, missing "
                              f"{r.missing_sample}")
            out.append(text)
    out.append(
        "- why the counts differ: the baseline finds a link once per place its text or "
        "target appears, like Saksi, but keeps safe links and redirects as they are, keeps "
        "the punctuation after a link, and reports a link broken over lines as its first "
        "piece (the rest has no `http`); the text-only side also misses every hyperlink "
        "whose display text is not the URL and every PDF link annotation")
    busy = [r for r in runs if r.other_cpu_s > 0.1 * r.wall_s + 0.5]
    if busy:
        out.append("- WARNING: the machine was not quiet: other CPU above 10% of the wall in "
                   + ", ".join(f"round {r.round} {r.kind} {r.side} ({r.other_cpu_s:.1f} s "
                               f"in {r.wall_s:.1f} s)" for r in busy))
    counts: dict[tuple[str, str], set[tuple[int, int]]] = {}
    for r in runs:
        counts.setdefault((r.kind, r.side), set()).add((r.found, r.matched))
    if any(len(v) > 1 for v in counts.values()):
        out.append(f"- WARNING: a side found different links across rounds: {counts}")
    out.append(
        "- wall: inside each child, from just before the file is opened to having the list "
        "(interpreter start-up and the imports of openpyxl, pypdf and crawlers.reports "
        "excluded, on every side); CPU s is the child's user + sys in that window; other CPU "
        "s is what the rest of the machine used meanwhile (/proc/stat less the child), near "
        "0 when nothing else ran; peak RSS is the child's ru_maxrss at the end (\"≤ n\" when "
        "it did not rise above this script's own peak, which Linux carries into a child at "
        "exec), interpreter and imports included: RSS at open is what it was before the "
        "file was opened")
    return out


SCOPE = ("both reports are generated, so their structure is simpler than most real ones: the "
         "PDF has one text object per page with one Tj per line, which makes pypdf's "
         "extract_text (most of both sides' time) cheaper than on a PDF printed from Word or "
         "a browser (kerned TJ arrays, many fonts), so the PDF ratio here is, if anything, "
         "higher than on real reports; the workbook has one sheet, no comments or formulas, "
         "and every row filled, so iter_rows() visits no empty cells that Saksi skips.")


def versions() -> dict[str, str]:
    return package_versions(("saksi", "openpyxl", "pypdf"))


# ---- main --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true",
                        help=f"{SMALL.rows} rows and {SMALL.pages} pages instead of "
                             f"{FULL.rows:,} and {FULL.pages}, for a quick check")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds, each running every side on both files, the order "
                             "reversed every round (default 3)")
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--profile", action="store_true",
                         help="after the rounds, run find_links once per file under "
                              "cProfile (untimed) and report where its time went (done "
                              "anyway for a file that misses the target)")
    profile.add_argument("--no-profile", action="store_true",
                         help="never profile, not even a file that misses the target")
    parser.add_argument("--no-record", action="store_true",
                        help="print only; do not append to RESULTS.md")
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    shape = SMALL if args.small else FULL
    if args.build:
        return build_main(args.build, shape.rows, shape.pages)
    if args.child:
        return child_main(args.child, args.kind, *args.paths, args.profile_out)
    if args.rounds < 1:
        progress("--rounds must be at least 1")
        return 2
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/intake.py " + " ".join(sys.argv[1:])
    header = [f"## Report intake: intake, {when}", "",
              f"- command: `{command.strip()}`",
              f"- machine: {machine()}; load average at start {load_average()}",
              f"- source: {source_state()}",
              "- versions: " + ", ".join(f"{k} {v}" for k, v in versions().items()),
              f"- target: median `find_links` wall ≤ {SAKSI_VS_BASELINE_MAX}x the median wall "
              "of a plain regex pass over what the same libraries extract, per file type"]
    progress("\n".join(header))
    intro = (
        f"Reports: {shape.text()}, generated once (seeded) and read by every round: Bahasa "
        "Indonesia report rows and pages naming 1-3 TikTok, X, Instagram, Facebook, "
        "YouTube, Telegram and news links each, some as hyperlinks or link annotations "
        "whose visible text is not the URL, some inside Outlook safe links, Google "
        "redirects or Facebook l.php, some broken across lines, many followed by "
        "punctuation (exact contents in the notes and the script's docstring). Sides, each "
        "a child process, the order reversed every round: saksi `find_links(path)`; "
        "baseline: `openpyxl.load_workbook` + every cell's string value and hyperlink "
        "target, or `PdfReader` + every page's `extract_text()` and link-annotation URIs, "
        "then one `https?://\\S+` findall; text only: the baseline without hyperlink targets "
        "and annotations. Each side's list is also scored against the links planted.\n")
    sections = [intro]
    print(intro, flush=True)
    failed: str | None = None
    profile: list[str] = []
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="saksi-bench-intake-") as tmp:
        work = Path(tmp)
        try:
            progress(f"building {shape.text()} ...")
            started = time.monotonic()
            built = child(["--build", str(work)] + (["--small"] if args.small else []), work)
            facts = json.loads(built.strip().splitlines()[-1])
            build_s = time.monotonic() - started
            progress(f"built in {build_s:.1f} s: xlsx {facts['xlsx bytes'] / MiB:.1f} MiB "
                     f"({facts['xlsx expected']:,} links), pdf {facts['pdf bytes'] / MiB:.2f} "
                     f"MiB ({facts['pdf expected']:,} links)")
            load_before = load_average()
            for rnd in range(1, args.rounds + 1):
                order = SIDES if rnd % 2 else tuple(reversed(SIDES))
                for kind in KINDS:
                    for position, side in enumerate(order, 1):
                        r = run_side(kind, side, rnd, position, work)
                        progress(f"[round {rnd}] {kind} {side}: {r.wall_s:.2f} s, CPU "
                                 f"{r.cpu_s:.2f} s, {r.found:,} URLs ({r.per_s:,.0f}/s), "
                                 f"{r.matched:,} planted exactly, peak RSS "
                                 f"{r.max_rss_mib:.0f} MiB, other CPU {r.other_cpu_s:.1f} s")
                        runs.append(r)
            table, verdicts, missed = summary(runs, facts)
            to_profile = ([] if args.no_profile else list(KINDS) if args.profile else missed)
            for kind in to_profile:
                progress(f"profiling find_links on {kind} ...")
                profile += profile_kind(kind, work) + [""]
        except BenchmarkFailed as exc:
            failed = str(exc)
            progress(f"FAILED: {failed}")
    if failed:
        return 1
    section = (f"#### {shape.text()}, {args.rounds} rounds\n\n" + runs_table(runs) + "\n"
               + table + "\n" + "\n".join(verdicts + notes(runs, facts, build_s, load_before))
               + "\n")
    if profile:
        section += ("\nWhere `find_links` spends its time (one run per file under cProfile, "
                    "untimed; the profiler adds a cost per Python call, so these are shares, "
                    "not timings):\n\n" + "\n".join(profile).rstrip() + "\n")
    section += "\n- scope: " + SCOPE + "\n"
    sections.append(section)
    print(section, flush=True)
    if not args.no_record:
        record(sections, header)
    return 0


if __name__ == "__main__":
    sys.exit(main())
