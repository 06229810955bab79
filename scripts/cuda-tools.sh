#!/usr/bin/env bash
# Installs what the CUDA backend's GPU-less checks need, from Debian's non-free component: NVRTC
# (libnvrtc11.2, 16 MB, to compile the kernel sources and compare with the embedded PTX) and ptxas (taken
# out of the nvidia-cuda-toolkit .deb with dpkg -x, without its 1.6 GB of dependencies) into
# ~/.cache/glmtool-cuda/bin, where the tests look for it. Needs root and a Debian mirror; idempotent.
set -euo pipefail
cache="${HOME}/.cache/glmtool-cuda"
if [ -x "$cache/bin/ptxas" ] && ldconfig -p | grep -q 'libnvrtc\.so'; then
	echo "cuda-tools: NVRTC and ptxas already installed"
	exit 0
fi
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q 'non-free' "$src"; then
	sed -i 's/^Components: main$/Components: main contrib non-free/' "$src"
elif [ ! -f "$src" ] && ! grep -rqs 'non-free' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	# A one-line-style sources.list: add the component for this release.
	. /etc/os-release
	echo "deb http://deb.debian.org/debian ${VERSION_CODENAME:-bookworm} non-free" > /etc/apt/sources.list.d/glmtool-non-free.list
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq libnvrtc11.2 >/dev/null
mkdir -p "$cache/bin" "$cache/deb"
(cd "$cache/deb" && apt-get download -qq nvidia-cuda-toolkit 2>/dev/null && dpkg -x nvidia-cuda-toolkit_*.deb x)
cp "$cache/deb/x/usr/bin/ptxas" "$cache/bin/ptxas"
rm -rf "$cache/deb"
echo "cuda-tools: $(ldconfig -p | grep -m1 -o 'libnvrtc\.so[^ ]*'), $("$cache/bin/ptxas" --version | tail -1)"
