#!/usr/bin/env bash
# Installs what the console's browser tests (cmd/bursar/console_test.go)
# drive: Debian's `chromium` package, headless, and a font with Chinese
# glyphs (fonts-wqy-zenhei) so the pages' zh-CN text (payee names, for
# example) shows in the screenshots instead of empty boxes.
#
# Idempotent, and fast when both are there: it only looks on PATH and asks
# fontconfig, and runs apt-get only when something is missing. Needs root
# (or sudo) for apt-get; CI runs as root. Nothing is downloaded but Debian
# packages: no browser build of its own.
set -euo pipefail

browser=""
for b in chromium chromium-browser google-chrome google-chrome-stable; do
	if command -v "$b" >/dev/null 2>&1; then
		browser="$b"
		break
	fi
done
cjk_font=""
if command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=zh 2>/dev/null | head -n 1)" ]; then
	cjk_font="yes"
fi
if [ -n "$browser" ] && [ -n "$cjk_font" ]; then
	echo "install-chromium: $browser is installed ($(command -v "$browser")), with a Chinese font"
	exit 0
fi

packages=()
[ -n "$browser" ] || packages+=(chromium)
[ -n "$cjk_font" ] || packages+=(fonts-wqy-zenhei)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO="sudo"
	else
		echo "install-chromium: not root and no sudo; as root run: apt-get update && apt-get install -y ${packages[*]}" >&2
		exit 1
	fi
fi

echo "install-chromium: installing ${packages[*]} with apt-get"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
if [ -z "$browser" ]; then
	command -v chromium >/dev/null 2>&1 || { echo "install-chromium: chromium is still not on PATH" >&2; exit 1; }
	echo "install-chromium: $(chromium --version 2>/dev/null || echo chromium installed)"
fi
