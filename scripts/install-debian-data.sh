#!/usr/bin/env bash
# Installs the Debian data when it is missing: the Spanish Bible for en-es, the World English Bible and Nave's
# Topical Bible for the paraphrase and topical collections, and the Noto fonts that draw token labels in every
# script (optical/fonts.py). Runs apt-get only as root; otherwise says what to run.
# Never fails the set-up: en-ny trains and evaluates without them.
set -u
packages=()
[ -f /usr/share/sword/mods.d/spaRV1909eb.conf ] || packages+=(sword-text-sparv)
[ -f /usr/share/sword/mods.d/engWEB2015eb.conf ] || packages+=(sword-text-web)
[ -f /usr/share/sword/mods.d/nave.conf ] || packages+=(sword-dict-naves)
[ -f /usr/share/fonts/truetype/noto/NotoSansEthiopic-Regular.ttf ] || packages+=(fonts-noto-core)
[ -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ] || packages+=(fonts-noto-cjk)
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${packages[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}") >/dev/null \
    || echo "warning: apt-get could not install ${packages[*]}; en-es, the topical collections or some glyphs will be missing" >&2
else
  echo "optional: sudo apt-get install ${packages[*]}   (Spanish bitext; WEB and Nave's collections; fonts)" >&2
fi
