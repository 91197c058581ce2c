"""Headless Chromium for tests: screenshot and DOM of a local HTML file, plus a pure-Python PNG reader.

Usage::

    from chromium import render_page
    page = render_page("/path/report.html", tmp_path)          # ChromiumPage
    page.png_path, page.dom, page.png.width, page.png.distinct_colors

Each run gets a fresh ``--user-data-dir`` under ``workdir``; Chromium is started
in its own process group, and only that group is killed when it overruns
``timeout``. A missing browser is an error (``ChromiumError``), never a skip.
Run it inside the lab network namespace, as the integration session does.
"""
import os
import signal
import struct
import subprocess
import tempfile
import zlib

CHROMIUM = os.environ.get("HYBRIDOPS_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
         "--hide-scrollbars", "--mute-audio"]


class ChromiumError(Exception):
    pass


class Png:
    """Decoded 8-bit PNG (greyscale, RGB, RGBA, grey+alpha; not palette or interlaced)."""

    def __init__(self, width, height, channels, rows):
        self.width = width
        self.height = height
        self.channels = channels
        self.rows = rows  # list of bytes, one per scanline, filters undone

    def pixel(self, x, y):
        row = self.rows[y]
        return tuple(row[x * self.channels:(x + 1) * self.channels])

    def distinct_colors(self, step=4):
        """Number of distinct pixel values, sampling every ``step``-th pixel in both directions."""
        seen = set()
        c = self.channels
        for y in range(0, self.height, step):
            row = self.rows[y]
            for x in range(0, self.width, step):
                seen.add(bytes(row[x * c:(x + 1) * c]))
        return len(seen)

    def dominant_share(self, step=4):
        """Share (0..1) of sampled pixels that have the most common value."""
        counts = {}
        c = self.channels
        total = 0
        for y in range(0, self.height, step):
            row = self.rows[y]
            for x in range(0, self.width, step):
                key = bytes(row[x * c:(x + 1) * c])
                counts[key] = counts.get(key, 0) + 1
                total += 1
        return max(counts.values()) / float(total) if total else 1.0


def png_size(path):
    """(width, height) from the IHDR chunk; raises ValueError if the file is not a PNG."""
    with open(path, "rb") as handle:
        head = handle.read(33)
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise ValueError("%s is not a PNG" % path)
    return struct.unpack(">II", head[16:24])


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(path):
    """Decode a non-interlaced 8-bit PNG with zlib only (no Pillow)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s is not a PNG" % path)
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) & 0xffffffff != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise ValueError("%s: bad CRC in %r chunk" % (path, kind))
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, color, interlace = header[0], header[1], header[2], header[3], header[6]
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(color)
    if depth != 8 or channels is None or interlace:
        raise ValueError("%s: unsupported PNG (depth %d, colour type %d, interlace %d)" % (path, depth, color, interlace))
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1:start + 1 + stride])
        if ftype == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 0xff
        elif ftype == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xff
        elif ftype == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xff
        elif ftype == 4:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                upleft = prev[i - channels] if i >= channels else 0
                line[i] = (line[i] + _paeth(left, prev[i], upleft)) & 0xff
        elif ftype != 0:
            raise ValueError("%s: bad filter type %d on row %d" % (path, ftype, y))
        rows.append(bytes(line))
        prev = line
    return Png(width, height, channels, rows)


def _run(args, timeout):
    """Run Chromium in its own process group; on timeout kill that group (ours alone)."""
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, err = proc.communicate()
        raise ChromiumError("chromium did not finish within %ss: %s" % (timeout, err.decode("utf-8", "replace")[-2000:]))
    return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


class ChromiumPage:
    def __init__(self, png_path, dom, png, stderr):
        self.png_path = png_path
        self.dom = dom
        self.png = png
        self.stderr = stderr


def render_page(html_path, workdir=None, width=1280, height=2400, timeout=180, chromium=None, extra_flags=()):
    """Screenshot (PNG) and dumped DOM of a local HTML file in headless Chromium.

    Returns a ChromiumPage: ``png_path``, ``dom`` (serialized DOM after parsing), ``png``
    (decoded Png), ``stderr``. Raises ChromiumError when the browser is missing, fails
    or overruns ``timeout`` seconds (per run; two runs: screenshot, then DOM).
    """
    chromium = chromium or CHROMIUM
    if not os.access(chromium, os.X_OK):
        raise ChromiumError("%s is not installed (apt-get install chromium)" % chromium)
    workdir = str(workdir or tempfile.mkdtemp(prefix="hybridops-chromium-"))
    os.makedirs(workdir, exist_ok=True)
    url = "file://" + os.path.abspath(str(html_path))
    png_path = os.path.join(workdir, "page.png")
    if os.path.exists(png_path):
        os.unlink(png_path)
    base = [chromium] + FLAGS + list(extra_flags)
    shot_profile = tempfile.mkdtemp(prefix="profile-shot-", dir=workdir)
    shot_args = ["--user-data-dir=" + shot_profile, "--screenshot=" + png_path, "--window-size=%d,%d" % (width, height), url]
    code, unused_out, err_shot = _run(base + shot_args, timeout)
    if code != 0 or not os.path.exists(png_path):
        raise ChromiumError("chromium screenshot failed (exit %s): %s" % (code, err_shot[-2000:]))
    dom_profile = tempfile.mkdtemp(prefix="profile-dom-", dir=workdir)
    code, dom, err_dom = _run(base + ["--user-data-dir=" + dom_profile, "--dump-dom",
                                      "--window-size=%d,%d" % (width, height), url], timeout)
    if code != 0 or "<html" not in dom:
        raise ChromiumError("chromium --dump-dom failed (exit %s): %s" % (code, err_dom[-2000:]))
    return ChromiumPage(png_path, dom, read_png(png_path), err_shot + err_dom)
