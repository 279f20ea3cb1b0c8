"""A generated Indonesian-looking news site, and a loopback HTTP/1.1 server for it.

Benchmarks need pages that compress like real HTML (about 4-6x with gzip), not like a
repeated template (100x), or the measured tools would move unrealistically few bytes.
Pages are made from a fixed seed so every run and every contender sees the same bytes.

Run as a script, it serves the site: `python news_site.py --pages N --latency-ms 0,50`
binds one free port on 127.0.0.1 per latency, prints one line
`PORTS 0=<port> 50=<port> pages=N html_bytes=B gzip_bytes=G` once every response is
precomputed, and stops when its stdin closes (the benchmark ended or died) or after
--max-seconds.
It is a separate process so it never shares a GIL with the tool being measured.

Named news_site, not site: a module called `site` would be shadowed by the standard
library's `site`, which Python imports at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

SEED = 2024
PAGE_BYTES = 60_000

# Common words weigh more (roughly Zipf), as in real text.
_WORDS = """
yang dan di itu dengan untuk tidak ini dari dalam akan pada juga saya ke karena
tersebut bisa ada mereka lebih kata tahun sudah atau saat oleh menjadi orang kami
telah hanya namun masih secara harus seperti bahwa kepada setelah baru bagi hingga
para dapat banyak sebagai pemerintah presiden menteri warga kota provinsi kabupaten
polisi pihak masyarakat ekonomi harga beras minyak goreng pasar rupiah dolar bank
indonesia jakarta surabaya bandung medan makassar semarang yogyakarta denpasar
palembang pontianak banjarmasin manado ambon jayapura kupang mataram padang pekanbaru
pemilu partai calon suara kampanye debat survei koalisi anggota dewan rakyat daerah
banjir gempa longsor hujan cuaca musim kemarau kebakaran hutan asap bencana korban
pengungsi bantuan sosial kesehatan rumah sakit dokter pasien vaksin sekolah guru
siswa universitas mahasiswa pendidikan kurikulum ujian beasiswa penelitian teknologi
digital internet aplikasi media informasi berita hoaks klarifikasi fakta video
unggahan akun warganet viral beredar menyebutkan mengatakan menjelaskan menurut
sumber resmi kementerian komunikasi kepolisian kejaksaan pengadilan hakim terdakwa
kasus hukum pidana korupsi penyidik saksi bukti laporan penyelidikan tersangka
ditangkap diperiksa ditetapkan dijatuhi vonis penjara denda sidang putusan banding
transportasi kereta bandara pelabuhan jalan tol kemacetan mudik lebaran natal tahun
baru liburan wisata pantai gunung pulau budaya festival musik film olahraga sepak
bola timnas liga pertandingan gol pelatih pemain juara turnamen bulu tangkis
investasi saham perusahaan industri pabrik pekerja buruh upah minimum lapangan kerja
ekspor impor perdagangan pajak anggaran negara utang inflasi pertumbuhan kuartal
petani nelayan pangan pupuk panen sawah kebun kelapa sawit kopi cokelat karet tambang
batu bara nikel listrik energi terbarukan lingkungan sampah plastik sungai laut
pagi siang sore malam senin selasa rabu kamis jumat sabtu minggu januari februari
maret april mei juni juli agustus september oktober november desember sekitar persen
""".split()


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


_CUM = _cumulative([1.0 / (rank + 8) ** 0.9 for rank in range(len(_WORDS))])

_ENDINGS = ".,.?."
_SECTIONS = ["nasional", "daerah", "ekonomi", "politik", "hukum", "olahraga", "teknologi",
             "hiburan", "internasional", "cek-fakta", "gaya-hidup", "otomotif"]
_AUTHORS = ["Rina Wulandari", "Agus Setiawan", "Dewi Lestari", "Budi Santoso", "Siti Rahma",
            "Hendra Gunawan", "Putri Ayu", "Yusuf Maulana", "Fitri Handayani", "Rizky Pratama"]


class NewsText:
    """Seeded text source: sentences from a pool of word groups, as news prose repeats
    phrases ("menurut keterangan polisi"); uniform random words would gzip only ~3x."""

    POOL = 2000

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        rng = self.rng
        self.phrases = [" ".join(self.words(rng.randint(2, 5))) for _ in range(self.POOL)]
        self.phrase_cum = _cumulative([1.0 / (rank + 5) ** 0.9 for rank in range(self.POOL)])

    def words(self, n: int) -> list[str]:
        return self.rng.choices(_WORDS, cum_weights=_CUM, k=n)

    def sentence(self) -> str:
        return self.sentences(1)[0]

    def sentences(self, count: int) -> list[str]:
        rng = self.rng
        random_ = rng.random
        lengths = [3 + int(random_() * 5) for _ in range(count)]
        phrases = rng.choices(self.phrases, cum_weights=self.phrase_cum, k=sum(lengths))
        out, at = [], 0
        for length in lengths:
            text = " ".join(phrases[at:at + length])
            at += length
            if random_() < 0.3:  # numbers and names: news is not only common words
                text += f" {int(random_() * 98_000) + 2:,}".replace(",", ".")
            if random_() < 0.15:
                text = f"{_AUTHORS[int(random_() * len(_AUTHORS))]} {text}"
            out.append(text[:1].upper() + text[1:] + _ENDINGS[int(random_() * 5)])
        return out

    def paragraph(self) -> str:
        return " ".join(self.sentences(2 + int(self.rng.random() * 5)))

    def title(self) -> str:
        return " ".join(self.words(self.rng.randint(5, 11))).capitalize()

    def related(self, pages: int) -> str:
        rng = self.rng
        return (f'<li class="related-item"><a href="/news/{rng.randrange(pages)}.html" '
                f'data-track="rel-{rng.getrandbits(32):08x}">{self.title()}</a></li>')

    def page(self, n: int, pages: int) -> bytes:
        """One article page of about PAGE_BYTES: head, nav, article, links, footer."""
        rng = self.rng
        target = rng.randint(PAGE_BYTES - 8_000, PAGE_BYTES + 8_000)
        section = rng.choice(_SECTIONS)
        title = self.title()
        author = rng.choice(_AUTHORS)
        day, month, hour = rng.randint(1, 28), rng.randint(1, 12), rng.randint(0, 23)
        nav = "".join(f'<li class="menu-item"><a href="/{s}/">{s.replace("-", " ").title()}'
                      "</a></li>" for s in _SECTIONS)
        parts = [
            "<!DOCTYPE html>",
            '<html lang="id"><head><meta charset="utf-8">',
            f"<title>{title} - Kabar Nusantara</title>",
            f'<meta name="description" content="{self.sentence()}">',
            f'<link rel="canonical" href="/news/{n}.html">',
            f'<script type="application/ld+json">{{"@type":"NewsArticle","headline":'
            f'"{title}","datePublished":"2024-{month:02d}-{day:02d}T{hour:02d}:00:00+07:00",'
            f'"author":"{author}","articleSection":"{section}",'
            f'"id":"{rng.getrandbits(64):016x}"}}</script>',
            '<link rel="stylesheet" href="/static/css/main.4f9a2c.css"></head>',
            f'<body class="article section-{section}"><header class="site-header">'
            f'<a class="logo" href="/">Kabar Nusantara</a><nav><ul class="menu">{nav}</ul>'
            "</nav></header>",
            f'<main><article id="artikel-{n}" data-id="{rng.getrandbits(48):012x}">',
            f'<h1 class="headline">{title}</h1>',
            f'<p class="byline">Oleh <span class="author">{author}</span> &middot; '
            f"<time>{day}/{month}/2024 {hour:02d}:{rng.randint(0, 59):02d} WIB</time></p>",
        ]
        size = sum(len(p) for p in parts)
        while size < target - 3_000:
            roll = rng.random()
            if roll < 0.06:
                piece = (f'<figure class="media"><img src="/img/{rng.getrandbits(64):016x}.jpg"'
                         f' width="{rng.randint(400, 1200)}" height="{rng.randint(300, 800)}"'
                         f' alt="{self.sentence()}"><figcaption>{self.sentence()}'
                         "</figcaption></figure>")
            elif roll < 0.12:
                piece = f'<h2 class="subhead">{self.title()}</h2>'
            elif roll < 0.16:
                piece = f'<blockquote class="quote"><p>{self.paragraph()}</p></blockquote>'
            else:
                piece = f'<p class="article-text">{self.paragraph()}</p>'
            parts.append(piece)
            size += len(piece)
        parts.append('</article><aside class="related"><h3>Berita Terkait</h3><ul>')
        size += 70
        while size < target - 400:
            piece = self.related(pages)
            parts.append(piece)
            size += len(piece)
        parts.append("</ul></aside></main><footer><p>&copy; 2024 Kabar Nusantara. "
                     "Hak cipta dilindungi undang-undang.</p></footer></body></html>\n")
        return "\n".join(parts).encode("utf-8")


def page_path(n: int) -> str:
    return f"/news/{n}.html"


def gzip_pages(pages: int) -> Iterator[tuple[str, bytes, int]]:
    """(path, gzip body, uncompressed size) for every page, deterministically."""
    text = NewsText(SEED)
    for n in range(pages):
        html = text.page(n, pages)
        yield page_path(n), gzip.compress(html, compresslevel=6, mtime=0), len(html)


def response_head(body_length: int, content_type: str = "text/html; charset=utf-8",
                  encoding: str | None = "gzip", keep_alive: bool = True) -> bytes:
    """A 200 response head the way a typical news server sends one."""
    lines = ["HTTP/1.1 200 OK", "Server: news-site-bench", f"Content-Type: {content_type}"]
    if encoding:
        lines.append(f"Content-Encoding: {encoding}")
    lines += [f"Content-Length: {body_length}", "Cache-Control: public, max-age=60",
              "Vary: Accept-Encoding",
              "Connection: keep-alive" if keep_alive else "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


@dataclass
class Page:
    keep_alive: bytes  # full response, head + body
    close: bytes


_NOT_FOUND = (b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
              b"Content-Length: 10\r\n\r\nnot found\n")


class NewsServer:
    """Serves precomputed responses; keep-alive unless the client says close."""

    def __init__(self, pages: dict[str, Page], latency_s: float):
        self.pages = pages
        self.latency_s = latency_s

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        ConnectionError):
                    break
                lines = head.split(b"\r\n")
                parts = lines[0].split(b" ")
                if len(parts) != 3:
                    break
                method, target, version = parts
                connection = b""
                for line in lines[1:]:
                    if line[:11].lower() == b"connection:":
                        connection = line[11:].strip().lower()
                close = connection == b"close" or (
                    version == b"HTTP/1.0" and connection != b"keep-alive")
                if self.latency_s:
                    await asyncio.sleep(self.latency_s)
                page = self.pages.get(target.decode("latin-1"))
                if page is None:
                    response = _NOT_FOUND
                else:
                    response = page.close if close else page.keep_alive
                if method == b"HEAD":
                    response = response[:response.index(b"\r\n\r\n") + 4]
                writer.write(response)
                await writer.drain()
                if close:
                    break
        except ConnectionError:
            pass
        finally:
            writer.close()


def build_pages(count: int) -> tuple[dict[str, Page], int, int]:
    """Every response, precomputed; plus the total HTML and gzip bytes."""
    pages = {}
    html_bytes = gzip_bytes = 0
    for path, body, size in gzip_pages(count):
        pages[path] = Page(response_head(len(body)) + body,
                           response_head(len(body), keep_alive=False) + body)
        html_bytes += size
        gzip_bytes += len(body)
    return pages, html_bytes, gzip_bytes


async def serve(count: int, latencies_ms: list[float], max_seconds: float) -> None:
    """One listening port per latency, all serving the same precomputed pages."""
    pages, html_bytes, gzip_bytes = build_pages(count)
    servers = []
    for latency in latencies_ms:
        site = NewsServer(pages, latency / 1000)
        servers.append(await asyncio.start_server(site.handle, "127.0.0.1", 0, backlog=1024))
    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def finish(reason: str) -> None:
        if not stop.done():
            stop.set_result(reason)

    def watch_stdin() -> None:  # EOF on stdin: the benchmark is gone, so are we
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(finish, "stdin closed")

    threading.Thread(target=watch_stdin, daemon=True).start()
    loop.call_later(max_seconds, finish, "time limit")
    ports = " ".join(f"{latency:g}={server.sockets[0].getsockname()[1]}"
                     for latency, server in zip(latencies_ms, servers, strict=True))
    print(f"PORTS {ports} pages={count} html_bytes={html_bytes} gzip_bytes={gzip_bytes}",
          flush=True)
    reason = await stop
    for server in servers:
        server.close()
    print(f"news_site stopped: {reason}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--latency-ms", default="0",
                        help="comma-separated; one port per value, each adding that delay "
                             "before every response")
    parser.add_argument("--max-seconds", type=float, default=3600.0,
                        help="stop after this long whatever happens")
    parser.add_argument("--stats", action="store_true",
                        help="print size and gzip ratio of the pages instead of serving")
    args = parser.parse_args()
    if args.stats:
        raw = packed = 0
        for _, body, size in gzip_pages(args.pages):
            raw += size
            packed += len(body)
        print(f"{args.pages} pages, {raw / args.pages / 1000:.1f} KB each, "
              f"{packed / args.pages / 1000:.1f} KB gzip, ratio {raw / packed:.2f}x")
        return
    try:
        latencies = [float(x) for x in args.latency_ms.split(",") if x.strip()]
        asyncio.run(serve(args.pages, latencies, args.max_seconds))
    except KeyboardInterrupt:
        pass
    os._exit(0)  # the stdin watcher thread may still be blocked reading


if __name__ == "__main__":
    main()
