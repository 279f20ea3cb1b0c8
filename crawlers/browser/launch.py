"""How Chromium is started for captures: which binary, and the flags that keep every
byte it sends inside Saksi's egress proxy."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path
from typing import Any

DEBIAN_CHROMIUM = "/usr/bin/chromium"

# Quiet, headless, no side channels. The proxy flags send every scheme through the
# egress proxy, loopback included (`<-loopback>` removes Chromium's implicit bypass);
# QUIC is off (UDP would go around the proxy) and WebRTC may only use proxied TCP.
BASE_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-first-run",
    "--no-pings",
    "--metrics-recording-only",
    "--proxy-bypass-list=<-loopback>",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--autoplay-policy=no-user-gesture-required",
    # Cross-site frames stay in the page's renderer, so the page's DevTools session
    # sees (and records) their traffic too.
    "--disable-site-isolation-trials",
    # No automatic https:// tries of http:// links: the link is fetched as given.
    "--disable-features=IsolateOrigins,site-per-process,DnsOverHttps,MediaRouter,"
    "OptimizationHints,Translate,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable",
]


def executable(configured: str) -> str | None:
    """The Chromium to drive: the configured one, Debian's, or None for Playwright's own."""
    if configured:
        return configured
    if Path(DEBIAN_CHROMIUM).is_file():
        return DEBIAN_CHROMIUM
    return shutil.which("chromium")


def spki_hashes(pem_path: str) -> list[str]:
    """base64 SHA-256 of each certificate's public key in a PEM file, for Chromium's
    `--ignore-certificate-errors-spki-list` (how SAKSI_EXTRA_CA reaches the browser)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    hashes = []
    for cert in x509.load_pem_x509_certificates(Path(pem_path).read_bytes()):
        spki = cert.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo)
        hashes.append(base64.b64encode(hashlib.sha256(spki).digest()).decode())
    return hashes


def launch_options(browser_settings: Any, network: Any, proxy_url: str) -> dict[str, Any]:
    args = list(BASE_ARGS)
    if network.extra_ca:
        args.append("--ignore-certificate-errors-spki-list=" + ",".join(
            spki_hashes(network.extra_ca)))
    options: dict[str, Any] = {
        "headless": True,
        "args": args,
        "proxy": {"server": proxy_url, "bypass": "<-loopback>"},
        "handle_sigint": False, "handle_sigterm": False, "handle_sighup": False,
    }
    path = executable(browser_settings.executable)
    if path:
        options["executable_path"] = path
    return options


def context_options(browser_settings: Any, network: Any) -> dict[str, Any]:
    return {
        "viewport": {"width": browser_settings.viewport_width,
                     "height": browser_settings.viewport_height},
        "ignore_https_errors": not network.verify_tls,
        "service_workers": "block",  # their fetches would bypass the page's recorder
        "accept_downloads": False,
    }
